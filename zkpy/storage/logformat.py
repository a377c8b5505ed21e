"""Txn log segment format and the segment scanner (no writing here).

Segment file::

    file header  16 bytes: magic b"ZKPL", version u32 = 1, reserved u64 = 0
    record       16-byte header: crc32 u32, length u32, zxid u64; then `length` payload bytes
    ...
    zero fill    the preallocated rest of the file

All integers big-endian. The CRC (zlib.crc32) covers length, zxid and payload, so a flipped
bit anywhere in a record is caught. zxid is never 0, so an all-zero record header marks the
end of the written part (the zero fill of preallocation).

Damage classification (what the scanner reports, what recovery does with it):

* the written part ends cleanly (zero header or EOF, only zeros after): fine.
* a bad record (CRC mismatch, length past EOF, truncated header, non-zero bytes after the
  zero header) with NO valid record anywhere after it: a torn tail -- the last write never
  finished before a crash. Everything before it is intact; recovery truncates it with a
  warning. Anything after the last fsync may be in any state, and nothing after the last
  fsync was acknowledged, so nothing acknowledged is lost.
* a bad record followed by a valid record later in the file: damage in the MIDDLE of the
  history -> CorruptHistoryError naming file and offset. (A crash that persisted the pages
  of an unsynced batch out of order can in principle look like this too; we then refuse
  rather than guess, which is loud and safe.)
* a valid record whose zxid does not follow its predecessor: a zxid gap -> refuse.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorruptHistoryError

LOG_MAGIC = b"ZKPL"
LOG_VERSION = 1
FILE_HEADER = struct.Struct(">4sIQ")
FILE_HEADER_LEN = FILE_HEADER.size  # 16
REC_HEADER = struct.Struct(">IIQ")  # crc32, payload length, zxid
REC_HEADER_LEN = REC_HEADER.size  # 16
_LEN_ZXID = struct.Struct(">IQ")
_CRC = struct.Struct(">I")
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a payload larger than this is treated as damage


def data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    """[(start, end)] of the file's data per SEEK_DATA/SEEK_HOLE; the rest reads as zeros.

    Taken BEFORE the scan touches any page: ext4 reports a preallocated (unwritten)
    extent as a hole only while none of its pages sit in the page cache, and reading
    (readahead) would put them there. Without SEEK_DATA support: the whole file.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            end = min(size, os.lseek(fd, start, os.SEEK_HOLE))
            out.append((start, end))
            pos = end
    except OSError:
        return [(0, size)]
    return out


def _first_nonzero(
    mm: mmap.mmap, start: int, size: int, ranges: list[tuple[int, int]] | None = None
) -> int | None:
    """Offset of the first non-zero byte at or after `start`, or None.

    Only the data ranges are read (a 64 MiB preallocated zero fill costs nothing), each
    with lstrip over a window that grows, so dense regions stay cheap too.
    """
    for r_start, r_end in ranges if ranges is not None else [(0, size)]:
        if r_end <= start:
            continue
        pos = max(start, r_start)
        step = 256
        while pos < r_end:
            end = min(r_end, pos + step)
            rest = mm[pos:end].lstrip(b"\x00")
            if rest:
                return end - len(rest)
            pos = end
            step = min(step * 4, 1 << 22)
    return None


def file_header() -> bytes:
    return FILE_HEADER.pack(LOG_MAGIC, LOG_VERSION, 0)


def encode_record(zxid: int, payload: bytes) -> bytes:
    """One record: header + payload (the CRC covers length, zxid and payload)."""
    out = bytearray()
    encode_records(out, [(zxid, payload)])
    return bytes(out)


def encode_records(out: bytearray, records: list[tuple[int, bytes]]) -> None:
    """Each (zxid, payload) as a record (see encode_record), appended to ``out`` (the
    group-commit hot path: no per-record call or intermediate bytes)."""
    pack = _LEN_ZXID.pack
    pack_crc = _CRC.pack
    crc32 = zlib.crc32
    for zxid, payload in records:
        # One crc32 call over one joined object (a call costs more than the copy).
        rec = pack(len(payload), zxid) + payload
        out += pack_crc(crc32(rec))
        out += rec


@dataclass(slots=True)
class Damage:
    """A torn tail found by a scan: bytes [offset, garbage_end) are not valid records."""

    offset: int
    garbage_end: int
    reason: str


