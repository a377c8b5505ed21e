from __future__ import annotations

import logging
from pathlib import Path

import pytest

from zkpy.storage.errors import CorruptHistoryError
from zkpy.storage.layout import list_logs
from zkpy.storage.logformat import FILE_HEADER_LEN, REC_HEADER_LEN, SegmentScan
from zkpy.storage.logreader import LogReader
from zkpy.storage.txnlog import TxnLog

from .conftest import SMALL_PREALLOC, payload, read_all, write_log


def test_round_trip_and_segment_name(tmp_path: Path) -> None:
    write_log(tmp_path, [[1, 2, 3], [4], [5, 6]])
    logs = list_logs(tmp_path)
    assert [p.name for _, p in logs] == ["log.1"]
    assert read_all(tmp_path) == [(z, payload(z)) for z in range(1, 7)]
    assert read_all(tmp_path, after=4) == [(5, payload(5)), (6, payload(6))]


def test_preallocated_and_zero_filled(tmp_path: Path) -> None:
    write_log(tmp_path, [[1]])
    (_, p), = list_logs(tmp_path)
    size = p.stat().st_size
    assert size % SMALL_PREALLOC == 0 and size >= SMALL_PREALLOC
    used = FILE_HEADER_LEN + REC_HEADER_LEN + len(payload(1))
    assert p.read_bytes()[used:] == bytes(size - used)


