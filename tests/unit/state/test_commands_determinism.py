"""Command bytes round trip, determinism across members, snapshots and the digest."""

from __future__ import annotations

import random

import pytest

from zkpy.proto import records as r
from zkpy.proto.jute import MalformedRecord
from zkpy.proto.opcodes import OpCode
from zkpy.state import Command, Conn, StateConfig, StateMachine

from .harness import OPEN, T0

CFG = StateConfig(extended_types_enabled=True, secret=7)


@pytest.mark.parametrize("cmd", [
    Command(5, 0x0100000000000001, 3, T0, OpCode.CREATE,
            r.CreateRequest("/a", b"x", OPEN, 2), [r.Id("ip", "1.2.3.4")]),
    Command(6, 1, 4, T0, OpCode.CREATE_TTL, r.CreateTTLRequest("/t", None, OPEN, 5, 99), []),
    Command(7, 1, 5, T0, OpCode.DELETE, r.DeleteRequest("/a", -1), [r.Id("digest", "u:x")]),
    Command(8, 1, 6, T0, OpCode.SET_DATA, r.SetDataRequest("/a", b"", 3), []),
    Command(9, 1, 7, T0, OpCode.SET_ACL, r.SetACLRequest("/a", OPEN, 0), []),
    Command(10, 1, 8, T0, OpCode.MULTI, [
        (OpCode.CREATE, r.CreateRequest("/m", b"", OPEN, 0)),
        (OpCode.CHECK, r.CheckVersionRequest("/m", 0)),
        (OpCode.DELETE, r.DeleteRequest("/m", 0))], []),
    Command(11, 1, 9, T0, OpCode.MULTI, [], []),
    Command(12, 77, 0, T0, OpCode.CREATE_SESSION, r.CreateSessionTxn(30000), []),
    Command(13, 77, 0, T0, OpCode.CLOSE_SESSION, None, []),
    Command(14, 0, 0, T0, OpCode.DELETE_CONTAINER, r.DeleteContainerRequest(b"/c"), []),
    Command(15, 1, 1, T0, OpCode.RECONFIG, r.ReconfigRequest(None, None, "x", -1), []),
    Command(16, 1, 2, T0, OpCode.DELETE, r.DeleteRequest("/a", -1),
            [r.Id("ip", "1.2.3.4"), r.Id("digest", "u:x"), r.Id("sasl", None)]),
])
def test_command_bytes_round_trip(cmd: Command) -> None:
    b = cmd.to_bytes()
    back = Command.from_bytes(b)
    assert back == cmd
    assert back.to_bytes() == b
    hdr, _ = r.TxnHeader.decode(b, 0)
    assert (hdr.clientId, hdr.cxid, hdr.zxid, hdr.time, hdr.type) == (
        cmd.session_id, cmd.cxid, cmd.zxid, cmd.time_ms, cmd.op)


@pytest.mark.parametrize("op,req", [
    (OpCode.SET_DATA, r.SetDataRequest("/a", b"v", -1)),
    (OpCode.CREATE2, r.CreateRequest("/a/b", None, OPEN, 1)),
    (OpCode.DELETE, r.DeleteRequest("/a", 3)),
])
def test_client_write_logs_the_request_bytes_as_received(op: int, req: r.Record) -> None:
    """StateMachine.command gives a client's write its wire form up front (header, ids,
    the request's own bytes): the same bytes as encoding the Command field by field."""
    sm = StateMachine(CFG)
    conn = Conn("1.2.3.4", auth_ids=[r.Id("ip", "1.2.3.4"), r.Id("digest", "u:x")])
    cmd = sm.command(conn, op, req, 9, T0, raw=req.to_bytes())
    assert cmd.wire is not None
    fields = Command(cmd.zxid, cmd.session_id, 9, T0, op, req, cmd.auth_ids)
    assert cmd.to_bytes() == fields.to_bytes()
    assert Command.from_bytes(cmd.to_bytes()) == cmd


