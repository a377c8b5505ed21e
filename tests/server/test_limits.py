"""Connection and backpressure limits on a live zkpy member."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.rawzk import OPEN_ACL, ConnectionClosed, RawConnection, open_session
from tests.support.servers import ServerHandle, start_zkpy, wait_until
from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    h = start_zkpy(Path(tmp_path_factory.mktemp("limits")),
                   cfg={"globalOutstandingLimit": 8, "maxCnxns": 3})
    try:
        yield h
    finally:
        h.stop()


def test_pipelined_writes_past_the_outstanding_limit_all_complete_in_order(
        member: ServerHandle) -> None:
    with open_session(member.host, member.port) as c:
        xids = [c.send_request(OpCode.CREATE, r.CreateRequest("/bp-", b"x" * 100, OPEN_ACL, 2))
                for _ in range(300)]
        replies = [c.read_reply(OpCode.CREATE, x) for x in xids]
        assert all(rep is not None and rep.err == 0 for rep in replies), replies[:3]
        names = [rep.body.path for rep in replies if rep is not None]
        assert names == sorted(names) and len(set(names)) == 300
        rep = c.call(OpCode.GET_CHILDREN, r.GetChildrenRequest("/", False))
        assert rep is not None and rep.err == 0 and len(
            [n for n in rep.body.children if n.startswith("bp-")]) == 300


def test_connections_past_max_cnxns_are_closed(member: ServerHandle) -> None:
    held = [RawConnection(member.host, member.port) for _ in range(3)]
    try:
        extra = RawConnection(member.host, member.port, timeout_s=3.0)
        try:
            assert extra.connect() is None          # closed without a session
        except (ConnectionClosed, OSError):
            pass                                    # (or reset before the request went out)
        finally:
            extra.close()
    finally:
        for h in held:
            h.close()

    def served() -> bool:                           # room again once the server saw them go
        with open_session(member.host, member.port) as c:
            return c.call(OpCode.EXISTS, r.ExistsRequest("/", False)) is not None

    wait_until(served, 10, "a session after the held connections closed")
