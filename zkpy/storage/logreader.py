"""Read the txn log across segments: records after a zxid, continuity checked.

Only the LAST segment may end in a torn tail (segments are rolled only after everything
before the roll was fsynced); a torn tail anywhere else, a CRC failure in the middle or a
zxid gap (including a missing middle segment) raises CorruptHistoryError naming the file
and offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorruptHistoryError
from .layout import follows, list_logs
from .logformat import FILE_HEADER_LEN, SegmentScan


@dataclass(frozen=True, slots=True)
class Truncation:
    """A torn tail: bytes [offset, garbage_end) of `path` hold no valid record."""

    path: Path
    offset: int
    garbage_end: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.path}: torn tail at offset {self.offset} "
            f"({self.garbage_end - self.offset} bytes: {self.reason})"
        )


class LogReader:
    """Iterate (zxid, payload) for records with zxid > after_zxid, oldest first.

    The first record yielded must follow `after_zxid` without a gap (check_start=True),
    so a log that begins after the snapshot is refused instead of silently skipped.
    After iteration: `last_zxid` (last valid zxid in the logs, None when no records),
    `truncations` (torn tails found), `segments` (files read), `records_seen`.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        after_zxid: int = 0,
        *,
        check_start: bool = True,
    ) -> None:
        self.log_dir = log_dir
        self.after_zxid = after_zxid
        self.check_start = check_start
        self.last_zxid: int | None = None
        self.truncations: list[Truncation] = []
        self.segments: list[Path] = []
        self.records_seen = 0
        self.empty_segments: list[Path] = []

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        logs = list_logs(self.log_dir)
        # the last segment starting at or before after_zxid + 1 may hold records we need
        start = 0
        for i, (first, _) in enumerate(logs):
            if first <= self.after_zxid + 1:
                start = i
        chosen = logs[start:]
        prev: int | None = None
        first_yield = True
        for i, (_, path) in enumerate(chosen):
            is_last = i == len(chosen) - 1
            scan = SegmentScan(path, prev)
            self.segments.append(path)
            after = self.after_zxid
            it = iter(scan)
            for off, zxid, payload in it:  # skip what the snapshot already holds
                if zxid <= after:
                    continue
                if first_yield and self.check_start and not follows(after, zxid):
                    raise CorruptHistoryError(
                        f"history gap: the log continues at {zxid:#x} but the state ends at "
                        f"{after:#x} (missing log segment?)",
                        str(path),
                        off,
                    )
                first_yield = False
                yield zxid, payload
                break
            for _, zxid, payload in it:
                yield zxid, payload
            self.records_seen += scan.count
            if scan.count == 0:
                self.empty_segments.append(path)
            if scan.torn is not None:
                t = Truncation(path, scan.torn.offset, scan.torn.garbage_end, scan.torn.reason)
                if not is_last and not (scan.header_missing and scan.torn.offset < FILE_HEADER_LEN):
                    raise CorruptHistoryError(
                        f"damaged record ({t.reason}) in a segment that is not the last one",
                        str(path),
                        t.offset,
                    )
                self.truncations.append(t)
            prev = scan.last_zxid
        self.last_zxid = prev

    def run(self) -> LogReader:
        for _ in self:
            pass
        return self


def truncate_torn_tail(t: Truncation) -> None:
    """Cut a torn tail off its segment (durably). Used by recovery before new appends."""
    fd = os.open(t.path, os.O_RDWR)
    try:
        os.ftruncate(fd, t.offset)
        os.fsync(fd)
    finally:
        os.close(fd)
