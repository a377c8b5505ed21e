from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from zkpy.cli import main
from zkpy.storage.layout import list_logs, list_snapshots
from zkpy.storage.logformat import SegmentScan

from .test_recovery import live_history


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["data", *args])
    return r.exit_code, r.stdout, r.stderr


def test_log_lists_records(tmp_path: Path) -> None:
    live_history(tmp_path, 5)
    code, out, _ = run("log", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "zxid" and len(lines) == 6
    assert lines[1].split()[0] == "0x1"
    code, out, _ = run("log", str(tmp_path), "--format", "json", "--from-zxid", "0x3", "-n", "2")
    recs = [json.loads(x) for x in out.splitlines()]
    assert [r["zxid"] for r in recs] == [3, 4] and recs[0]["size"] > 0
    (_, seg), = list_logs(tmp_path)
    code, out, _ = run("log", str(seg))
    assert code == 0 and len(out.splitlines()) == 6
    code, _, err = run("log", str(tmp_path), "--from-zxid", "abc")
    assert code == 2 and "--from-zxid" in err and "Traceback" not in err


def test_snapshot_text_and_json(tmp_path: Path) -> None:
    live_history(tmp_path, 9, snap_at=(9,))
    snap = list_snapshots(tmp_path)[-1][1]
    code, out, _ = run("snapshot", str(snap))
    assert code == 0 and out.startswith("snapshot zxid 0x9: 8 nodes")
    assert "/k2\n" in out and "world:anyone:31" in out
    code, out, _ = run("snapshot", str(snap), "--format", "json")
    doc = json.loads(out)
    assert doc["zxid"] == 9 and {n["path"] for n in doc["nodes"]} >= {"/", "/k2"}
    node = next(n for n in doc["nodes"] if n["path"] == "/k2")
    assert node["data"] == "v9" and node["acl"] == [{"perms": 31, "scheme": "world", "id": "anyone"}]
    snap.write_bytes(snap.read_bytes()[:50])
    code, out, err = run("snapshot", str(snap))
    assert code == 1 and out == "" and "halfway" in err


def test_verify_good_torn_and_damaged(tmp_path: Path) -> None:
    live_history(tmp_path, 12, snap_at=(6,))
    code, out, err = run("verify", str(tmp_path))
    assert code == 0, out + err
    assert "12 records" in out and "recovery would succeed" in out
    seg = list_logs(tmp_path)[-1][1]  # the segment after the snapshot roll
    offs = [o for o, _, _ in SegmentScan(seg)]
    assert len(offs) >= 5
    b = bytearray(seg.read_bytes())
    b[offs[-1] + 20] ^= 1  # torn tail: a warning, exit 0
    seg.write_bytes(bytes(b))
    code, out, _ = run("verify", str(tmp_path / "version-2"))
    assert code == 0 and "WARN" in out and "torn tail" in out
    b[offs[3] + 20] ^= 1  # middle record: damage, exit 1 naming file and offset
    seg.write_bytes(bytes(b))
    code, out, err = run("verify", str(tmp_path))
    assert code == 1 and "DAMAGE" in out
    assert f"{seg.name} at offset {offs[3]}" in err


def test_verify_flags_halfway_snapshot(tmp_path: Path) -> None:
    live_history(tmp_path, 12, snap_at=(6,))
    snap = tmp_path / "version-2" / "snapshot.6"
    snap.write_bytes(snap.read_bytes()[:-3])
    code, out, err = run("verify", str(tmp_path))
    assert code == 1 and "snapshot.6: invalid snapshot" in err


def test_purge_by_hand(tmp_path: Path) -> None:
    live_history(tmp_path, 40, snap_at=(9, 18, 27, 36))
    code, out, err = run("purge", str(tmp_path), "-n", "3", "--dry-run")
    assert code == 0 and "would delete" in out and len(list_snapshots(tmp_path)) == 5
    code, out, err = run("purge", str(tmp_path), "-n", "3")
    assert code == 0 and [z for z, _ in list_snapshots(tmp_path)] == [18, 27, 36]
    assert "deleted 2 snapshot(s)" in err
    code, _, err = run("purge", str(tmp_path), "-n", "2")
    assert code == 2
