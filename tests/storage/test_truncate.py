from __future__ import annotations

from pathlib import Path

from zkpy.storage.layout import list_logs, list_snapshots
from zkpy.storage.truncate import truncate_history
from zkpy.storage.txnlog import TxnLog

from .conftest import SMALL_PREALLOC
from .test_recovery import live_history, restart
from .toy import Toy, cmd


def test_truncate_to_a_zxid_inside_a_segment(tmp_path: Path) -> None:
    live_history(tmp_path, 40, snap_at=(12, 27), roll_every=10)
    res = truncate_history(tmp_path, None, 17)
    assert [z for z, _ in list_snapshots(tmp_path)] == [0, 12]
    assert all(z <= 17 for z, _ in list_logs(tmp_path))
    assert res.cut is not None
    t, r = restart(tmp_path)
    ref = Toy()
    for z in range(1, 18):
        ref.apply(z, cmd(z))
    assert r.last_zxid == 17 and t.digest() == ref.digest()
    log = TxnLog(tmp_path, 17, prealloc_bytes=SMALL_PREALLOC)  # continue with other txns
    log.append(18, b"k0=leader")
    log.flush_and_sync()
    log.close()
    t2, r2 = restart(tmp_path)
    assert r2.last_zxid == 18 and t2.kv["/k0"] == b"leader"


def test_truncate_to_the_end_changes_nothing(tmp_path: Path) -> None:
    live_history(tmp_path, 9)
    res = truncate_history(tmp_path, None, 9)
    assert res.removed_segments == [] and res.removed_snapshots == [] and res.cut is None
    _, r = restart(tmp_path)
    assert r.last_zxid == 9
