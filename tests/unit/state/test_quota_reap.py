"""Quotas (zkCli setquota layout) and container / TTL reaping."""

from __future__ import annotations

from zkpy.proto import records as r
from zkpy.proto.opcodes import Err, OpCode
from zkpy.state.quota import format_stats, parse_stats

from .harness import T0, Z


def setquota(z: Z, c: object, path: str, limits: dict[str, int]) -> None:
    """What zkCli's setquota sends: parents under /zookeeper/quota, limits, stats."""
    q = "/zookeeper/quota"
    for part in path.strip("/").split("/"):
        q += "/" + part
        z.create(c, q, None)
    assert z.create(c, q + "/zookeeper_limits", format_stats(limits)).err == 0
    assert z.create(c, q + "/zookeeper_stats", b"count=0,bytes=0").err == 0


def stats(z: Z, c: object, path: str) -> dict[str, int]:
    return parse_stats(z.get(c, f"/zookeeper/quota{path}/zookeeper_stats")[1].data)


def test_stats_format() -> None:
    assert format_stats({"count": 10}) == b"count=10,bytes=-1"
    assert format_stats({"countHardLimit": 5, "byteHardLimit": 9}) == \
        b"count=-1,bytes=-1=;byteHardLimit=9;countHardLimit=5"
    assert parse_stats(b"count=-1,bytes=-1=;byteHardLimit=9;countHardLimit=5") == {
        "count": -1, "bytes": -1, "byteHardLimit": 9, "countHardLimit": 5}
    assert parse_stats(None) == {}


def test_quota_tracking() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/app", b"12345")
    z.create(c, "/app/a", b"xx")
    setquota(z, c, "/app", {"count": 10})
    assert stats(z, c, "/app") == {"count": 2, "bytes": 7}  # recounted on stats create
    z.create(c, "/app/b", b"abc")
    assert stats(z, c, "/app") == {"count": 3, "bytes": 10}
    z.set(c, "/app/b", b"a")
    assert stats(z, c, "/app") == {"count": 3, "bytes": 8}
    z.delete(c, "/app/a")
    assert stats(z, c, "/app") == {"count": 2, "bytes": 6}
    z.create(c, "/apple", b"zzz")  # not under /app
    assert stats(z, c, "/app") == {"count": 2, "bytes": 6}
    # stats node's stat is untouched by the counter updates
    st = z.stat("/zookeeper/quota/app/zookeeper_stats")
    assert st.version == 0
    # soft limit exceeded: only a warning
    for i in range(12):
        assert z.create(c, f"/app/n{i}").err == 0


def test_hard_limits_only_when_enforced() -> None:
    for enforce in (False, True):
        z = Z(enforce_quota=enforce)
        c = z.connect()
        z.create(c, "/h")
        setquota(z, c, "/h", {"countHardLimit": 3, "byteHardLimit": 10})
        assert z.create(c, "/h/a", b"12345").err == 0
        assert z.create(c, "/h/b").err == 0  # count now 3
        err = z.create(c, "/h/c").err
        assert err == (Err.QUOTAEXCEEDED if enforce else 0)
        err = z.set(c, "/h/a", b"12345678901").err  # 11 > 10 bytes
        assert err == (Err.QUOTAEXCEEDED if enforce else 0)
        assert z.set(c, "/h/a", b"123").err == 0  # shrinking is fine


def test_quota_check_order() -> None:
    z = Z(enforce_quota=True)
    c = z.connect()
    z.create(c, "/h")
    z.create(c, "/h/x")
    setquota(z, c, "/h", {"countHardLimit": 1})
    assert z.create(c, "/h/x").err == Err.NODEEXISTS  # before QUOTAEXCEEDED
    assert z.create(c, "/h/y").err == Err.QUOTAEXCEEDED
    assert z.set(c, "/h/x", b"1", 9).err == Err.BADVERSION  # no byte limit -> no quota check


def test_deepest_quota_root_only_and_delete_limits() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/a")
    z.create(c, "/a/b")
    setquota(z, c, "/a", {"count": 100})
    setquota(z, c, "/a/b", {"count": 100})
    z.create(c, "/a/b/c", b"1")
    assert stats(z, c, "/a/b") == {"count": 2, "bytes": 1}
    assert stats(z, c, "/a") == {"count": 2, "bytes": 0}
    z.delete(c, "/zookeeper/quota/a/b/zookeeper_limits")
    z.create(c, "/a/b/d")
    assert stats(z, c, "/a") == {"count": 3, "bytes": 0}


def test_quota_multi_rollback() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/q")
    setquota(z, c, "/q", {"count": 5})
    before = stats(z, c, "/q")
    a = z.multi(c, [(OpCode.CREATE, r.CreateRequest("/q/a", b"xyz", [r.ACL(31, r.Id(
        "world", "anyone"))], 0)), (OpCode.DELETE, r.DeleteRequest("/nope", -1))])
    assert a.response.errors() == [0, Err.NONODE]
    assert stats(z, c, "/q") == before
    assert z.sm.quota.roots == {"/q"}


