"""Client test plumbing: async test functions, the server matrix, connected clients.

- ``async def test_...`` functions run under ``asyncio.run`` with a hard bound
  (ASYNC_TEST_TIMEOUT_S); there is no pytest-asyncio dependency.
- ``zk_server`` here overrides the shared one: the zookeeper parameter is the shared
  Apache ZooKeeper; the zkpy parameter is a zkpy member started by this package and
  probed with a real handshake + create/delete; a zkpy member that does not answer
  fails those tests with the reason (the same test bodies pass on both).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerHandle, start_server
from zkpy.client import ZkClient

ASYNC_TEST_TIMEOUT_S = 30.0
ZKPY_READY_S = float(os.environ.get("ZKPY_CLIENT_TEST_ZKPY_READY_S", "6"))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def bounded() -> None:
        await asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT_S)

    asyncio.run(bounded())
    return True


async def _probe(hosts: str) -> None:
    c = ZkClient(hosts, session_timeout_ms=6000, connect_timeout_s=2.0)
    await c.start(2.0)
    try:
        p = f"/probe-{uuid.uuid4().hex[:8]}"
        await c.create(p, b"x")
        data, _ = await c.get(p)
        assert data == b"x", data
        await c.delete(p)
    finally:
        await c.close()


@pytest.fixture(scope="session")
def client_zkpy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle | str]:
    """A zkpy member, or the reason it cannot serve client tests (a str)."""
    try:
        h = start_server("zkpy", Path(tmp_path_factory.mktemp("zkpy-client")), wait=False)
    except Exception as e:  # noqa: BLE001 - reported as the failure reason
        yield f"zkpy server did not start: {e!r}"
        return
    try:
        last: BaseException | None = None
        deadline = time.monotonic() + ZKPY_READY_S
        while True:
            if not h.alive():
                last = RuntimeError(f"exited with {h.proc.returncode}: {h.log_tail(5)}")
                break
            left = deadline - time.monotonic()
            try:
                asyncio.run(asyncio.wait_for(_probe(h.hosts), max(0.5, min(4.0, left))))
                last = None
                break
            except Exception as e:  # noqa: BLE001
                last = e
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        if last is not None:
            yield f"zkpy server does not answer the client protocol: {last!r}"[:400]
            return
        yield h
    finally:
        h.stop()


@pytest.fixture(params=("zookeeper", "zkpy"))
def zk_server(request: pytest.FixtureRequest) -> ServerHandle:
    """The same client test against Apache ZooKeeper and against zkpy."""
    if request.param == "zookeeper":
        h: ServerHandle = request.getfixturevalue("apache_zk")
        return h
    got = request.getfixturevalue("client_zkpy_server")
    if isinstance(got, str):
        pytest.fail(got)
    return got
