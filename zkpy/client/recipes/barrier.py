"""Barrier (wait while a node exists) and DoubleBarrier (enter/leave with N members)."""

from __future__ import annotations

import uuid

from ...errors import NodeExistsError, NoNodeError, NotEmptyError
from ...paths import join
from ..aio import ZkClient
from ._util import Wakeup, deadline_for, remaining


class Barrier:
    """Processes wait until the barrier node is removed."""

    def __init__(self, client: ZkClient, path: str) -> None:
        self.client = client
        self.path = path

    async def create(self) -> None:
        await self.client.ensure_path(self.path)

    async def remove(self) -> bool:
        try:
            await self.client.delete(self.path)
            return True
        except NoNodeError:
            return False

    async def wait(self, timeout_s: float | None = None) -> bool:
        """True once the barrier node is gone; False if ``timeout_s`` passed first."""
        deadline = deadline_for(timeout_s)
        while True:
            wake = Wakeup()
            if await self.client.exists(self.path, watch=wake.watcher) is None:
                return True
            if not await wake.wait(remaining(deadline)):
                return False


class DoubleBarrier:
    """``enter()`` returns when ``num_clients`` have entered; ``leave()`` returns when all
    have left (the ZooKeeper recipe: a ``ready`` node, then lowest/highest watching)."""

    def __init__(self, client: ZkClient, path: str, num_clients: int,
                 identifier: str = "") -> None:
        self.client = client
        self.path = path
        self.num_clients = num_clients
        self.identifier = identifier
        self.node_name = uuid.uuid4().hex
        self.participating = False

    @property
    def _ready(self) -> str:
        return join(self.path, "ready")

    @property
    def _node(self) -> str:
        return join(self.path, self.node_name)

    async def enter(self, timeout_s: float | None = None) -> bool:
        deadline = deadline_for(timeout_s)
        await self.client.ensure_path(self.path)
        wake = Wakeup()
        ready = await self.client.exists(self._ready, watch=wake.watcher)
        await self.client.create(self._node, self.identifier.encode("utf-8"), ephemeral=True)
        self.participating = True
        if ready is not None:
            return True
        children = [c for c in await self.client.get_children(self.path) if c != "ready"]  # type: ignore[union-attr]
        if len(children) >= self.num_clients:
            try:
                await self.client.create(self._ready)
            except NodeExistsError:
                pass
            return True
        while True:
            if not await wake.wait(remaining(deadline)):
                await self._delete(self._node)
                self.participating = False
                return False
            wake = Wakeup()
            if await self.client.exists(self._ready, watch=wake.watcher) is not None:
                return True

    async def leave(self, timeout_s: float | None = None) -> bool:
        """Leave; returns when every member has left (False if ``timeout_s`` passed)."""
        deadline = deadline_for(timeout_s)
        while True:
            try:
                children = sorted(c for c in await self.client.get_children(self.path)  # type: ignore[union-attr]
                                  if c != "ready")
            except NoNodeError:
                children = []
            if not children:
                await self._delete(self._ready)
                self.participating = False
                return True
            if children == [self.node_name]:
                await self._delete(self._node)
                continue
            wake = Wakeup()
            if children[0] == self.node_name:
                other = join(self.path, children[-1])  # lowest waits for the highest
            else:
                if self.node_name in children:
                    await self._delete(self._node)
                other = join(self.path, children[0])  # the others wait for the lowest
            if await self.client.exists(other, watch=wake.watcher) is None:
                continue
            if not await wake.wait(remaining(deadline)):
                return False

    async def _delete(self, path: str) -> None:
        try:
            await self.client.delete(path)
        except (NoNodeError, NotEmptyError):
            pass
