"""Lock: the ZooKeeper lock recipe (ephemeral sequential node, watch only the predecessor).

Each contender creates ``<path>/<uuid>__lock__<seq>``; the lowest sequence holds the
lock; the others watch the node just before theirs (no herd effect). The uuid prefix
lets a contender find its own node again after a ConnectionLoss during create.
"""

from __future__ import annotations

import asyncio
import uuid

from ...errors import ConnectionLossError, NoNodeError
from ...paths import join
from ..aio import ZkClient
from ._util import Wakeup, deadline_for, remaining, seq_of

LOCK_MARKER = "__lock__"


class Lock:
    def __init__(self, client: ZkClient, path: str, identifier: str = "",
                 marker: str = LOCK_MARKER) -> None:
        self.client = client
        self.path = path.rstrip("/") or "/"
        self.identifier = identifier
        self.marker = marker
        self.prefix = uuid.uuid4().hex + marker
        self.node: str | None = None
        self.is_acquired = False

    def _mine(self, children: list[str]) -> list[str]:
        return sorted((c for c in children if self.marker in c), key=seq_of)

    async def _create_node(self) -> str:
        base = join(self.path, self.prefix)
        for _ in range(3):
            try:
                created = await self.client.create(base, self.identifier.encode("utf-8"),
                                                   ephemeral=True, sequence=True)
                assert isinstance(created, str)
                return created
            except NoNodeError:
                await self.client.ensure_path(self.path)
            except ConnectionLossError:
                # The create may have happened: look for our prefix once reconnected.
                await asyncio.sleep(0.05)
                try:
                    children = await self.client.get_children(self.path)
                except ConnectionLossError:
                    continue
                for c in children:  # type: ignore[union-attr]
                    if c.startswith(self.prefix):
                        return join(self.path, c)
        raise ConnectionLossError(self.path)

    async def acquire(self, blocking: bool = True, timeout_s: float | None = None) -> bool:
        """Take the lock; False if not blocking and taken, or if ``timeout_s`` passed."""
        if self.is_acquired:
            return True
        deadline = deadline_for(timeout_s)
        if self.node is None:
            self.node = await self._create_node()
        name = self.node.rsplit("/", 1)[1]
        try:
            while True:
                children = self._mine(await self.client.get_children(self.path))  # type: ignore[arg-type]
                if name not in children:
                    raise NoNodeError(self.node)  # our ephemeral vanished (session lost)
                idx = children.index(name)
                if idx == 0:
                    self.is_acquired = True
                    return True
                if not blocking:
                    await self._drop_node()
                    return False
                wake = Wakeup()
                pred = join(self.path, children[idx - 1])
                if await self.client.exists(pred, watch=wake.watcher) is None:
                    continue
                if not await wake.wait(remaining(deadline)):
                    await self._drop_node()
                    return False
        except BaseException:
            if not self.is_acquired:
                await self._drop_node_quietly()
            raise

    async def _drop_node(self) -> None:
        node, self.node = self.node, None
        if node is not None:
            try:
                await self.client.delete(node)
            except NoNodeError:
                pass

    async def _drop_node_quietly(self) -> None:
        try:
            await asyncio.wait_for(self._drop_node(), 5.0)
        except Exception:  # noqa: BLE001 - the session may be gone; ephemeral dies with it
            self.node = None

    async def release(self) -> bool:
        """Release (delete our node); False if we did not hold it."""
        held = self.is_acquired
        self.is_acquired = False
        await self._drop_node()
        return held

    async def contenders(self) -> list[str]:
        """Identifiers of all contenders, lock holder first."""
        try:
            children = self._mine(await self.client.get_children(self.path))  # type: ignore[arg-type]
        except NoNodeError:
            return []
        out = []
        for c in children:
            try:
                data, _ = await self.client.get(join(self.path, c))
            except NoNodeError:
                continue
            out.append((data or b"").decode("utf-8", "replace"))
        return out

    async def __aenter__(self) -> Lock:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()
