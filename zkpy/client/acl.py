"""ACL values and helpers for client code (ZooDefs.Ids, DigestAuthenticationProvider)."""

from __future__ import annotations

import base64
import hashlib

from ..proto.opcodes import Perm
from ..proto.records import ACL, Id

ANYONE_ID_UNSAFE = Id("world", "anyone")
AUTH_IDS = Id("auth", "")

OPEN_ACL_UNSAFE: list[ACL] = [ACL(int(Perm.ALL), ANYONE_ID_UNSAFE)]
CREATOR_ALL_ACL: list[ACL] = [ACL(int(Perm.ALL), AUTH_IDS)]
READ_ACL_UNSAFE: list[ACL] = [ACL(int(Perm.READ), ANYONE_ID_UNSAFE)]


def make_digest_id(username: str, password: str) -> str:
    """``user:base64(sha1("user:password"))``, the id a digest ACL names."""
    digest = hashlib.sha1(f"{username}:{password}".encode()).digest()
    return f"{username}:{base64.b64encode(digest).decode('ascii')}"


def make_acl(scheme: str, credential: str, *, read: bool = False, write: bool = False,
             create: bool = False, delete: bool = False, admin: bool = False,
             all: bool = False) -> ACL:  # noqa: A002 - kazoo's keyword
    perms = int(Perm.ALL) if all else (
        (Perm.READ if read else 0) | (Perm.WRITE if write else 0)
        | (Perm.CREATE if create else 0) | (Perm.DELETE if delete else 0)
        | (Perm.ADMIN if admin else 0))
    return ACL(int(perms), Id(scheme, credential))


def make_digest_acl(username: str, password: str, **perms: bool) -> ACL:
    return make_acl("digest", make_digest_id(username, password), **perms)
