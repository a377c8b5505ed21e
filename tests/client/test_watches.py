"""Watches: one-shot data/exist/child, persistent and recursive, removal, ordering."""

from __future__ import annotations

import asyncio

import pytest

from tests.client.util import EventLog, connected
from tests.support.servers import ServerHandle
from zkpy.client import AddWatchMode, EventType, KeeperState, WatchedEvent, WatcherType
from zkpy.errors import NoWatcherError


def _types(events: list[WatchedEvent]) -> list[tuple[EventType, str | None]]:
    return [(e.type, e.path) for e in events]


async def test_one_shot_watches_fire_once(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c, connected(zk_server.hosts) as other:
        created, data, child = EventLog(), EventLog(), EventLog()
        assert await c.exists(p, watch=created) is None
        await other.create(p, b"0")
        await created.wait(1)
        assert _types(created.events) == [(EventType.NODE_CREATED, p)]
        assert created.events[0].state == KeeperState.SYNC_CONNECTED

        await c.get(p, watch=data)
        await c.get_children(p, watch=child)
        await other.set(p, b"1")
        await other.set(p, b"2")  # one-shot: no second event
        await other.create(p + "/k")
        await other.create(p + "/k2")
        await data.wait(1)
        await child.wait(1)
        await c.sync(p)  # any later events would have arrived before this reply
        await asyncio.sleep(0.05)
        assert _types(data.events) == [(EventType.NODE_DATA_CHANGED, p)]
        assert _types(child.events) == [(EventType.NODE_CHILDREN_CHANGED, p)]
        await other.delete_recursive(p)


async def test_same_watcher_called_once_per_event(zk_server: ServerHandle,
                                                   unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        await c.create(p)
        w = EventLog()
        await c.get(p, watch=w)
        await c.exists(p, watch=w)
        await c.get_children(p, watch=w)
        await c.delete(p)
        await w.wait(1)
        await c.sync("/")
        await asyncio.sleep(0.05)
        # NodeDeleted hits data, exist and child tables: one call for this watcher
        assert _types(w.events) == [(EventType.NODE_DELETED, p)]


async def test_default_watcher_and_watch_true(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    dw = EventLog()
    async with connected(zk_server.hosts, default_watcher=dw) as c:
        await dw.wait(1)
        assert dw.events[0] == WatchedEvent(EventType.NONE, KeeperState.SYNC_CONNECTED, None)
        await c.create(p)
        await c.get(p, watch=True)
        await c.set(p, b"x")
        await dw.wait(2)
        assert dw.events[1] == WatchedEvent(EventType.NODE_DATA_CHANGED,
                                            KeeperState.SYNC_CONNECTED, p)
        await c.delete(p)
    await dw.wait(3)
    assert dw.events[-1] == WatchedEvent(EventType.NONE, KeeperState.CLOSED, None)


async def test_persistent_and_recursive(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    # Separate connections: the server keeps one watch mode per (connection, path), so
    # a recursive addWatch on the same connection would replace the persistent one.
    async with connected(zk_server.hosts) as c, connected(zk_server.hosts) as c2, \
            connected(zk_server.hosts) as other:
        pers, rec = EventLog(), EventLog()
        await c.add_watch(p, pers, AddWatchMode.PERSISTENT)
        await c2.add_watch(p, rec, AddWatchMode.PERSISTENT_RECURSIVE)
        await other.create(p)
        await other.set(p, b"1")
        await other.set(p, b"2")
        await other.create(p + "/a")
        await other.set(p + "/a", b"x")
        await other.delete(p + "/a")
        await pers.wait(5)
        await rec.wait(6)
        assert _types(pers.events) == [
            (EventType.NODE_CREATED, p), (EventType.NODE_DATA_CHANGED, p),
            (EventType.NODE_DATA_CHANGED, p), (EventType.NODE_CHILDREN_CHANGED, p),
            (EventType.NODE_CHILDREN_CHANGED, p)]
        assert _types(rec.events) == [
            (EventType.NODE_CREATED, p), (EventType.NODE_DATA_CHANGED, p),
            (EventType.NODE_DATA_CHANGED, p), (EventType.NODE_CREATED, p + "/a"),
            (EventType.NODE_DATA_CHANGED, p + "/a"), (EventType.NODE_DELETED, p + "/a")]
        await c.remove_watches(p, WatcherType.ANY)
        await pers.wait(6)
        assert pers.events[-1].type == EventType.PERSISTENT_WATCH_REMOVED
        n = len(pers.events)
        await other.set(p, b"3")
        await rec.wait(7)
        await c.sync(p)
        await asyncio.sleep(0.05)
        assert len(pers.events) == n  # removed: nothing more
        await other.delete(p)


async def test_remove_and_check_watches(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c, connected(zk_server.hosts) as other:
        await c.create(p)
        w1, w2 = EventLog(), EventLog()
        await c.get(p, watch=w1)
        await c.get(p, watch=w2)
        await c.get_children(p, watch=w1)
        await c.check_watches(p, WatcherType.DATA)
        # w1 only: w2 still needs the server's data watch
        await c.remove_watches(p, WatcherType.DATA, w1)
        await w1.wait(1)
        assert _types(w1.events) == [(EventType.DATA_WATCH_REMOVED, p)]
        with pytest.raises(NoWatcherError):
            await c.remove_watches(p, WatcherType.DATA, w1)
        await other.set(p, b"x")
        await w2.wait(1)
        assert _types(w2.events) == [(EventType.NODE_DATA_CHANGED, p)]
        with pytest.raises(NoWatcherError):
            await c.check_watches(p, WatcherType.DATA)
        # local removal of the child watch
        await c.remove_watches(p, WatcherType.CHILDREN, local=True)
        await w1.wait(2)
        assert _types(w1.events)[-1] == (EventType.CHILD_WATCH_REMOVED, p)
        with pytest.raises(NoWatcherError):
            await c.remove_watches(p + "/none", WatcherType.ANY)
        await c.delete(p)


async def test_chroot_event_paths(zk_server: ServerHandle, unique_path: str) -> None:
    root = unique_path
    async with connected(zk_server.hosts) as admin:
        await admin.create(root)
        async with connected(zk_server.hosts + root) as c:
            w = EventLog()
            assert await c.exists("/n", watch=w) is None
            rw = EventLog()
            await c.add_watch("/", rw, AddWatchMode.PERSISTENT_RECURSIVE)
            await admin.create(root + "/n")
            await w.wait(1)
            await rw.wait(1)
            assert _types(w.events) == [(EventType.NODE_CREATED, "/n")]
            assert _types(rw.events) == [(EventType.NODE_CREATED, "/n")]
        await admin.delete_recursive(root)


async def test_callbacks_in_order_never_concurrent(zk_server: ServerHandle,
                                                   unique_path: str) -> None:
    p = unique_path
    seen: list[str] = []
    running = 0
    max_running = 0

    async def slow(event: WatchedEvent) -> None:
        nonlocal running, max_running
        running += 1
        max_running = max(max_running, running)
        await asyncio.sleep(0.01)
        seen.append(event.path or "")
        running -= 1

    async with connected(zk_server.hosts) as c:
        await c.create(p)
        names = [f"{p}/n{i}" for i in range(10)]
        for n in names:
            await c.exists(n, watch=slow)
        for n in names:
            await c.create(n)
        await c.sync(p)
        ok = False
        for _ in range(300):
            if len(seen) == len(names):
                ok = True
                break
            await asyncio.sleep(0.01)
        assert ok, seen
        assert seen == names and max_running == 1
        await c.delete_recursive(p)


async def test_remove_persistent_watch_by_type(zk_server: ServerHandle, unique_path: str) -> None:
    """WatcherType 4/5 exist only from 3.9; on 3.8 the client falls back to Any."""
    p = unique_path
    async with connected(zk_server.hosts) as c, connected(zk_server.hosts) as other:
        pers, rec = EventLog(), EventLog()
        await c.add_watch(p, pers, AddWatchMode.PERSISTENT)
        await c.add_watch(p + "/r", rec, AddWatchMode.PERSISTENT_RECURSIVE)
        await c.remove_watches(p, WatcherType.PERSISTENT)
        await c.remove_watches(p + "/r", WatcherType.PERSISTENT_RECURSIVE, rec)
        await pers.wait(1)
        await rec.wait(1)
        assert _types(pers.events) == [(EventType.PERSISTENT_WATCH_REMOVED, p)]
        assert _types(rec.events) == [(EventType.PERSISTENT_WATCH_REMOVED, p + "/r")]
        assert c.state == "CONNECTED"
        await other.create(p)
        await c.sync(p)
        await asyncio.sleep(0.05)
        assert len(pers.events) == 1
        await other.delete(p)
