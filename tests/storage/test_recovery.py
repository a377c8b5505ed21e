from __future__ import annotations

import logging
from pathlib import Path

import pytest

from zkpy.storage.errors import CorruptHistoryError
from zkpy.storage.layout import list_logs
from zkpy.storage.logformat import SegmentScan
from zkpy.storage.recovery import RecoveryResult, recover
from zkpy.storage.snapformat import SnapshotImage
from zkpy.storage.snapshot import write_snapshot
from zkpy.storage.txnlog import TxnLog

from .conftest import SMALL_PREALLOC
from .toy import Toy, cmd


def empty_image() -> SnapshotImage:
    return Toy().image()


def live_history(d: Path, n: int, snap_at: tuple[int, ...] = (), roll_every: int = 0) -> Toy:
    """Run a toy member: snapshot.0 at start, n txns in batches of 3, snapshots at snap_at."""
    t = Toy()
    write_snapshot(d, t.image())
    log = TxnLog(d, 0, prealloc_bytes=SMALL_PREALLOC)
    for z in range(1, n + 1):
        log.append(z, cmd(z))
        if z % 3 == 0 or z == n:
            log.flush_and_sync()
            for y in range(t.zxid + 1, z + 1):
                t.apply(y, cmd(y))
                if y in snap_at:
                    write_snapshot(d, t.image())
                    log.roll()
        if roll_every and z % roll_every == 0:
            log.roll()
    log.close()
    return t


def restart(d: Path, **kw: object) -> tuple[Toy, RecoveryResult]:
    t = Toy()
    res = recover(d, load_snapshot=t.load, apply=t.apply, tree_digest=t.digest, **kw)  # type: ignore[arg-type]
    return t, res


def test_empty_dir_is_a_fresh_start_and_writes_snapshot_zero(tmp_path: Path) -> None:
    t, res = restart(tmp_path, initial_image=empty_image)
    assert res.fresh and res.last_zxid == 0 and res.snapshot is not None
    assert res.snapshot.name == "snapshot.0"
    t2, res2 = restart(tmp_path)
    assert not res2.fresh and res2.records_replayed == 0


def test_snapshot_plus_log_replay_gives_the_live_digest(tmp_path: Path) -> None:
    live = live_history(tmp_path, 40, snap_at=(12, 27))
    t, res = restart(tmp_path)
    assert res.snapshot is not None and res.snapshot.name == "snapshot.1b"
    assert res.records_replayed == 13 and res.last_zxid == 40
    assert t.digest() == live.digest() and t.kv == live.kv
    assert "snapshot.1b + 13 txns" in res.summary()


def test_torn_tail_is_truncated_and_appends_continue(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    live_history(tmp_path, 10)
    (_, seg), = list_logs(tmp_path)
    offs = [off for off, _, _ in SegmentScan(seg)]
    b = bytearray(seg.read_bytes())
    b[offs[-1] + 18] ^= 0xFF  # the last record (zxid 10) is torn
    seg.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING):
        t, res = restart(tmp_path)
    assert res.last_zxid == 9 and len(res.truncations) == 1
    assert "truncated" in caplog.text and seg.name in caplog.text
    assert seg.stat().st_size == offs[-1]
    log = TxnLog(tmp_path, res.last_zxid, prealloc_bytes=SMALL_PREALLOC)
    log.append(10, b"k1=again")
    log.flush_and_sync()
    log.close()
    t2, res2 = restart(tmp_path)
    assert res2.last_zxid == 10 and res2.truncations == [] and t2.kv["/k1"] == b"again"


def test_flipped_byte_in_middle_refuses_naming_file_and_offset(tmp_path: Path) -> None:
    live_history(tmp_path, 10)
    (_, seg), = list_logs(tmp_path)
    offs = [off for off, _, _ in SegmentScan(seg)]
    b = bytearray(seg.read_bytes())
    b[offs[4] + 17] ^= 1
    seg.write_bytes(bytes(b))
    with pytest.raises(CorruptHistoryError, match=rf"{seg}.*offset {offs[4]}"):
        restart(tmp_path)


def test_missing_middle_segment_refuses(tmp_path: Path) -> None:
    live_history(tmp_path, 12, roll_every=4)
    logs = list_logs(tmp_path)
    assert len(logs) >= 3
    logs[1][1].unlink()
    with pytest.raises(CorruptHistoryError, match="gap"):
        restart(tmp_path)


def test_log_starting_after_the_snapshot_refuses(tmp_path: Path) -> None:
    live_history(tmp_path, 12, roll_every=4)
    list_logs(tmp_path)[0][1].unlink()  # only snapshot.0 and logs from zxid 4
    with pytest.raises(CorruptHistoryError, match="history gap.*0x4.*0x0"):
        restart(tmp_path)


def test_snapshot_newer_than_logs_is_used_with_a_warning(tmp_path: Path) -> None:
    live = live_history(tmp_path, 9)
    for z in range(10, 15):
        live.apply(z, cmd(z))
    write_snapshot(tmp_path, live.image())  # snapshot.e; the log ends at 9
    t, res = restart(tmp_path)
    assert res.last_zxid == 14 and res.records_replayed == 0
    assert t.digest() == live.digest()
    assert any("newer than the txn log" in w and "0x9" in w for w in res.warnings)
    log = TxnLog(tmp_path, res.last_zxid, prealloc_bytes=SMALL_PREALLOC)
    log.append(15, cmd(15))
    log.flush_and_sync()
    log.close()
    t2, res2 = restart(tmp_path)
    assert res2.last_zxid == 15 and res2.records_replayed == 1


def test_halfway_snapshot_falls_back_to_previous(tmp_path: Path) -> None:
    live = live_history(tmp_path, 30, snap_at=(9, 21))
    newest = tmp_path / "version-2" / "snapshot.15"
    newest.write_bytes(newest.read_bytes()[:100])
    t, res = restart(tmp_path)
    assert res.snapshot is not None and res.snapshot.name == "snapshot.9"
    assert res.records_replayed == 21 and t.digest() == live.digest()
    assert any("snapshot.15" in w for w in res.warnings)


def test_halfway_snapshot_without_log_cover_refuses(tmp_path: Path) -> None:
    live_history(tmp_path, 30, snap_at=(9, 21))
    v2 = tmp_path / "version-2"
    (v2 / "snapshot.15").write_bytes(b"ZKPS")
    for z, p in list_logs(tmp_path):
        if z <= 10:
            p.unlink()
    with pytest.raises(CorruptHistoryError):
        restart(tmp_path)


def test_logs_without_any_snapshot_refuse(tmp_path: Path) -> None:
    live_history(tmp_path, 6)
    (tmp_path / "version-2" / "snapshot.0").unlink()
    with pytest.raises(CorruptHistoryError, match="no valid snapshot"):
        restart(tmp_path)


def test_separate_log_dir_and_no_repair_mode(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    write_snapshot(data, Toy().image())
    log = TxnLog(logs, 0, prealloc_bytes=SMALL_PREALLOC)
    for z in range(1, 5):
        log.append(z, cmd(z))
    log.flush_and_sync()
    log.close()
    (_, seg), = list_logs(logs)
    size = seg.stat().st_size
    with seg.open("r+b") as f:
        f.seek(size - 10)
        f.write(b"\x01")
    t = Toy()
    res = recover(data, logs, load_snapshot=t.load, apply=t.apply, repair=False)
    assert res.last_zxid == 4 and len(res.truncations) == 1
    assert seg.stat().st_size == size  # untouched
    assert "would truncate" in res.summary()
