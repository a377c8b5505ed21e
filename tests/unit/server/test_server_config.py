"""zoo.cfg parsing (Java properties), ServerConfig validation, server.N lines, JAAS."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkpy.server.config import (
    ConfigError,
    Member,
    ServerConfig,
    load_config,
    parse_jaas,
    parse_properties,
    parse_server_line,
)


def cfg(**props: str) -> ServerConfig:
    base = {"dataDir": "/var/zk", "clientPort": "2181"}
    base.update(props)
    return ServerConfig.from_properties(base)


# ------------------------------------------------------------------ properties syntax


def test_properties_separators_comments_and_trimming() -> None:
    text = (
        "# comment\n"
        "! bang comment\n"
        "   \n"
        "a=1\n"
        "b : 2\n"
        "c 3\n"
        "  d\t=\t 4  \n"
        "e=\n"
        "f\n"
        "g=x=y:z\n"
    )
    assert parse_properties(text) == {
        "a": "1", "b": "2", "c": "3", "d": "4", "e": "", "f": "", "g": "x=y:z",
    }


def test_properties_continuation_and_escapes() -> None:
    text = "list=a,\\\n    b,\\\n    c\nesc=tab\\there\\u0041\\:\nkey\\=x=1\nodd=end\\\\\nnext=2\r\n"
    props = parse_properties(text)
    assert props["list"] == "a,b,c"
    assert props["esc"] == "tab\there" + "A:"
    assert props["key=x"] == "1"
    assert props["odd"] == "end\\"
    assert props["next"] == "2"


def test_properties_comment_line_is_not_continued() -> None:
    assert parse_properties("# c \\\na=1\n") == {"a": "1"}


def test_properties_later_key_wins() -> None:
    assert parse_properties("a=1\na=2\n") == {"a": "2"}


def test_properties_continuation_at_eof() -> None:
    assert parse_properties("a=1\\") == {"a": "1"}


# ------------------------------------------------------------------ defaults and units


def test_defaults_follow_zookeeper() -> None:
    c = cfg()
    assert c.tick_ms == 3000
    assert c.min_session_timeout_ms == 6000 and c.max_session_timeout_ms == 60000
    assert c.data_log_dir == "/var/zk" and c.log_dir == "/var/zk"
    assert c.max_client_cnxns == 60
    assert c.four_letter_whitelist == frozenset({"srvr"})
    assert c.admin_enabled and c.admin_port == 8080 and c.admin_address == "0.0.0.0"
    assert c.admin_command_url == "/commands"
    assert c.snap_count == 100000 and c.pre_alloc_size_kb == 65536
    assert c.force_sync and not c.skip_acl and not c.enforce_quota
    assert c.autopurge_snap_retain_count == 3 and c.autopurge_purge_interval_hours == 0
    assert c.global_outstanding_limit == 1000 and c.max_frame_bytes == 0xFFFFF
    assert c.members == () and c.myid == 0 and not c.is_distributed
    assert c.standalone_enabled and not c.reconfig_enabled
    assert c.snap_version_dir == Path("/var/zk/version-2")


def test_session_timeouts_follow_tick() -> None:
    c = cfg(tickTime="2000")
    assert (c.min_session_timeout_ms, c.max_session_timeout_ms) == (4000, 40000)
    c = cfg(tickTime="2000", minSessionTimeout="1000", maxSessionTimeout="90000")
    assert (c.min_session_timeout_ms, c.max_session_timeout_ms) == (1000, 90000)


def test_known_keys_typed() -> None:
    c = cfg(
        tickTime="100", initLimit="5", syncLimit="2", dataLogDir="/logs",
        clientPortAddress="127.0.0.2", maxClientCnxns="0",
        **{
            "4lw.commands.whitelist": " ruok, stat ,bogus, MNTR",
            "admin.enableServer": "false", "admin.serverPort": "9090",
            "admin.serverAddress": "127.0.0.1", "admin.commandURL": "/cmds",
            "snapCount": "50", "preAllocSize": "16", "forceSync": "no",
            "autopurge.snapRetainCount": "5", "autopurge.purgeInterval": "24",
            "globalOutstandingLimit": "7", "jute.maxbuffer": "0x100000",
            "extendedTypesEnabled": "true", "skipACL": "yes", "enforceQuota": "true",
            "reconfigEnabled": "true", "standaloneEnabled": "false",
            "znode.container.checkIntervalMs": "1000", "znode.container.maxPerMinute": "60",
            "znode.container.maxNeverUsedIntervalMs": "500",
        },
    )
    assert c.tick_ms == 100 and c.init_limit_ticks == 5 and c.sync_limit_ticks == 2
    assert c.data_log_dir == "/logs" and c.client_port_address == "127.0.0.2"
    assert c.client_bind_host == "127.0.0.2" and c.max_client_cnxns == 0
    assert c.four_letter_whitelist == frozenset({"ruok", "stat", "srvr"})
    assert not c.four_letter_allowed("mntr")
    assert not c.admin_enabled and c.admin_port == 9090 and c.admin_address == "127.0.0.1"
    assert c.admin_command_url == "/cmds"
    assert c.snap_count == 50 and c.pre_alloc_size_kb == 16 and not c.force_sync
    assert c.autopurge_snap_retain_count == 5 and c.autopurge_purge_interval_hours == 24
    assert c.global_outstanding_limit == 7 and c.max_frame_bytes == 0x100000
    assert c.extended_types_enabled and c.skip_acl and c.enforce_quota
    assert c.reconfig_enabled and not c.standalone_enabled
    assert c.container_check_interval_ms == 1000 and c.container_max_per_minute == 60
    assert c.container_max_never_used_ms == 500
    assert c.extra == {}


def test_zookeeper_prefix_accepted_for_system_property_keys() -> None:
    c = cfg(**{
        "zookeeper.DigestAuthenticationProvider.superDigest": "super:abc=",
        "zookeeper.extendedTypesEnabled": "true",
        "zookeeper.4lw.commands.whitelist": "*",
    })
    assert c.super_digest == "super:abc="
    assert c.extended_types_enabled
    assert c.four_letter_whitelist == frozenset({"*"})
    c = cfg(**{"DigestAuthenticationProvider.superDigest": "super:xyz="})
    assert c.super_digest == "super:xyz="


def test_plain_spelling_wins_over_the_prefixed_one() -> None:
    # ZooKeeper reads zoo.cfg key k as system property zookeeper.k: only the plain
    # spelling takes effect there. The same rule for the server's keys and for TLS.
    c = cfg(secureClientPort="2281", **{
        "zookeeper.snapCount": "500", "snapCount": "700",
        "ssl.keyStore.location": "/k.pem",
        "zookeeper.ssl.clientAuth": "none", "ssl.clientAuth": "want"})
    assert c.snap_count == 700
    assert c.tls is not None and c.tls.client_auth == "want"


def test_whitelist_star_and_isro_with_read_only_mode() -> None:
    c = cfg(**{"4lw.commands.whitelist": "srvr, *"})
    assert all(c.four_letter_allowed(w) for w in ("ruok", "mntr", "dump"))
    c = cfg()
    assert c.four_letter_allowed("srvr") and not c.four_letter_allowed("ruok")
    c = cfg(**{"4lw.commands.whitelist": "ruok"})
    assert c.four_letter_allowed("srvr") and c.four_letter_allowed("ruok")
    assert not c.four_letter_allowed("isro")
    assert cfg(**{"readonlymode.enabled": "true"}).four_letter_allowed("isro")


def test_unknown_keys_kept() -> None:
    c = cfg(**{"metricsProvider.className": "x.Y", "someFutureKey": "v"})
    assert c.extra == {"metricsProvider.className": "x.Y", "someFutureKey": "v"}


def test_snap_retain_count_clamped_to_three() -> None:
    assert cfg(**{"autopurge.snapRetainCount": "1"}).autopurge_snap_retain_count == 3


def test_auth_providers_in_index_order() -> None:
    c = cfg(**{
        "authProvider.2": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
        "zookeeper.authProvider.1": "x.A",
        "jaasLoginRenew": "3600000",
    })
    assert c.auth_providers == (
        "x.A", "org.apache.zookeeper.server.auth.SASLAuthenticationProvider")
    assert c.jaas_login_renew_ms == 3600000


# ------------------------------------------------------------------ errors name the key

BAD = [
    ({"tickTime": "abc"}, "tickTime"),
    ({"tickTime": "0"}, "tickTime"),
    ({"clientPort": "x"}, "clientPort"),
    ({"clientPort": "70000"}, "clientPort"),
    ({"clientPort": "-1"}, "clientPort"),
    ({"initLimit": "ten"}, "initLimit"),
    ({"syncLimit": "1.5"}, "syncLimit"),
    ({"maxClientCnxns": "-1"}, "maxClientCnxns"),
    ({"minSessionTimeout": "9000", "maxSessionTimeout": "8000"}, "minSessionTimeout"),
    ({"maxSessionTimeout": "abc"}, "maxSessionTimeout"),
    ({"minSessionTimeout": "0"}, "minSessionTimeout"),
    ({"admin.serverPort": "99999"}, "admin.serverPort"),
    ({"admin.enableServer": "maybe"}, "admin.enableServer"),
    ({"admin.commandURL": "commands"}, "admin.commandURL"),
    ({"snapCount": "1"}, "snapCount"),
    ({"snapCount": "many"}, "snapCount"),
    ({"preAllocSize": "0"}, "preAllocSize"),
    ({"forceSync": "perhaps"}, "forceSync"),
    ({"globalOutstandingLimit": "0"}, "globalOutstandingLimit"),
    ({"jute.maxbuffer": "big"}, "jute.maxbuffer"),
    ({"jute.maxbuffer": "10"}, "jute.maxbuffer"),
    ({"standaloneEnabled": "yes"}, "standaloneEnabled"),
    ({"reconfigEnabled": "1"}, "reconfigEnabled"),
    ({"electionAlg": "1"}, "electionAlg"),
    ({"peerType": "leader"}, "peerType"),
    ({"autopurge.snapRetainCount": "x"}, "autopurge.snapRetainCount"),
    ({"autopurge.purgeInterval": "soon"}, "autopurge.purgeInterval"),
    ({"DigestAuthenticationProvider.superDigest": "nocolon"},
     "DigestAuthenticationProvider.superDigest"),
    ({"extendedTypesEnabled": "on"}, "extendedTypesEnabled"),
    ({"skipACL": "sure"}, "skipACL"),
    ({"server.x": "h:1:2"}, "server.x"),
    ({"server.1": "h:1"}, "server.1"),
    ({"server.1": "h:1:99999"}, "server.1"),
    ({"server.1": "h:1:2:voter"}, "server.1"),
    ({"server.1": "h:1:2;host:notaport"}, "server.1"),
    ({"group.1": "1:2:3"}, "group.1"),
    ({"znode.container.checkIntervalMs": "0"}, "znode.container.checkIntervalMs"),
    ({"version": "zz"}, "version"),
]


@pytest.mark.parametrize(("props", "key"), BAD, ids=[k for _, k in BAD])
def test_bad_value_error_names_key(props: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as ei:
        cfg(**props)
    assert ei.value.key == key
    assert key in str(ei.value)


def test_port_zero_means_any_free_port() -> None:
    c = cfg(clientPort="0", **{"admin.serverPort": "0"})
    assert c.client_port == 0 and c.admin_port == 0


def test_missing_data_dir() -> None:
    with pytest.raises(ConfigError, match="dataDir is not set") as ei:
        ServerConfig.from_properties({"clientPort": "2181"})
    assert ei.value.key == "dataDir"


def test_missing_client_port_standalone() -> None:
    with pytest.raises(ConfigError) as ei:
        ServerConfig.from_properties({"dataDir": "/d"})
    assert ei.value.key == "clientPort"


def test_client_port_address_without_client_port() -> None:
    with pytest.raises(ConfigError, match="clientPortAddress is set but clientPort is not set"):
        ServerConfig.from_properties({"dataDir": "/d", "clientPortAddress": "127.0.0.1"})


# ------------------------------------------------------------------ server.N


def test_parse_server_line_forms() -> None:
    assert parse_server_line("server.1", "127.0.0.1:2888:3888") == Member(
        1, "127.0.0.1", 2888, 3888)
    assert parse_server_line("server.2", "zk2:2889:3889:observer;2182") == Member(
        2, "zk2", 2889, 3889, "observer", None, 2182)
    assert parse_server_line("server.3", "zk3:1:2:participant;127.0.0.3:2183") == Member(
        3, "zk3", 1, 2, "participant", "127.0.0.3", 2183)
    assert parse_server_line("server.4", "[::1]:1:2;[::1]:3") == Member(
        4, "::1", 1, 2, "participant", "::1", 3)


QUORUM = {
    "tickTime": "2000", "initLimit": "10", "syncLimit": "5", "dataDir": "/d",
    "server.3": "127.0.0.3:2890:3890:observer;127.0.0.3:2183",
    "server.1": "127.0.0.1:2888:3888;2181",
    "server.2": "127.0.0.2:2889:3889;2182",
}


def test_quorum_members_sorted_and_client_port_from_own_line() -> None:
    c = ServerConfig.from_properties(QUORUM, myid=2)
    assert [m.sid for m in c.members] == [1, 2, 3]
    assert c.is_distributed and c.myid == 2 and c.peer_type == "participant"
    assert c.client_port == 2182 and c.client_bind_host == "0.0.0.0"
    assert c.self_member == c.members[1]
    assert [m.sid for m in c.voting_members] == [1, 2]
    obs = ServerConfig.from_properties(QUORUM, myid=3)
    assert obs.peer_type == "observer" and obs.client_port == 2183
    assert obs.client_port_address == "127.0.0.3"
    assert c.dynamic_config_text() == (
        "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n"
        "server.2=127.0.0.2:2889:3889:participant;0.0.0.0:2182\n"
        "server.3=127.0.0.3:2890:3890:observer;127.0.0.3:2183\n"
        "version=0")


def test_server_line_type_wins_over_peer_type_key() -> None:
    c = ServerConfig.from_properties({**QUORUM, "peerType": "observer"}, myid=1)
    assert c.peer_type == "participant"
    c = ServerConfig.from_properties({**QUORUM, "peerType": "participant"}, myid=3)
    assert c.peer_type == "observer"


def test_to_state_config_fits_state_config() -> None:
    types = pytest.importorskip("zkpy.state.types")
    sc = types.StateConfig(**cfg().to_state_config(), secret=1)
    assert sc.max_session_timeout_ms == 60000


def test_quorum_requires_limits_and_myid_line() -> None:
    props = dict(QUORUM)
    del props["initLimit"]
    with pytest.raises(ConfigError, match="initLimit is not set"):
        ServerConfig.from_properties(props, myid=1)
    props = dict(QUORUM)
    del props["syncLimit"]
    with pytest.raises(ConfigError, match="syncLimit is not set"):
        ServerConfig.from_properties(props, myid=1)
    with pytest.raises(ConfigError) as ei:
        ServerConfig.from_properties(QUORUM, myid=9)
    assert ei.value.key == "myid"


def test_static_client_port_conflicts_with_server_line() -> None:
    with pytest.raises(ConfigError) as ei:
        ServerConfig.from_properties({**QUORUM, "clientPort": "2999"}, myid=1)
    assert ei.value.key == "clientPort"
    same = ServerConfig.from_properties({**QUORUM, "clientPort": "2181"}, myid=1)
    assert same.client_port == 2181


def test_duplicate_sid_rejected_via_validate() -> None:
    from dataclasses import replace

    c = ServerConfig.from_properties(QUORUM, myid=1)
    with pytest.raises(ConfigError):
        replace(c, members=c.members + (c.members[0],)).validate()


# ------------------------------------------------------------------ files


def test_load_config_reads_myid_jaas_and_dynamic_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "myid").write_text("2\n")
    (tmp_path / "jaas.conf").write_text(
        'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n'
        '  user_super="adminsecret"\n  user_bob="bobsecret";\n};\n')
    (tmp_path / "zoo.cfg.dynamic.100000000").write_text(
        "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n"
        "server.2=127.0.0.2:2888:3888:participant;127.0.0.2:2181\n"
        "version=100000000\n")
    cfg_text = (
        f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={data}\n"
        "dynamicConfigFile=zoo.cfg.dynamic.100000000\n"
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
        "java.security.auth.login.config=jaas.conf\n")
    (tmp_path / "zoo.cfg").write_text(cfg_text)
    c = load_config(tmp_path / "zoo.cfg")
    assert c.myid == 2 and c.client_port == 2181 and c.client_port_address == "127.0.0.2"
    assert c.config_version == 0x100000000
    assert dict(c.sasl_users) == {"super": "adminsecret", "bob": "bobsecret"}
    assert c.raw_text == cfg_text
    sc = c.to_state_config()
    assert sc["server_id"] == 2 and sc["sasl_users"] == {"super": "adminsecret", "bob": "bobsecret"}
    assert sc["config_data"].endswith(b"\nversion=100000000")


def test_load_config_missing_myid_in_quorum(tmp_path: Path) -> None:
    (tmp_path / "zoo.cfg").write_text(
        f"initLimit=5\nsyncLimit=2\ndataDir={tmp_path}\n"
        "server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.2:2888:3888;2181\n")
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "zoo.cfg")
    assert ei.value.key == "myid"
    (tmp_path / "myid").write_text("one")
    with pytest.raises(ConfigError, match="not a number"):
        load_config(tmp_path / "zoo.cfg")


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path / "nope.cfg")


def test_dynamic_file_forbids_static_server_lines(tmp_path: Path) -> None:
    (tmp_path / "zoo.cfg").write_text(
        f"dataDir={tmp_path}\nclientPort=2181\ndynamicConfigFile=dyn\n"
        "server.1=127.0.0.1:2888:3888\n")
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "zoo.cfg")
    assert ei.value.key == "dynamicConfigFile"


def test_single_server_line_standalone_without_myid(tmp_path: Path) -> None:
    (tmp_path / "zoo.cfg").write_text(
        f"dataDir={tmp_path}\nclientPort=2181\nserver.1=127.0.0.1:2888:3888\n")
    c = load_config(tmp_path / "zoo.cfg")
    assert not c.is_distributed and c.client_port == 2181


# ------------------------------------------------------------------ JAAS


def test_parse_jaas_server_section_only() -> None:
    text = """
    /* a comment */
    Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
        user_super="adminsecret"   // admin
        user_bob="bob\\"s";
    };
    Client {
        org.apache.zookeeper.server.auth.DigestLoginModule required
        username="bob" password="bobsecret";
    };
    """
    assert parse_jaas(text) == {"super": "adminsecret", "bob": 'bob"s'}
    assert parse_jaas(text, "Client") == {}
    assert parse_jaas("") == {}


def test_parse_jaas_garbage_names_key() -> None:
    with pytest.raises(ConfigError) as ei:
        parse_jaas("this is not jaas")
    assert ei.value.key == "java.security.auth.login.config"


def test_load_config_missing_jaas_file(tmp_path: Path) -> None:
    (tmp_path / "zoo.cfg").write_text(
        f"dataDir={tmp_path}\nclientPort=2181\n"
        "java.security.auth.login.config=/nonexistent/jaas.conf\n")
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "zoo.cfg")
    assert ei.value.key == "java.security.auth.login.config"


# ------------------------------------------------------------------ from_args / state


def test_from_args_quick_standalone(tmp_path: Path) -> None:
    c = ServerConfig.from_args(port=2181, data_dir=tmp_path)
    assert c.client_port == 2181 and c.data_dir == str(tmp_path)
    assert c.data_log_dir == str(tmp_path)
    assert not c.admin_enabled and c.tick_ms == 2000
    assert (c.min_session_timeout_ms, c.max_session_timeout_ms) == (4000, 40000)
    c = ServerConfig.from_args(port=2181, data_dir=tmp_path, admin_port=0,
                               four_letter_whitelist=["*"], host="127.0.0.1", skip_acl=True)
    assert c.admin_enabled and c.admin_port == 0 and c.four_letter_allowed("mntr")
    assert c.client_bind_host == "127.0.0.1" and c.skip_acl
    with pytest.raises(TypeError):
        ServerConfig.from_args(port=1, data_dir=tmp_path, nonsense=1)
    with pytest.raises(ConfigError):
        ServerConfig.from_args(port=70000, data_dir=tmp_path)


def test_to_state_config_standalone() -> None:
    c = cfg(tickTime="2000", **{"DigestAuthenticationProvider.superDigest": "super:x="})
    assert c.to_state_config() == {
        "server_id": 0, "tick_ms": 2000, "min_session_timeout_ms": 4000,
        "max_session_timeout_ms": 40000, "super_digest": "super:x=", "skip_acl": False,
        "enforce_quota": False, "extended_types_enabled": False, "digest_auth_enabled": True,
        "sasl_users": {}, "x509_enabled": False, "config_data": b"",
        "container_max_never_used_ms": 0,
    }


def test_config_is_frozen() -> None:
    c = cfg()
    with pytest.raises(AttributeError):
        c.tick_ms = 5  # type: ignore[misc]


def test_secure_client_port_settings() -> None:
    c = cfg(secureClientPort="2281", **{
        "ssl.keyStore.location": "/k.pem", "zookeeper.ssl.clientAuth": "WANT",
        "ssl.enabledProtocols": "TLSv1.2,TLSv1.3", "ssl.keyStore.password": "pw"})
    assert c.secure_client_port == 2281 and c.x509_enabled
    assert c.tls is not None and c.tls.client_auth == "want"
    assert c.tls.enabled_protocols == ("TLSv1.2", "TLSv1.3") and "pw" not in repr(c.tls)
    assert c.to_state_config()["x509_enabled"]
    assert not cfg().x509_enabled and cfg().tls is None
    assert cfg(**{"authProvider.1": "org.apache.zookeeper.server.auth."
                                    "X509AuthenticationProvider"}).x509_enabled
    only_tls = ServerConfig.from_properties({"dataDir": "/d", "secureClientPort": "2281",
                                             "ssl.keyStore.location": "/k.pem"})
    assert only_tls.client_port is None and only_tls.secure_client_port == 2281


@pytest.mark.parametrize(("props", "key"), [
    ({"secureClientPort": "2281"}, "ssl.keyStore.location"),
    ({"secureClientPortAddress": "127.0.0.1"}, "secureClientPortAddress"),
    ({"secureClientPort": "2281", "ssl.keyStore.location": "/k", "ssl.clientAuth": "x"},
     "ssl.clientAuth"),
    ({"ssl.keyStore.type": "DER"}, "ssl.keyStore.type"),
    ({"ssl.ocsp": "true"}, "ssl.ocsp"),
    ({"ssl.authProvider": "ldap"}, "ssl.authProvider"),
    ({"X509AuthenticationProvider.superUser": "not a dn"},
     "X509AuthenticationProvider.superUser"),
    ({"ssl.handshakeDetectionTimeoutMillis": "0"}, "ssl.handshakeDetectionTimeoutMillis"),
    ({"ssl.keyStore.passwordPath": "/nonexistent/pw"}, "ssl.keyStore.passwordPath"),
])
def test_bad_tls_keys_name_the_key(props: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        cfg(**props)
    assert e.value.key == key


def test_neither_client_port_is_an_error() -> None:
    with pytest.raises(ConfigError) as e:
        ServerConfig.from_properties({"dataDir": "/d"})
    assert e.value.key == "clientPort"
