"""A loopback TCP fault proxy: pass, blackhole or drop the links to one target.

DESIGN.md: partitions, delays and loss come from our own proxy on the links, never
from routes or firewall rules. One ``FaultProxy`` listens on 127.0.0.x:port and
forwards every accepted connection to ``target``. Faults apply to all links:

- ``PASS``      bytes flow both ways (optionally delayed by ``delay_ms``);
- ``BLACKHOLE`` connections stay open but bytes are silently discarded both ways
                (the peers only notice by timeouts; lost bytes never arrive);
- ``HOLD``      connections stay open and bytes are held until the mode is PASS again,
                then delivered in order (a partition that heals: TCP retransmits);
- ``DROP``      existing connections are reset (RST) and new ones are accepted and
                reset at once (a crashed/unreachable member).

``reset_connections()`` resets the current links once and keeps the mode (a flaky
network or a server restart as seen by the client).

Two ways to run it: ``FaultProxy`` inside a running asyncio loop (``await start()``),
or ``ThreadedFaultProxy`` with its own loop thread and blocking methods, for tests
driving real processes. Every wait is bounded; ``stop()`` closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
from collections.abc import Coroutine
from typing import Any

_CHUNK = 65536


class LinkMode(enum.Enum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    HOLD = "hold"
    DROP = "drop"


class _Link:
    __slots__ = ("client_w", "server_w", "tasks")

    def __init__(self, client_w: asyncio.StreamWriter, server_w: asyncio.StreamWriter) -> None:
        self.client_w = client_w
        self.server_w = server_w
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self) -> None:
        for w in (self.client_w, self.server_w):
            with contextlib.suppress(Exception):
                w.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1",
                 listen_port: int = 0, connect_timeout_s: float = 5.0) -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.connect_timeout_s = connect_timeout_s
        self.mode = LinkMode.PASS
        self.delay_ms = 0
        self.accepted = 0          # connections accepted (any mode)
        self.bytes_forwarded = 0
        self._server: asyncio.base_events.Server | None = None
        self._links: set[_Link] = set()
        self._pending: set[asyncio.Task[None]] = set()
        self._passing: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FaultProxy:
        self._passing = asyncio.Event()
        self._passing.set()
        self._server = await asyncio.start_server(self._on_accept, self.listen_host,
                                                  self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        self._reset_all()
        tasks = [t for link in self._links for t in link.tasks] + list(self._pending)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._links.clear()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.listen_host, self.listen_port

    @property
    def hosts(self) -> str:
        return f"{self.listen_host}:{self.listen_port}"

    @property
    def link_count(self) -> int:
        return len(self._links)

    # ------------------------------------------------------------------ faults

    def set_mode(self, mode: LinkMode | str) -> None:
        self.mode = LinkMode(mode)
        if self._passing is not None:
            if self.mode is LinkMode.PASS:
                self._passing.set()
            else:
                self._passing.clear()
        if self.mode is LinkMode.DROP:
            self._reset_all()

    def pass_(self) -> None:
        self.set_mode(LinkMode.PASS)

    def blackhole(self) -> None:
        self.set_mode(LinkMode.BLACKHOLE)

    def hold(self) -> None:
        self.set_mode(LinkMode.HOLD)

    def drop(self) -> None:
        self.set_mode(LinkMode.DROP)

    def reset_connections(self) -> int:
        """Reset every current link (RST to both ends); the mode is unchanged."""
        n = len(self._links)
        self._reset_all()
        return n

    def _reset_all(self) -> None:
        for link in list(self._links):
            link.abort()
        self._links.clear()

    # ------------------------------------------------------------------ plumbing

    async def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode is LinkMode.DROP:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pending.add(task)
        try:
            sr, sw = await asyncio.wait_for(asyncio.open_connection(*self.target),
                                            self.connect_timeout_s)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        finally:
            self._pending.discard(task)
        if self.mode is LinkMode.DROP:
            writer.transport.abort()
            sw.transport.abort()
            return
        link = _Link(writer, sw)
        self._links.add(link)
        loop = asyncio.get_running_loop()
        link.tasks = [loop.create_task(self._pump(reader, sw, link)),
                      loop.create_task(self._pump(sr, writer, link))]

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: _Link) -> None:
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if self.mode is LinkMode.BLACKHOLE:
                    continue  # discarded (DROP has already reset the link)
                if self.mode is LinkMode.HOLD:
                    assert self._passing is not None
                    await self._passing.wait()
                    if link not in self._links:
                        break
                    if self.mode is LinkMode.BLACKHOLE:
                        continue
                if self.delay_ms:
                    await asyncio.sleep(self.delay_ms / 1000.0)
                writer.write(data)
                self.bytes_forwarded += len(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side ended: end the whole link, as a real TCP peer would.
            link.abort()
            self._links.discard(link)


class ThreadedFaultProxy:
    """``FaultProxy`` on its own event loop thread, with blocking methods."""

    def __init__(self, target_host: str, target_port: int, **kw: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._thread.start()
        self.proxy = FaultProxy(target_host, target_port, **kw)
        self._run(self.proxy.start())

    def _run(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def _call(self, fn: Any, *a: Any) -> Any:
        async def go() -> Any:
            return fn(*a)
        return self._run(go())

    @property
    def hosts(self) -> str:
        return self.proxy.hosts

    @property
    def address(self) -> tuple[str, int]:
        return self.proxy.address

    def set_mode(self, mode: LinkMode | str) -> None:
        self._call(self.proxy.set_mode, mode)

    def reset_connections(self) -> int:
        n: int = self._call(self.proxy.reset_connections)
        return n

    def stop(self) -> None:
        try:
            self._run(self.proxy.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
            if not self._loop.is_running():
                self._loop.close()

    def __enter__(self) -> ThreadedFaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