# ------------------------------------------------------------------ reaping


def test_container_reaping() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/c", op=OpCode.CREATE_CONTAINER, flags=4)
    z.create(c, "/never", op=OpCode.CREATE_CONTAINER, flags=4)
    assert z.sm.reap_commands(T0 + 10**9) == []  # never used, max_never_used = 0
    z.create(c, "/c/x")
    assert z.sm.reap_commands(T0) == []  # has a child
    z.delete(c, "/c/x")
    cmds = z.sm.reap_commands(T0)
    assert len(cmds) == 1 and cmds[0].op == OpCode.DELETE_CONTAINER
    assert cmds[0].request == r.DeleteContainerRequest(b"/c") and cmds[0].session_id == 0
    w = z.connect()
    z.exists(w, "/c", watch=True)
    a = z.run(cmds[0])
    assert a.err == 0 and [(e.type, e.path) for _, e in a.events] == [(2, "/c")]
    assert z.exists(c, "/c")[0] == Err.NONODE


def test_container_never_used_interval() -> None:
    z = Z(container_max_never_used_ms=1000)
    c = z.connect()
    z.create(c, "/n", op=OpCode.CREATE_CONTAINER, flags=4)
    assert z.sm.reap_commands(T0 + 1000) == []
    assert [x.request.path for x in z.sm.reap_commands(T0 + 1001)] == [b"/n"]


def test_delete_container_checks() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/p")
    z.create(c, "/p/k")
    z.create(c, "/e", flags=1)

    def dc(path: str) -> int:
        cmd = z.sm.command(c, OpCode.DELETE_CONTAINER,
                           r.DeleteContainerRequest(path.encode()), 0, z.now)
        return z.run(cmd).err

    assert dc("/zookeeper") == Err.BADARGUMENTS
    assert dc("nope") == Err.BADARGUMENTS
    assert dc("/none") == Err.NONODE
    assert dc("/p") == Err.NOTEMPTY
    assert dc("/e") == Err.BADVERSION  # ephemeral
    assert dc("/p/k") == 0  # plain persistent is allowed


def test_ttl_nodes() -> None:
    z = Z(extended_types_enabled=True)
    c = z.connect()
    a = z.create_ttl(c, "/t", 1000)
    assert a.err == 0 and isinstance(a.response, r.Create2Response)
    assert a.response.stat.ephemeralOwner == 0
    assert "/t" in z.sm.tree.ttls
    assert z.create_ttl(c, "/ts-", 500, flags=6).response.path == "/ts-0000000001"
    assert z.sm.reap_commands(T0 + 500) == []
    assert [x.request.path for x in z.sm.reap_commands(T0 + 501)] == [b"/ts-0000000001"]
    assert [x.request.path for x in z.sm.reap_commands(T0 + 1001)] == [
        b"/t", b"/ts-0000000001"]
    z.now = T0 + 900
    z.set(c, "/t", b"refresh")  # setData refreshes mtime
    assert [x.request.path for x in z.sm.reap_commands(T0 + 1001)] == [b"/ts-0000000001"]
    z.create(c, "/t/child")  # a TTL node with children is kept
    cmds = z.sm.reap_commands(T0 + 10**6)
    assert [x.request.path for x in cmds] == [b"/ts-0000000001"]
    assert z.run(cmds[0]).err == 0


def test_ttl_validation() -> None:
    z = Z(extended_types_enabled=True)
    c = z.connect()
    assert z.create_ttl(c, "/a", 0).err == Err.BADARGUMENTS
    assert z.create_ttl(c, "/a", -5).err == Err.BADARGUMENTS
    assert z.create_ttl(c, "/a", 0xFFFFFFFFFF + 1).err == Err.BADARGUMENTS
    assert z.create_ttl(c, "/a", 0xFFFFFFFFFF).err == 0
    # opcode 21 with a non-TTL flag is rejected
    for flags in (0, 1, 2, 3, 4):
        assert z.create_ttl(c, "/b", 100, flags=flags).err == Err.BADARGUMENTS
        assert z.create_ttl(c, "/b", -1, flags=flags).err == Err.BADARGUMENTS
    # TTL flag without opcode 21 (no ttl) -> BADARGUMENTS
    assert z.create(c, "/b", flags=5, op=OpCode.CREATE2).err == Err.BADARGUMENTS
    # a TTL node may have children
    assert z.create(c, "/a/kid").err == 0


def test_ttl_disabled() -> None:
    z = Z()
    c = z.connect()
    assert z.create_ttl(c, "/a", 100).err == Err.UNIMPLEMENTED
    assert z.create_ttl(c, "/a", 100, flags=0).err == Err.BADARGUMENTS
