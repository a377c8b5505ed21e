"""Helpers shared by the recipes: a watcher that wakes an asyncio.Event from any thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


class Wakeup:
    """An asyncio.Event plus a watcher callable that sets it. The watcher may be called
    on the loop or on the blocking facade's callback thread (call_soon_threadsafe)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.events: list[Any] = []

    def watcher(self, ev: Any) -> None:
        self.loop.call_soon_threadsafe(self._set, ev)

    def _set(self, ev: Any) -> None:
        self.events.append(ev)
        self.event.set()

    async def wait(self, timeout_s: float | None) -> bool:
        """True if woken, False if ``timeout_s`` passed first."""
        if timeout_s is not None and timeout_s <= 0:
            return self.event.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout_s)
            return True
        return False


def remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - asyncio.get_running_loop().time())


def deadline_for(timeout_s: float | None) -> float | None:
    return None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s


def seq_of(name: str) -> int:
    """The 10-digit sequence suffix of a sequential node name."""
    try:
        return int(name[-10:])
    except ValueError:
        return -1


Watch = Callable[[Any], None]
