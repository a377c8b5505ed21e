"""The TLS client port (secureClientPort), on Apache ZooKeeper 3.8 (Netty) and on zkpy.

The same zoo.cfg drives both: PEM key and trust stores, ssl.clientAuth, the x509 auth
provider (ids from client certificate subjects, the superUser DN). The tests compare what
clients see: kazoo over TLS, raw sessions (whoAmI, getACL of an `auth` ACL carry the
subject DN exactly as ZooKeeper writes it), refused plaintext and untrusted clients. The
zkpy-only tests cover PKCS#12 stores, clientAuth want/none and startup errors.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

from tests.compat.rawzk import ConnectionClosed, RawConnection, open_session
from tests.conftest import need_apache_zk
from tests.support.certs import Cert, issue, make_ca
from tests.support.servers import ServerHandle, free_port, start_server, zk_classpath
from zkpy.client import ZkClient
from zkpy.client.tls import client_context
from zkpy.properties import parse_properties
from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode

NETTY = "org.apache.zookeeper.server.NettyServerCnxnFactory"
DN_ALICE = "CN=alice,O=zkpy tests,C=US"
DN_CAROL = "CN=carol,O=zkpy tests,C=US"
DN_DAVE = ("CN=\\#1 dave\\ ,1.2.840.113549.1.9.1=#161064617665406578616d706c652e636f6d,"
           "OU=R\\+D \\<lab\\>,O=Acme\\, Inc.,C=US")


@dataclass
class Pki:
    dir: Path
    ca: Cert
    server: Path      # key store: key + certificate, PEM
    trust: Path       # trust store: the CA, PEM
    certs: dict[str, Path]   # client name -> key + certificate (PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = Path(tmp_path_factory.mktemp("pki"))
    ca = make_ca()
    (d / "ca.pem").write_bytes(ca.cert_pem())
    certs = {name: issue(ca, name).write_pem(d / f"{name}.pem")
             for name in ("alice", "bob", "carol")}
    certs["mallory"] = issue(make_ca("another CA"), "mallory").write_pem(d / "mallory.pem")
    # a subject that needs escaping and an attribute RFC 2253 has no keyword for
    certs["dave"] = issue(ca, "dave", subject=x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme, Inc."),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "R+D <lab>"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "dave@example.com"),
        x509.NameAttribute(NameOID.COMMON_NAME, "#1 dave "),
    ])).write_pem(d / "dave.pem")
    return Pki(d, ca, issue(ca, "localhost", server=True).write_pem(d / "server.pem"),
               d / "ca.pem", certs)


def tls_cfg(pki: Pki, **extra: Any) -> dict[str, Any]:
    cfg = {"secureClientPort": free_port(), "serverCnxnFactory": NETTY,
           "ssl.keyStore.location": pki.server, "ssl.trustStore.location": pki.trust,
           "X509AuthenticationProvider.superUser": DN_CAROL}
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module", params=["zookeeper", "zkpy"])
def secure(request: pytest.FixtureRequest, pki: Pki,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """A server with a plain and a secure client port (clientAuth=need, the default)."""
    if request.param == "zookeeper":
        need_apache_zk()
    cfg = tls_cfg(pki)
    h = start_server(request.param, Path(tmp_path_factory.mktemp(f"tls-{request.param}")),
                     cfg=cfg)
    h.extra["secure_port"] = cfg["secureClientPort"]
    try:
        yield h
    finally:
        h.stop()


def client_ctx(pki: Pki, who: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.trust))
    ctx.check_hostname = False
    if who is not None:
        ctx.load_cert_chain(str(pki.certs[who]))
    return ctx


def kazoo(pki: Pki, h: ServerHandle, who: str) -> KazooClient:
    pem = str(pki.certs[who])
    zk = KazooClient(hosts=f"127.0.0.1:{h.extra['secure_port']}", use_ssl=True,
                     ca=str(pki.trust), certfile=pem, keyfile=pem, verify_certs=True,
                     timeout=10)
    zk.start(timeout=15)
    return zk


def whoami(c: RawConnection) -> list[tuple[str, str]]:
    rep = c.call(OpCode.WHO_AM_I)
    assert rep is not None and rep.err == 0
    return [(i.authScheme, i.user) for i in rep.body.clientInfo]


def test_kazoo_reads_and_writes_over_tls(secure: ServerHandle, pki: Pki) -> None:
    zk = kazoo(pki, secure, "alice")
    try:
        zk.create("/tls-kazoo", b"over tls")
        assert zk.get("/tls-kazoo")[0] == b"over tls"
    finally:
        zk.stop()
        zk.close()
    plain = KazooClient(hosts=secure.hosts, timeout=10)   # the plain port serves alongside
    plain.start(timeout=15)
    try:
        assert plain.get("/tls-kazoo")[0] == b"over tls"
        plain.delete("/tls-kazoo")
    finally:
        plain.stop()
        plain.close()


def test_the_client_certificate_is_the_x509_identity(secure: ServerHandle, pki: Pki) -> None:
    with open_session("127.0.0.1", secure.extra["secure_port"],
                      tls=client_ctx(pki, "alice")) as c:
        # (in Java's hash-set order of the connection's ids, as whoAmI lists them)
        assert whoami(c) == [("x509", DN_ALICE), ("ip", "127.0.0.1")]
        rep = c.call(OpCode.CREATE, r.CreateRequest(
            "/tls-auth", b"", [r.ACL(31, r.Id("auth", ""))], 0))
        assert rep is not None and rep.err == 0
        rep = c.call(OpCode.GET_ACL, r.GetACLRequest("/tls-auth"))
        assert rep is not None and rep.body.acl == [r.ACL(31, r.Id("x509", DN_ALICE))]
        assert c.call(OpCode.DELETE, r.DeleteRequest("/tls-auth", -1)).err == 0
    with open_session("127.0.0.1", secure.extra["secure_port"],
                      tls=client_ctx(pki, "carol")) as c:   # the superUser DN
        # (whoAmI shows no user name for super ids)
        assert sorted(whoami(c)) == [("ip", "127.0.0.1"), ("super", ""), ("x509", DN_CAROL)]


def test_subject_dn_is_written_as_zookeeper_writes_it(secure: ServerHandle, pki: Pki) -> None:
    with open_session("127.0.0.1", secure.extra["secure_port"],
                      tls=client_ctx(pki, "dave")) as c:
        assert ("x509", DN_DAVE) in whoami(c)


def test_addauth_x509_needs_a_client_certificate(secure: ServerHandle, pki: Pki) -> None:
    with open_session("127.0.0.1", secure.extra["secure_port"],
                      tls=client_ctx(pki, "alice")) as c:
        rep = c.auth("x509", b"")
        assert rep is not None and rep.err == 0
        assert ("x509", DN_ALICE) in whoami(c)
    with open_session(secure.host, secure.port) as c:       # the plain port: no certificate
        rep = c.auth("x509", b"")
        assert rep is not None and rep.err == -115            # AUTHFAILED, then closed
        assert c.wait_eof()


def test_x509_acl_ids_must_be_distinguished_names(secure: ServerHandle, pki: Pki) -> None:
    with open_session("127.0.0.1", secure.extra["secure_port"],
                      tls=client_ctx(pki, "alice")) as c:
        # (what new X500Principal(id) accepts: Apache ZooKeeper 3.8's answers)
        for i, (dn, ok) in enumerate([
                ("nonsense", False), ("FOO=bar", False), ("", True), ("CN=a,,O=b", False),
                ("=x", False), ("CN", False), ("a b c", False), ("CN=x;O=y", True),
                ("cn=x+ou=y", True), ("1.2.3=#0401", False), ("1.2.3=#040100", True),
                ("CN=\\", False), ("EMAIL=a@b", True)]):
            rep = c.call(OpCode.CREATE, r.CreateRequest(
                f"/tls-acl-{i}", b"", [r.ACL(31, r.Id("x509", dn))], 0))
            assert rep is not None and rep.err == (0 if ok else -114), dn  # INVALIDACL
            if ok:
                assert c.call(OpCode.DELETE, r.DeleteRequest(f"/tls-acl-{i}", -1)).err == 0
        rep = c.call(OpCode.CREATE, r.CreateRequest(
            "/tls-ok-acl", b"", [r.ACL(31, r.Id("x509", "cn=Someone, o=Else")),
                                 r.ACL(1, r.Id("world", "anyone"))], 0))
        assert rep is not None and rep.err == 0
        rep = c.call(OpCode.GET_ACL, r.GetACLRequest("/tls-ok-acl"))   # kept as written
        assert rep is not None and rep.body.acl[0].id.id == "cn=Someone, o=Else"
        assert c.call(OpCode.DELETE, r.DeleteRequest("/tls-ok-acl", -1)).err == 0


def test_x509_acl_lets_in_only_that_subject_and_the_super_user(
        secure: ServerHandle, pki: Pki) -> None:
    alice, bob, carol = (kazoo(pki, secure, w) for w in ("alice", "bob", "carol"))
    try:
        alice.create("/tls-acl", b"alice's",
                     acl=[make_acl("x509", DN_ALICE, all=True)])
        assert alice.get("/tls-acl")[0] == b"alice's"
        with pytest.raises(NoAuthError):
            bob.get("/tls-acl")
        assert carol.get("/tls-acl")[0] == b"alice's"
        carol.delete("/tls-acl")
    finally:
        for zk in (alice, bob, carol):
            zk.stop()
            zk.close()


def _refused(secure: ServerHandle, ctx: ssl.SSLContext | None) -> bool:
    """No session comes out of this connection: the handshake fails or the server
    closes it before answering the ConnectRequest."""
    try:
        c = RawConnection("127.0.0.1", secure.extra["secure_port"], timeout_s=5.0, tls=ctx)
    except (ssl.SSLError, OSError):
        return True
    try:
        return c.connect() is None
    except (ConnectionClosed, ssl.SSLError, OSError):
        return True
    finally:
        c.close()


def test_plaintext_client_on_the_secure_port_is_closed(secure: ServerHandle) -> None:
    assert _refused(secure, None)


def test_client_without_a_certificate_is_refused_under_need(
        secure: ServerHandle, pki: Pki) -> None:
    assert _refused(secure, client_ctx(pki, None))


def test_certificate_from_an_untrusted_ca_is_refused(secure: ServerHandle, pki: Pki) -> None:
    assert _refused(secure, client_ctx(pki, "mallory"))


def test_four_letter_words_over_tls(secure: ServerHandle, pki: Pki) -> None:
    ctx = client_ctx(pki, "alice")
    c = RawConnection("127.0.0.1", secure.extra["secure_port"], tls=ctx)
    try:
        c.send_raw(b"ruok")
        chunks = []
        while True:
            try:
                b = c.sock.recv(100)
            except (ssl.SSLError, OSError):
                break
            if not b:
                break
            chunks.append(b)
        assert b"".join(chunks) == b"imok"
    finally:
        c.close()


def _client_cfg(pki: Pki, path: Path) -> Path:
    """A zkCli client configuration file for TLS as ZooKeeper documents it."""
    path.write_text("zookeeper.client.secure=true\n"
                    "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\n"
                    f"zookeeper.ssl.keyStore.location={pki.certs['alice']}\n"
                    f"zookeeper.ssl.trustStore.location={pki.trust}\n")
    return path


def test_zkpy_shell_with_a_client_configuration(secure: ServerHandle, pki: Pki,
                                                tmp_path: Path) -> None:
    cfg = _client_cfg(pki, tmp_path / "client.cfg")
    p = subprocess.run(
        [sys.executable, "-m", "zkpy", "shell", "-server",
         f"127.0.0.1:{secure.extra['secure_port']}", "-client-configuration", str(cfg)],
        input="create /tls-shell hi\nget /tls-shell\nwhoami\ndelete /tls-shell\n",
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "hi" in p.stdout.splitlines() and f"x509: {DN_ALICE}" in p.stdout, p.stdout


def test_java_zkcli_with_a_client_configuration(secure: ServerHandle, pki: Pki,
                                                tmp_path: Path) -> None:
    need_apache_zk()
    cfg = _client_cfg(pki, tmp_path / "client.cfg")
    p = subprocess.run(
        ["java", "-cp", ":".join(zk_classpath(netty=True)), "org.apache.zookeeper.ZooKeeperMain",
         "-server", f"127.0.0.1:{secure.extra['secure_port']}",
         "-client-configuration", str(cfg)],
        input="create /tls-zkcli hi\nget /tls-zkcli\nwhoami\ndelete /tls-zkcli\nquit\n",
        capture_output=True, text=True, timeout=90,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "JAVA_TOOL_OPTIONS": "-Xshare:auto"})
    out = p.stdout + p.stderr
    assert "Created /tls-zkcli" in out and "\nhi\n" in out, out[-3000:]
    assert f"x509: {DN_ALICE}" in out, out[-3000:]


def test_client_library_with_a_client_configuration(secure: ServerHandle, pki: Pki,
                                                    tmp_path: Path) -> None:
    ctx = client_context(parse_properties(_client_cfg(pki, tmp_path / "c.cfg").read_text()))
    assert ctx is not None and ctx.check_hostname          # hostnameVerification=true

    async def go() -> bytes:
        zk = ZkClient(f"127.0.0.1:{secure.extra['secure_port']}", ssl_context=ctx)
        await zk.start()
        try:
            await zk.create("/tls-lib", b"lib")
            data, _ = await zk.get("/tls-lib")
            await zk.delete("/tls-lib")
            return data
        finally:
            await zk.close()

    assert asyncio.run(go()) == b"lib"


# ------------------------------------------------------------------- zkpy only


def _zkpy(tmp: Path, cfg: dict[str, Any]) -> ServerHandle:
    h = start_server("zkpy", tmp, cfg=cfg)
    h.extra["secure_port"] = cfg["secureClientPort"]
    return h


def test_pkcs12_stores_and_client_auth_want(tmp_path: Path, pki: Pki) -> None:
    ca = pki.ca
    ks = issue(ca, "localhost", server=True).write_p12(tmp_path / "server.p12", "s3cret", ca)
    ts = tmp_path / "trust.p12"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    ts.write_bytes(pkcs12.serialize_key_and_certificates(
        None, None, None, [ca.cert], serialization.BestAvailableEncryption(b"tpass")))
    h = _zkpy(tmp_path / "srv", tls_cfg(
        pki, **{"ssl.keyStore.location": ks, "ssl.keyStore.password": "s3cret",
                "ssl.trustStore.location": ts, "ssl.trustStore.password": "tpass",
                "ssl.clientAuth": "want"}))
    try:
        with open_session("127.0.0.1", h.extra["secure_port"],
                          tls=client_ctx(pki, "alice")) as c:
            assert whoami(c) == [("x509", DN_ALICE), ("ip", "127.0.0.1")]
        with open_session("127.0.0.1", h.extra["secure_port"],   # want: a cert is optional
                          tls=client_ctx(pki, None)) as c:
            assert whoami(c) == [("ip", "127.0.0.1")]
        log = h.log_path.read_text()
        assert "s3cret" not in log and "tpass" not in log
    finally:
        h.stop()


def test_client_auth_none_and_an_encrypted_pem_key(tmp_path: Path, pki: Pki) -> None:
    ks = issue(pki.ca, "localhost", server=True).write_pem(tmp_path / "enc.pem", "kpass")
    h = _zkpy(tmp_path / "srv", tls_cfg(pki, **{
        "ssl.keyStore.location": ks, "ssl.keyStore.password": "kpass",
        "ssl.clientAuth": "none", "ssl.protocol": "TLSv1.3"}))
    try:
        ctx = client_ctx(pki, "alice")     # offered, but not asked for: no x509 id
        with open_session("127.0.0.1", h.extra["secure_port"], tls=ctx) as c:
            assert whoami(c) == [("ip", "127.0.0.1")]
            assert isinstance(c.sock, ssl.SSLSocket) and c.sock.version() == "TLSv1.3"
    finally:
        h.stop()


def _start_error(tmp_path: Path, cfg: dict[str, Any]) -> str:
    """Start zkpy on a zoo.cfg that must be refused: exit status 2, and the message."""
    conf = {"tickTime": 2000, "dataDir": tmp_path / "data", "clientPort": free_port(),
            "clientPortAddress": "127.0.0.1", "admin.enableServer": "false",
            "secureClientPort": free_port()}
    conf.update(cfg)
    path = tmp_path / "zoo.cfg"
    path.write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
    p = subprocess.run([sys.executable, "-m", "zkpy", "server", "--config", str(path)],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 2, (p.returncode, p.stderr)
    return p.stderr


@pytest.mark.parametrize(("cfg", "says"), [
    ({}, "ssl.keyStore.location"),
    ({"ssl.keyStore.location": "/nonexistent/ks.pem"}, "cannot read /nonexistent/ks.pem"),
    ({"ssl.keyStore.location": "KS.jks"}, "keytool -importkeystore"),
    ({"ssl.keyStore.location": "ENC", "ssl.keyStore.password": "wrong-pw"},
     "wrong ssl.keyStore.password"),
    ({"ssl.keyStore.location": "ENC"}, "wrong ssl.keyStore.password"),  # never a prompt
    ({"ssl.keyStore.location": "KS", "ssl.clientAuth": "sometimes"}, "ssl.clientAuth"),
    ({"ssl.keyStore.location": "KS", "ssl.crl": "true"}, "ssl.crl"),
    ({"ssl.keyStore.location": "KS", "ssl.protocol": "SSLv3"}, "ssl.protocol"),
    ({"ssl.keyStore.location": "KS", "ssl.ciphersuites": "TLS_BOGUS_SUITE"},
     "ssl.ciphersuites"),
    ({"ssl.keyStore.location": "KS", "client.portUnification": "true"},
     "client.portUnification"),
])
def test_bad_tls_settings_refuse_to_start(tmp_path: Path, pki: Pki, cfg: dict[str, str],
                                          says: str) -> None:
    files = {"KS": issue(pki.ca, "localhost", server=True).write_pem(tmp_path / "ks.pem"),
             "ENC": issue(pki.ca, "localhost", server=True).write_pem(tmp_path / "enc.pem",
                                                                       "right-pw"),
             "KS.jks": tmp_path / "KS.jks"}
    files["KS.jks"].write_bytes(b"\xfe\xed\xfe\xed")
    cfg = {k: str(files[v]) if v in files else v for k, v in cfg.items()}
    err = _start_error(tmp_path, cfg)
    assert says in err, err
    assert "right-pw" not in err and "wrong-pw" not in err
