"""Sessions: ids, timeouts, passwords, the expiry wheel, closing."""

from __future__ import annotations

from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode
from zkpy.state import StateConfig, StateMachine
from zkpy.state.sessions import initial_session_id

from .harness import T0, Z


def test_session_id_formula() -> None:
    now = 1_700_000_000_123
    sid = initial_session_id(now, 1)
    assert sid == ((((now << 24) & (2**64 - 1)) >> 8) | (1 << 56))
    assert sid >> 56 == 1
    assert initial_session_id(now, 3) >> 56 == 3
    # the container marker is skipped
    assert initial_session_id(0, 128) == -0x8000000000000000 + 1


def test_create_session_command_and_apply() -> None:
    sm = StateMachine(StateConfig(server_id=2, secret=42))
    cmd = sm.create_session_command(100_000, T0)
    assert cmd.op == OpCode.CREATE_SESSION and cmd.zxid == 1
    assert cmd.request == r.CreateSessionTxn(40_000)  # clamped to max
    a = sm.apply(cmd)
    sid, timeout, pw = a.new_session
    assert sid == cmd.session_id and sid >> 56 == 2 and timeout == 40_000 and len(pw) == 16
    assert a.err == 0 and a.response is None and a.zxid == 1
    assert sm.check_password(sid, pw) and not sm.check_password(sid, b"\0" * 16)
    assert sm.session_alive(sid)
    cmd2 = sm.create_session_command(1000, T0)
    assert cmd2.session_id == sid + 1 and cmd2.request.timeOut == 4000  # clamped to min
    # same secret on another member -> same password
    other = StateMachine(StateConfig(server_id=2, secret=42))
    assert other.apply(cmd).new_session == a.new_session
    assert StateMachine(StateConfig(secret=43)).apply(cmd).new_session[2] != pw


def test_expiry_wheel() -> None:
    z = Z(tick_ms=2000)
    c = z.connect(timeout=10000)
    sm = z.sm
    # expiry = next tick boundary after now + timeout
    exp = ((T0 + 10000) // 2000 + 1) * 2000
    assert sm.expired_sessions(exp - 1) == []
    sm.touch(c.session_id, T0 + 5000)
    assert sm.expired_sessions(exp) == []
    exp2 = ((T0 + 15000) // 2000 + 1) * 2000
    assert sm.expired_sessions(exp2) == [c.session_id]
    assert not sm.session_alive(c.session_id)  # marked closing
    assert sm.expired_sessions(exp2 + 10_000) == []  # returned once
    a = z.run(sm.close_session_command(c.session_id, exp2))
    assert a.closed_session == c.session_id
    assert sm.session_count() == 0


def test_expired_sorted_and_touch_of_closing() -> None:
    z = Z(tick_ms=1000)
    cs = [z.connect(timeout=4000) for _ in range(3)]
    ids = sorted(c.session_id for c in cs)
    assert z.sm.expired_sessions(T0) == []  # first call starts the clocks at T0
    z.sm.touch(cs[0].session_id, T0 + 100_000)
    got = z.sm.expired_sessions(T0 + 10_000)
    assert got == sorted(ids[1:]) or got == sorted(x for x in ids if x != cs[0].session_id)
    z.sm.touch(got[0], T0 + 200_000)  # closing sessions cannot be revived
    assert not z.sm.session_alive(got[0])


def test_close_session_command_via_command() -> None:
    z = Z()
    c = z.connect()
    cmd = z.sm.command(c, OpCode.CLOSE_SESSION, None, 77, z.now)
    assert cmd.op == OpCode.CLOSE_SESSION and cmd.cxid == 77
    assert not z.sm.session_alive(c.session_id)
    a = z.run(cmd)
    assert (a.session_id, a.cxid, a.closed_session) == (c.session_id, 77, c.session_id)


def test_close_unknown_session_is_harmless() -> None:
    z = Z()
    a = z.run(z.sm.close_session_command(12345, z.now))
    assert a.err == 0 and a.closed_session == 12345


def test_session_timeout_and_snapshot() -> None:
    z = Z()
    c = z.connect(timeout=6000)
    assert z.sm.session_timeout(c.session_id) == 6000
    assert z.sm.sessions_snapshot() == {c.session_id: 6000}
    assert z.sm.session_timeout(1) is None


def test_restored_sessions_get_a_full_timeout() -> None:
    z = Z(tick_ms=1000)
    c = z.connect(timeout=4000)
    sm = z.sm
    restored = type(sm).from_snapshot(sm.config, sm.snapshot_header(), sm.iter_nodes())
    later = T0 + 10**7
    # the first expiry check after a restart restarts the clocks instead of expiring all
    assert restored.expired_sessions(later) == []
    assert restored.session_alive(c.session_id)
    assert restored.expired_sessions(later + 5000) == [c.session_id]


def test_restart_session_clocks_explicit() -> None:
    z = Z(tick_ms=1000)
    c = z.connect(timeout=4000)
    z.sm.restart_session_clocks(T0 + 50_000)
    assert z.sm.expired_sessions(T0 + 50_000) == []
    assert z.sm.expired_sessions(T0 + 55_000) == [c.session_id]


def test_replayed_create_session_advances_next_id() -> None:
    z = Z()
    z.connect()
    snap_hdr = z.sm.snapshot_header()
    nodes = list(z.sm.iter_nodes())
    c2 = z.connect()  # only in the "log"
    restored = type(z.sm).from_snapshot(z.sm.config, snap_hdr, nodes)
    restored.apply(z.commands[-1])
    fresh = restored.create_session_command(10000, T0)
    assert fresh.session_id == c2.session_id + 1
    # ids of other servers do not move ours
    other = StateMachine(StateConfig(server_id=9))
    other.apply(z.commands[-1])
    assert other.create_session_command(10000, T0).session_id >> 56 == 9
