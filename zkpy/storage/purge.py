"""Retention: keep the newest N valid snapshots (N >= 3) and the logs to replay from them.

What is kept (as ZooKeeper's PurgeTxnLog): the N newest snapshots that pass their
trailer check, every log segment whose first zxid is above the oldest kept snapshot's
zxid, and the one segment before those that may still hold records after it. Older
snapshots (valid or not) and older segments are deleted. With fewer than N valid
snapshots nothing is deleted. autopurge.purgeInterval (hours, 0 = off) is the runtime's
timer: it calls purge() in a worker thread (asyncio.to_thread) that often.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .layout import fsync_dir, list_logs, list_snapshots, version_dir
from .snapshot import snapshot_is_valid

MIN_SNAP_RETAIN_COUNT = 3  # autopurge.snapRetainCount minimum (and default)


@dataclass(slots=True)
class PurgeResult:
    kept_snapshots: list[Path] = field(default_factory=list)
    deleted_snapshots: list[Path] = field(default_factory=list)
    deleted_logs: list[Path] = field(default_factory=list)


def plan_purge(
    data_dir: str | os.PathLike[str],
    log_dir: str | os.PathLike[str] | None = None,
    snap_retain_count: int = MIN_SNAP_RETAIN_COUNT,
) -> PurgeResult:
    """What purge() would delete; deletes nothing."""
    if snap_retain_count < MIN_SNAP_RETAIN_COUNT:
        raise ValueError(f"snapRetainCount must be at least {MIN_SNAP_RETAIN_COUNT}")
    log_dir = data_dir if log_dir is None else log_dir
    res = PurgeResult()
    snaps = list_snapshots(data_dir)
    valid = [(z, p) for z, p in snaps if snapshot_is_valid(p) is None]
    if len(valid) < snap_retain_count:
        res.kept_snapshots = [p for _, p in valid]
        return res
    kept = valid[-snap_retain_count:]
    res.kept_snapshots = [p for _, p in kept]
    oldest = kept[0][0]
    res.deleted_snapshots = [p for z, p in snaps if z < oldest]
    logs = list_logs(log_dir)
    # the newest segment starting at or before oldest+1 may hold records after `oldest`
    keep_from = 0
    for i, (first, _) in enumerate(logs):
        if first <= oldest + 1:
            keep_from = i
    res.deleted_logs = [p for _, p in logs[:keep_from]]
    return res


def purge(
    data_dir: str | os.PathLike[str],
    log_dir: str | os.PathLike[str] | None = None,
    snap_retain_count: int = MIN_SNAP_RETAIN_COUNT,
) -> PurgeResult:
    """Delete what plan_purge() lists (oldest first) and fsync the directories."""
    res = plan_purge(data_dir, log_dir, snap_retain_count)
    for p in res.deleted_logs + res.deleted_snapshots:
        p.unlink(missing_ok=True)
    if res.deleted_snapshots:
        fsync_dir(version_dir(data_dir))
    if res.deleted_logs:
        fsync_dir(version_dir(data_dir if log_dir is None else log_dir))
    return res
