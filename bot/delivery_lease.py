"""The delivery worker as a lease holder: registration, heartbeat, freeing dead workers' leases.

A lease alone would make everything a killed process had claimed wait out `lease_seconds`
(a minute: too long for a crisis line). So each worker registers a row in `delivery_workers`,
stamps the rows it claims with that id (`outbox.leased_by`) and renews a heartbeat every
`heartbeat_interval` seconds from a task of its own. A worker whose heartbeat is older than
`stale_after` is dead: any worker frees its pending leases (due at once, holder cleared) and
deletes its row, in one transaction - at start-up before its first claim, and after every
heartbeat. On SQLite only one process can use the database (bot/instance_lock.py), so there
(`one_process`) a starting worker frees every other worker's leases at once, without waiting
for them to go stale; that is how a restart after `kill -9` resumes within a second or two.
On PostgreSQL several processes share the outbox, and a lease is freed only after its holder
has been silent for `stale_after` seconds, so a live process elsewhere keeps its rows (clocks
must agree to within a second or so, as they must for `not_before` already).

The other side of it: a worker sends only while its own heartbeat is fresh (renewed within
`stale_after / 2`) and its row exists (`holding`). A stalled process (its heartbeat failing,
or its row deleted because it looked dead) releases the rest of its batch instead of sending
rows that another worker may be sending too, and registers again.

Heartbeats run on real time (time.monotonic), not the worker's injected clock: they are about
other processes, which see wall time. The database side is bot/services/leases.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import leases

log = logging.getLogger(__name__)


class LeaseHolder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], datetime],
        heartbeat_interval: float,
        stale_after: float,
        one_process: bool,
        wake: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._now = now
        self.heartbeat_interval = heartbeat_interval
        self._stale_after = stale_after
        self._one_process = one_process
        self._wake = wake  # leases were freed, or ours were taken: the worker should look now
        self.worker_id: int | None = None
        self._beat_ok_at: float | None = None  # time.monotonic() of the last renewed heartbeat
        self._task: asyncio.Task[None] | None = None

    async def join(self) -> None:
        """Register before the first claim, freeing what dead workers held."""
        if self.worker_id is not None:
            return
        now = self._now()
        async with self._sessions() as session, session.begin():
            worker_id = await leases.register(session, now=now)
            freed = await leases.free_dead(
                session,
                worker_id,
                now=now,
                stale_after=self._stale_after,
                only_us=self._one_process,
            )
        self.worker_id = worker_id
        self._beat_ok_at = time.monotonic()
        log.info("delivery worker %d registered; freed %d leases of dead workers", worker_id, freed)

    def holding(self) -> bool:
        """May this worker still send what it claimed? Not once its heartbeat is overdue:
        others may think it dead and send the same rows. (Without a heartbeat task, e.g. in
        `DeliveryWorker.drain()`, nothing else runs on this database's outbox.)"""
        if self._task is None or self._task.done():
            return True
        if self.worker_id is None or self._beat_ok_at is None:
            return False
        return time.monotonic() - self._beat_ok_at < self._stale_after / 2

    def start(self) -> None:
        """Renew the heartbeat from a task of its own until `stop()`."""
        self._task = asyncio.create_task(self._heartbeat(), name="peerline-delivery-heartbeat")

    async def _heartbeat(self) -> None:
        """Renew our heartbeat and free dead workers' leases, every `heartbeat_interval`."""
        while True:
            try:
                await self._beat()
            except Exception as exc:  # the database is away: `holding` stops the sends
                log.warning("delivery heartbeat failed: %s", type(exc).__name__)
            await asyncio.sleep(self.heartbeat_interval)

    async def _beat(self) -> None:
        if self.worker_id is None:
            return  # `join` registers (with the first round)
        now = self._now()
        async with self._sessions() as session, session.begin():
            alive = await leases.beat(session, self.worker_id, now=now)
            freed = 0
            if alive and not self._one_process:
                freed = await leases.free_dead(
                    session, self.worker_id, now=now, stale_after=self._stale_after
                )
        if not alive:
            # Found dead by another process (we stalled): our leases are theirs to send now.
            log.warning("delivery worker %d was taken for dead; registering again", self.worker_id)
            self.worker_id = self._beat_ok_at = None
            self._wake()
            return
        self._beat_ok_at = time.monotonic()
        if freed:
            log.info("freed %d leases of dead delivery workers", freed)
            self._wake()

    async def stop(self) -> None:
        """End the heartbeat and delete our row: a clean stop leaves nothing to free."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.worker_id is None:
            return
        try:
            async with self._sessions() as session, session.begin():
                await leases.retire(session, self.worker_id)
        except Exception as exc:  # the next start frees the row's leases anyway
            log.warning("delivery worker %d not retired: %s", self.worker_id, type(exc).__name__)
        self.worker_id = self._beat_ok_at = None
