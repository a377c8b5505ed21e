"""Happy paths, stats, cversion/pzxid rules, sequence suffixes, errors in check order."""

from __future__ import annotations

import pytest

from zkpy.proto import records as r
from zkpy.proto.opcodes import CreateMode, Err, OpCode
from zkpy.state import Conn

from .harness import OPEN, READ_ONLY, T0, Z


@pytest.fixture
def z() -> Z:
    return Z()


@pytest.fixture
def c(z: Z) -> Conn:
    return z.connect()


def test_fresh_tree(z: Z, c: Conn) -> None:
    sm = z.sm
    assert sm.node_count() == 5
    root = z.stat("/")
    assert root == r.Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0)
    assert z.stat("/zookeeper") == r.Stat(0, 0, 0, 0, 0, -2, 0, 0, 0, 2, 0)
    assert z.stat("/zookeeper/quota") == r.Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    # standalone: version 0 (observed on 3.8.0); aversion -1
    assert z.stat("/zookeeper/config") == r.Stat(0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0)
    assert z.get_acl(c, "/zookeeper/config") == (
        0, r.GetACLResponse(READ_ONLY, z.stat("/zookeeper/config")))
    assert z.get_acl(c, "/")[1].acl == OPEN
    err, rsp = z.get(c, "/")
    assert err == 0 and rsp.data == b""
    assert sorted(z.children(c, "/zookeeper")[1].children) == ["config", "quota"]
    assert z.children(c, "/")[1].children == ["zookeeper"]
    assert sm.approximate_data_size() == 44


def test_config_data_from_config() -> None:
    z = Z(config_data=b"server.1=127.0.0.1:2888:3888:participant\nversion=0")
    c = z.connect()
    err, rsp = z.get(c, "/zookeeper/config")
    assert rsp.data.startswith(b"server.1=") and rsp.stat.version == -1
    assert rsp.stat.dataLength == len(rsp.data)


def test_set_config_node() -> None:
    z = Z()
    c = z.connect()
    z.get(c, "/zookeeper/config", watch=True)
    text = b"server.1=127.0.0.1:2888:3888:participant\nversion=100000000"
    evs = z.sm.set_config_node(text, 0x100000000, T0)
    assert [(e.type, e.path) for _, e in evs] == [(3, "/zookeeper/config")]
    st = z.get(c, "/zookeeper/config")[1].stat
    assert (st.version, st.mzxid, st.mtime, st.aversion, st.dataLength) == (
        -1, 0x100000000, T0, -1, len(text))
    assert z.sm.approximate_data_size() == 44 + len(text)


def test_create_and_stats(z: Z, c: Conn) -> None:
    z.now = T0 + 5
    a = z.create(c, "/a", b"hello")
    assert (a.err, a.response) == (0, r.CreateResponse("/a"))
    zx = a.zxid
    st = z.stat("/a")
    assert st == r.Stat(zx, zx, T0 + 5, T0 + 5, 0, 0, 0, 0, 5, 0, zx)
    assert z.stat("/").pzxid == zx
    assert z.stat("/").cversion == 0  # C=1, 2 children
    a2 = z.create(c, "/b", None, op=OpCode.CREATE2)
    assert a2.response == r.Create2Response("/b", z.stat("/b"))
    assert z.get(c, "/b")[1].data is None
    assert z.get(c, "/a")[1].data == b"hello"
    assert z.sm.node_count() == 7
    assert z.sm.last_zxid == a2.zxid


def test_null_vs_empty_data(z: Z, c: Conn) -> None:
    z.create(c, "/n", None)
    z.create(c, "/e", b"")
    assert z.get(c, "/n")[1].data is None
    assert z.get(c, "/e")[1].data == b""
    z.set(c, "/e", None)
    assert z.get(c, "/e")[1].data is None


def test_verified_cversion_example(z: Z, c: Conn) -> None:
    z.create(c, "/q")
    names = [z.create(c, "/q/s-", flags=2).response.path for _ in range(3)]
    assert names == ["/q/s-0000000000", "/q/s-0000000001", "/q/s-0000000002"]
    assert z.stat("/q").cversion == 3
    d = z.delete(c, "/q/s-0000000001")
    assert d.err == 0 and d.response is None
    st = z.stat("/q")
    assert st.cversion == 4 and st.pzxid == d.zxid and st.numChildren == 2
    a = z.create(c, "/q/s-", flags=2)
    assert a.response.path == "/q/s-0000000003"
    assert z.stat("/q").cversion == 5


