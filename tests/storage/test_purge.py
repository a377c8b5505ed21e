from __future__ import annotations

from pathlib import Path

import pytest

from zkpy.storage.layout import list_logs, list_snapshots
from zkpy.storage.purge import plan_purge, purge

from .test_recovery import live_history, restart


def test_purge_keeps_n_snapshots_and_the_logs_to_replay_them(tmp_path: Path) -> None:
    live = live_history(tmp_path, 60, snap_at=(9, 21, 33, 45, 57))
    assert [z for z, _ in list_snapshots(tmp_path)] == [0, 9, 21, 33, 45, 57]
    before_logs = [z for z, _ in list_logs(tmp_path)]
    res = purge(tmp_path, snap_retain_count=3)
    assert [z for z, _ in list_snapshots(tmp_path)] == [33, 45, 57]
    logs = [z for z, _ in list_logs(tmp_path)]
    assert logs[0] <= 34 and len(res.deleted_logs) == len(before_logs) - len(logs) > 0
    # the oldest kept snapshot must still be recoverable: break the two newer ones
    for z in (45, 57):
        p = tmp_path / "version-2" / f"snapshot.{z:x}"
        p.write_bytes(p.read_bytes()[:-1])
    t, r = restart(tmp_path)
    assert r.snapshot is not None and r.snapshot.name == "snapshot.21"
    assert t.digest() == live.digest() and r.last_zxid == 60


def test_purge_with_few_valid_snapshots_deletes_nothing(tmp_path: Path) -> None:
    live_history(tmp_path, 30, snap_at=(9, 21))
    bad = tmp_path / "version-2" / "snapshot.15"
    bad.write_bytes(b"half")
    res = purge(tmp_path, snap_retain_count=3)
    assert res.deleted_logs == [] and res.deleted_snapshots == []
    with pytest.raises(ValueError):
        plan_purge(tmp_path, snap_retain_count=2)
