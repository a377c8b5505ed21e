"""ACLs: interning, permission checks, validation (fixupACL), digest ids, masking.

Rules (reference section 10; ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL,
DigestAuthenticationProvider, IPAuthenticationProvider):

- allowed if skip_acl, or the ACL list is empty, or the caller has a ``super`` id, or an
  entry with the needed bit is ``world:anyone`` or matches a caller id of its scheme
  (``ip``: CIDR prefix match, IPv4 and IPv6; other schemes: string equality);
- identical ACL lists are interned into one shared ``AclList``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable

from ..proto.records import ACL, Id

READ = 1
WRITE = 2
CREATE = 4
DELETE = 8
ADMIN = 16
ALL = 31


class AclList:
    """An interned, immutable ACL list shared by every node that has it.

    ``world`` = perms granted to ``world:anyone`` (fast path); ``entries`` = the other
    entries as ``(perms, scheme, id)``; ``acls`` = the ACL records (never mutate)."""

    __slots__ = ("acls", "world", "entries", "key", "__weakref__")

    def __init__(self, acls: list[ACL]) -> None:
        self.acls = acls
        world = 0
        entries = []
        for a in acls:
            if a.id.scheme == "world" and a.id.id == "anyone":
                world |= a.perms
            else:
                entries.append((a.perms, a.id.scheme, a.id.id))
        self.world = world
        self.entries = tuple(entries)
        self.key = tuple((a.perms, a.id.scheme, a.id.id) for a in acls)

    def __repr__(self) -> str:
        return f"AclList({self.key!r})"


class AclCache:
    """Interns ACL lists: equal lists share one ``AclList`` (memory: one per distinct list)."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[tuple[tuple[int, str, str], ...], AclList] = {}

    def intern(self, acls: Iterable[ACL]) -> AclList:
        return self.intern_key(tuple((a.perms, a.id.scheme, a.id.id) for a in acls))

    def intern_key(self, key: tuple[tuple[int, str, str], ...]) -> AclList:
        """The shared AclList for ``((perms, scheme, id), ...)``."""
        got = self._by_key.get(key)
        if got is None:
            got = AclList([ACL(p, Id(s, i)) for p, s, i in key])
            self._by_key[key] = got
        return got

    def __len__(self) -> int:
        return len(self._by_key)


OPEN_ACL_UNSAFE = [ACL(ALL, Id("world", "anyone"))]
READ_ACL_UNSAFE = [ACL(READ, Id("world", "anyone"))]


# ----------------------------------------------------------------- digest


def generate_digest(id_password: str) -> str:
    """``user:password`` -> ``user:base64(sha1("user:password"))``."""
    user = id_password.split(":", 1)[0]
    h = hashlib.sha1(id_password.encode("utf-8")).digest()  # noqa: S324 - ZooKeeper's scheme
    return user + ":" + base64.b64encode(h).decode("ascii")


def _java_split_colon(s: str) -> list[str]:
    parts = s.split(":")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def digest_id_valid(id_: str) -> bool:
    return len(_java_split_colon(id_)) == 2


# --------------------------------------------------------------------- ip


_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def _java_int(text: str) -> int | None:
    """Integer.parseInt: optional sign and ASCII digits only."""
    return int(text) if _INT_RE.match(text) else None


def _addr_bytes(text: str) -> tuple[int, int] | None:
    """(value, bit length) of an IPv4 (Java's dotted-quad parse) or IPv6 address."""
    if ":" in text:
        try:
            return int(ipaddress.IPv6Address(text.split("%", 1)[0])), 128
        except ValueError:
            return None
    parts = text.split(".")
    if len(parts) != 4:
        return None
    v = 0
    for p in parts:
        b = _java_int(p)
        if b is None or b < 0 or b > 255:
            return None
        v = (v << 8) | b
    return v, 32


def _acl_expr(expr: str) -> tuple[int, int, int] | None:
    """``addr[/bits]`` -> (value, bit length, prefix bits), None when invalid."""
    addr_s, slash, bits_s = expr.partition("/")
    got = _addr_bytes(addr_s)
    if got is None:
        return None
    value, width = got
    bits = width
    if slash:
        b = _java_int(bits_s)
        if b is None or b < 0 or b > width:
            return None
        bits = b
    return value, width, bits


def ip_id_valid(id_: str) -> bool:
    return _acl_expr(id_) is not None


def ip_matches(remote: str, acl_expr: str) -> bool:
    """CIDR match of the connection address ``remote`` against ``addr[/bits]``
    (IPv4 and IPv6; an IPv4-mapped IPv6 remote matches IPv4 expressions)."""
    want = _acl_expr(acl_expr)
    have = _addr_bytes(remote)
    if want is None or have is None:
        return False
    value, width, bits = want
    hv, hw = have
    if hw == 128 and width == 32 and (hv >> 32) == 0xFFFF:
        hv, hw = hv & 0xFFFFFFFF, 32
    if hw != width:
        return False
    shift = width - bits
    return (value >> shift) == (hv >> shift)


