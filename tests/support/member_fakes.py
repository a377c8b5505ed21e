"""An in-process member without sockets or disk: for request-path benchmarks and tests
that drive ClientConnection + Member + StateMachine directly."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

from zkpy.server.member import Member
from zkpy.server.stats import ServerStats
from zkpy.state.machine import StateMachine
from zkpy.state.types import StateConfig


class DurableAtOnce:
    """A txn log whose every batch is durable on the next loop turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def commit(self, payloads: list[tuple[int, bytes]],
               on_done: Callable[[Exception | None], None], inline: bool = False) -> None:
        self.loop.call_soon(on_done, None)


def request_frame(xid: int, op: int, body: bytes) -> bytes:
    """A length-prefixed request: RequestHeader(xid, op) + body."""
    b = struct.pack("!ii", xid, op) + body
    return struct.pack("!i", len(b)) + b


def new_member(loop: asyncio.AbstractEventLoop, state: StateMachine | None = None,
               txn_log: Any = None, **kw: Any) -> Member:
    """A standalone member on a fresh state machine (or ``state``), its log durable at
    once (or ``txn_log``)."""
    stats = ServerStats()
    return Member(StateMachine(StateConfig(secret=1)) if state is None else state, loop=loop,
                  min_session_timeout_ms=4000, max_session_timeout_ms=40000,
                  max_frame_bytes=1 << 20,
                  txn_log=DurableAtOnce(loop) if txn_log is None else txn_log,
                  new_connection_stats=lambda c: stats.new_connection(), server_stats=stats,
                  **kw)
