"""ACLs: digest ids, super, fixup (auth expansion, validation), ip CIDR, per-op matrix."""

from __future__ import annotations

import pytest

from zkpy.proto import records as r
from zkpy.proto.opcodes import Err, OpCode
from zkpy.state import StateConfig
from zkpy.state.acl import (
    AclCache,
    AclPolicy,
    generate_digest,
    ip_id_valid,
    ip_matches,
    mask_digests,
)

from .harness import CREATOR_ALL, OPEN, Z, digest_user


def acl(perms: int, scheme: str = "world", ident: str = "anyone") -> list[r.ACL]:
    return [r.ACL(perms, r.Id(scheme, ident))]


def test_digest_examples() -> None:
    assert generate_digest("user1:12345") == "user1:+owfoSBn/am19roBPzR1/MfCblE="
    assert generate_digest("user1:pw") == "user1:UwFvtt99nn7zVDmU1KK5F5q3Zg4="
    assert generate_digest("zookeeper:admin") == "zookeeper:qW/HnTfCSoQpB5G8LgkwT3IbiFc="


def test_authenticate_digest_and_super() -> None:
    z = Z(super_digest=generate_digest("super:secret"))
    c = z.connect()
    assert z.sm.authenticate(c, "digest", b"user1:12345")
    assert r.Id("digest", "user1:+owfoSBn/am19roBPzR1/MfCblE=") in c.auth_ids
    assert not any(i.scheme == "super" for i in c.auth_ids)
    z.sm.authenticate(c, "digest", b"user1:12345")
    assert len(c.auth_ids) == 2  # no duplicates
    s = z.connect()
    assert z.sm.authenticate(s, "digest", b"super:secret")
    assert r.Id("super", "") in s.auth_ids
    # super bypasses everything
    z.create(c, "/locked", acl=acl(0, "digest", "nobody:x"))
    assert z.get(c, "/locked")[0] == Err.NOAUTH
    assert z.get(s, "/locked")[0] == 0
    assert z.set_acl(s, "/locked", OPEN).err == 0
    who = z.sm.read(s, OpCode.WHO_AM_I, None)[1].clientInfo
    assert r.ClientInfo("super", "") in who


def test_authenticate_other_schemes() -> None:
    z = Z()
    c = z.connect("10.0.0.7")
    assert z.sm.authenticate(c, "ip", b"whatever")
    assert c.auth_ids == [r.Id("ip", "10.0.0.7")]
    assert not z.sm.authenticate(c, "foo", b"x")
    assert not z.sm.authenticate(c, "sasl", b"x")
    z2 = Z(digest_auth_enabled=False)
    c2 = z2.connect()
    assert not z2.sm.authenticate(c2, "digest", b"a:b")
    assert z2.create(c2, "/d", acl=acl(31, "digest", "a:b")).err == Err.INVALIDACL


def test_fixup_auth_expansion() -> None:
    z = Z()
    c = z.connect()
    assert z.create(c, "/a", acl=CREATOR_ALL).err == Err.INVALIDACL  # ip is not authenticated
    z.sm.authenticate(c, "digest", b"u:p")
    z.sm.authenticate(c, "digest", b"v:q")
    assert z.create(c, "/a", acl=CREATOR_ALL).err == 0
    got = z.get_acl(c, "/a")[1].acl
    assert got == [r.ACL(31, digest_user("u", "p")), r.ACL(31, digest_user("v", "q"))]
    # kazoo sends the auth id as null
    assert z.create(c, "/b", acl=[r.ACL(31, r.Id("auth", None))]).err == 0


@pytest.mark.parametrize("bad", [
    [],
    None,
    acl(31, "world", "someone"),
    acl(31, "foo", "bar"),
    acl(31, "digest", "nocolon"),
    acl(31, "digest", "a:b:c"),
    acl(31, "digest", "user:"),
    acl(31, "ip", "1.2.3"),
    acl(31, "ip", "1.2.3.4/33"),
    acl(31, "ip", "1.2.3.4/x"),
    acl(31, "ip", "300.1.1.1"),
    acl(31, "sasl", "bob"),  # no sasl provider unless sasl users are configured
    acl(31, "super", ""),
])
def test_invalid_acls(bad: list[r.ACL] | None) -> None:
    z = Z()
    c = z.connect()
    assert z.create(c, "/x", acl=bad).err == Err.INVALIDACL


@pytest.mark.parametrize("good", [
    acl(31, "digest", ":x"),
    acl(31, "ip", "10.0.0.0/8"),
    acl(31, "ip", "1.2.3.4"),
    acl(31, "ip", "fe80::/10"),
    acl(31, "ip", "::1"),
])
def test_valid_acls(good: list[r.ACL]) -> None:
    z = Z()
    c = z.connect()
    assert z.create(c, "/x", acl=good).err == 0


def test_sasl_acl_valid_with_sasl_users() -> None:
    z = Z(sasl_users={"bob": "pw"})
    c = z.connect()
    assert z.create(c, "/x", acl=acl(31, "sasl", "bob")).err == 0


def test_duplicates_removed_and_acl_interned() -> None:
    z = Z()
    c = z.connect()
    dup = OPEN + OPEN
    z.create(c, "/a", acl=dup)
    z.create(c, "/b")
    assert z.get_acl(c, "/a")[1].acl == OPEN
    assert z.sm.tree.get("/a").acl is z.sm.tree.get("/b").acl


