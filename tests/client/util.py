"""Helpers for client tests: connected clients, bounded polling, event recorders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from zkpy.client import ZkClient


@contextlib.asynccontextmanager
async def connected(hosts: str, **kw: Any) -> AsyncIterator[ZkClient]:
    """A started ZkClient, always closed afterwards."""
    kw.setdefault("session_timeout_ms", 10000)
    kw.setdefault("connect_timeout_s", 5.0)
    c = ZkClient(hosts, **kw)
    await c.start()
    try:
        yield c
    finally:
        await c.close()


async def wait_for_value(pred: Any, timeout_s: float = 5.0, what: str = "condition") -> Any:
    """Poll ``pred()`` (sync) until truthy; fail with the last value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: Any = None
    while True:
        last = pred()
        if last:
            return last
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(0.01)


class EventLog:
    """A watcher that records events; ``await log.wait(n)`` for n events (bounded)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    async def wait(self, n: int = 1, timeout_s: float = 5.0) -> list[Any]:
        await wait_for_value(lambda: len(self.events) >= n, timeout_s,
                             f"{n} events (have {self.events})")
        return self.events
