"""The TLS client port (``secureClientPort``) as ZooKeeper 3.8 configures it.

ZooKeeper reads its ``ssl.*`` settings as ``zookeeper.ssl.*`` system properties, which
zoo.cfg lines become (X509Util, ClientX509Util); we accept both spellings. What a user
of ZooKeeper's Netty TLS port can expect here:

- Key and trust stores as zkpy.tlsstores reads them (PEM or PKCS#12; JKS and BCFKS are
  refused at startup with the keytool command that converts them).
- ``ssl.clientAuth``: need (default) / want / none. ``ssl.protocol`` (default TLSv1.2)
  and ``ssl.enabledProtocols`` pick the TLS versions; ``ssl.ciphersuites`` takes the
  IANA names Java uses (TLS 1.2 suites; Python cannot restrict TLS 1.3 suites).
- A client certificate that verifies gives the connection the auth id
  ``x509:<subject DN, RFC 2253>`` (X509AuthenticationProvider), plus ``super`` when the DN
  is ``X509AuthenticationProvider.superUser``. As in ZooKeeper, verifying a client
  certificate needs a trust store: without one a client that presents a certificate is
  closed.

Every bad setting is a ConfigError naming its key; keys zkpy cannot honour
(``ssl.crl``/``ssl.ocsp`` = true, ``client.portUnification`` = true) are refused rather
than ignored. Passwords are never logged. ``cryptography`` (already required through
asyncssh) reads PKCS#12 files and certificate subjects; it is imported only when used.
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpy.proto.records import Id
from zkpy.state.acl import x509_id_valid
from zkpy.tlsstores import StoreError, load_key_store, load_trust_store, parse_store_type

from .config import ConfigError, sysprop

CLIENT_AUTH = {"need": ssl.CERT_REQUIRED, "want": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
_PROTOCOLS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
    "TLS": ssl.TLSVersion.TLSv1_3,  # Java's "TLS": 1.2 up to the newest (see server_context)
}


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """The ``ssl.*`` keys of one member (validated; files are read by server_context)."""

    keystore_location: str = ""
    keystore_password: str = ""
    keystore_type: str = ""  # "" = from the extension
    truststore_location: str = ""
    truststore_password: str = ""
    truststore_type: str = ""
    client_auth: str = "need"
    protocol: str = "TLSv1.2"
    enabled_protocols: tuple[str, ...] = ()  # () = (protocol,)
    ciphersuites: tuple[str, ...] = ()  # () = Python's defaults
    handshake_timeout_ms: int = 5000
    auth_provider: str = "x509"
    super_user: str | None = None

    def __repr__(self) -> str:  # never show the passwords
        return (f"TlsSettings(keystore={self.keystore_location!r}, "
                f"truststore={self.truststore_location!r}, client_auth={self.client_auth!r})")


def _conv_bool_false_only(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise ConfigError(key, f"{value!r} is not true or false")
    if v == "true":
        raise ConfigError(key, "is not supported by zkpy (set it to false or remove it)")
    return False


def _conv_client_auth(key: str, value: str) -> str:
    v = value.strip().lower()
    if v not in CLIENT_AUTH:
        raise ConfigError(key, f"{value!r} is not one of need, want, none")
    return v


def _conv_protocol(key: str, value: str) -> str:
    v = value.strip()
    if v not in _PROTOCOLS:
        raise ConfigError(key, f"unknown TLS protocol {value!r} (TLSv1.2, TLSv1.3, ...)")
    return v


def _conv_protocols(key: str, value: str) -> tuple[str, ...]:
    return tuple(_conv_protocol(key, p) for p in value.split(",") if p.strip())


def _conv_list(key: str, value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _conv_store_type(key: str, value: str) -> str:
    try:
        return parse_store_type(key, value)
    except StoreError as e:
        raise ConfigError(e.key, e.message) from None


def _conv_ms(key: str, value: str) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a number of milliseconds") from None
    if n <= 0:
        raise ConfigError(key, f"must be > 0, got {n}")
    return n


def _conv_password_path(key: str, value: str) -> str:
    try:
        return Path(value.strip()).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(key, f"cannot read the password file {value.strip()}: {e}") from None


def _conv_str(key: str, value: str) -> str:
    return value.strip()


def _accept(key: str, value: str) -> None:
    return None


_Conv = Callable[[str, str], Any]

# zoo.cfg key (without "zookeeper.") -> (TlsSettings field or None = checked only, converter)
TLS_KEYS: dict[str, tuple[str | None, _Conv]] = {
    "ssl.keyStore.location": ("keystore_location", _conv_str),
    "ssl.keyStore.password": ("keystore_password", _conv_str),
    "ssl.keyStore.passwordPath": ("keystore_password", _conv_password_path),
    "ssl.keyStore.type": ("keystore_type", _conv_store_type),
    "ssl.trustStore.location": ("truststore_location", _conv_str),
    "ssl.trustStore.password": ("truststore_password", _conv_str),
    "ssl.trustStore.passwordPath": ("truststore_password", _conv_password_path),
    "ssl.trustStore.type": ("truststore_type", _conv_store_type),
    "ssl.clientAuth": ("client_auth", _conv_client_auth),
    "ssl.protocol": ("protocol", _conv_protocol),
    "ssl.enabledProtocols": ("enabled_protocols", _conv_protocols),
    "ssl.ciphersuites": ("ciphersuites", _conv_list),
    "ssl.handshakeDetectionTimeoutMillis": ("handshake_timeout_ms", _conv_ms),
    "ssl.authProvider": ("auth_provider", _conv_str),
    "X509AuthenticationProvider.superUser": ("super_user", _conv_str),
    # ZooKeeper's Java client checks the server's host name; its server never checks
    # clients' (ClientX509Util), and neither do we.
    "ssl.hostnameVerification": (None, _accept),
    "ssl.crl": (None, _conv_bool_false_only),
    "ssl.ocsp": (None, _conv_bool_false_only),
    "client.portUnification": (None, _conv_bool_false_only),
}


def tls_keys_in(props: Mapping[str, str]) -> set[str]:
    """The zoo.cfg keys (as written) that this module reads."""
    return {k for k in props
            if k in TLS_KEYS or (k.startswith("zookeeper.") and k[10:] in TLS_KEYS)}


def settings_from_properties(props: Mapping[str, str]) -> TlsSettings:
    """TlsSettings from zoo.cfg properties. Each key may carry the ``zookeeper.`` prefix
    (the plain spelling wins if both are there, see config.sysprop);
    ``ssl.*.passwordPath`` wins over ``ssl.*.password``, as in X509Util."""
    kw: dict[str, Any] = {}
    for name, (fname, conv) in TLS_KEYS.items():  # each passwordPath after its password
        hit = sysprop(props, name)
        if hit is not None:
            value = conv(*hit)
            if fname is not None:
                kw[fname] = value
    s = TlsSettings(**kw)
    if s.auth_provider != "x509":
        raise ConfigError("ssl.authProvider",
                          f"only the x509 provider is available, not {s.auth_provider!r}")
    if s.super_user is not None and not x509_id_valid(s.super_user):
        raise ConfigError("X509AuthenticationProvider.superUser",
                          f"{s.super_user!r} is not an X.500 distinguished name")
    return s


# --------------------------------------------------------------------------- context


def server_context(s: TlsSettings) -> ssl.SSLContext:
    """The SSLContext of the secure client port; reads the stores (ConfigError on any
    problem, naming the key)."""
    if not s.keystore_location:
        raise ConfigError("ssl.keyStore.location",
                          "secureClientPort needs a key store with the server's key and "
                          "certificate")
    try:
        return _server_context(s)
    except StoreError as e:
        raise ConfigError(e.key, e.message) from None


def _server_context(s: TlsSettings) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    names = s.enabled_protocols or (s.protocol,)
    versions = sorted(_PROTOCOLS[p] for p in names)
    if "TLS" in names:
        versions.insert(0, ssl.TLSVersion.TLSv1_2)
    try:
        ctx.minimum_version = versions[0]
        ctx.maximum_version = versions[-1]
    except ValueError as e:
        raise ConfigError("ssl.enabledProtocols", f"not available here: {e}") from None
    if s.ciphersuites:
        _set_ciphers(ctx, s.ciphersuites)
    load_key_store(ctx, "ssl.keyStore", s.keystore_location, s.keystore_password,
                   s.keystore_type)
    if s.truststore_location:
        load_trust_store(ctx, "ssl.trustStore", s.truststore_location, s.truststore_password,
                         s.truststore_type)
    elif s.client_auth != "none":
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    ctx.verify_mode = CLIENT_AUTH[s.client_auth]
    if s.client_auth != "none":
        import cryptography.x509  # noqa: F401 - now, not inside the first TLS handshake
    return ctx


def _set_ciphers(ctx: ssl.SSLContext, names: tuple[str, ...]) -> None:
    """Java (IANA) suite names -> OpenSSL's. TLS 1.3 suites are not restricted."""
    wanted = []
    for n in names:
        if n in _TLS13_SUITES:
            continue  # always on in OpenSSL (Python cannot restrict them)
        o = _iana_to_openssl(n)
        if o is None:
            raise ConfigError("ssl.ciphersuites", f"unknown cipher suite {n!r}")
        wanted.append(o)
    if not wanted:
        return
    try:
        ctx.set_ciphers(":".join(wanted))
    except ssl.SSLError:
        raise ConfigError("ssl.ciphersuites",
                          "none of the listed TLS 1.2 suites is available here") from None


_TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                 "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                 "TLS_AES_128_CCM_8_SHA256"}


def _iana_to_openssl(name: str) -> str | None:
    """A Java (IANA) TLS 1.2 suite name in OpenSSL's spelling, if this OpenSSL has it:
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 -> ECDHE-RSA-AES128-GCM-SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 -> ECDHE-ECDSA-AES256-SHA384,
    TLS_RSA_WITH_AES_128_GCM_SHA256 -> AES128-GCM-SHA256."""
    m = re.fullmatch(r"TLS_(?:(ECDHE|DHE)_)?(RSA|ECDSA)_WITH_"
                     r"(?:(AES_128|AES_256)_(GCM|CBC)_(SHA|SHA256|SHA384)"
                     r"|CHACHA20_POLY1305_SHA256)", name)
    if m is None:
        return None
    kx, auth, aes, mode, mac = m.groups()
    if kx is None and auth != "RSA":
        return None
    parts = [kx, auth] if kx else []
    if aes is None:
        parts.append("CHACHA20-POLY1305")
    else:
        parts.append(aes.replace("_", ""))
        parts += ["GCM", mac] if mode == "GCM" else [mac]
    openssl = "-".join(parts)
    return openssl if openssl in _openssl_tls12_suites() else None


@functools.cache
def _openssl_tls12_suites() -> frozenset[str]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return frozenset(c["name"] for c in ctx.get_ciphers())


