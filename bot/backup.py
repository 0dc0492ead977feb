"""Encrypted backups of the SQLite database: `peerline backup FILE` and `peerline restore FILE`.

A backup is taken with SQLite's online backup API while the bot keeps running (it sees one
consistent moment, WAL included), into memory, so the database never lies on disk
unencrypted outside its own file. It is then compressed and encrypted with AES-256-GCM under
a key derived from PEERLINE_SECRET_KEY (bot/crypto.py, label "backup v1"): a copied backup
file is useless without the key, and the key is never in the file. Keep the key somewhere
else (a password manager); without it neither the backup nor the database can be read.

File layout: MAGIC (16 bytes) | nonce (12) | AES-GCM(zlib(database)), with MAGIC as associated
data, so a file from something else, a damaged file and a wrong key all fail the tag check.

Restore refuses while a bot process holds the database (bot/instance_lock.py), checks the
decrypted database (`PRAGMA integrity_check`, a Peerline schema), writes it next to the live
file and renames it over the live file (atomic on one filesystem), after emptying the live
file's write-ahead log, which must never be applied to a different database. The old database
is not kept: a forgotten copy would escape the retention purge.

PostgreSQL: use `pg_dump` (README, "Backups").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from bot import instance_lock
from bot.crypto import derive_key

MAGIC = b"PEERLINE-BACKUP1"  # 16 bytes; the 1 is the format version
_NONCE = 12


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    database_bytes: int
    file_bytes: int


def sqlite_path(database_url: str) -> Path:
    """The database file, or BackupError for PostgreSQL and in-memory databases."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupError(
            "backup and restore are for the SQLite database; for PostgreSQL use pg_dump "
            "(see README, Backups)"
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("the database is in memory: nothing to back up")
    return Path(url.database)


def _cipher(secret: str) -> AESGCM:
    return AESGCM(derive_key(secret, b"backup v1"))


def encrypt(secret: str, database: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return MAGIC + nonce + _cipher(secret).encrypt(nonce, zlib.compress(database, 6), MAGIC)


def decrypt(secret: str, blob: bytes) -> bytes:
    if not blob.startswith(MAGIC):
        raise BackupError("not a Peerline backup (or from a newer version)")
    nonce, body = blob[len(MAGIC) : len(MAGIC) + _NONCE], blob[len(MAGIC) + _NONCE :]
    try:
        return zlib.decompress(_cipher(secret).decrypt(nonce, body, MAGIC))
    except InvalidTag:
        raise BackupError(
            "cannot decrypt the backup: PEERLINE_SECRET_KEY is not the key it was made with, "
            "or the file is damaged"
        ) from None


def backup(database_url: str, secret: str, target: Path) -> BackupReport:
    """Write an encrypted backup of the live database to `target` (atomically)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path}")
    # Read-only: a backup must never create or change the database it copies.
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)
        data = _without_wal_flag(memory.serialize())
    finally:
        memory.close()
        source.close()
    blob = encrypt(secret, data)
    _write_atomically(target, blob)
    return BackupReport(target, len(data), len(blob))


def restore(database_url: str, secret: str, source: Path) -> Path:
    """Replace the database with the backup in `source`; the bot must not be running."""
    target = sqlite_path(database_url)
    try:
        blob = source.read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from None
    data = decrypt(secret, blob)
    lock = instance_lock.acquire(database_url)  # AlreadyRunning if the bot holds it
    try:
        _check(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(target.name + ".restoring")
        staging.unlink(missing_ok=True)
        _write_database(data, staging)
        _empty_wal(target)
        os.replace(staging, target)
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        _fsync_dir(target.parent)
    finally:
        if lock is not None:
            lock.release()
    return target


def _check(data: bytes) -> None:
    """The decrypted bytes are a sound SQLite database with Peerline's schema."""
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(_without_wal_flag(data))
        (result,) = db.execute("PRAGMA integrity_check").fetchone()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup holds no usable database ({exc})") from None
    finally:
        db.close()
    if result != "ok":
        raise BackupError(f"the backed-up database is damaged: {result}")
    if not {"alembic_version", "outbox", "conversations"} <= tables:
        raise BackupError("the backup is not a Peerline database")


def _without_wal_flag(data: bytes) -> bytes:
    """The copy marked as a rollback-journal database (header bytes 18-19 = 1), as a WAL-mode
    file's header says 2 and SQLite cannot open such bytes in memory (no shared memory for
    the WAL index). Restore switches the restored file back to WAL."""
    if data[18:20] == b"\x02\x02":
        return data[:18] + b"\x01\x01" + data[20:]
    return data


def _write_database(data: bytes, path: Path) -> None:
    """Write through SQLite (not the raw bytes), so the file is a complete database on disk."""
    memory = sqlite3.connect(":memory:")
    target = sqlite3.connect(path)
    try:
        memory.deserialize(_without_wal_flag(data))
        memory.backup(target)
        target.execute("PRAGMA journal_mode=WAL")  # as the bot opens it (bot/db.py)
    finally:
        target.close()
        memory.close()
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _empty_wal(path: Path) -> None:
    """Checkpoint the live database so its WAL is empty before another file takes its name."""
    if not path.exists():
        return
    db = sqlite3.connect(path)
    try:
        with contextlib.suppress(sqlite3.DatabaseError):  # a broken live file: replaced anyway
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _write_atomically(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