def test_sequence_suffix_forms(z: Z, c: Conn) -> None:
    z.create(c, "/a")
    assert z.create(c, "/a/", flags=2).response.path == "/a/0000000000"
    assert z.create(c, "/a/x-", flags=CreateMode.EPHEMERAL_SEQUENTIAL).response.path == \
        "/a/x-0000000001"
    assert z.create(c, "/a/", flags=0).err == Err.BADARGUMENTS


def test_sequence_int32_wrap(z: Z, c: Conn) -> None:
    z.create(c, "/w")
    z.sm.tree.get("/w").kids_here().cver = 2147483647
    assert z.create(c, "/w/s", flags=2).response.path == "/w/s2147483647"
    assert z.create(c, "/w/s", flags=2).response.path == "/w/s-2147483648"
    assert z.create(c, "/w/s", flags=2).response.path == "/w/s-2147483647"


def test_set_data(z: Z, c: Conn) -> None:
    z.create(c, "/a", b"1")
    z.now += 10
    a = z.set(c, "/a", b"22", 0)
    assert a.err == 0
    st = a.response.stat
    assert st.version == 1 and st.mzxid == a.zxid and st.mtime == z.now and st.dataLength == 2
    assert st.czxid < st.mzxid and st.pzxid == st.czxid
    assert z.set(c, "/a", b"22").response.stat.version == 2  # identical data still bumps
    assert z.set(c, "/a", b"x", 5).err == Err.BADVERSION
    assert z.set(c, "/nope", b"x").err == Err.NONODE
    assert z.set(c, "bad", b"x").err == Err.BADARGUMENTS
    assert z.set(c, "/a/", b"x").err == Err.BADARGUMENTS


def test_version_wraps_int32(z: Z, c: Conn) -> None:
    z.create(c, "/v")
    z.sm.tree.get("/v").version = 2147483647
    assert z.set(c, "/v", b"").response.stat.version == -2147483648


def test_set_acl(z: Z, c: Conn) -> None:
    z.create(c, "/a")
    a = z.set_acl(c, "/a", READ_ONLY, 0)
    assert a.err == 0 and a.response.stat.aversion == 1
    assert a.response.stat.mzxid == a.response.stat.czxid  # setACL does not touch mzxid
    assert z.get_acl(c, "/a")[1].acl == READ_ONLY
    # now no ADMIN
    assert z.set_acl(c, "/a", OPEN).err == Err.NOAUTH
    z.create(c, "/b")
    assert z.set_acl(c, "/b", OPEN, 3).err == Err.BADVERSION
    assert z.set_acl(c, "/b", [], 0).err == Err.INVALIDACL
    assert z.set_acl(c, "/nope", OPEN).err == Err.NONODE
    # check order: invalid path before invalid acl before missing node
    assert z.set_acl(c, "nope", []).err == Err.BADARGUMENTS
    assert z.set_acl(c, "/nope", []).err == Err.INVALIDACL


def test_delete_errors_in_order(z: Z, c: Conn) -> None:
    z.create(c, "/a", b"x")
    z.create(c, "/a/b")
    for p in ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "", "a", "/a\0"):
        assert z.delete(c, p).err == Err.BADARGUMENTS, p
    assert z.delete(c, "/x/y").err == Err.NONODE  # parent missing
    assert z.delete(c, "/a/zz").err == Err.NONODE
    assert z.delete(c, "/a", 7).err == Err.BADVERSION  # before NOTEMPTY
    assert z.delete(c, "/a", 0).err == Err.NOTEMPTY
    assert z.delete(c, "/a/b", 0).err == 0
    assert z.delete(c, "/a", 0).err == 0
    assert z.exists(c, "/a")[0] == Err.NONODE


