"""Recipes (lock, election, barriers, queue, counter) with several real sessions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.client.util import connected
from tests.support.servers import ServerHandle
from zkpy.client import ZkClient
from zkpy.client.recipes import Barrier, Counter, DoubleBarrier, Election, Lock, Queue


@contextlib.asynccontextmanager
async def clients(hosts: str, n: int) -> AsyncIterator[list[ZkClient]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(connected(hosts)) for _ in range(n)]


async def test_lock_mutual_exclusion_and_order(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path + "/lock"
    async with clients(zk_server.hosts, 3) as cs:
        holders: list[str] = []
        inside = 0

        async def worker(c: ZkClient, name: str) -> None:
            nonlocal inside
            lock = Lock(c, p, name)
            async with lock:
                inside += 1
                assert inside == 1
                holders.append(name)
                await asyncio.sleep(0.02)
                inside -= 1

        await asyncio.gather(*(worker(c, f"w{i}") for i, c in enumerate(cs)))
        assert sorted(holders) == ["w0", "w1", "w2"]

        first, second = Lock(cs[0], p, "first"), Lock(cs[1], p, "second")
        assert await first.acquire()
        assert not await second.acquire(blocking=False)
        assert not await second.acquire(timeout_s=0.2)
        assert await first.contenders() == ["first"]
        waiter = asyncio.ensure_future(second.acquire(timeout_s=5.0))
        await asyncio.sleep(0.1)
        assert await first.contenders() == ["first", "second"]
        await first.release()
        assert await waiter and second.is_acquired
        await second.release()
        assert await cs[0].get_children(p) == []
        await cs[0].delete_recursive(unique_path)


async def test_lock_released_when_holder_session_closes(zk_server: ServerHandle,
                                                        unique_path: str) -> None:
    async with connected(zk_server.hosts) as c2:
        c1 = ZkClient(zk_server.hosts, session_timeout_ms=10000)
        await c1.start(5.0)
        l1, l2 = Lock(c1, unique_path), Lock(c2, unique_path)
        assert await l1.acquire()
        waiter = asyncio.ensure_future(l2.acquire(timeout_s=5.0))
        await asyncio.sleep(0.05)
        await c1.close()  # ephemeral lock node goes with the session
        assert await waiter
        await l2.release()
        await c2.delete_recursive(unique_path)


async def test_election(zk_server: ServerHandle, unique_path: str) -> None:
    async with clients(zk_server.hosts, 2) as (a, b):
        ea, eb = Election(a, unique_path, "a"), Election(b, unique_path, "b")
        assert await ea.try_lead(1.0) and ea.is_leader
        assert not await eb.try_lead(0.1)
        led: list[str] = []

        async def lead() -> str:
            led.append("b")
            return "done"

        run_b = asyncio.ensure_future(eb.run(lead))
        await asyncio.sleep(0.05)
        assert await ea.contenders() == ["a", "b"]
        await ea.resign()
        assert await run_b == "done" and led == ["b"]
        await a.delete_recursive(unique_path)


async def test_barrier(zk_server: ServerHandle, unique_path: str) -> None:
    async with clients(zk_server.hosts, 2) as (a, b):
        ba, bb = Barrier(a, unique_path), Barrier(b, unique_path)
        assert await bb.wait(0.05)  # no barrier node: passes at once
        await ba.create()
        assert not await bb.wait(0.1)
        waiter = asyncio.ensure_future(bb.wait(5.0))
        await asyncio.sleep(0.05)
        assert await ba.remove()
        assert await waiter
        assert not await ba.remove()


async def test_double_barrier(zk_server: ServerHandle, unique_path: str) -> None:
    async with clients(zk_server.hosts, 3) as cs:
        bars = [DoubleBarrier(c, unique_path, 3, f"m{i}") for i, c in enumerate(cs)]
        assert not await DoubleBarrier(cs[0], unique_path + "-x", 2).enter(timeout_s=0.1)
        entered = await asyncio.gather(*(b.enter(timeout_s=5.0) for b in bars))
        assert entered == [True, True, True]
        left = await asyncio.gather(*(b.leave(timeout_s=5.0) for b in bars))
        assert left == [True, True, True]
        assert await cs[0].get_children(unique_path) == []
        await cs[0].delete_recursive(unique_path)
        await cs[0].delete_recursive(unique_path + "-x")


async def test_queue(zk_server: ServerHandle, unique_path: str) -> None:
    async with clients(zk_server.hosts, 2) as (a, b):
        qa, qb = Queue(a, unique_path), Queue(b, unique_path)
        assert await qa.get() is None
        await qa.put(b"one")
        await qa.put(b"two")
        await qa.put(b"urgent", priority=1)
        assert await qa.length() == 3
        assert await qb.get() == b"urgent"  # lowest priority number first
        got = await asyncio.gather(qa.get(), qb.get())
        assert sorted(got) == [b"one", b"two"]  # type: ignore[type-var]
        waiter = asyncio.ensure_future(qb.get(timeout_s=5.0))
        await asyncio.sleep(0.05)
        await qa.put(b"late")
        assert await waiter == b"late"
        assert await qb.get(timeout_s=0.05) is None
        await a.delete_recursive(unique_path)


async def test_counter(zk_server: ServerHandle, unique_path: str) -> None:
    async with clients(zk_server.hosts, 3) as cs:
        counters = [Counter(c, unique_path + "/n", default=10) for c in cs]
        assert await counters[0].value() == 10
        await asyncio.gather(*(c.incr() for c in counters for _ in range(5)))
        assert await counters[1].value() == 25
        assert await counters[2].decr(5) == 20
        assert counters[2].pre_value == 25 and counters[2].post_value == 20
        await cs[0].delete_recursive(unique_path)