# --------------------------------------------------------------------------- identity

# X500Principal.getName(RFC2253) writes these attribute types by keyword, others as an
# OID with the DER value in hex.
_RFC2253_KEYWORDS = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;' or (i == 0 and ch in "# ") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _der_hex(attr: Any) -> str:
    """The DER encoding of an attribute value, as X500Principal prints unknown types."""
    tag = int(attr._type.value)  # noqa: SLF001 - cryptography keeps the ASN.1 string type
    v = attr.value
    if tag == 30:
        body = v.encode("utf-16-be")
    elif tag == 28:
        body = v.encode("utf-32-be")
    else:
        body = v.encode("utf-8") if isinstance(v, str) else bytes(v)
    n = len(body)
    length = bytes([n]) if n < 128 else (bytes([0x80 | ((n.bit_length() + 7) // 8)]) +
                                         n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return "#" + (bytes([tag]) + length + body).hex()


def subject_dn(der_cert: bytes) -> str:
    """The subject of a DER certificate as X500Principal.getName() (RFC 2253) gives it."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der_cert)
    rdns = []
    for rdn in reversed(list(cert.subject.rdns)):
        parts = []
        for attr in rdn:
            oid = attr.oid.dotted_string
            kw = _RFC2253_KEYWORDS.get(oid)
            parts.append(f"{kw}={_escape(str(attr.value))}" if kw else f"{oid}={_der_hex(attr)}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def peer_ids(ssl_object: Any, s: TlsSettings) -> list[Id] | None:
    """Auth ids a TLS connection starts with (beyond ip), or None if it must be closed
    (a client certificate but no trust store to check it against, as ZooKeeper's
    X509AuthenticationProvider refuses)."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return []
    if not s.truststore_location:
        return None
    dn = subject_dn(der)
    ids = [Id("x509", dn)]
    if s.super_user is not None and dn == s.super_user:
        ids.append(Id("super", dn))
    return ids
