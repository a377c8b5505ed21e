"""Shared fixtures: the oracle (Apache ZooKeeper 3.8) and a zkpy member, on free ports.

Server fixtures are session-scoped (one JVM start per run); tests isolate themselves
by working under a unique path (``unique_path`` fixture). ``zk_server`` is
parametrized over both servers so one test body checks both.
In CI (env CI set) a missing Apache ZooKeeper is an error, never a silent skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import (
    ServerHandle,
    apache_zk_available,
    start_server,
    unavailable,
)

SERVER_KINDS = ("zookeeper", "zkpy")


def need_apache_zk() -> None:
    if not apache_zk_available():
        unavailable("Apache ZooKeeper 3.8 not installed (apt-get install zookeeper)")


@pytest.fixture(scope="session")
def apache_zk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    need_apache_zk()
    h = start_server("zookeeper", Path(tmp_path_factory.mktemp("apache-zk")))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="session")
def zkpy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    h = start_server("zkpy", Path(tmp_path_factory.mktemp("zkpy")))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(params=SERVER_KINDS)
def zk_server(request: pytest.FixtureRequest) -> ServerHandle:
    """The same test against Apache ZooKeeper and against zkpy."""
    name = "apache_zk" if request.param == "zookeeper" else "zkpy_server"
    return request.getfixturevalue(name)


@pytest.fixture
def unique_path() -> str:
    """A fresh top-level znode path name for this test (not created)."""
    return f"/t-{uuid.uuid4().hex[:12]}"