def test_ip_matching() -> None:
    assert ip_matches("10.1.2.3", "10.1.0.0/16")
    assert not ip_matches("10.2.2.3", "10.1.0.0/16")
    assert ip_matches("10.2.2.3", "0.0.0.0/0")
    assert ip_matches("127.0.0.1", "127.0.0.1")
    assert not ip_matches("127.0.0.2", "127.0.0.1")
    assert ip_matches("fe80::1", "fe80::/10")
    assert ip_matches("::1", "::1/128")
    assert not ip_matches("::2", "::1")
    assert not ip_matches("::1", "127.0.0.1")
    assert ip_matches("::ffff:10.0.0.1", "10.0.0.0/8")
    assert not ip_matches("10.0.0.1", "bogus")
    assert ip_id_valid("01.2.3.4") and not ip_id_valid("1.2.3.4.5")


def test_ip_acl_enforced() -> None:
    z = Z()
    near = z.connect("192.168.1.5")
    far = z.connect("10.0.0.1")
    z.create(near, "/n", acl=acl(31, "ip", "192.168.1.0/24"))
    assert z.get(near, "/n")[0] == 0
    assert z.get(far, "/n")[0] == Err.NOAUTH


def test_get_acl_masks_digest_without_admin() -> None:
    z = Z()
    owner = z.connect()
    z.sm.authenticate(owner, "digest", b"user1:12345")
    reader = z.connect()
    acls = [r.ACL(1, r.Id("world", "anyone")), r.ACL(31, digest_user("user1", "12345"))]
    z.create(owner, "/m", acl=acls)
    assert z.get_acl(owner, "/m")[1].acl == acls
    assert z.get_acl(reader, "/m")[1].acl == [
        r.ACL(1, r.Id("world", "anyone")), r.ACL(31, r.Id("digest", "user1:x"))]
    assert mask_digests([r.ACL(1, r.Id("digest", "a:b:c"))]) == [
        r.ACL(1, r.Id("digest", "a:x"))]


def test_skip_acl() -> None:
    z = Z(skip_acl=True)
    c = z.connect()
    z.create(c, "/a", acl=acl(0, "digest", "x:y"))
    assert z.get(c, "/a")[0] == 0
    assert z.set(c, "/a", b"1").err == 0
    assert z.create(c, "/a/b").err == 0


def test_empty_acl_list_allows_everything() -> None:
    pol = AclPolicy(False, True, False)
    cache = AclCache()
    assert pol.allowed(cache.intern([]), 31, [])
    assert not pol.allowed(cache.intern(acl(1)), 2, [])


# ------------------------------------------------------------- per-op matrix

ALL_BUT = {p: 31 & ~p for p in (1, 2, 4, 8, 16)}


def _setup(perms: int) -> tuple[Z, object]:
    z = Z()
    admin = z.connect()
    z.sm.authenticate(admin, "digest", b"root:pw")  # root owns everything
    root_acl = [r.ACL(31, digest_user("root", "pw"))]
    z.create(admin, "/t", b"d", acl=[r.ACL(perms, r.Id("world", "anyone"))] + root_acl)
    z.create(admin, "/t/child", b"d", acl=[r.ACL(perms, r.Id("world", "anyone"))] + root_acl)
    user = z.connect()
    return z, user


@pytest.mark.parametrize("perm,op", [
    (4, "create"), (8, "delete"), (2, "setData"), (1, "getData"), (1, "getChildren"),
    (1, "getChildren2"), (1, "getAllChildrenNumber"), (1, "exists"), (16, "setACL"),
    (1, "check"),
])
def test_acl_matrix(perm: int, op: str) -> None:
    for perms, want_ok in ((perm, True), (ALL_BUT[perm], False)):
        z, u = _setup(perms)
        err = _do(z, u, op)
        assert (err == 0) is want_ok, (op, perms, err)
        if not want_ok:
            assert err == Err.NOAUTH


def _do(z: Z, u: object, op: str) -> int:
    sm = z.sm
    if op == "create":
        return z.create(u, "/t/new").err
    if op == "delete":
        return z.delete(u, "/t/child").err  # DELETE on the parent /t
    if op == "setData":
        return z.set(u, "/t", b"x").err
    if op == "getData":
        return z.get(u, "/t")[0]
    if op == "getChildren":
        return z.children(u, "/t")[0]
    if op == "getChildren2":
        return z.children2(u, "/t")[0]
    if op == "getAllChildrenNumber":
        return sm.read(u, OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/t"))[0]
    if op == "exists":
        return z.exists(u, "/t")[0]
    if op == "setACL":
        return z.set_acl(u, "/t", OPEN).err
    if op == "check":
        a = z.multi(u, [(OpCode.CHECK, r.CheckVersionRequest("/t", -1))])
        return a.response.results[0][1]
    raise AssertionError(op)


def test_delete_uses_parent_acl_not_node() -> None:
    z, u = _setup(8)  # /t and /t/child: world has only DELETE
    assert z.delete(u, "/t/child").err == 0


def test_get_acl_needs_read_or_admin() -> None:
    for perms, ok in ((1, True), (16, True), (2 | 4 | 8, False)):
        z, u = _setup(perms)
        assert (z.get_acl(u, "/t")[0] == 0) is ok


def test_exists_missing_needs_no_acl() -> None:
    z, u = _setup(0)
    assert z.exists(u, "/t/none")[0] == Err.NONODE


def test_config_node_read_only() -> None:
    z = Z()
    c = z.connect()
    assert z.set(c, "/zookeeper/config", b"x").err == Err.NOAUTH
    assert z.get(c, "/zookeeper/config")[0] == 0


def test_digest_provider_disabled_config() -> None:
    cfg = StateConfig(digest_auth_enabled=False)
    z = Z(cfg)
    c = z.connect()
    assert z.create(c, "/x", acl=CREATOR_ALL).err == Err.INVALIDACL
