"""One bot process per SQLite database.

Two processes started by mistake on one SQLite data dir both ran: they fought over getUpdates
with 409 Conflicts and handed one update to both, so people got double replies (issue 12).
`peerline run` therefore holds an exclusive `flock` on a lock file next to the database for its
whole life; a second one refuses to start with a message that says why. The kernel drops the
lock when the process dies, even on SIGKILL, so a crash never leaves a stale lock behind.
PostgreSQL deployments may run several processes on purpose (behind one webhook), so no lock.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another bot process holds the database; the message says what to do."""


@dataclass
class InstanceLock:
    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def lock_path(database_url: str) -> Path | None:
    """Where the lock lives: next to the SQLite file; None for PostgreSQL or in-memory."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return path.with_name(path.name + ".lock")


def acquire(database_url: str) -> InstanceLock | None:
    """Hold the database for this process, or raise AlreadyRunning."""
    path = lock_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise AlreadyRunning(
            f"another peerline process (pid {holder}) is already running on {path.parent}: "
            "two processes on one SQLite database would both answer every message. Stop the "
            "other one first; to run several processes, use PostgreSQL "
            "(PEERLINE_DATABASE_URL)."
        ) from None
    # The pid is only for the message above: the flock, not the file's content, is the lock.
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return InstanceLock(path, fd)