class SegmentScan:
    """Iterate the valid records of one segment; afterwards `end`, `torn` describe the tail.

    Iterating yields (offset, zxid, payload). Raises CorruptHistoryError for damage in the
    middle of the segment (see module docstring). `prev_zxid` is the zxid before this
    segment's first record (None: unknown) and is used for the continuity check.
    """

    def __init__(self, path: str | os.PathLike[str], prev_zxid: int | None = None) -> None:
        self.path = Path(path)
        self.prev_zxid = prev_zxid
        self.first_zxid: int | None = None
        self.last_zxid: int | None = prev_zxid
        self.count = 0
        self.end = 0  # offset just after the last valid record (or header)
        self.size = 0
        self.torn: Damage | None = None
        self.header_missing = False  # file too short / zero header: segment has no records
        self._ranges: list[tuple[int, int]] | None = None

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.size = size
            if size == 0:
                self.header_missing = True
                return
            self._ranges = data_ranges(f.fileno(), size)
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                yield from self._scan(mm, size)

    def run(self) -> SegmentScan:
        """Scan without keeping payloads; returns self."""
        for _ in self:
            pass
        return self

    def _scan(self, mm: mmap.mmap, size: int) -> Iterator[tuple[int, int, bytes]]:
        if size < FILE_HEADER_LEN or mm[:FILE_HEADER_LEN] == bytes(FILE_HEADER_LEN):
            if size >= FILE_HEADER_LEN and _first_nonzero(mm, 0, size, self._ranges) is not None:
                raise CorruptHistoryError("zero file header followed by data", str(self.path), 0)
            self.header_missing = True
            self.torn = Damage(0, size, "file header missing or incomplete") if size else None
            return
        magic, version, _ = FILE_HEADER.unpack_from(mm, 0)
        if magic != LOG_MAGIC or version != LOG_VERSION:
            raise CorruptHistoryError(
                f"not a zkpy txn log (magic {magic!r}, version {version})", str(self.path), 0
            )
        off = FILE_HEADER_LEN
        self.end = off
        # hot loop: locals only; the scan's attributes are written back in `finally`
        unpack = REC_HEADER.unpack_from
        crc32 = zlib.crc32
        last = self.last_zxid
        first: int | None = None
        count = 0
        try:
            while True:
                if off + REC_HEADER_LEN > size:
                    if _first_nonzero(mm, off, size, self._ranges) is not None:
                        self._flush_state(first, last, count, off)
                        self._damage(mm, size, off, "record header cut short by end of file")
                    return
                crc, length, zxid = unpack(mm, off)
                if crc == 0 and length == 0 and zxid == 0:
                    nz = _first_nonzero(mm, off, size, self._ranges)
                    if nz is not None:
                        self._flush_state(first, last, count, off)
                        self._damage(mm, size, off, f"non-zero bytes at {nz} after end marker")
                    return
                start = off + REC_HEADER_LEN
                end = start + length
                if length > MAX_RECORD_BYTES or end > size:
                    self._flush_state(first, last, count, off)
                    self._damage(mm, size, off, f"record length {length} runs past end of file")
                    return
                payload = mm[start:end]
                if crc32(payload, crc32(mm[off + 4 : start])) != crc:
                    self._flush_state(first, last, count, off)
                    self._damage(mm, size, off, f"CRC mismatch in record (zxid {zxid:#x}?)")
                    return
                if last is not None and not (
                    zxid == last + 1 if zxid >> 32 == last >> 32 else zxid >> 32 > last >> 32
                ):
                    raise CorruptHistoryError(
                        f"zxid gap: {zxid:#x} follows {last:#x}", str(self.path), off
                    )
                if first is None:
                    first = zxid
                last = zxid
                count += 1
                off = end
                yield start - REC_HEADER_LEN, zxid, payload
        finally:
            self._flush_state(first, last, count, off)

    def _flush_state(self, first: int | None, last: int | None, count: int, end: int) -> None:
        self.first_zxid, self.last_zxid, self.count, self.end = first, last, count, end

    def _damage(self, mm: mmap.mmap, size: int, off: int, reason: str) -> None:
        found = _find_valid_record(mm, size, off + 1, self.last_zxid, self._ranges)
        if found is not None:
            raise CorruptHistoryError(
                f"damaged record in the middle of the log ({reason}); a valid record "
                f"follows at offset {found}",
                str(self.path),
                off,
            )
        garbage_end = _last_nonzero(mm, size, self._ranges) + 1
        self.torn = Damage(off, max(garbage_end, off), reason)


def _last_nonzero(mm: mmap.mmap, size: int, ranges: list[tuple[int, int]] | None = None) -> int:
    chunk = 1 << 20
    for r_start, r_end in reversed(ranges if ranges is not None else [(0, size)]):
        hi = r_end
        while hi > r_start:
            lo = max(r_start, hi - chunk)
            stripped = mm[lo:hi].rstrip(b"\x00")
            if stripped:
                return lo + len(stripped) - 1
            hi = lo
    return -1


def _plausible(mm: mmap.mmap, size: int, c: int, prev: int | None) -> bool:
    crc, length, zxid = REC_HEADER.unpack_from(mm, c)
    if zxid == 0 or length > MAX_RECORD_BYTES or c + REC_HEADER_LEN + length > size:
        return False
    if prev is not None and zxid <= prev:
        return False
    return bool(zlib.crc32(mm[c + 4 : c + REC_HEADER_LEN + length]) == crc)


def _find_valid_record(
    mm: mmap.mmap, size: int, start: int, prev: int | None,
    ranges: list[tuple[int, int]] | None = None,
) -> int | None:
    """Offset of the first position >= start holding a CRC-valid record, else None.

    Zero runs are skipped at C speed; every other position is tried once.
    """
    next_c = start
    p = start
    while p + REC_HEADER_LEN <= size:
        nz = _first_nonzero(mm, p, size, ranges)
        if nz is None:
            return None
        q = nz
        for c in range(max(next_c, q - REC_HEADER_LEN + 1), min(q, size - REC_HEADER_LEN) + 1):
            if _plausible(mm, size, c, prev):
                return c
        next_c = q + 1
        p = q + 1
    return None
