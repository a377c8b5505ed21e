"""Server side of SASL DIGEST-MD5 (RFC 2831) for the op-102 exchange.

As ZooKeeper's server (protocol "zookeeper", server name "zk-sasl-md5"): the first
client token (usually empty) gets the challenge; the digest-response is verified
against ``sasl_users`` and answered with ``rspauth=...``; success adds ``sasl:<user>``.
Only qop=auth (no integrity/confidentiality layers), as ZooKeeper uses it.
"""

from __future__ import annotations

import hashlib

REALM = "zk-sasl-md5"
SERVICE = "zookeeper"


def _md5(b: bytes) -> bytes:
    return hashlib.md5(b).digest()  # noqa: S324 - the SASL mechanism's hash


def _hex(b: bytes) -> str:
    return b.hex()


def parse_directives(text: str) -> dict[str, str]:
    """``k=v,k="quoted, \\"x\\""`` -> dict (first occurrence wins)."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        j = text.find("=", i)
        if j < 0:
            break
        key = text[i:j].strip().lower()
        i = j + 1
        if i < n and text[i] == '"':
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1
            val = "".join(buf)
        else:
            j = text.find(",", i)
            if j < 0:
                j = n
            val = text[i:j].strip()
            i = j
        out.setdefault(key, val)
    return out


def response_value(user: str, realm: str, password: str, nonce: str, cnonce: str, nc: str,
                   qop: str, digest_uri: str, authzid: str | None, initial: bool) -> str:
    """RFC 2831 section 2.1.2.1 (initial=True: ``response``; False: ``rspauth``)."""
    a1 = _md5(f"{user}:{realm}:{password}".encode()) + f":{nonce}:{cnonce}".encode()
    if authzid:
        a1 += f":{authzid}".encode()
    a2 = ("AUTHENTICATE:" if initial else ":") + digest_uri
    kd = f"{_hex(_md5(a1))}:{nonce}:{nc}:{cnonce}:{qop}:{_hex(_md5(a2.encode()))}"
    return _hex(_md5(kd.encode()))


class DigestMd5Server:
    """One connection's exchange. ``step(token) -> (ok, reply)``; ok False = AUTHFAILED."""

    __slots__ = ("nonce", "state", "user")

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.state = 0
        self.user: str | None = None

    def challenge(self) -> bytes:
        return (f'realm="{REALM}",nonce="{self.nonce}",charset=utf-8,'
                f"algorithm=md5-sess").encode()

    def step(self, token: bytes, users: dict[str, str] | None) -> tuple[bool, bytes]:
        if self.state == 0:
            self.state = 1
            return True, self.challenge()
        if self.state == 2:
            return True, b""
        d = parse_directives(token.decode("utf-8", "replace"))
        user = d.get("username")
        if user is None or users is None or user not in users:
            return False, b""
        if d.get("nonce") != self.nonce:
            return False, b""
        qop = d.get("qop", "auth")
        if qop != "auth":
            return False, b""
        realm = d.get("realm", "")
        cnonce = d.get("cnonce", "")
        nc = d.get("nc", "00000001")
        uri = d.get("digest-uri", "")
        authzid = d.get("authzid")
        want = response_value(user, realm, users[user], self.nonce, cnonce, nc, qop, uri,
                              authzid, True)
        if d.get("response", "").lower() != want:
            return False, b""
        self.state = 2
        self.user = authzid or user
        rsp = response_value(user, realm, users[user], self.nonce, cnonce, nc, qop, uri,
                             authzid, False)
        return True, f"rspauth={rsp}".encode()

    @property
    def complete(self) -> bool:
        return self.state == 2