def test_create_errors_in_order(z: Z, c: Conn) -> None:
    z.create(c, "/a")
    assert z.create(c, "/a", flags=9).err == Err.BADARGUMENTS
    assert z.create(c, "/b", flags=5).err == Err.UNIMPLEMENTED  # TTL disabled
    assert z.create(c, "noslash").err == Err.BADARGUMENTS
    assert z.create(c, "/x\0").err == Err.BADARGUMENTS
    assert z.create(c, "/a/b", acl=[]).err == Err.INVALIDACL
    assert z.create(c, "/nope/b", acl=[]).err == Err.INVALIDACL  # acl before parent
    assert z.create(c, "/nope/b").err == Err.NONODE
    assert z.create(c, "/a/./b").err == Err.NONODE
    assert z.create(c, "/a/.").err == Err.BADARGUMENTS
    assert z.create(c, "/a//").err == Err.NONODE
    assert z.create(c, "/a").err == Err.NODEEXISTS
    assert z.create(c, "/").err == Err.NODEEXISTS
    assert z.create(c, "/zookeeper").err == Err.NODEEXISTS
    assert z.create(c, "/zookeeper/mine").err == 0
    z.create(c, "/e", flags=1)
    assert z.create(c, "/e/x").err == Err.NOCHILDRENFOREPHEMERALS
    assert z.create(c, "/e").err == Err.NODEEXISTS  # exists wins over ephemeral parent


def test_failed_writes_consume_zxid(z: Z, c: Conn) -> None:
    start = z.sm.last_zxid
    a = z.create(c, "/nope/x")
    assert a.err == Err.NONODE and a.zxid == start + 1 and a.response is None
    assert z.sm.last_zxid == start + 1
    assert z.multi(c, []).zxid == start + 2


def test_reads_consume_no_zxid(z: Z, c: Conn) -> None:
    z.create(c, "/a")
    zx = z.sm.last_zxid
    z.get(c, "/a")
    z.exists(c, "/b")
    assert z.sm.last_zxid == zx == z.sm.next_zxid