# keywords X500Principal accepts when parsing a DN (an x509 ACL id must parse)
_X500_KEYWORDS = {"CN", "C", "L", "S", "ST", "O", "OU", "T", "IP", "STREET", "DC",
                  "DNQUALIFIER", "DNQ", "SURNAME", "GIVENNAME", "INITIALS", "GENERATION",
                  "EMAIL", "EMAILADDRESS", "UID", "SERIALNUMBER"}
_ATTR = r"\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)\s*"
_VALUE = r"(?:#[0-9A-Fa-f]+|\"(?:[^\"\\]|\\.)*\"|(?:[^,+;\"\\<>]|\\.)*)"
_DN_RE = re.compile(rf"{_ATTR}={_VALUE}(?:\s*[,;+]{_ATTR}={_VALUE})*\s*")


def x509_id_valid(dn: str) -> bool:
    """Would ``new X500Principal(dn)`` accept it (X509AuthenticationProvider.isValid)?
    The empty name is valid; a ``#hex`` value must be one whole DER element."""
    if not dn.strip():
        return True
    if _DN_RE.fullmatch(dn) is None:
        return False
    for m in re.finditer(rf"(?:^|(?<!\\)[,;+])({_ATTR})=(#[0-9A-Fa-f]*)?", dn):
        a = m.group(1).strip()
        if not a[0].isdigit() and a.upper() not in _X500_KEYWORDS:
            return False
        if m.group(2) is not None and not _one_der_element(m.group(2)[1:]):
            return False
    return True


def _one_der_element(hexdigits: str) -> bool:
    """Is this hex exactly one DER tag-length-value (single-byte tag)?"""
    if len(hexdigits) % 2:
        return False
    b = bytes.fromhex(hexdigits)
    if len(b) < 2:
        return False
    n, off = b[1], 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or len(b) < 2 + k:
            return False
        n, off = int.from_bytes(b[2:2 + k], "big"), 2 + k
    return len(b) == off + n


# ------------------------------------------------------------------ check


class AclPolicy:
    """Which auth providers exist (as ProviderRegistry) and the permission check."""

    __slots__ = ("skip_acl", "digest_enabled", "sasl_enabled", "x509_enabled")

    def __init__(self, skip_acl: bool, digest_enabled: bool, sasl_enabled: bool,
                 x509_enabled: bool = False) -> None:
        self.skip_acl = skip_acl
        self.digest_enabled = digest_enabled
        self.sasl_enabled = sasl_enabled
        self.x509_enabled = x509_enabled

    def has_provider(self, scheme: str) -> bool:
        if scheme == "ip":
            return True
        if scheme == "digest":
            return self.digest_enabled
        if scheme == "sasl":
            return self.sasl_enabled
        if scheme == "x509":
            return self.x509_enabled
        return False

    @staticmethod
    def is_authenticated_scheme(scheme: str) -> bool:
        return scheme in ("digest", "sasl", "x509")

    def allowed(self, acl: AclList, perm: int, ids: list[Id]) -> bool:
        """True if ``ids`` may do ``perm`` (any of its bits) on a node with ``acl``."""
        if acl.world & perm or self.skip_acl:
            return True
        entries = acl.entries
        if not entries:
            return not acl.acls
        for i in ids:
            if i.scheme == "super":
                return True
        for perms, scheme, expr in entries:
            if not perms & perm or not self.has_provider(scheme):
                continue
            for i in ids:
                if i.scheme == scheme:
                    if scheme == "ip":
                        if ip_matches(i.id, expr):
                            return True
                    elif i.id == expr:
                        return True
        return False

    def fixup(self, acls: list[ACL] | None, auth_ids: list[Id]) -> list[ACL] | None:
        """Validate and normalise an ACL list (create/setACL); None means INVALIDACL."""
        if not acls:
            return None
        uniq: list[ACL] = []
        for a in acls:
            if a not in uniq:
                uniq.append(a)
        out: list[ACL] = []
        for a in uniq:
            ident = a.id
            if ident is None or ident.scheme is None:
                return None
            scheme = ident.scheme
            if scheme == "world" and ident.id == "anyone":
                out.append(a)
            elif scheme == "auth":
                found = False
                for cid in auth_ids:
                    if self.has_provider(cid.scheme) and self.is_authenticated_scheme(cid.scheme):
                        found = True
                        out.append(ACL(a.perms, Id(cid.scheme, cid.id)))
                if not found:
                    return None
            else:
                if not self.has_provider(scheme) or ident.id is None:
                    return None
                if scheme == "ip" and not ip_id_valid(ident.id):
                    return None
                if scheme == "digest" and not digest_id_valid(ident.id):
                    return None
                if scheme == "x509" and not x509_id_valid(ident.id):
                    return None
                out.append(a)
        return out


_MASK_RE = re.compile(r":.*")


def mask_digests(acls: list[ACL]) -> list[ACL]:
    """getACL without ADMIN: digest ids become ``user:x``."""
    out = []
    for a in acls:
        if a.id.scheme == "digest":
            out.append(ACL(a.perms, Id("digest", _MASK_RE.sub(":x", a.id.id or ""))))
        else:
            out.append(a)
    return out


def user_of(ident: Id) -> str:
    """whoAmI user name of an auth id (digest: part before ':'; super: '')."""
    if ident.scheme == "digest":
        return (ident.id or "").split(":", 1)[0]
    if ident.scheme == "super":
        return ""
    return ident.id or ""
