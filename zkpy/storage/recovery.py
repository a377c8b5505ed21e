"""Startup recovery: newest valid snapshot + replay of the txn log after it.

Documented behaviour for every data dir state (the tests in tests/storage follow it):

* empty dirs (no snapshot, no log): a fresh member. If `initial_image` is given, it is
  written as snapshot.0 at once (as ZooKeeper does), so that "logs but no snapshot" can
  later be recognised as damage.
* newest snapshot written halfway / damaged (trailer or CRC check fails): skipped with a
  warning; the previous valid snapshot is used and the log must cover everything from it
  without a gap, else refuse.
* no valid snapshot but the log has records: refuse (CorruptHistoryError): the snapshots
  were lost and replaying from an empty tree could silently drop history. (ZooKeeper
  refuses the same way: "No snapshot found, but there are log entries".)
* torn tail in the last log segment: truncated (cut off the file, durably) with a
  warning; every record before it is replayed.
* CRC failure or zxid gap in the middle, missing middle segment, log that starts after
  the snapshot: refuse, naming file and offset.
* snapshot newer than the logs (the last logged zxid is below the snapshot's): the
  snapshot is used -- it holds every txn up to its zxid, so nothing is shortened -- with a
  warning naming both zxids; new records continue at snapshot zxid + 1. (A member that
  got its state by a snapshot transfer from the leader is in exactly this state.)

Replay goes through the `apply(zxid, payload)` callback (the runtime passes a function
that decodes the Command and calls state_machine.apply), after `load_snapshot(image)`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptHistoryError
from .layout import list_logs
from .logreader import LogReader, Truncation, truncate_torn_tail
from .snapformat import SnapshotFormatError, SnapshotImage
from .snapshot import newest_valid_snapshot, read_snapshot, remove_stale_tmp, write_snapshot

log = logging.getLogger("zkpy.storage.recovery")


@dataclass(slots=True)
class RecoveryResult:
    """What recovery did, for the server to log (`summary()`) and to continue from."""

    last_zxid: int = 0  # the member's state is exactly this zxid
    snapshot: Path | None = None
    snapshot_zxid: int = 0
    snapshot_digest: int | None = None
    skipped_snapshots: list[tuple[Path, str]] = field(default_factory=list)
    records_replayed: int = 0
    log_last_zxid: int | None = None  # last valid zxid found in the logs
    log_segments: list[Path] = field(default_factory=list)
    truncations: list[Truncation] = field(default_factory=list)
    fresh: bool = False
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.fresh:
            head = "fresh data dir: starting empty"
        else:
            head = (
                f"recovered to zxid {self.last_zxid:#x}: snapshot "
                f"{self.snapshot.name if self.snapshot else '-'} + {self.records_replayed} txns "
                f"replayed from {len(self.log_segments)} log segment(s)"
            )
        return "; ".join([head, *self.warnings])


def recover(
    data_dir: str | os.PathLike[str],
    log_dir: str | os.PathLike[str] | None = None,
    *,
    load_snapshot: Callable[[SnapshotImage], None],
    apply: Callable[[int, bytes], object],
    repair: bool = True,
    initial_image: Callable[[], SnapshotImage] | None = None,
    tree_digest: Callable[[], int | None] | None = None,
) -> RecoveryResult:
    """Rebuild the state; `repair=False` changes nothing on disk (offline tools).

    `tree_digest`, when given, is called right after load_snapshot and must equal the
    digest recorded in the snapshot (a mismatch refuses: the loader and writer disagree).
    """
    log_dir = data_dir if log_dir is None else log_dir
    res = RecoveryResult()
    if repair:
        for p in remove_stale_tmp(data_dir):
            res.warnings.append(f"removed unfinished snapshot {p.name}")
    snap, skipped = newest_valid_snapshot(data_dir)
    res.skipped_snapshots = skipped
    for p, why in skipped:
        res.warnings.append(f"ignored snapshot {p} ({why})")
    logs = list_logs(log_dir)

    if snap is None:
        probe = LogReader(log_dir, 0, check_start=False).run() if logs else None
        if probe is not None and probe.last_zxid is not None:
            raise CorruptHistoryError(
                f"no valid snapshot, but the txn log holds records up to {probe.last_zxid:#x} "
                f"(from {probe.segments[0]}): snapshots lost or damaged; refusing to start "
                "from an empty tree",
                str(Path(data_dir)),
            )
        res.fresh = True
        if probe is not None:
            res.truncations = probe.truncations
            _repair(res, repair)
        if repair and initial_image is not None:
            image = initial_image()
            res.snapshot = write_snapshot(data_dir, image)
            res.snapshot_zxid = res.last_zxid = image.zxid
        _log(res)
        return res

    try:
        image = read_snapshot(snap)
    except SnapshotFormatError as e:  # CRC good but undecodable: a writer bug, not a crash
        raise CorruptHistoryError(f"snapshot passes its CRC but cannot be decoded: {e}", str(snap)) from e
    res.snapshot, res.snapshot_zxid, res.snapshot_digest = snap, image.zxid, image.digest
    load_snapshot(image)
    if tree_digest is not None and image.digest is not None:
        got = tree_digest()
        if got != image.digest:
            raise CorruptHistoryError(
                f"tree digest after loading is {got:#x}, snapshot records {image.digest:#x}",
                str(snap),
            )
    del image
    reader = LogReader(log_dir, res.snapshot_zxid)
    last = res.snapshot_zxid
    n = 0
    for zxid, payload in reader:
        apply(zxid, payload)
        last = zxid
        n += 1
    res.records_replayed = n
    res.last_zxid = last
    res.log_last_zxid = reader.last_zxid
    res.log_segments = reader.segments
    res.truncations = reader.truncations
    if reader.last_zxid is None or reader.last_zxid < res.snapshot_zxid:
        if logs:
            ended = "has no records" if reader.last_zxid is None else f"ends at {reader.last_zxid:#x}"
            res.warnings.append(
                f"snapshot {snap.name} is newer than the txn log (log {ended}): "
                "starting from the snapshot"
            )
    _repair(res, repair)
    _log(res)
    return res


def _repair(res: RecoveryResult, repair: bool) -> None:
    for t in res.truncations:
        res.warnings.append(("truncated " if repair else "would truncate ") + str(t))
        if repair:
            truncate_torn_tail(t)


def _log(res: RecoveryResult) -> None:
    for w in res.warnings:
        log.warning("%s", w)
    log.info("%s", res.summary())
