"""Java iteration order of a connection's auth ids (whoAmI, `auth` ACL expansion)."""

from __future__ import annotations

from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode
from zkpy.state.javaorder import hash_set_order, id_hash, java_string_hash

from .harness import CREATOR_ALL, Z


def test_java_string_hash_known_values() -> None:
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("") == 0 and java_string_hash(None) == 0
    assert java_string_hash("polygenelubricants") == -2147483648


def test_id_hash_formula() -> None:
    i = r.Id("digest", "u:x")
    assert id_hash(i) == ((37 * (37 * 17 + java_string_hash("digest")) + java_string_hash(
        "u:x")) + 2**31) % 2**32 - 2**31


def test_order_is_a_permutation_and_used_by_who_am_i_and_auth() -> None:
    z = Z()
    c = z.connect()
    for u in ("alice", "bob", "carol", "dave", "erin"):
        z.sm.authenticate(c, "digest", f"{u}:pw".encode())
    ids = list(c.auth_ids)
    order = hash_set_order(ids)
    assert sorted(order, key=repr) == sorted(ids, key=repr)
    who = z.sm.read(c, OpCode.WHO_AM_I, None)[1].clientInfo
    assert [(x.authScheme) for x in who] == [i.scheme for i in order]
    z.create(c, "/n", acl=CREATOR_ALL)
    got = [a.id for a in z.get_acl(c, "/n")[1].acl]
    assert got == [i for i in order if i.scheme == "digest"]
