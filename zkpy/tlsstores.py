"""Key and trust stores as ZooKeeper's X509Util reads them, for Python's ssl module.

Shared by the server's secure client port and the client (zkCli's client configuration):
a PEM key store is one file with the PKCS#8 private key (encrypted or not) and the
certificate chain; PKCS#12 works for both kinds of store; the type comes from the
declared ``.type`` or the file extension (KeyStoreFileType). JKS and BCFKS cannot be read
here and are refused with the keytool command that converts them. ``cryptography``
(imported only for PKCS#12) reads what the ssl module cannot. Errors are StoreError
naming the property at fault; passwords never appear in them.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
from pathlib import Path
from typing import Any

STORE_TYPES = {"pem": "PEM", "p12": "PKCS12", "pkcs12": "PKCS12", "jks": "JKS",
               "bcfks": "BCFKS"}
_EXTENSIONS = {".pem": "PEM", ".p12": "PKCS12", ".jks": "JKS", ".bcfks": "BCFKS"}


class StoreError(ValueError):
    """A store cannot be used; ``key`` is the property at fault."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


def parse_store_type(key: str, value: str) -> str:
    """A ``.type`` property: "" (from the extension), PEM, PKCS12, JKS or BCFKS."""
    v = value.strip()
    if not v:
        return ""
    t = STORE_TYPES.get(v.lower())
    if t is None:
        raise StoreError(key, f"unknown store type {value!r} (PEM, PKCS12, JKS, BCFKS)")
    return t


def store_type(key: str, location: str, declared: str) -> str:
    """KeyStoreFileType.fromPropertyValueOrFileName: the declared type, else by extension."""
    if declared:
        return declared
    t = _EXTENSIONS.get(os.path.splitext(location)[1].lower())
    if t is None:
        raise StoreError(key, f"cannot tell the store type of {location} from its "
                               "extension (.pem, .p12): set the matching .type key")
    return t


def _unsupported_store(key: str, location: str, kind: str) -> StoreError:
    return StoreError(key, f"{location} is a {kind} store, which zkpy cannot read; convert "
                            f"it with: keytool -importkeystore -srckeystore {location} "
                            "-destkeystore store.p12 -deststoretype PKCS12")


def _read(key: str, location: str) -> bytes:
    try:
        return Path(location).read_bytes()
    except OSError as e:
        raise StoreError(key, f"cannot read {location}: {e.strerror or e}") from None


def _open_store(prefix: str, loc: str, declared_type: str) -> tuple[str, str, bytes]:
    """(the location key, the store type, the file's bytes) of a store we can read."""
    key = prefix + ".location"
    kind = store_type(prefix + ".type", loc, declared_type)
    if kind in ("JKS", "BCFKS"):
        raise _unsupported_store(key, loc, kind)
    return key, kind, _read(key, loc)


def load_key_store(ctx: ssl.SSLContext, prefix: str, loc: str, password: str,
                   declared_type: str) -> None:
    """Load the key and certificate chain of ``loc`` (a PEM or PKCS#12 key store) into
    ``ctx``. ``prefix`` names the keys in errors (``ssl.keyStore``)."""
    key, kind, data = _open_store(prefix, loc, declared_type)
    if kind == "PKCS12":
        from cryptography.hazmat.primitives.serialization import pkcs12

        try:
            priv, cert, extra = pkcs12.load_key_and_certificates(
                data, password.encode() or None)
        except ValueError as e:
            raise StoreError(key, f"cannot read the PKCS#12 key store {loc} (wrong "
                                   f"{prefix}.password?): {e}") from None
        if priv is None or cert is None:
            raise StoreError(key, f"{loc} holds no private key with its certificate")
        data = _pem_of(priv, [cert, *extra])
    _load_chain_bytes(ctx, prefix, loc, data, password if kind == "PEM" else "")


def _pem_of(priv: Any, certs: list[Any]) -> bytes:
    from cryptography.hazmat.primitives import serialization

    out = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    for c in certs:
        out += c.public_bytes(serialization.Encoding.PEM)
    return out


def _load_chain_bytes(ctx: ssl.SSLContext, prefix: str, loc: str, pem: bytes,
                      password: str) -> None:
    """load_cert_chain reads files only: go through a private temporary file (0600, in a
    0700 directory, removed at once) so a decrypted key never lies around."""
    certs = b"".join(m.group(0) + b"\n" for m in re.finditer(
        rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S))
    keym = re.search(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----",
                     pem, re.S)
    key = prefix + ".location"
    if keym is None or not certs:
        raise StoreError(key, f"{loc} must hold the private key and its certificate chain")
    with tempfile.TemporaryDirectory(prefix="zkpy-tls-") as d:
        path = os.path.join(d, "chain.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(certs + keym.group(0) + b"\n")
        try:  # a callable: OpenSSL must never prompt for a pass phrase on the terminal
            ctx.load_cert_chain(path, password=lambda: password)
        except (ssl.SSLError, OSError) as e:
            raise StoreError(key, f"cannot use the key and certificate in {loc} (wrong "
                                  f"{prefix}.password, or they do not match): "
                                  f"{getattr(e, 'reason', None) or e}") from None


def load_trust_store(ctx: ssl.SSLContext, prefix: str, loc: str, password: str,
                     declared_type: str) -> None:
    """Trust the certificates of ``loc`` (PEM: all of them; or PKCS#12) in ``ctx``."""
    key, kind, data = _open_store(prefix, loc, declared_type)
    if kind == "PKCS12":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12

        try:
            p12 = pkcs12.load_pkcs12(data, password.encode() or None)
        except ValueError as e:
            raise StoreError(key, f"cannot read the PKCS#12 trust store {loc}: {e}") from None
        certs = ([p12.cert] if p12.cert else []) + list(p12.additional_certs)
        pem = "".join(c.certificate.public_bytes(serialization.Encoding.PEM).decode()
                      for c in certs)
    else:
        pem = data.decode("ascii", "replace")
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise StoreError(key, f"{loc} holds no certificate")
    try:
        ctx.load_verify_locations(cadata=pem)
    except ssl.SSLError as e:
        raise StoreError(key, f"cannot use the certificates in {loc}: {e.reason or e}") \
            from None
