"""The member without sockets: maxCnxns, globalOutstandingLimit backpressure (reading
pauses while too many writes wait for the disk, and resumes after), request latency."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import Any

from zkpy.proto import records as rec
from zkpy.server.connection import ClientConnection
from zkpy.server.member import Member
from zkpy.server.stats import ServerStats
from zkpy.state.machine import StateMachine
from zkpy.state.types import StateConfig

OPEN = [rec.ACL(31, rec.Id("world", "anyone"))]


class FakeTransport:
    def __init__(self, port: int) -> None:
        self.port = port
        self.out = bytearray()
        self.reading = True
        self.closed = False

    def write(self, data: bytes) -> None:
        self.out += data

    def is_closing(self) -> bool:
        return self.closed

    def is_reading(self) -> bool:
        return self.reading

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, key: str) -> Any:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        self.closed = True

    abort = close


class HeldLog:
    """A txn log whose batches become durable only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[Callable[[Exception | None], None]] = []

    def commit(self, payloads: list[tuple[int, bytes]],
               on_done: Callable[[Exception | None], None], inline: bool = False) -> None:
        self.pending.append(on_done)

    def release(self) -> None:
        done, self.pending = self.pending, []
        for cb in done:
            cb(None)


def frame(body: bytes) -> bytes:
    return struct.pack("!i", len(body)) + body


def member(loop: asyncio.AbstractEventLoop, **kw: Any) -> tuple[Member, HeldLog]:
    stats = ServerStats()
    log = HeldLog()
    m = Member(StateMachine(StateConfig(secret=1)), loop=loop, min_session_timeout_ms=4000,
               max_session_timeout_ms=40000, max_frame_bytes=1 << 20, txn_log=log,
               new_connection_stats=lambda c: stats.new_connection(), server_stats=stats, **kw)
    return m, log


def connect(m: Member, port: int) -> tuple[ClientConnection, FakeTransport]:
    c = ClientConnection(m)
    t = FakeTransport(port)
    c.connection_made(t)  # type: ignore[arg-type]
    return c, t


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_max_cnxns_closes_the_connection_over_the_limit() -> None:
    loop = asyncio.new_event_loop()
    try:
        m, _ = member(loop, max_client_cnxns=0, max_cnxns=2)
        conns = [connect(m, 5000 + i) for i in range(3)]
        assert [t.closed for _, t in conns] == [False, False, True]
        assert len(m.connections) == 2
        m.connection_closed(conns[0][0])
        _, t = connect(m, 6000)
        assert not t.closed                       # room again after one left
    finally:
        loop.close()


def test_outstanding_writes_over_the_limit_pause_reading_until_durable() -> None:
    loop = asyncio.new_event_loop()
    try:
        m, log = member(loop, global_outstanding_limit=4)
        c, t = connect(m, 5000)
        _, other = connect(m, 5001)
        cr = rec.ConnectRequest(0, 0, 30000, 0, b"\0" * 16).to_bytes()
        c.data_received(frame(cr))
        loop.run_until_complete(settle())
        log.release()                               # the session is created
        loop.run_until_complete(settle())
        assert c.connected and t.reading and not m.throttled
        body = rec.CreateRequest("/n-", b"x", OPEN, 2).to_bytes()   # persistent sequential
        c.data_received(b"".join(frame(struct.pack("!ii", 10 + i, 1) + body) for i in range(6)))
        loop.run_until_complete(settle())
        assert m.outstanding_writes == 6
        assert m.throttled and not t.reading and not other.reading
        _, late = connect(m, 5002)
        assert not late.reading                     # a new client waits too
        log.release()
        loop.run_until_complete(settle())
        assert m.outstanding_writes == 0
        assert not m.throttled and t.reading and other.reading and late.reading
        assert m.state.tree.nodes["/n-0000000005"] is not None
    finally:
        loop.close()


def test_write_latency_runs_from_its_read_to_its_reply() -> None:
    """ServerCnxn / ServerStats latency (what stat, mntr and cons print): a write that
    waited ~40 ms for the disk counts ~40 ms, not 0, and so does a read held behind it."""
    loop = asyncio.new_event_loop()
    try:
        m, log = member(loop)
        c, _ = connect(m, 5000)
        cr = rec.ConnectRequest(0, 0, 30000, 0, b"\0" * 16).to_bytes()
        c.data_received(frame(cr))
        loop.run_until_complete(settle())
        log.release()
        loop.run_until_complete(settle())
        body = rec.CreateRequest("/lat", b"x", OPEN, 0).to_bytes()
        read = rec.ExistsRequest("/lat", False).to_bytes()
        c.data_received(frame(struct.pack("!ii", 1, 1) + body)
                        + frame(struct.pack("!ii", 2, 3) + read))   # held behind the create
        loop.run_until_complete(settle())
        time.sleep(0.04)                            # the disk is slow
        log.release()
        loop.run_until_complete(settle())
        assert m.state.tree.nodes.get("/lat") is not None
        st = c.stats
        assert 35 <= st.max_latency_ms < 5000 and st.timed_count == 2
        assert st.timed_min_ms >= 35
        assert st.server is not None and st.server.max_latency_ms == st.max_latency_ms
    finally:
        loop.close()
