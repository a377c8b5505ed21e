"""Client: the blocking facade (background loop thread, callbacks on their own thread)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.proxy import LinkMode, ThreadedFaultProxy
from tests.support.servers import ServerHandle, wait_until
from zkpy.client import CLOSED, CONNECTED, SUSPENDED, Client, EventType, Stat, WatchedEvent
from zkpy.errors import NodeExistsError, NoNodeError


def test_blocking_client_operations(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    with Client(zk_server.hosts, session_timeout_ms=10000) as c:
        assert c.state == CONNECTED and c.session_id
        assert c.create(p, b"x") == p
        with pytest.raises(NodeExistsError):
            c.create(p)
        data, st = c.get(p)
        assert data == b"x" and isinstance(st, Stat)
        assert c.set(p, b"y").version == 1
        assert c.exists(p + "/no") is None
        c.ensure_path(p + "/a/b")
        assert c.get_children(p) == ["a"]
        t = c.transaction()
        t.create(p + "/t").set_data(p, b"z")
        res = t.commit()
        assert res[0] == p + "/t" and isinstance(res[1], Stat)
        assert ("ip", "127.0.0.1") in c.whoami()
        c.delete_recursive(p)
        with pytest.raises(NoNodeError):
            c.get(p)
    assert c.state == CLOSED


def test_callbacks_may_block_on_the_client(zk_server: ServerHandle, unique_path: str) -> None:
    """A watcher runs on the callback thread and may call blocking methods (kazoo-like)."""
    p = unique_path
    seen: list[tuple[WatchedEvent, bytes | None]] = []
    done = threading.Event()
    with Client(zk_server.hosts) as c:
        c.create(p, b"0")

        def watcher(ev: WatchedEvent) -> None:
            data, _ = c.get(p)  # blocking call from inside a callback
            seen.append((ev, data))
            done.set()

        c.get(p, watch=watcher)
        c.set(p, b"1")
        assert done.wait(5.0)
        assert seen[0][0].type == EventType.NODE_DATA_CHANGED and seen[0][1] == b"1"
        assert threading.current_thread().name != "zkpy-client-callbacks"
        c.delete(p)


def test_sync_recipes_and_listener_with_proxy(zk_server: ServerHandle, unique_path: str) -> None:
    with ThreadedFaultProxy(zk_server.host, zk_server.port) as proxy:
        states: list[str] = []
        with Client(proxy.hosts, session_timeout_ms=10000) as c:
            c.add_listener(states.append)
            lock = c.Lock(unique_path + "/lock", "me")
            with lock:
                assert lock.is_acquired
                assert lock.contenders() == ["me"]
            counter = c.Counter(unique_path + "/n")
            assert counter.incr(3) == 3
            q = c.Queue(unique_path + "/q")
            q.put(b"a")
            assert q.get() == b"a"
            proxy.set_mode(LinkMode.DROP)
            wait_until(lambda: SUSPENDED in states, 5.0, f"SUSPENDED ({states})")
            proxy.set_mode(LinkMode.PASS)
            wait_until(lambda: c.state == CONNECTED, 8.0, "CONNECTED")
            c.delete_recursive(unique_path)
        wait_until(lambda: states[-1:] == [CLOSED], 2.0, f"CLOSED ({states})")


def test_close_is_bounded_when_server_unreachable(zk_server: ServerHandle) -> None:
    with ThreadedFaultProxy(zk_server.host, zk_server.port) as proxy:
        c = Client(proxy.hosts, session_timeout_ms=10000)
        c.start()
        proxy.set_mode(LinkMode.BLACKHOLE)
        t0 = time.monotonic()
        c.close(timeout_s=1.0)
        assert time.monotonic() - t0 < 5.0
        assert c.state == CLOSED
