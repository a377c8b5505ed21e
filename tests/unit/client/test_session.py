"""session.py: the sans-I/O client core, driven by hand-built server frames."""

from __future__ import annotations

from typing import Any

import pytest

from zkpy.client.session import (
    AUTH_FAILED,
    CLOSED,
    CONNECTED,
    CONNECTEDREADONLY,
    CONNECTING,
    EXPIRED,
    SET_WATCHES_MAX_BYTES,
    SUSPENDED,
    WATCH_CHILD,
    WATCH_DATA,
    WATCH_EXIST,
    WATCH_PERSISTENT,
    WATCH_RECURSIVE,
    ClientSession,
    CloseConnection,
    Completion,
    ConnectionClosedError,
    Notify,
    StateChange,
    WatchedEvent,
)
from zkpy.errors import (
    AuthFailedError,
    ConnectionLossError,
    NoNodeError,
    SessionExpiredError,
)
from zkpy.proto import records as rec
from zkpy.proto.framing import FrameReader
from zkpy.proto.jute import INT32
from zkpy.proto.opcodes import Err, EventType, KeeperState, OpCode, WatcherType

SID = 0x0100_0000_0000_00AB
PASSWD = bytes(range(16))


def frame(payload: bytes) -> bytes:
    return INT32.pack(len(payload)) + payload


def connect_response(timeout_ms: int = 9000, sid: int = SID, ro: bool | None = False) -> bytes:
    return frame(rec.encode_connect_response(rec.ConnectResponse(0, timeout_ms, sid, PASSWD), ro))


def reply(xid: int, zxid: int = 0, err: int = 0, body: bytes = b"") -> bytes:
    return frame(rec.ReplyHeader(xid, zxid, err).to_bytes() + body)


def event(etype: EventType, path: str) -> bytes:
    return reply(-1, -1, 0, rec.WatcherEvent(int(etype), 3, path).to_bytes())


