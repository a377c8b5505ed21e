"""SASL DIGEST-MD5 server side (RFC 2831) as used by ZooKeeper's op 102."""

from __future__ import annotations

import hashlib

from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode
from zkpy.state.sasl import parse_directives, response_value

from .harness import Z


def md5hex(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def client_response(challenge: bytes, user: str, password: str, cnonce: str = "c1",
                    authzid: str | None = None) -> tuple[bytes, str]:
    d = parse_directives(challenge.decode())
    realm, nonce, uri, nc, qop = d["realm"], d["nonce"], "zookeeper/zk-sasl-md5", "00000001", "auth"
    # straight from RFC 2831 2.1.2.1, written independently of the server helper
    a1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest() + \
        f":{nonce}:{cnonce}".encode() + (f":{authzid}".encode() if authzid else b"")
    a2 = f"AUTHENTICATE:{uri}".encode()
    resp = md5hex(f"{md5hex(a1)}:{nonce}:{nc}:{cnonce}:{qop}:{md5hex(a2)}".encode())
    a2s = f":{uri}".encode()
    rspauth = md5hex(f"{md5hex(a1)}:{nonce}:{nc}:{cnonce}:{qop}:{md5hex(a2s)}".encode())
    parts = [f'charset=utf-8,username="{user}",realm="{realm}",nonce="{nonce}",nc={nc}',
             f'cnonce="{cnonce}",digest-uri="{uri}",maxbuf=65536,response={resp},qop={qop}']
    if authzid:
        parts.append(f'authzid="{authzid}"')
    return ",".join(parts).encode(), rspauth


def test_digest_md5_success() -> None:
    z = Z(sasl_users={"bob": "s3cret"})
    c = z.connect()
    ok, ch = z.sm.sasl_step(c, b"")
    assert ok
    d = parse_directives(ch.decode())
    assert d["realm"] == "zk-sasl-md5" and d["algorithm"] == "md5-sess" and d["nonce"]
    token, rspauth = client_response(ch, "bob", "s3cret")
    ok, reply = z.sm.sasl_step(c, token)
    assert ok and reply == f"rspauth={rspauth}".encode()
    assert r.Id("sasl", "bob") in c.auth_ids
    who = z.sm.read(c, OpCode.WHO_AM_I, None)[1].clientInfo
    assert r.ClientInfo("sasl", "bob") in who
    # sasl ids work in ACLs and the auth scheme
    assert z.create(c, "/s", acl=[r.ACL(31, r.Id("auth", ""))]).err == 0
    assert z.get_acl(c, "/s")[1].acl == [r.ACL(31, r.Id("sasl", "bob"))]
    other = z.connect()
    assert z.get(other, "/s")[0] != 0


def test_digest_md5_wrong_password_and_unknown_user() -> None:
    z = Z(sasl_users={"bob": "s3cret"})
    for user, pw in (("bob", "nope"), ("eve", "s3cret")):
        c = z.connect()
        ok, ch = z.sm.sasl_step(c, b"")
        token, _ = client_response(ch, user, pw)
        assert z.sm.sasl_step(c, token) == (False, b"")
        assert not any(i.scheme == "sasl" for i in c.auth_ids)


def test_digest_md5_wrong_nonce_and_no_users() -> None:
    z = Z(sasl_users={"bob": "pw"})
    c = z.connect()
    _, ch = z.sm.sasl_step(c, b"")
    other = z.connect()
    _, ch2 = z.sm.sasl_step(other, b"")
    assert ch != ch2  # nonces differ per exchange
    token, _ = client_response(ch2, "bob", "pw")
    assert z.sm.sasl_step(c, token)[0] is False
    z2 = Z()
    assert z2.sm.sasl_step(z2.connect(), b"")[0] is False


def test_authzid_and_parser() -> None:
    z = Z(sasl_users={"bob": "pw"})
    c = z.connect()
    _, ch = z.sm.sasl_step(c, b"")
    token, _ = client_response(ch, "bob", "pw", authzid="bob")
    assert z.sm.sasl_step(c, token)[0]
    assert parse_directives('a="x,\\"y",b=2') == {"a": 'x,"y', "b": "2"}
    assert len(response_value("u", "r", "p", "n", "c", "00000001", "auth", "x/y", None, True)) == 32