def test_read_ops(z: Z, c: Conn) -> None:
    z.create(c, "/a", b"d")
    z.create(c, "/a/b")
    z.create(c, "/a/c")
    assert z.exists(c, "/a") == (0, r.ExistsResponse(z.stat("/a")))
    assert z.exists(c, "/zz") == (Err.NONODE, None)
    assert z.exists(c, "/a\0")[0] == Err.BADARGUMENTS
    assert z.get(c, "/zz") == (Err.NONODE, None)
    assert z.get(c, "bad path") == (Err.NONODE, None)  # reads do not validate
    err, rsp = z.children2(c, "/a")
    assert err == 0 and sorted(rsp.children) == ["b", "c"] and rsp.stat == z.stat("/a")
    assert z.children(c, "/a/b") == (0, r.GetChildrenResponse([]))
    assert z.children(c, "/zz") == (Err.NONODE, None)
    err, rsp = z.sm.read(c, OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/a"))
    assert rsp.totalNumber == 2
    err, rsp = z.sm.read(c, OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/"))
    assert rsp.totalNumber == 6  # zookeeper, quota, config, a, b, c
    assert z.sm.read(c, OpCode.GET_ALL_CHILDREN_NUMBER,
                     r.GetAllChildrenNumberRequest("/q"))[0] == Err.NONODE
    assert z.sm.read(c, 999, None) == (Err.UNIMPLEMENTED, None)


def test_get_all_children_number_fresh_plus_six(z: Z, c: Conn) -> None:
    for p in ("/a", "/a/b", "/a/b/c", "/d", "/e", "/e/f"):
        z.create(c, p)
    rsp = z.sm.read(c, OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/"))[1]
    assert rsp.totalNumber == 9
    rsp = z.sm.read(c, OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/a"))[1]
    assert rsp.totalNumber == 2


def test_ephemerals_and_close_session(z: Z, c: Conn) -> None:
    other = z.connect()
    z.create(c, "/p")
    z.create(c, "/p/e1", flags=1)
    z.create(c, "/p/e2", flags=3)
    z.create(c, "/ab", flags=1)
    z.create(other, "/p/o", flags=1)
    assert z.stat("/p/e1").ephemeralOwner == c.session_id
    assert z.sm.ephemerals_by_session()[c.session_id] == ["/ab", "/p/e1", "/p/e20000000001"]
    err, rsp = z.sm.read(c, OpCode.GET_EPHEMERALS, r.GetEphemeralsRequest("/a"))
    assert rsp.ephemerals == ["/ab"]  # plain string prefix
    for pref in (None, "", " ", "/"):
        err, rsp = z.sm.read(c, OpCode.GET_EPHEMERALS, r.GetEphemeralsRequest(pref))
        assert rsp.ephemerals == ["/ab", "/p/e1", "/p/e20000000001"]
    z.children(other, "/p", watch=True)
    z.exists(other, "/p/e1", watch=True)
    a = z.close(c)
    assert a.err == 0 and a.closed_session == c.session_id
    assert [(e.type, e.path) for _, e in a.events] == [(2, "/p/e1"), (4, "/p")]
    assert z.exists(other, "/p/e1")[0] == Err.NONODE
    assert z.exists(other, "/ab")[0] == Err.NONODE
    st = z.stat("/p")
    assert st.pzxid == a.zxid and st.numChildren == 1
    assert c.session_id not in z.sm.ephemerals_by_session()
    assert not z.sm.session_alive(c.session_id)
    # ops on the closed session
    assert z.get(c, "/p")[0] == Err.SESSIONEXPIRED
    assert z.create(c, "/late").err == Err.SESSIONEXPIRED


def test_closing_session_reads_expire(z: Z, c: Conn) -> None:
    z.create(c, "/a")
    cmd = z.sm.close_session_command(c.session_id, z.now)
    assert z.get(c, "/a")[0] == Err.SESSIONEXPIRED
    late = z.sm.command(c, OpCode.CREATE, r.CreateRequest("/b", b"", OPEN, 0), 5, z.now)
    z.run(cmd)
    assert z.run(late).err == Err.SESSIONEXPIRED


def test_check_order_session_after_flags(z: Z, c: Conn) -> None:
    z.close(c)
    assert z.create(c, "/a", flags=9).err == Err.BADARGUMENTS
    assert z.create(c, "/a", flags=5).err == Err.UNIMPLEMENTED
    assert z.create(c, "/a").err == Err.SESSIONEXPIRED
    assert z.delete(c, "/").err == Err.SESSIONEXPIRED


def test_who_am_i(z: Z, c: Conn) -> None:
    assert z.sm.read(c, OpCode.WHO_AM_I, None) == (
        0, r.WhoAmIResponse([r.ClientInfo("ip", "127.0.0.1")]))
    z.sm.authenticate(c, "digest", b"user1:12345")
    rsp = z.sm.read(c, OpCode.WHO_AM_I, None)[1]
    assert rsp.clientInfo == [r.ClientInfo("ip", "127.0.0.1"), r.ClientInfo("digest", "user1")]


def test_reconfig_disabled(z: Z, c: Conn) -> None:
    a = z.w(c, OpCode.RECONFIG, r.ReconfigRequest(None, None, None, -1))
    assert a.err == Err.RECONFIGDISABLED


def test_create_container_and_modes(z: Z, c: Conn) -> None:
    a = z.create(c, "/cont", op=OpCode.CREATE_CONTAINER, flags=4)
    assert a.err == 0 and isinstance(a.response, r.Create2Response)
    assert a.response.stat.ephemeralOwner == 0
    assert "/cont" in z.sm.tree.containers
    # opcode 1 with flag 4 creates a plain persistent node (as the Java server)
    z.create(c, "/plain", flags=4)
    assert "/plain" not in z.sm.tree.containers
    # containers may have children
    assert z.create(c, "/cont/x", flags=1).err == 0
    assert z.stat("/cont/x").ephemeralOwner == c.session_id


def test_reply_response_types(z: Z, c: Conn) -> None:
    assert isinstance(z.create(c, "/a").response, r.CreateResponse)
    assert isinstance(z.create(c, "/b", op=OpCode.CREATE2).response, r.Create2Response)
    assert z.delete(c, "/b").response is None


def test_exists_on_root_alias(z: Z, c: Conn) -> None:
    assert z.get(c, "")[0] == 0  # "" is ZooKeeper's root alias


def test_reported_cversion_wraps_int32(z: Z, c: Conn) -> None:
    z.create(c, "/w")
    z.sm.tree.get("/w").kids_here().cver = 2147483647
    assert z.stat("/w").cversion == -2  # 2*C - 0 as a Java int


def test_packed_stat_is_a_stat(z: Z, c: Conn) -> None:
    """The state hands out Stats packed once (PackedStat): same bytes, same fields and
    equal to a Stat decoded from the wire, either way round."""
    z.create(c, "/p", b"abc")
    packed = z.stat("/p")
    assert isinstance(packed, r.PackedStat)
    plain = r.Stat.from_bytes(packed.to_bytes())
    assert type(plain) is r.Stat and len(packed.to_bytes()) == 68
    assert packed == plain and plain == packed and hash(packed) == hash(plain.astuple())
    assert (packed.dataLength, packed.numChildren, packed.version) == (3, 0, 0)
    assert packed.astuple() == plain.astuple() and repr(packed) == repr(plain)
    assert packed != r.Stat(*plain.astuple()[:-1], plain.pzxid + 1)
