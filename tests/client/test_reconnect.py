"""Reconnect behaviour through the loopback fault proxy (tests/support/proxy.py).

kazoo#151 (watches lost on reconnect), kazoo#89 (silent retry forever) and
ZOOKEEPER-4508 (client-side expiry) are the scenarios that matter here.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.client.util import EventLog, connected, wait_for_value
from tests.support.proxy import FaultProxy, LinkMode
from tests.support.servers import ServerHandle, free_port
from zkpy.client import (
    CONNECTED,
    EXPIRED,
    SUSPENDED,
    AddWatchMode,
    EventType,
    KeeperState,
    WatchedEvent,
    ZkClient,
)
from zkpy.errors import ConnectionLossError, SessionExpiredError


def _proxy(server: ServerHandle) -> FaultProxy:
    return FaultProxy(server.host, server.port)


async def test_watches_survive_reconnect_kazoo151(zk_server: ServerHandle,
                                                  unique_path: str) -> None:
    p = unique_path
    async with _proxy(zk_server) as proxy, connected(zk_server.hosts) as direct:
        await direct.create(p, b"0")
        await direct.create(p + "/gone")
        states: list[str] = []
        dw = EventLog()
        async with connected(proxy.hosts, default_watcher=dw) as c:
            c.add_listener(states.append)
            sid = c.session_id
            data, child, exist, gone, pers = (EventLog() for _ in range(5))
            await c.get(p, watch=data)
            await c.get_children(p, watch=child)
            assert await c.exists(p + "/new", watch=exist) is None
            await c.get(p + "/gone", watch=gone)
            await c.add_watch(p, pers, AddWatchMode.PERSISTENT)

            proxy.set_mode(LinkMode.DROP)     # cut the link and keep it cut
            await wait_for_value(lambda: c.state == SUSPENDED, 5.0, "SUSPENDED")
            # Changes while the client is away.
            await direct.set(p, b"1")
            await direct.create(p + "/new")
            await direct.delete(p + "/gone")
            proxy.set_mode(LinkMode.PASS)
            await wait_for_value(lambda: c.state == CONNECTED, 8.0, "CONNECTED again")
            assert c.session_id == sid
            await wait_for_value(lambda: states[:2] == [SUSPENDED, CONNECTED], 2.0, "listener")

            await data.wait(1)
            await exist.wait(1)
            await gone.wait(1)
            await child.wait(1)
            assert [(e.type, e.path) for e in data.events] == [(EventType.NODE_DATA_CHANGED, p)]
            assert [(e.type, e.path) for e in exist.events] == [
                (EventType.NODE_CREATED, p + "/new")]
            assert [(e.type, e.path) for e in gone.events] == [
                (EventType.NODE_DELETED, p + "/gone")]
            assert [(e.type, e.path) for e in child.events] == [
                (EventType.NODE_CHILDREN_CHANGED, p)]
            # the persistent watch was re-registered (SetWatches2) and still fires (it
            # also saw the events synthesized for the one-shot watches on the same path)
            await c.sync(p)
            n = len(pers.events)
            await direct.set(p, b"2")
            await pers.wait(n + 1)
            assert pers.events[-1].type == EventType.NODE_DATA_CHANGED
            assert states[:2] == [SUSPENDED, CONNECTED]
            assert WatchedEvent(EventType.NONE, KeeperState.DISCONNECTED, None) in dw.events
        await direct.delete_recursive(p)


async def test_inflight_request_gets_connection_loss(zk_server: ServerHandle,
                                                     unique_path: str) -> None:
    async with _proxy(zk_server) as proxy, connected(proxy.hosts) as c:
        await c.create(unique_path, ephemeral=True)
        proxy.set_mode(LinkMode.BLACKHOLE)
        fut = asyncio.ensure_future(c.get(unique_path))
        await asyncio.sleep(0.05)
        assert not fut.done()
        proxy.set_mode(LinkMode.PASS)
        proxy.reset_connections()
        with pytest.raises(ConnectionLossError):
            await asyncio.wait_for(fut, 5.0)
        # the session lives on: the ephemeral is still ours after the reconnect
        await wait_for_value(lambda: c.state == CONNECTED, 8.0, "CONNECTED")
        st = await c.exists(unique_path)
        assert st is not None and st.ephemeralOwner == c.session_id


async def test_read_timeout_then_recover(zk_server: ServerHandle) -> None:
    async with _proxy(zk_server) as proxy, connected(proxy.hosts, session_timeout_ms=4000) as c:
        states: list[str] = []
        c.add_listener(states.append)
        proxy.set_mode(LinkMode.HOLD)   # a partition: no RST, only silence until healed
        await wait_for_value(lambda: c.state == SUSPENDED, 4.0, "read timeout -> SUSPENDED")
        proxy.set_mode(LinkMode.PASS)
        await wait_for_value(lambda: states[:2] == [SUSPENDED, CONNECTED], 4.0,
                             f"CONNECTED ({states})")
        assert await c.exists("/") is not None


async def test_client_side_expiry_zookeeper_4508(zk_server: ServerHandle) -> None:
    async with _proxy(zk_server) as proxy:
        dw = EventLog()
        c = ZkClient(proxy.hosts, session_timeout_ms=4000, default_watcher=dw)
        await c.start(5.0)
        states: list[str] = []
        c.add_listener(states.append)
        pending = EventLog()
        await c.exists("/never-there", watch=pending)
        old_sid = c.session_id
        proxy.set_mode(LinkMode.DROP)
        await wait_for_value(lambda: states == [SUSPENDED, EXPIRED], 7.0,
                             f"client-side EXPIRED ({states})")
        assert c.state == EXPIRED
        with pytest.raises(SessionExpiredError):
            await c.get("/")
        await pending.wait(1)
        assert pending.events == [WatchedEvent(EventType.NONE, KeeperState.EXPIRED, None)]
        await dw.wait(3)
        assert dw.events[-1] == WatchedEvent(EventType.NONE, KeeperState.EXPIRED, None)
        # start() again begins a new session
        proxy.set_mode(LinkMode.PASS)
        await c.start(5.0)
        assert c.state == CONNECTED and c.session_id not in (0, old_sid)
        await c.close()


async def test_failover_across_hosts(zk_server: ServerHandle) -> None:
    dead = f"127.0.0.1:{free_port()}"
    async with _proxy(zk_server) as proxy:
        async with connected(f"{dead},{proxy.hosts},{dead}") as c:
            assert c.connected_host == proxy.hosts
            states: list[str] = []
            c.add_listener(states.append)
            proxy.reset_connections()
            await wait_for_value(lambda: states == [SUSPENDED, CONNECTED], 8.0,
                                 f"SUSPENDED then CONNECTED via the live host ({states})")
            assert c.connected_host == proxy.hosts


async def test_auth_replayed_after_reconnect(zk_server: ServerHandle) -> None:
    async with _proxy(zk_server) as proxy, connected(proxy.hosts) as c:
        await c.add_auth("digest", "bob:pw")
        states: list[str] = []
        c.add_listener(states.append)
        proxy.reset_connections()
        await wait_for_value(lambda: states == [SUSPENDED, CONNECTED], 8.0,
                             f"SUSPENDED then CONNECTED ({states})")
        assert ("digest", "bob") in await c.whoami()


async def test_requests_while_suspended_wait_for_reconnect(zk_server: ServerHandle) -> None:
    async with _proxy(zk_server) as proxy, connected(proxy.hosts) as c:
        proxy.set_mode(LinkMode.DROP)
        await wait_for_value(lambda: c.state == SUSPENDED, 3.0, "SUSPENDED")
        # A request made while disconnected is queued for the next attempt; that attempt
        # fails while the link is down (ConnectionLoss), it never hangs.
        with pytest.raises(ConnectionLossError):
            await asyncio.wait_for(c.exists("/"), 5.0)
        proxy.set_mode(LinkMode.PASS)
        await wait_for_value(lambda: c.state == CONNECTED, 8.0, "CONNECTED")
        assert await c.exists("/") is not None