def test_command_from_bad_bytes() -> None:
    good = Command(1, 1, 1, T0, OpCode.DELETE, r.DeleteRequest("/a", -1), []).to_bytes()
    with pytest.raises(MalformedRecord):
        Command.from_bytes(good[:-2])
    with pytest.raises(MalformedRecord):
        Command.from_bytes(good + b"\0")
    with_ids = Command(1, 1, 1, T0, OpCode.DELETE, r.DeleteRequest("/a", -1),
                       [r.Id("ip", "1.2.3.4")]).to_bytes()
    body = len(r.DeleteRequest("/a", -1).to_bytes())
    for cut in range(1, len(with_ids) - body):   # inside the header or the auth-id vector
        with pytest.raises(MalformedRecord):
            Command.from_bytes(with_ids[:cut])


# ------------------------------------------------------------- determinism


def random_commands(seed: int, n: int) -> list[tuple[str, int, object]]:
    rnd = random.Random(seed)
    paths = ["/a", "/b", "/a/x", "/a/y", "/b/z", "/c", "/a/x/q"]
    ops: list[tuple[str, int, object]] = []
    for _ in range(n):
        k = rnd.randrange(9)
        p = rnd.choice(paths)
        if k <= 2:
            ops.append(("w", OpCode.CREATE2, r.CreateRequest(
                p, bytes(rnd.randrange(5)), OPEN, rnd.choice([0, 1, 2, 3, 4]))))
        elif k == 3:
            ops.append(("w", OpCode.DELETE, r.DeleteRequest(p, rnd.choice([-1, 0, 1]))))
        elif k == 4:
            ops.append(("w", OpCode.SET_DATA, r.SetDataRequest(p, b"d" * rnd.randrange(4),
                                                               rnd.choice([-1, 0, 1]))))
        elif k == 5:
            sub = [(OpCode.CREATE, r.CreateRequest(rnd.choice(paths), b"", OPEN, 0)),
                   (OpCode.DELETE, r.DeleteRequest(rnd.choice(paths), -1)),
                   (OpCode.SET_DATA, r.SetDataRequest(rnd.choice(paths), b"m", -1))]
            ops.append(("w", OpCode.MULTI, sub[: rnd.randrange(4)]))
        elif k == 6:
            ops.append(("w", OpCode.CREATE_TTL, r.CreateTTLRequest(p, b"", OPEN, 5, 100)))
        elif k == 7:
            ops.append(("close", 0, None))
        else:
            ops.append(("watch", rnd.randrange(3), p))
    return ops


def drive(seed: int) -> tuple[list[bytes], list[tuple[int, int, bytes, list[tuple]]], StateMachine]:
    """Leader side: make commands; return their bytes and the leader's replies."""
    sm = StateMachine(CFG)
    now = T0
    log: list[bytes] = []
    replies = []
    conns: list[Conn] = []

    def run(cmd: Command) -> None:
        log.append(cmd.to_bytes())
        a = sm.apply(cmd)
        body = bytearray()
        if a.response is not None:
            a.response.encode(body)
        replies.append((a.zxid, a.err, bytes(body),
                        [(w, e.type, e.path) for w, e in a.events]))
        if a.new_session:
            conns.append(Conn("127.0.0.1", watcher=f"w{len(conns)}",
                              session_id=a.new_session[0]))

    for _ in range(3):
        run(sm.create_session_command(10000, now))
    for kind, op, req in random_commands(seed, 300):
        now += 7
        live = [c for c in conns if sm.session_alive(c.session_id)]
        if not live:
            run(sm.create_session_command(10000, now))
            continue
        c = live[now % len(live)]
        if kind == "w":  # a request's own bytes, as the server passes them (not a multi's)
            raw = req.to_bytes() if isinstance(req, r.Record) else None
            run(sm.command(c, op, req, 1, now, raw))
        elif kind == "close":
            if now % 5 == 0:
                run(sm.close_session_command(c.session_id, now))
        else:
            if op == 0:
                sm.read(c, OpCode.GET_DATA, r.GetDataRequest(req, True))
            elif op == 1:
                sm.read(c, OpCode.EXISTS, r.ExistsRequest(req, True))
            else:
                sm.read(c, OpCode.GET_CHILDREN, r.GetChildrenRequest(req, True))
        for cmd in sm.reap_commands(now):
            run(cmd)
    return log, replies, sm


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_followers_reach_the_same_state(seed: int) -> None:
    log, replies, leader = drive(seed)
    follower = StateMachine(CFG)
    for i, b in enumerate(log):
        a = follower.apply(Command.from_bytes(b))
        body = bytearray()
        if a.response is not None:
            a.response.encode(body)
        assert (a.zxid, a.err, bytes(body)) == replies[i][:3]
    assert follower.digest() == leader.digest()
    assert follower.last_zxid == leader.last_zxid
    assert follower.sessions_snapshot() == leader.sessions_snapshot()
    assert follower.ephemerals_by_session() == leader.ephemerals_by_session()
    assert follower.approximate_data_size() == leader.approximate_data_size()
    assert follower.node_count() == leader.node_count()
    assert list(follower.iter_nodes()) == list(leader.iter_nodes())