def test_roll_and_new_segment_per_open(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    for z in (1, 2):
        log.append(z, payload(z))
    log.flush_and_sync()
    log.roll()
    log.append(3, payload(3))
    log.flush_and_sync()
    log.close()
    write_log(tmp_path, [[4, 5]], last=3)  # reopen: a new segment
    assert [z for z, _ in list_logs(tmp_path)] == [1, 3, 4]
    assert [z for z, _ in read_all(tmp_path)] == [1, 2, 3, 4, 5]


def test_roll_by_size(tmp_path: Path) -> None:
    write_log(tmp_path, [[z] for z in range(1, 11)], segment_max_bytes=100)
    assert len(list_logs(tmp_path)) > 3
    assert [z for z, _ in read_all(tmp_path)] == list(range(1, 11))


def test_append_refuses_gaps_and_reordering(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 5, prealloc_bytes=SMALL_PREALLOC)
    with pytest.raises(ValueError):
        log.append(5, b"x")
    with pytest.raises(ValueError):
        log.append(7, b"x")
    log.append(6, b"x")
    log.append((1 << 32) | 1, b"new epoch")
    log.flush_and_sync()
    log.close()
    assert [z for z, _ in read_all(tmp_path, after=5)] == [6, (1 << 32) | 1]


def test_force_sync_off_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        write_log(tmp_path, [[1]], force_sync=False)
    assert "forceSync=no" in caplog.text
    assert [z for z, _ in read_all(tmp_path)] == [1]


def _record_offsets(path: Path) -> list[tuple[int, int]]:
    return [(off, z) for off, z, _ in SegmentScan(path)]


def test_torn_tail_at_every_byte_offset(tmp_path: Path) -> None:
    """Cut (or zero) the last record at every byte: earlier records survive, a warning names it."""
    src = tmp_path / "src"
    write_log(src, [[1, 2, 3], [4]])
    (_, seg), = list_logs(src)
    data = seg.read_bytes()
    offs = _record_offsets(seg)
    last_off = offs[-1][0]
    last_end = last_off + REC_HEADER_LEN + len(payload(4))
    for cut in range(last_off, last_end):
        for mode in ("eof", "zero"):
            d = tmp_path / f"c{cut}{mode}"
            (d / "version-2").mkdir(parents=True)
            if mode == "eof":  # file ends mid-record (no preallocation left)
                torn = data[:cut]
            else:  # the rest of the record never reached the disk: zeros
                torn = data[:cut] + bytes(len(data) - cut)
            (d / "version-2" / seg.name).write_bytes(torn)
            r = LogReader(d)
            got = [z for z, _ in r]
            assert got == [1, 2, 3], (cut, mode)
            if cut == last_off and (mode == "zero" or cut == len(torn)):
                assert r.truncations == []  # nothing of record 4 reached the disk
            else:
                assert len(r.truncations) == 1, (cut, mode)
                assert r.truncations[0].offset == last_off
            # garbage after the valid part instead of zeros: still a torn tail
    d = tmp_path / "garbage"
    (d / "version-2").mkdir(parents=True)
    (d / "version-2" / seg.name).write_bytes(data[: last_off + 5] + b"\xff" * 40)
    r = LogReader(d)
    assert [z for z, _ in r] == [1, 2, 3]
    assert r.truncations[0].offset == last_off


def test_flipped_byte_in_middle_record_refuses(tmp_path: Path) -> None:
    write_log(tmp_path, [[1, 2, 3], [4, 5]])
    (_, seg), = list_logs(tmp_path)
    offs = _record_offsets(seg)
    mid_off = offs[2][0]
    clean = seg.read_bytes()
    for pos in range(mid_off, offs[3][0]):
        b = bytearray(clean)
        b[pos] ^= 0x40
        seg.write_bytes(bytes(b))
        with pytest.raises(CorruptHistoryError) as ei:
            read_all(tmp_path)
        msg = str(ei.value)
        assert seg.name in msg and f"offset {mid_off}" in msg, (pos, msg)


def test_flipped_byte_in_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    write_log(tmp_path, [[1, 2, 3]])
    (_, seg), = list_logs(tmp_path)
    b = bytearray(seg.read_bytes())
    last_off = _record_offsets(seg)[-1][0]
    b[last_off + REC_HEADER_LEN] ^= 1
    seg.write_bytes(bytes(b))
    r = LogReader(tmp_path)
    assert [z for z, _ in r] == [1, 2]
    assert "CRC" in r.truncations[0].reason


def test_missing_middle_segment_refuses(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    for seg in ([1, 2], [3, 4], [5, 6]):
        for z in seg:
            log.append(z, payload(z))
        log.flush_and_sync()
        log.roll()
    log.close()
    logs = list_logs(tmp_path)
    assert [z for z, _ in logs] == [1, 3, 5]
    logs[1][1].unlink()
    with pytest.raises(CorruptHistoryError, match=r"log\.5.*offset 16"):
        read_all(tmp_path)


def test_torn_tail_in_a_non_last_segment_refuses(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    for seg in ([1, 2], [3, 4]):
        for z in seg:
            log.append(z, payload(z))
        log.flush_and_sync()
        log.roll()
    log.close()
    first = list_logs(tmp_path)[0][1]
    offs = _record_offsets(first)
    b = bytearray(first.read_bytes())
    b[offs[-1][0] + 20] ^= 1
    first.write_bytes(bytes(b))
    with pytest.raises(CorruptHistoryError, match=r"log\.1 at offset"):
        read_all(tmp_path)


def test_zero_page_in_middle_refuses(tmp_path: Path) -> None:
    write_log(tmp_path, [[1, 2, 3, 4, 5]])
    (_, seg), = list_logs(tmp_path)
    offs = _record_offsets(seg)
    b = bytearray(seg.read_bytes())
    b[offs[1][0] : offs[3][0]] = bytes(offs[3][0] - offs[1][0])
    seg.write_bytes(bytes(b))
    with pytest.raises(CorruptHistoryError, match=f"offset {offs[1][0]}"):
        read_all(tmp_path)


def test_retry_after_failed_write_and_discard(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    log.append(1, b"a")
    log.flush_and_sync()
    log.append(2, b"b")
    log.discard_unsynced()
    assert log.last_zxid == 1
    log.append(2, b"c")
    assert log.flush_and_sync() == 2
    log.close()
    assert read_all(tmp_path) == [(1, b"a"), (2, b"c")]
