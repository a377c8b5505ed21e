"""Every ZkClient operation against a real server (Apache ZooKeeper; zkpy when ready)."""

from __future__ import annotations

import pytest

from tests.client.util import connected
from tests.support.servers import ServerHandle
from zkpy.client import (
    ACL,
    CONNECTED,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    RolledBackError,
    Stat,
    ZkClient,
    make_digest_acl,
)
from zkpy.errors import (
    AuthFailedError,
    BadVersionError,
    ConnectionLossError,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RuntimeInconsistencyError,
    SessionExpiredError,
)


async def test_connect_negotiates_session(zk_server: ServerHandle) -> None:
    async with connected(zk_server.hosts, session_timeout_ms=8000) as c:
        assert c.state == CONNECTED
        assert c.session_id != 0
        assert len(c.session_passwd) == 16
        assert c.session_timeout_ms == 8000  # within tickTime 2000 bounds [4000, 40000]
        assert c.connected_host == zk_server.hosts
        assert c.chroot == ""
    assert c.state == "CLOSED"


async def test_start_times_out_with_connection_loss() -> None:
    from tests.support.servers import free_port
    c = ZkClient(f"127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    with pytest.raises(ConnectionLossError):
        await c.start(0.5)
    assert c.state == "CLOSED"


async def test_create_get_set_delete(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        assert await c.create(p, b"hello") == p
        data, st = await c.get(p)
        assert data == b"hello" and isinstance(st, Stat)
        assert st.version == 0 and st.dataLength == 5 and st.ephemeralOwner == 0
        st2 = await c.set(p, b"world")
        assert st2.version == 1 and st2.mzxid > st.mzxid
        assert c.last_zxid >= st2.mzxid
        with pytest.raises(BadVersionError):
            await c.set(p, b"x", version=0)
        with pytest.raises(NodeExistsError) as ei:
            await c.create(p)
        assert ei.value.path == p
        # null vs empty data
        await c.create(p + "/null", None)
        await c.create(p + "/empty", b"")
        assert (await c.get(p + "/null"))[0] is None
        assert (await c.get(p + "/empty"))[0] == b""
        with pytest.raises(NotEmptyError):
            await c.delete(p)
        with pytest.raises(BadVersionError):
            await c.delete(p + "/null", version=5)
        await c.delete(p + "/null", version=0)
        await c.delete(p + "/empty")
        await c.delete(p)
        with pytest.raises(NoNodeError):
            await c.get(p)
        with pytest.raises(NoNodeError):
            await c.delete(p)
        with pytest.raises(ValueError):
            await c.get("no-slash")


async def test_create_modes(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        path, st = await c.create(p, b"", include_stat=True)  # type: ignore[misc]
        assert path == p and st.czxid == st.mzxid
        s1 = await c.create(p + "/s-", sequence=True)
        s2 = await c.create(p + "/s-", sequence=True)
        assert s1 == p + "/s-0000000000" and s2 == p + "/s-0000000001"
        e = await c.create(p + "/eph", ephemeral=True)
        est = await c.exists(e)
        assert est is not None and est.ephemeralOwner == c.session_id
        with pytest.raises(NoChildrenForEphemeralsError):
            await c.create(e + "/child")
        es = await c.create(p + "/es-", ephemeral=True, sequence=True)
        assert es.startswith(p + "/es-")
        cpath, cst = await c.create(p + "/cont", container=True, include_stat=True)  # type: ignore[misc]
        assert cpath == p + "/cont" and cst.ephemeralOwner == 0
        assert sorted(await c.get_ephemerals(p)) == sorted([e, es])
        with pytest.raises(ValueError):
            await c.create(p + "/bad", container=True, ephemeral=True)
    async with connected(zk_server.hosts) as c2:
        # ephemerals went away with the session
        assert await c2.exists(p + "/eph") is None
        await c2.delete_recursive(p)
        assert await c2.exists(p) is None


async def test_exists_and_children(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        assert await c.exists(p) is None
        await c.ensure_path(p + "/a/b/c")
        await c.ensure_path(p + "/a/b/c")  # idempotent
        st = await c.exists(p + "/a/b")
        assert st is not None and st.numChildren == 1
        await c.create(p + "/a/x")
        assert sorted(await c.get_children(p + "/a")) == ["b", "x"]  # type: ignore[arg-type]
        kids, st2 = await c.get_children(p + "/a", include_stat=True)  # type: ignore[misc]
        assert sorted(kids) == ["b", "x"] and st2.numChildren == 2
        assert await c.get_all_children_number(p) == 4
        with pytest.raises(NoNodeError):
            await c.get_children(p + "/nope")
        await c.delete_recursive(p)
        assert await c.exists(p) is None
        await c.delete_recursive(p)  # missing is fine


async def test_acl_and_auth(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        acl, st = await c.get_acl("/")
        assert acl == OPEN_ACL_UNSAFE and isinstance(st, Stat)
        await c.create(p, b"", READ_ACL_UNSAFE)
        acl, st = await c.get_acl(p)
        assert acl == READ_ACL_UNSAFE and st.aversion == 0
        with pytest.raises(NoAuthError):
            await c.set(p, b"x")
        with pytest.raises(NoAuthError):
            await c.create(p + "/c")
        # digest-protected node: only the authenticated client may read
        await c.add_auth("digest", "alice:secret")
        who = await c.whoami()
        assert ("digest", "alice") in who and any(s == "ip" for s, _ in who)
        q = p + "-d"
        await c.create(q, b"private", [make_digest_acl("alice", "secret", all=True)])
        assert (await c.get(q))[0] == b"private"
        st2 = await c.set_acl(q, [make_digest_acl("alice", "secret", read=True, admin=True)], 0)
        assert st2.aversion == 1
        with pytest.raises(BadVersionError):
            await c.set_acl(q, OPEN_ACL_UNSAFE, 0)
        async with connected(zk_server.hosts) as other:
            with pytest.raises(NoAuthError):
                await other.get(q)
        async with connected(zk_server.hosts, auth=[("digest", "alice:secret")]) as authed:
            assert (await authed.get(q))[0] == b"private"
        await c.set_acl(q, OPEN_ACL_UNSAFE)
        await c.delete(q)
        await c.delete(p)


async def test_auth_failure_is_terminal(zk_server: ServerHandle) -> None:
    c = ZkClient(zk_server.hosts, session_timeout_ms=10000)
    states: list[str] = []
    c.add_listener(states.append)
    await c.start(5.0)
    try:
        with pytest.raises(AuthFailedError):
            await c.add_auth("nosuchscheme", "x")
        assert c.state == "AUTH_FAILED"
        with pytest.raises(AuthFailedError):
            await c.get("/")
    finally:
        await c.close()
    assert "AUTH_FAILED" in states


async def test_transaction(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        await c.create(p, b"v0")
        t = c.transaction()
        t.create(p + "/a", b"1").check(p, 0).set_data(p, b"v1").create(p + "/s-", sequence=True)
        t.delete(p + "/a")
        res = await t.commit()
        assert res[0] == p + "/a" and res[1] is True
        assert isinstance(res[2], Stat) and res[2].version == 1
        assert res[3] == p + "/s-0000000001" and res[4] is True
        with pytest.raises(ValueError):
            await t.commit()
        t2 = c.transaction()
        t2.create(p + "/b").check(p, 0).delete(p + "/nope")
        res2 = await t2.commit()
        assert isinstance(res2[0], RolledBackError)
        assert isinstance(res2[1], BadVersionError)
        assert isinstance(res2[2], RuntimeInconsistencyError)
        assert await c.exists(p + "/b") is None
        assert await c.transaction().commit() == []
        await c.delete_recursive(p)


async def test_multi_read_sync_whoami_config(zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    async with connected(zk_server.hosts) as c:
        await c.create(p, b"d")
        await c.create(p + "/k")
        res = await c.multi_read([("get", p), ("get_children", p), ("get", p + "/missing")])
        assert res[0][0] == b"d" and isinstance(res[0][1], Stat)
        assert res[1] == ["k"]
        assert isinstance(res[2], NoNodeError)
        assert await c.sync(p) == p
        who = await c.whoami()
        assert who and who[0][0] == "ip"
        data, st = await c.get_config()
        assert isinstance(st, Stat)
        await c.delete_recursive(p)


async def test_chroot(zk_server: ServerHandle, unique_path: str) -> None:
    root = unique_path
    async with connected(zk_server.hosts) as admin:
        await admin.create(root)
        async with connected(zk_server.hosts + root) as c:
            assert c.chroot == root
            assert await c.create("/a", b"1") == "/a"
            assert await c.get_children("/") == ["a"]
            assert await c.sync("/a") == "/a"
            e = await c.create("/e", ephemeral=True)
            assert await c.get_ephemerals() == [e]
            t = c.transaction()
            t.create("/b").delete("/b")
            assert await t.commit() == ["/b", True]
            assert (await admin.get(root + "/a"))[0] == b"1"
        await admin.delete_recursive(root)


async def test_session_expired_requests_fail(zk_server: ServerHandle) -> None:
    # A session the server no longer knows: reconnecting with it yields EXPIRED.
    async with connected(zk_server.hosts) as c:
        sid, pw = c.session_id, c.session_passwd
    assert c.state == "CLOSED"
    c2 = ZkClient(zk_server.hosts, session_timeout_ms=6000)
    c2._session.session_id = sid  # resume a closed session, as a restarted process might
    c2._session.passwd = pw
    c2._session.state = "SUSPENDED"
    with pytest.raises(SessionExpiredError):
        await c2.start(5.0)
    assert c2.state == "EXPIRED"
    with pytest.raises(SessionExpiredError):
        await c2.get("/")
    await c2.close()


def test_acl_records_compare() -> None:
    assert ACL(31, Id("world", "anyone")) == OPEN_ACL_UNSAFE[0]