@pytest.mark.parametrize("seed", [3, 11])
def test_replay_without_replies_reaches_the_same_state(seed: int) -> None:
    log, replies, leader = drive(seed)
    recovering = StateMachine(CFG)
    for b in log:
        recovering.apply_replayed(Command.from_bytes(b))
    assert recovering.digest() == leader.digest()
    assert list(recovering.iter_nodes()) == list(leader.iter_nodes())
    assert recovering.sessions_snapshot() == leader.sessions_snapshot()
    # replies are built again afterwards
    sid = recovering.apply(recovering.create_session_command(30000, T0)).new_session
    assert sid is not None
    a = recovering.apply(Command(recovering.last_zxid + 1, sid[0], 1, T0, OpCode.SET_DATA,
                                 r.SetDataRequest("/", b"x", -1), []))
    assert a.err == 0 and isinstance(a.response, r.SetDataResponse)


def test_same_seed_same_replies_and_events() -> None:
    assert drive(5)[1] == drive(5)[1]
    assert any(ev for *_, ev in drive(5)[1])  # the run did fire events


# --------------------------------------------------------------- snapshots


def test_snapshot_round_trip_and_continue() -> None:
    log, _, leader = drive(11)
    hdr = leader.snapshot_header()
    nodes = list(leader.iter_nodes())
    assert nodes[0].path == "/" and len(nodes) == leader.node_count() - 1
    paths = [n.path for n in nodes]
    for p in paths[1:]:  # parents before children
        parent = p[: p.rfind("/")] or "/"
        assert paths.index(parent) < paths.index(p)
    restored = StateMachine.from_snapshot(CFG, hdr, nodes)
    assert restored.digest() == leader.digest()
    assert restored.snapshot_header() == hdr
    assert restored.approximate_data_size() == leader.approximate_data_size()
    assert restored.ephemerals_by_session() == leader.ephemerals_by_session()
    assert restored.quota.roots == leader.quota.roots
    assert list(restored.iter_nodes()) == nodes
    # both continue identically
    for sm in (leader, restored):
        c = Conn("127.0.0.1", watcher="x")
        a = sm.apply(sm.create_session_command(5000, T0 + 10**6))
        c.session_id = a.new_session[0]
        sm.apply(sm.command(c, OpCode.CREATE, r.CreateRequest("/a/s-", b"", OPEN, 2), 1,
                            T0 + 10**6))
        sm.apply(sm.command(c, OpCode.CREATE, r.CreateRequest("/new", b"1", OPEN, 1), 2,
                            T0 + 10**6))
    assert restored.digest() == leader.digest()


def test_fresh_snapshot_restores_fresh_tree() -> None:
    sm = StateMachine()
    restored = StateMachine.from_snapshot(StateConfig(), sm.snapshot_header(), sm.iter_nodes())
    assert restored.digest() == sm.digest()
    assert restored.node_count() == 5


def test_digest_sensitive_to_every_part() -> None:
    base = StateMachine(CFG)
    c = Conn("127.0.0.1")
    c.session_id = base.apply(base.create_session_command(5000, T0)).new_session[0]
    base.apply(base.command(c, OpCode.CREATE, r.CreateRequest("/a", b"1", OPEN, 0), 1, T0))
    d0 = base.digest()
    assert isinstance(d0, int) and 0 <= d0 < 2**64
    base.apply(base.command(c, OpCode.SET_ACL, r.SetACLRequest("/a", OPEN, -1), 1, T0))
    d1 = base.digest()
    assert d1 != d0  # aversion changed
    base.apply(base.command(c, OpCode.SET_DATA, r.SetDataRequest("/a", b"1", -1), 1, T0))
    assert base.digest() != d1
