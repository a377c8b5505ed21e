"""A real zkpy member under client write load, SIGKILLed at random moments.

After every restart each write a client saw acknowledged is there with its value and
version, and no write that failed is there. Writes whose outcome the client never
learnt (in flight at the kill) may be present or not, but only as a whole.

Load per cycle: WRITERS tasks, each creating its own sequence of znodes and moving its
own counter znode forward with conditional setData (data = the version it gives the
node), plus two writes that must fail (create of an existing node, setData with a wrong
version). A small snapCount makes kills land around snapshots too.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from tests.support.servers import ServerHandle, free_port, start_zkpy
from zkpy.client import ZkClient
from zkpy.errors import BadVersionError, NodeExistsError, ZkError

KILLS = 20
WRITERS = 4
ROOT = "/crash"
FIXED = f"{ROOT}/fixed"
CFG = {"snapCount": 300, "autopurge.snapRetainCount": 3}


class Acked:
    """What clients saw acknowledged (or refused) across all cycles."""

    def __init__(self) -> None:
        self.creates: dict[str, bytes] = {}
        self.counter = [0] * WRITERS      # highest acknowledged version per counter
        self.refused = 0                  # writes that failed as they had to


async def _client(h: ServerHandle) -> ZkClient:
    c = ZkClient(h.hosts, session_timeout_ms=4000, connect_timeout_s=5.0)
    await c.start(10.0)
    return c


async def _writer(c: ZkClient, w: int, cycle: int, acked: Acked, start_version: int,
                  stop: asyncio.Event) -> None:
    version = start_version
    i = 0
    while not stop.is_set():
        path = f"{ROOT}/n-{cycle:02d}-{w}-{i:05d}"
        data = f"{cycle}:{w}:{i}".encode()
        await c.create(path, data)
        acked.creates[path] = data
        await c.set(f"{ROOT}/c{w}", str(version + 1).encode(), version)
        version += 1
        acked.counter[w] = version
        if i % 10 == 0:
            try:
                await c.create(FIXED, b"bad")
                raise AssertionError("create of an existing node succeeded")
            except NodeExistsError:
                acked.refused += 1
            try:
                await c.set(FIXED, b"bad", 12345)
                raise AssertionError("setData with a wrong version succeeded")
            except BadVersionError:
                acked.refused += 1
        i += 1


async def _load_then_kill(h: ServerHandle, cycle: int, acked: Acked, versions: list[int],
                          rng: random.Random) -> None:
    c = await _client(h)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_writer(c, w, cycle, acked, versions[w], stop))
             for w in range(WRITERS)]
    await asyncio.sleep(rng.uniform(0.05, 0.6))
    h.kill()                                       # SIGKILL, mid-load
    stop.set()
    done, _ = await asyncio.wait(tasks, timeout=15)
    assert len(done) == WRITERS, "writers did not notice the kill"
    for t in done:
        exc = t.exception()
        # In-flight requests fail with a connection-class error; anything else is a bug.
        assert exc is None or isinstance(exc, ZkError), repr(exc)
    await c.close(2.0)


async def _verify(h: ServerHandle, acked: Acked, check: dict[str, bytes]) -> list[int]:
    """Assert the acknowledged state is there; return each counter's actual version."""
    c = await _client(h)
    try:
        got = await asyncio.gather(*(c.get(p) for p in check))
        for (path, want), (data, stat) in zip(check.items(), got, strict=True):
            assert (data, stat.version) == (want, 0), f"{path}: {data!r} v{stat.version}"
        versions = []
        for w in range(WRITERS):
            data, stat = await c.get(f"{ROOT}/c{w}")
            assert stat.version >= acked.counter[w], \
                f"c{w}: version {stat.version} < acknowledged {acked.counter[w]}"
            assert data == str(stat.version).encode(), f"c{w}: {data!r} at v{stat.version}"
            versions.append(stat.version)
        data, stat = await c.get(FIXED)
        assert (data, stat.version) == (b"orig", 0), "a refused write is present"
        return versions
    finally:
        await c.close(2.0)


def test_sigkill_member_under_load_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(20261206)
    port = free_port()
    acked = Acked()

    async def setup(h: ServerHandle) -> None:
        c = await _client(h)
        try:
            await c.create(ROOT)
            await c.create(FIXED, b"orig")
            for w in range(WRITERS):
                await c.create(f"{ROOT}/c{w}", b"0")
        finally:
            await c.close(2.0)

    h = start_zkpy(tmp_path, port=port, cfg=CFG)
    try:
        asyncio.run(setup(h))
        versions = [0] * WRITERS
        for cycle in range(KILLS):
            before = set(acked.creates)
            asyncio.run(_load_then_kill(h, cycle, acked, versions, rng))
            h = start_zkpy(tmp_path, port=port, cfg=CFG)
            new = {p: d for p, d in acked.creates.items() if p not in before}
            versions = asyncio.run(asyncio.wait_for(_verify(h, acked, new), 60))
        # Finally everything ever acknowledged, after one more clean restart.
        h.stop()
        h = start_zkpy(tmp_path, port=port, cfg=CFG)
        asyncio.run(asyncio.wait_for(_verify(h, acked, acked.creates), 120))
        print(f"{KILLS} kills: {len(acked.creates)} creates and {sum(acked.counter)} "
              f"conditional sets acknowledged, {acked.refused} writes refused")
        assert len(acked.creates) > KILLS * WRITERS and acked.refused > 0
        snapshots = list((tmp_path / "data" / "version-2").glob("snapshot.*"))
        assert len(snapshots) > 1, "no snapshot was taken: raise the load or lower snapCount"
    finally:
        h.stop()
