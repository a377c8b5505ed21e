"""The runtime freezes long-lived objects out of the cyclic GC (MemberRuntime.
_freeze_long_lived). That is only safe if what was alive at a freeze and dies later is
freed by reference counting: a frozen garbage cycle is never collected. Closed client
connections are the objects that come and go; check they leave no cycle behind, over a
real socket on asyncio's and on uvloop's loop."""

from __future__ import annotations

import asyncio
import gc
import struct
import weakref
from typing import Any

import pytest

from tests.support.member_fakes import new_member, request_frame
from zkpy.proto import records as rec
from zkpy.server.connection import ClientConnection

OPEN = [rec.ACL(31, rec.Id("world", "anyone"))]


async def _session_then_close(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = rec.ConnectRequest(0, 0, 30000, 0, b"\0" * 16).to_bytes()
    writer.write(struct.pack("!i", len(body)) + body)
    writer.write(request_frame(1, 4, rec.GetDataRequest("/", True).to_bytes()))      # a data watch
    writer.write(request_frame(2, 12, rec.GetChildrenRequest("/", True).to_bytes()))  # a child watch
    writer.write(request_frame(3, 1, rec.CreateRequest("/e-", b"", OPEN, 3).to_bytes()))  # ephemeral
    await writer.drain()
    for _ in range(4):   # connect response + three replies
        n = struct.unpack("!i", await reader.readexactly(4))[0]
        await reader.readexactly(n)
    writer.close()
    await writer.wait_closed()


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_closed_connections_are_freed_without_the_cyclic_gc(kind: str) -> None:
    loop = _new_loop(kind)
    made: list[weakref.ref[Any]] = []
    member = new_member(loop)

    def factory() -> ClientConnection:
        c = ClientConnection(member)
        made.append(weakref.ref(c))
        return c

    async def run() -> None:
        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        for _ in range(5):
            await _session_then_close(port)
        for _ in range(100):          # let the server see every close
            if not member.connections:
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()

    gc.collect()
    gc.disable()
    try:
        loop.run_until_complete(run())
        loop.run_until_complete(asyncio.sleep(0.05))
        alive = [r() for r in made if r() is not None]
        assert len(made) == 5 and not alive, [gc.get_referrers(c) for c in alive][:1]
    finally:
        gc.enable()
        loop.close()