class Wire:
    """Decodes what the session sends: the ConnectRequest, then request frames."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self.connect: rec.ConnectRequest | None = None
        self.read_only: bool | None = None

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        out = []
        for fr in self.reader.feed(data):
            if self.connect is None:
                self.connect, self.read_only = rec.decode_connect_request(fr)
                continue
            hdr, off = rec.RequestHeader.decode(fr, 0)
            out.append((hdr.xid, hdr.type, fr[off:]))
        return out


def connected_session(**kw: Any) -> tuple[ClientSession, Wire]:
    kw.setdefault("default_watcher", "DW")
    s = ClientSession(**kw)
    w = Wire()
    s.connection_made(1000)
    w.feed(s.data_to_send())
    s.receive_data(connect_response(), 1000)
    w.feed(s.data_to_send())
    s.drain()
    return s, w


def completions(outs: list[Any]) -> list[Completion]:
    return [o for o in outs if isinstance(o, Completion)]


def test_handshake_new_session() -> None:
    s = ClientSession(session_timeout_ms=12000, read_only=True, default_watcher="DW")
    assert s.state == CONNECTING
    w = Wire()
    s.connection_made(0)
    assert w.feed(s.data_to_send()) == []
    assert w.connect == rec.ConnectRequest(0, 0, 12000, 0, b"\x00" * 16)
    assert w.read_only is True
    s.receive_data(connect_response(9000, ro=False), 5)
    assert s.state == CONNECTED and s.session_id == SID and s.passwd == PASSWD
    assert s.negotiated_timeout_ms == 9000 and s.read_timeout_ms == 6000
    outs = s.drain()
    assert outs == [StateChange(CONNECTING, CONNECTED),
                    Notify(("DW",), WatchedEvent(EventType.NONE, KeeperState.SYNC_CONNECTED,
                                                 None))]


def test_read_only_server() -> None:
    s = ClientSession(read_only=True)
    s.connection_made(0)
    s.data_to_send()
    s.receive_data(connect_response(ro=True), 0)
    assert s.state == CONNECTEDREADONLY


def test_frames_split_and_coalesced() -> None:
    s = ClientSession()
    s.connection_made(0)
    data = connect_response() + reply(-2, 5)
    for b in data[:7], data[7:20], data[20:]:
        s.receive_data(b, 1)
    assert s.state == CONNECTED


def test_xids_and_in_order_replies() -> None:
    s, w = connected_session()
    for i in range(3):
        s.submit(OpCode.GET_DATA, rec.GetDataRequest(f"/n{i}", False).to_bytes(), f"t{i}", 2000,
                 path=f"/n{i}", reader=lambda fr, off: rec.GetDataResponse.decode(fr, off)[0].data)
    sent = w.feed(s.data_to_send())
    assert [(x, op) for x, op, _ in sent] == [(1, 4), (2, 4), (3, 4)]
    assert rec.GetDataRequest.from_bytes(sent[1][2]) == rec.GetDataRequest("/n1", False)
    body = rec.GetDataResponse(b"v", rec.Stat(*([0] * 11))).to_bytes()
    s.receive_data(reply(1, 7, 0, body) + reply(2, 8, Err.NONODE) + reply(3, 9, 0, body), 2001)
    c = completions(s.drain())
    assert [x.token for x in c] == ["t0", "t1", "t2"]
    assert c[0].value == b"v" and c[2].value == b"v"
    assert isinstance(c[1].error, NoNodeError) and c[1].error.path == "/n1"
    assert s.last_zxid == 9


def test_xid_out_of_order_drops_connection() -> None:
    s, w = connected_session()
    s.submit(OpCode.SYNC, rec.SyncRequest("/").to_bytes(), "t", 0)
    s.receive_data(reply(42, 1), 0)
    outs = s.drain()
    assert any(isinstance(o, CloseConnection) and "Xid out of order" in o.reason for o in outs)
    s.connection_lost(10)
    c = completions(s.drain())
    assert isinstance(c[0].error, ConnectionLossError)


def test_malformed_reply_drops_connection_without_raising() -> None:
    s, w = connected_session()
    s.receive_data(frame(b"\x00\x01"), 0)
    assert any(isinstance(o, CloseConnection) for o in s.drain())


def test_xid_wraps() -> None:
    s, w = connected_session()
    s._xid = 2**31 - 2
    for _ in range(3):
        s.submit(OpCode.SYNC, rec.SyncRequest("/").to_bytes(), None, 0)
    assert [x for x, _, _ in w.feed(s.data_to_send())] == [2**31 - 1, 1, 2]


def test_pings_and_read_timeout() -> None:
    s, w = connected_session()  # negotiated 9000: read timeout 6000, ping after 3000 idle
    assert s.next_deadline_ms() == 1000 + 3000
    s.tick(3999)
    assert s.data_to_send() == b""
    s.tick(4000)
    assert w.feed(s.data_to_send()) == [(-2, OpCode.PING, b"")]
    s.receive_data(reply(-2, 3), 4100)  # ping reply: not matched against pending
    assert s.drain() == []
    assert s.next_deadline_ms() == 4000 + 3000
    s.tick(7000)
    w.feed(s.data_to_send())
    s.tick(10100)  # nothing heard for 6000 ms
    outs = s.drain()
    assert any(isinstance(o, CloseConnection) and "have not heard" in o.reason for o in outs)


def test_connection_loss_suspends_and_fails_inflight() -> None:
    s, w = connected_session()
    s.submit(OpCode.SYNC, rec.SyncRequest("/a").to_bytes(), "t", 0, path="/a")
    s.connection_lost(2000)
    outs = s.drain()
    assert StateChange(CONNECTED, SUSPENDED) in outs
    assert Notify(("DW",), WatchedEvent(EventType.NONE, KeeperState.DISCONNECTED, None)) in outs
    (c,) = completions(outs)
    assert isinstance(c.error, ConnectionLossError) and c.error.path == "/a"
    # queued while disconnected: sent after the next handshake
    s.submit(OpCode.SYNC, rec.SyncRequest("/b").to_bytes(), "t2", 2100)
    assert s.data_to_send() == b""
    s.connection_made(2200)
    w2 = Wire()
    w2.feed(s.data_to_send())
    assert w2.connect is not None and w2.connect.sessionId == SID and w2.connect.passwd == PASSWD
    s.receive_data(connect_response(), 2300)
    sent = w2.feed(s.data_to_send())
    assert [op for _, op, _ in sent] == [OpCode.SYNC]
    assert StateChange(SUSPENDED, CONNECTED) in s.drain()


def test_failed_attempt_fails_queued_requests() -> None:
    s, _ = connected_session()
    s.connection_lost(2000)
    s.drain()
    s.submit(OpCode.SYNC, rec.SyncRequest("/b").to_bytes(), "t", 2100)
    s.connection_lost(2200)  # the next attempt failed
    (c,) = completions(s.drain())
    assert isinstance(c.error, ConnectionLossError)


def test_reconnect_replays_auth_then_set_watches() -> None:
    s, w = connected_session()
    s.submit_auth("digest", b"u:p", "auth", 1000)
    s.receive_data(reply(-4, 0, 0), 1001)
    s.submit(OpCode.EXISTS, b"", "e", 1000, watch=(WATCH_EXIST, "/x", "W1"))
    s.submit(OpCode.GET_DATA, b"", "g", 1000, watch=(WATCH_DATA, "/d", "W2"))
    s.submit(OpCode.GET_CHILDREN, b"", "c", 1000, watch=(WATCH_CHILD, "/c", "W3"))
    w.feed(s.data_to_send())
    s.receive_data(reply(1, 50, Err.NONODE) + reply(2, 51) + reply(3, 52), 1002)
    c = completions(s.drain())
    assert c[0] == Completion("auth", None, None)
    assert s.exist_watches == {"/x": {"W1": None}}
    assert s.data_watches == {"/d": {"W2": None}}
    assert s.child_watches == {"/c": {"W3": None}}
    s.connection_lost(1100)
    s.connection_made(1200)
    w2 = Wire()
    w2.feed(s.data_to_send())
    assert w2.connect is not None and w2.connect.lastZxidSeen == 52
    s.receive_data(connect_response(), 1300)
    sent = w2.feed(s.data_to_send())
    assert [(x, op) for x, op, _ in sent] == [(-4, OpCode.AUTH), (4, OpCode.SET_WATCHES)]
    assert rec.AuthPacket.from_bytes(sent[0][2]) == rec.AuthPacket(0, "digest", b"u:p")
    assert rec.SetWatches.from_bytes(sent[1][2]) == rec.SetWatches(52, ["/d"], ["/x"], ["/c"])
    # server synthesizes an event before the SetWatches reply; reply is internal
    s.receive_data(reply(-4, 0, 0) + event(EventType.NODE_DATA_CHANGED, "/d") + reply(4, 53),
                   1400)
    outs = s.drain()
    assert Notify(("W2",), WatchedEvent(EventType.NODE_DATA_CHANGED, KeeperState.SYNC_CONNECTED,
                                        "/d")) in outs
    assert completions(outs) == []
    assert s.last_zxid == 53


def test_set_watches2_when_persistent_and_batching() -> None:
    s, w = connected_session()
    s.submit(OpCode.ADD_WATCH, b"", None, 0, watch=(WATCH_PERSISTENT, "/p", "P"))
    s.submit(OpCode.ADD_WATCH, b"", None, 0, watch=(WATCH_RECURSIVE, "/r", "R"))
    w.feed(s.data_to_send())
    s.receive_data(reply(1, 5) + reply(2, 6), 0)
    long_paths = [f"/{'x' * 1000}{i}" for i in range(300)]  # ~300 KB of path text
    for p in long_paths:
        s.data_watches.setdefault(p, {})["W"] = None
    s.connection_lost(10)
    s.connection_made(20)
    w2 = Wire()
    w2.feed(s.data_to_send())
    s.receive_data(connect_response(), 30)
    sent = w2.feed(s.data_to_send())
    assert all(op == OpCode.SET_WATCHES2 for _, op, _ in sent) and len(sent) == 3
    batches = [rec.SetWatches2.from_bytes(b) for _, _, b in sent]
    assert [p for b in batches for p in b.dataWatches] == long_paths
    for b in batches:
        assert sum(len(p) for p in b.dataWatches) <= SET_WATCHES_MAX_BYTES + 1100
        assert b.relativeZxid == 6
    assert batches[-1].persistentWatches == ["/p"]
    assert batches[-1].persistentRecursiveWatches == ["/r"]


def test_watch_dispatch_rules() -> None:
    s, w = connected_session(chroot="/app")
    reg = [(WATCH_DATA, "/app/a", "D"), (WATCH_EXIST, "/app/a", "E"),
           (WATCH_CHILD, "/app/a", "C"), (WATCH_PERSISTENT, "/app/a", "P"),
           (WATCH_RECURSIVE, "/app", "R"), (WATCH_DATA, "/app/a", "C")]
    for i, r in enumerate(reg):
        s.submit(OpCode.EXISTS, b"", None, 0, watch=r)
        s.receive_data(reply(i + 1, 10), 0)
    s.drain()

    def fired(etype: EventType, path: str) -> tuple[tuple[Any, ...], str | None]:
        s.receive_data(event(etype, path), 0)
        outs = [o for o in s.drain() if isinstance(o, Notify)]
        if not outs:
            return (), None
        assert len(outs) == 1
        return outs[0].watchers, outs[0].event.path

    ws, p = fired(EventType.NODE_DATA_CHANGED, "/app/a")
    assert set(ws) == {"D", "E", "C", "P", "R"} and len(ws) == 5 and p == "/a"
    ws, _ = fired(EventType.NODE_DATA_CHANGED, "/app/a")  # one-shots are gone
    assert set(ws) == {"P", "R"}
    ws, _ = fired(EventType.NODE_CHILDREN_CHANGED, "/app/a")  # never to recursive
    assert set(ws) == {"C", "P"}
    ws, p = fired(EventType.NODE_CREATED, "/app/a/b/c")  # recursive: any descendant
    assert ws == ("R",) and p == "/a/b/c"
    ws, p = fired(EventType.NODE_DELETED, "/app")
    assert ws == ("R",) and p == "/"
    ws, _ = fired(EventType.NODE_CREATED, "/elsewhere")
    assert ws == ()


def test_exists_watch_goes_to_exist_table_only_on_nonode() -> None:
    s, w = connected_session()
    s.submit(OpCode.EXISTS, b"", "a", 0, watch=(WATCH_EXIST, "/a", "W"))
    s.submit(OpCode.GET_DATA, b"", "b", 0, watch=(WATCH_DATA, "/b", "W"))
    s.receive_data(reply(1, 1, Err.NOAUTH) + reply(2, 1, Err.NONODE), 0)
    assert s.watch_count() == 0  # errors register nothing (NONODE only for exists)


def test_remove_local_watches_emits_removed_events() -> None:
    s, _ = connected_session()
    s.data_watches["/a"] = {"W": None, "V": None}
    s.child_watches["/a"] = {"W": None}
    assert s.local_watchers("/a", WatcherType.DATA) == ["W", "V"]
    assert s.remove_local_watches("/a", WatcherType.DATA, "W") == 1
    assert s.remove_local_watches("/a", WatcherType.ANY, None) == 2
    outs = s.drain()
    assert [(o.watchers, o.event.type) for o in outs if isinstance(o, Notify)] == [
        (("W",), EventType.DATA_WATCH_REMOVED), (("V",), EventType.DATA_WATCH_REMOVED),
        (("W",), EventType.CHILD_WATCH_REMOVED)]
    assert s.watch_count() == 0


def test_client_side_expiry() -> None:
    s, w = connected_session()  # last heard at 1000, negotiated 9000
    s.data_watches["/a"] = {"W": None}
    s.connection_lost(3000)
    assert s.next_deadline_ms() == 10000
    assert s.expiry_remaining_ms(4000) == 6000
    s.tick(9999)
    assert s.state == SUSPENDED
    s.drain()
    s.tick(10000)
    assert s.state == EXPIRED
    outs = s.drain()
    assert StateChange(SUSPENDED, EXPIRED) in outs
    assert Notify(("DW", "W"), WatchedEvent(EventType.NONE, KeeperState.EXPIRED, None)) in outs
    s.submit(OpCode.SYNC, b"", "t", 10001)
    (c,) = completions(s.drain())
    assert isinstance(c.error, SessionExpiredError)
    assert s.next_deadline_ms() is None
    with pytest.raises(RuntimeError):
        s.connection_made(10002)
    s.reset_for_new_session()
    assert s.state == CONNECTING and s.session_id == 0


def test_expiry_while_handshaking_with_stuck_server() -> None:
    s, w = connected_session()
    s.connection_lost(2000)
    s.connection_made(5000)
    s.data_to_send()
    s.tick(10000)  # session timeout since last heard (1000)
    outs = s.drain()
    assert s.state == EXPIRED and any(isinstance(o, CloseConnection) for o in outs)


def test_server_says_expired() -> None:
    s, w = connected_session()
    s.submit(OpCode.SYNC, b"", "t", 0)
    s.connection_lost(2000)
    s.drain()
    s.submit(OpCode.SYNC, b"", "q", 2001)
    s.connection_made(2100)
    s.data_to_send()
    s.receive_data(connect_response(timeout_ms=0, sid=0), 2200)
    outs = s.drain()
    assert s.state == EXPIRED
    assert isinstance(completions(outs)[0].error, SessionExpiredError)
    assert any(isinstance(o, CloseConnection) for o in outs)


def test_handshake_timeout() -> None:
    s = ClientSession(session_timeout_ms=6000, host_count=3)
    s.connection_made(0)
    assert s.next_deadline_ms() == 2000
    s.tick(2000)
    assert any(isinstance(o, CloseConnection) for o in s.drain())


def test_auth_failed_is_terminal() -> None:
    s, w = connected_session()
    s.submit(OpCode.SYNC, b"", "pending", 0)
    s.submit_auth("bogus", b"x", "auth", 0)
    sent = w.feed(s.data_to_send())
    assert sent[-1][0] == -4
    s.receive_data(reply(-4, 0, Err.AUTHFAILED), 0)
    outs = s.drain()
    assert s.state == AUTH_FAILED
    errs = {c.token: type(c.error) for c in completions(outs)}
    assert errs == {"auth": AuthFailedError, "pending": AuthFailedError}
    assert any(isinstance(o, CloseConnection) for o in outs)


def test_auth_while_disconnected_completes_after_replay() -> None:
    s, w = connected_session()
    s.connection_lost(10)
    s.drain()
    s.submit_auth("digest", b"a:b", "auth", 20)
    s.connection_made(30)
    s.data_to_send()
    s.receive_data(connect_response(), 40)
    s.receive_data(reply(-4, 0, 0), 50)
    assert Completion("auth", None, None) in s.drain()


def test_close_session() -> None:
    s, w = connected_session()
    s.close("c", 0)
    sent = w.feed(s.data_to_send())
    assert sent == [(1, OpCode.CLOSE_SESSION, b"")]
    s.submit(OpCode.SYNC, b"", "late", 0)
    assert isinstance(completions(s.drain())[0].error, ConnectionClosedError)
    s.receive_data(reply(1, 9), 0)
    outs = s.drain()
    assert s.state == CLOSED
    assert Completion("c", None, None) in outs
    assert Notify(("DW",), WatchedEvent(EventType.NONE, KeeperState.CLOSED, None)) in outs
    assert any(isinstance(o, CloseConnection) for o in outs)


def test_close_when_disconnected_is_local() -> None:
    s = ClientSession()
    s.close("c", 0)
    assert s.state == CLOSED and Completion("c", None, None) in s.drain()
