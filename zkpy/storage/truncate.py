"""TRUNC: cut the history back to a zxid (a ZAB follower ahead of its new leader).

Everything after `zxid` goes: the tail of the segment holding it, every later segment,
and every snapshot newer than `zxid` (it contains the txns being removed). Done in an
order that is safe to crash in at any point: snapshots first (a crash leaves older ones,
which the log still covers), then later segments newest first, then the cut, each made
durable before the next step. The caller must not have a TxnLog open on the directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptHistoryError
from .layout import fsync_dir, list_logs, list_snapshots, version_dir
from .logformat import SegmentScan


@dataclass(slots=True)
class TruncateResult:
    removed_snapshots: list[Path] = field(default_factory=list)
    removed_segments: list[Path] = field(default_factory=list)
    cut: tuple[Path, int] | None = None  # segment and the offset it was cut at


def truncate_history(
    data_dir: str | os.PathLike[str], log_dir: str | os.PathLike[str] | None, zxid: int
) -> TruncateResult:
    log_dir = data_dir if log_dir is None else log_dir
    res = TruncateResult()
    logs = list_logs(log_dir)
    # the segment that may hold `zxid` is the newest one starting at or before it
    keep = [p for first, p in logs if first <= zxid]
    drop = [p for first, p in logs if first > zxid]
    cut_at: int | None = None
    if keep:
        last_kept = keep[-1]
        scan = SegmentScan(last_kept)
        end = None
        for off, z, _ in scan:
            if z > zxid:
                end = off
                break
        if end is None and scan.last_zxid is not None and scan.last_zxid < zxid and drop:
            raise CorruptHistoryError(
                f"cannot truncate to {zxid:#x}: the log jumps from {scan.last_zxid:#x}",
                str(last_kept),
            )
        cut_at = end
    for z, p in list_snapshots(data_dir):
        if z > zxid:
            p.unlink()
            res.removed_snapshots.append(p)
    if res.removed_snapshots:
        fsync_dir(version_dir(data_dir))
    for p in reversed(drop):
        p.unlink()
        res.removed_segments.append(p)
    if drop:
        fsync_dir(version_dir(log_dir))
    if cut_at is not None and keep:
        fd = os.open(keep[-1], os.O_RDWR)
        try:
            os.ftruncate(fd, cut_at)
            os.fsync(fd)
        finally:
            os.close(fd)
        res.cut = (keep[-1], cut_at)
    return res
