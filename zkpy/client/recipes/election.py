"""Election: leader election on top of Lock (kazoo's Election): the lock holder leads."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..aio import ZkClient
from .lock import Lock

ELECTION_MARKER = "__election__"


class Election:
    def __init__(self, client: ZkClient, path: str, identifier: str = "") -> None:
        self.lock = Lock(client, path, identifier, marker=ELECTION_MARKER)

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Block until elected, run ``func`` (awaited if it is a coroutine function),
        then step down. Returns what ``func`` returned."""
        await self.lock.acquire()
        try:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            await self.lock.release()

    async def try_lead(self, timeout_s: float | None = None) -> bool:
        """Become leader (True) or give up after ``timeout_s`` (False); ``resign()`` later."""
        return await self.lock.acquire(timeout_s=timeout_s)

    async def resign(self) -> None:
        await self.lock.release()

    @property
    def is_leader(self) -> bool:
        return self.lock.is_acquired

    async def cancel(self) -> None:
        await self.lock.release()

    async def contenders(self) -> list[str]:
        return await self.lock.contenders()
