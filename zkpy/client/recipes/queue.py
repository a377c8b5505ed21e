"""Queue: a distributed FIFO with priorities (kazoo's simple Queue).

Entries are persistent sequential nodes ``entry-<priority:03d>-<seq>``; the consumer
that deletes an entry owns it, so each entry is taken exactly once.
"""

from __future__ import annotations

from ...errors import NoNodeError
from ...paths import join
from ..aio import ZkClient
from ._util import Wakeup, deadline_for, remaining

PREFIX = "entry-"


class Queue:
    def __init__(self, client: ZkClient, path: str) -> None:
        self.client = client
        self.path = path
        self._ensured = False

    async def _ensure(self) -> None:
        if not self._ensured:
            await self.client.ensure_path(self.path)
            self._ensured = True

    async def put(self, value: bytes, priority: int = 100) -> str:
        """Add ``value``; lower ``priority`` (0..999) is taken first."""
        if not 0 <= priority <= 999:
            raise ValueError("priority must be within 0..999")
        await self._ensure()
        created = await self.client.create(join(self.path, f"{PREFIX}{priority:03d}-"), value,
                                           sequence=True)
        assert isinstance(created, str)
        return created

    async def length(self) -> int:
        try:
            return len(await self.client.get_children(self.path))
        except NoNodeError:
            return 0

    async def get(self, timeout_s: float | None = 0) -> bytes | None:
        """Take the first entry; None if the queue stays empty for ``timeout_s``
        (0: do not wait; None: wait without bound)."""
        await self._ensure()
        deadline = deadline_for(timeout_s)
        while True:
            wake = Wakeup()
            children = sorted(await self.client.get_children(self.path, watch=wake.watcher))  # type: ignore[type-var]
            for name in children:
                p = join(self.path, name)
                try:
                    data, _ = await self.client.get(p)
                    await self.client.delete(p)
                except NoNodeError:
                    continue  # another consumer took it
                return data if data is not None else b""
            if timeout_s == 0 or not await wake.wait(remaining(deadline)):
                return None
