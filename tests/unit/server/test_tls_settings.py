"""zkpy.server.tls pieces that need no server: suite names, store types, DN checks."""

from __future__ import annotations

import pytest

from zkpy.server.config import ConfigError
from zkpy.server.tls import TlsSettings, _iana_to_openssl, server_context
from zkpy.state.acl import x509_id_valid
from zkpy.tlsstores import StoreError, store_type


@pytest.mark.parametrize(("iana", "openssl"), [
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384"),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
    ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256"),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    ("TLS_BOGUS", None),
    ("TLS_ECDSA_WITH_AES_128_GCM_SHA256", None),
])
def test_java_suite_names_map_to_openssl(iana: str, openssl: str | None) -> None:
    assert _iana_to_openssl(iana) == openssl


def test_store_type_from_the_extension_as_zookeeper() -> None:
    assert store_type("k", "/a/b.pem", "") == "PEM"
    assert store_type("k", "/a/b.P12", "") == "PKCS12"
    assert store_type("k", "/a/b.p12", "PEM") == "PEM"   # a declared type wins
    with pytest.raises(StoreError):
        store_type("k", "/a/b.pfx", "")                 # ZooKeeper cannot tell either


def test_no_key_store_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as e:
        server_context(TlsSettings())
    assert e.value.key == "ssl.keyStore.location"


@pytest.mark.parametrize(("dn", "ok"), [
    ("CN=alice,O=Example,C=US", True), ("cn=x+ou=y", True), ("CN=x;O=y", True),
    ("", True), ("EMAILADDRESS=a@b.c", True), ("1.2.840.113549.1.9.1=#16016a", True),
    ("1.2.3=#0401", False), ("1.2.3=#04", False), ("CN=a\\,b", True), ("CN=\\", False),
    ("nonsense", False), ("FOO=bar", False), ("CN=a,,O=b", False), ("=x", False),
])
def test_x509_ids_are_checked_as_x500_names(dn: str, ok: bool) -> None:
    assert x509_id_valid(dn) is ok
