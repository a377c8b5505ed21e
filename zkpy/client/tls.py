"""TLS for the client, configured as ZooKeeper's Java client is (ZKClientConfig).

zkCli users put these in the file they pass with ``-client-configuration`` (each key
with or without its ``zookeeper.`` prefix):

- ``zookeeper.client.secure=true`` turns TLS on (``zookeeper.clientCnxnSocket`` naming
  the Netty socket, which Java needs for it, is accepted and not needed);
- ``zookeeper.ssl.trustStore.*`` the certificates the server's must chain to (default:
  the system's), ``zookeeper.ssl.keyStore.*`` a client certificate to present;
- ``zookeeper.ssl.hostnameVerification`` (default true) checks the server certificate
  against the host name in the connect string;
- ``zookeeper.ssl.protocol`` / ``zookeeper.ssl.enabledProtocols`` (default TLSv1.2 and up).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

from ..tlsstores import StoreError, load_key_store, load_trust_store, parse_store_type

__all__ = ["StoreError", "client_context"]

_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
             "TLS": ssl.TLSVersion.TLSv1_2}


def _get(props: Mapping[str, str], name: str, default: str = "") -> tuple[str, str]:
    """(the key as written, its value) for ``zookeeper.<name>`` or ``<name>``."""
    for key in ("zookeeper." + name, name):
        if key in props:
            return key, props[key].strip()
    return "zookeeper." + name, default


def _bool(props: Mapping[str, str], name: str, default: bool) -> bool:
    key, v = _get(props, name, "true" if default else "false")
    if v.lower() not in ("true", "false"):
        raise StoreError(key, f"{v!r} is not true or false")
    return v.lower() == "true"


def client_context(props: Mapping[str, str]) -> ssl.SSLContext | None:
    """The SSLContext a client configuration asks for, or None when it does not ask for
    TLS (``zookeeper.client.secure`` unset or false). StoreError names a bad key."""
    if not _bool(props, "client.secure", False):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    key, protos = _get(props, "ssl.enabledProtocols")
    names = [p.strip() for p in protos.split(",") if p.strip()]
    if not names:
        key, proto = _get(props, "ssl.protocol", "TLS")
        names = [proto]
    try:
        versions = sorted(_VERSIONS[n] for n in names)
    except KeyError as e:
        raise StoreError(key, f"unknown TLS protocol {e.args[0]!r} (TLSv1.2, TLSv1.3)") \
            from None
    ctx.minimum_version = versions[0]
    if "TLS" not in names:
        ctx.maximum_version = versions[-1]
    ctx.check_hostname = _bool(props, "ssl.hostnameVerification", True)
    trust_key, trust = _get(props, "ssl.trustStore.location")
    if trust:
        load_trust_store(ctx, trust_key[:-len(".location")], trust,
                         _get(props, "ssl.trustStore.password")[1],
                         parse_store_type(*_get(props, "ssl.trustStore.type")))
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    ks_key, ks = _get(props, "ssl.keyStore.location")
    if ks:
        load_key_store(ctx, ks_key[:-len(".location")], ks,
                       _get(props, "ssl.keyStore.password")[1],
                       parse_store_type(*_get(props, "ssl.keyStore.type")))
    return ctx
