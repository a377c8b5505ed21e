"""Counter: an integer in a znode, changed with versioned setData (optimistic retry)."""

from __future__ import annotations

from ...errors import BadVersionError, NodeExistsError, NoNodeError
from ..aio import ZkClient


class Counter:
    def __init__(self, client: ZkClient, path: str, default: int = 0) -> None:
        self.client = client
        self.path = path
        self.default = default
        self.pre_value: int | None = None
        self.post_value: int | None = None

    async def _read(self) -> tuple[int, int]:
        while True:
            try:
                data, st = await self.client.get(self.path)
                return (int(data.decode("ascii")) if data else self.default), st.version
            except NoNodeError:
                await self.client.ensure_path(self.path.rsplit("/", 1)[0] or "/")
                try:
                    await self.client.create(self.path, str(self.default).encode("ascii"))
                except NodeExistsError:
                    pass

    async def value(self) -> int:
        return (await self._read())[0]

    async def add(self, delta: int = 1) -> int:
        """Add ``delta`` atomically; returns the new value (also in ``post_value``)."""
        while True:
            cur, version = await self._read()
            new = cur + delta
            try:
                await self.client.set(self.path, str(new).encode("ascii"), version)
            except BadVersionError:
                continue
            self.pre_value, self.post_value = cur, new
            return new

    async def incr(self, delta: int = 1) -> int:
        return await self.add(delta)

    async def decr(self, delta: int = 1) -> int:
        return await self.add(-delta)
