"""Snapshot + log round trips with the real zkpy.state StateMachine (skipped without it)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zkpy.state.machine")

from zkpy.proto import records as r  # noqa: E402
from zkpy.proto.opcodes import OpCode  # noqa: E402
from zkpy.state.machine import StateMachine  # noqa: E402
from zkpy.state.types import Conn  # noqa: E402
from zkpy.storage.describe import describe_record  # noqa: E402
from zkpy.storage.recovery import recover  # noqa: E402
from zkpy.storage.snapshot import SnapshotTaker, read_snapshot, write_snapshot  # noqa: E402
from zkpy.storage.stateimage import (  # noqa: E402
    StateLoader,
    image_digest,
    snapshot_image,
    state_from_image,
)
from zkpy.storage.txnlog import TxnLog  # noqa: E402
from zkpy.storage.verify import DAMAGE, verify  # noqa: E402

# image_digest is also checked directly below

OPEN = [r.ACL(31, r.Id("world", "anyone"))]
NOW = 1_700_000_000_000


class Driver:
    """Drive a StateMachine the way the member does: command -> log -> apply."""

    def __init__(self, d: Path, sm: StateMachine | None = None) -> None:
        self.sm = sm or StateMachine()
        self.log = TxnLog(d, self.sm.last_zxid, prealloc_bytes=8192)
        self.now = NOW
        self.cxid = 0

    def run(self, cmds: list[Any]) -> list[Any]:
        for c in cmds:
            self.log.append(c.zxid, c.to_bytes())
        self.log.flush_and_sync()
        return [self.sm.apply(c) for c in cmds]

    def session(self) -> Conn:
        (a,) = self.run([self.sm.create_session_command(30_000, self.now)])
        return Conn(session_id=a.new_session[0])

    def write(self, conn: Conn, op: int, req: Any) -> Any:
        self.cxid += 1
        self.now += 7
        (a,) = self.run([self.sm.command(conn, op, req, self.cxid, self.now)])
        return a


def workload(dr: Driver, tag: str) -> None:
    c = dr.session()
    dr.write(c, OpCode.CREATE, r.CreateRequest(f"/{tag}", b"top", OPEN, 0))
    dr.write(c, OpCode.CREATE, r.CreateRequest(f"/{tag}/eph", b"e", OPEN, 1))
    for i in range(3):
        dr.write(c, OpCode.CREATE, r.CreateRequest(f"/{tag}/seq-", bytes([i]), OPEN, 2))
    dr.write(c, OpCode.SET_DATA, r.SetDataRequest(f"/{tag}", None, 0))
    dr.write(c, OpCode.CREATE, r.CreateRequest(f"/{tag}/dup", b"", OPEN, 0))
    dr.write(c, OpCode.CREATE, r.CreateRequest(f"/{tag}/dup", b"", OPEN, 0))  # NODEEXISTS
    acl = [r.ACL(1, r.Id("digest", "bob:0j+n0D8EcdTsrMdDV1jbVx8yH/o=")), *OPEN]
    dr.write(c, OpCode.SET_ACL, r.SetACLRequest(f"/{tag}/dup", acl, -1))
    dr.write(c, OpCode.DELETE, r.DeleteRequest(f"/{tag}/seq-0000000001", -1))


def test_snapshot_and_replay_reproduce_the_live_digest(tmp_path: Path) -> None:
    dr = Driver(tmp_path)
    write_snapshot(tmp_path, snapshot_image(dr.sm))
    workload(dr, "a")
    img = snapshot_image(dr.sm)
    write_snapshot(tmp_path, img)
    workload(dr, "b")
    live_digest = dr.sm.digest()
    dr.log.close()

    loader = StateLoader()
    res = recover(tmp_path, load_snapshot=loader.load, apply=loader.apply,
                  tree_digest=loader.digest)
    assert res.snapshot is not None and res.snapshot.name == f"snapshot.{img.zxid:x}"
    assert res.records_replayed > 5 and res.last_zxid == dr.sm.last_zxid
    sm = loader.sm
    assert sm.digest() == live_digest
    assert sm.ephemerals_by_session() == dr.sm.ephemerals_by_session()
    assert sm.sessions_snapshot() == dr.sm.sessions_snapshot()
    assert [n.path for n in sm.iter_nodes()] == [n.path for n in dr.sm.iter_nodes()]


def test_next_session_id_survives_snapshot_plus_replay(tmp_path: Path) -> None:
    dr = Driver(tmp_path)
    write_snapshot(tmp_path, snapshot_image(dr.sm))
    dr.session()
    write_snapshot(tmp_path, snapshot_image(dr.sm))
    dr.session()  # allocated after the snapshot: only in the log
    dr.log.close()
    loader = StateLoader()
    recover(tmp_path, load_snapshot=loader.load, apply=loader.apply)
    # replaying CREATE_SESSION must advance the allocator: no reuse of a live session id
    fresh = loader.sm.create_session_command(30_000, NOW + 10_000)
    assert fresh.session_id not in dr.sm.sessions_snapshot()


def test_snapshot_file_round_trip_and_digest_recomputed(tmp_path: Path) -> None:
    dr = Driver(tmp_path)
    workload(dr, "x")
    p = write_snapshot(tmp_path, snapshot_image(dr.sm))
    img = read_snapshot(p)
    assert img.digest == dr.sm.digest() == image_digest(img)
    back = state_from_image(dr.sm.config, img)
    assert back.digest() == dr.sm.digest()
    assert list(back.iter_nodes()) == list(dr.sm.iter_nodes())
    from zkpy.storage.verify import state_digest_fn

    findings = verify(tmp_path, digest_fn=state_digest_fn())
    assert not [f for f in findings if f.level == DAMAGE]
    assert any("verified" in f.message for f in findings)


def test_forked_snapshot_of_a_live_state_machine(tmp_path: Path) -> None:
    dr = Driver(tmp_path)
    workload(dr, "f")
    expected = dr.sm.digest()
    zxid = dr.sm.last_zxid

    async def main() -> Path:
        fut = SnapshotTaker(tmp_path).start(zxid, lambda: snapshot_image(dr.sm))
        assert fut is not None
        workload(dr, "g")  # the parent keeps applying
        return await asyncio.wait_for(fut, 30)

    p = asyncio.run(main())
    img = read_snapshot(p)
    assert img.zxid == zxid and img.digest == expected


def test_log_tool_decodes_commands(tmp_path: Path) -> None:
    dr = Driver(tmp_path)
    workload(dr, "t")
    dr.log.close()
    from zkpy.storage.logreader import LogReader

    descs = [describe_record(z, p) for z, p in LogReader(tmp_path)]
    assert descs[0]["op"] == "createSession"
    create = descs[1]
    assert create["op"] == "create" and create["path"] == "/t" and create["time_ms"] > NOW
    assert isinstance(create["session"], int)


def test_verify_catches_a_tree_that_does_not_match_its_digest(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zkpy.cli import main
    from zkpy.storage.snapformat import SnapshotImage

    dr = Driver(tmp_path)
    workload(dr, "v")
    dr.log.close()
    p = write_snapshot(tmp_path, snapshot_image(dr.sm))
    ok = CliRunner().invoke(main, ["data", "verify", str(tmp_path)])
    assert ok.exit_code == 0 and "verified" in ok.stdout
    img = read_snapshot(p)
    nodes = [n._replace(data=b"tampered") if n.path == "/v" else n for n in img.nodes]
    write_snapshot(tmp_path, SnapshotImage(img.zxid, nodes, img.sessions, img.digest, img.extra))
    bad = CliRunner().invoke(main, ["data", "verify", str(tmp_path)])
    assert bad.exit_code == 1 and "digest" in bad.stderr


def test_open_member_storage_end_to_end(tmp_path: Path) -> None:
    import random

    from zkpy.storage.stateimage import open_member_storage

    async def first() -> int:
        st, sm, res = open_member_storage(None, tmp_path, rng=random.Random(3), now_ms=NOW,
                                          snap_count_txns=4, prealloc_bytes=8192)
        assert res.fresh and res.snapshot is not None
        conn = None
        for i in range(12):
            cmd = (sm.create_session_command(30_000, NOW) if conn is None else
                   sm.command(conn, OpCode.CREATE, r.CreateRequest(f"/n{i}", b"d", OPEN, 0), i, NOW + i))
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            st.commit([(cmd.zxid, cmd.to_bytes())], done.set_result)
            assert await done is None
            a = sm.apply(cmd)
            if conn is None:
                conn = Conn(session_id=a.new_session[0])  # type: ignore[index]
            if st.after_apply(sm.last_zxid, lambda: snapshot_image(sm)):
                while st.taker.running is not None:
                    await asyncio.sleep(0.005)
        await st.close()
        return sm.digest()

    live = asyncio.run(first())

    async def second() -> tuple[int, int]:
        st, sm, res = open_member_storage(None, tmp_path, rng=random.Random(3), now_ms=NOW + 5)
        await st.close()
        assert not res.fresh and res.snapshot is not None and res.snapshot.name != "snapshot.0"
        assert sm.session_count() == 1
        return sm.digest(), res.last_zxid

    digest, last = asyncio.run(second())
    assert digest == live and last == 12
