"""One member's storage, wired for the asyncio runtime: recover, commit, snapshot, purge.

    storage, result = Storage.open(cfg..., load_snapshot=sm.load_snapshot,
                                   apply=replay, initial_image=sm.snapshot_image, rng=rng)
    log.info(result.summary())
    ...
    storage.commit(payloads, on_done)       # per batch; on_done(None) = durable
    storage.after_apply(sm.last_zxid, sm.snapshot_image)   # after applying a batch
    ...
    await storage.close()

Every part is usable alone (TxnLog, committers, SnapshotTaker, SnapPolicy, recover,
purge); this class only fixes the order in which a member uses them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path

from .committer import Committer, make_committer
from .errors import StorageError
from .purge import MIN_SNAP_RETAIN_COUNT, purge
from .recovery import RecoveryResult, recover
from .snapformat import SnapshotImage
from .snappolicy import DEFAULT_SNAP_COUNT_TXNS, DEFAULT_SNAP_SIZE_LIMIT_BYTES, SnapPolicy
from .snapshot import SnapshotTaker
from .txnlog import DEFAULT_PREALLOC_BYTES, TxnLog

log = logging.getLogger("zkpy.storage")


class Storage:
    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        log_dir: str | os.PathLike[str],
        committer: Committer,
        policy: SnapPolicy,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.committer = committer
        self.policy = policy
        self.loop = loop
        self.taker = SnapshotTaker(data_dir, loop)
        self.last_snapshot: Path | None = None
        self.snapshot_failures = 0

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        log_dir: str | os.PathLike[str] | None = None,
        *,
        load_snapshot: Callable[[SnapshotImage], None],
        apply: Callable[[int, bytes], object],
        initial_image: Callable[[], SnapshotImage],
        rng: random.Random,
        loop: asyncio.AbstractEventLoop | None = None,
        tree_digest: Callable[[], int | None] | None = None,
        snap_count_txns: int = DEFAULT_SNAP_COUNT_TXNS,
        snap_size_limit_bytes: int = DEFAULT_SNAP_SIZE_LIMIT_BYTES,
        prealloc_bytes: int = DEFAULT_PREALLOC_BYTES,
        force_sync: bool = True,
        strategy: str = "process",
    ) -> tuple[Storage, RecoveryResult]:
        """Recover (raises CorruptHistoryError / StorageError), then open the log for appends."""
        loop = loop or asyncio.get_running_loop()
        log_dir = data_dir if log_dir is None else log_dir
        res = recover(
            data_dir, log_dir, load_snapshot=load_snapshot, apply=apply,
            initial_image=initial_image, tree_digest=tree_digest,
        )
        txnlog = TxnLog(log_dir, res.last_zxid, prealloc_bytes=prealloc_bytes, force_sync=force_sync)
        committer = make_committer(txnlog, loop, strategy)
        policy = SnapPolicy(rng, snap_count_txns, snap_size_limit_bytes)
        policy.record(res.records_replayed, 0)  # txns since the snapshot count towards the next
        st = cls(data_dir, log_dir, committer, policy, loop)
        st.last_snapshot = res.snapshot
        return st, res

    def commit(
        self, payloads: list[tuple[int, bytes]], on_done: Callable[[StorageError | None], None],
        inline: bool = False,
    ) -> None:
        """Group-commit one batch; on_done(None) once durable, on_done(err) if it never will be.
        ``inline``: nothing else waits for the loop, so syncing on it costs nobody anything."""
        self.committer.commit_batch(payloads, on_done, inline)

    _due = False
    _counted_records = 0  # the committer's totals at the last after_apply
    _counted_bytes = 0

    def after_apply(self, zxid: int, image_fn: Callable[[], SnapshotImage]) -> bool:
        """Call after applying a batch (tree exactly at `zxid`): snapshot if due. True if started."""
        # What was logged since the last call counts towards the next snapshot: counted
        # here, once per batch, from the committer's totals (none of it per record).
        c = self.committer
        self._due = self.policy.record(c.records - self._counted_records,
                                       c.logged_bytes - self._counted_bytes)
        self._counted_records = c.records
        self._counted_bytes = c.logged_bytes
        if not self._due or self.taker.running is not None:
            return False
        fut = self.taker.start(zxid, image_fn)
        if fut is None:
            return False
        self.committer.roll()
        self.policy.taken()
        self._due = False
        log.info("snapshot of zxid %#x started (fork %.1f ms)", zxid, self.taker.last_fork_ms)
        fut.add_done_callback(self._snapshot_done)
        return True

    def _snapshot_done(self, fut: asyncio.Future[Path]) -> None:
        exc = fut.exception()
        if exc is not None:
            self.snapshot_failures += 1
            log.error("snapshot failed (the log still holds everything): %s", exc)
        else:
            self.last_snapshot = fut.result()
            log.info("snapshot written: %s", self.last_snapshot)

    async def purge_every(self, interval_hours: float, snap_retain_count: int = MIN_SNAP_RETAIN_COUNT) -> None:
        """autopurge timer task (interval 0 = disabled): purge in a worker thread."""
        if interval_hours <= 0:
            return
        while True:
            await asyncio.sleep(interval_hours * 3600)
            try:
                res = await asyncio.to_thread(purge, self.data_dir, self.log_dir, snap_retain_count)
                log.info("autopurge: deleted %d snapshot(s), %d log(s)",
                         len(res.deleted_snapshots), len(res.deleted_logs))
            except (OSError, ValueError) as e:
                log.error("autopurge failed: %s", e)

    async def close(self) -> None:
        await self.committer.aclose()
