"""launcher.spec: port assignment, validation, JSON round trip, zoo.cfg and argv rendering."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from launcher.spec import (
    MEMBER_COMMANDS,
    EnsembleSpec,
    SpecError,
    assign_ports,
    build_spec,
    member_argv,
    parse_member_command,
    parse_ssh_target,
    render_zoo_cfg,
    spec_from_json,
    spec_to_json,
    validate_name,
)


def test_build_spec_uses_zookeeper_port_habits_from_2181() -> None:
    spec = build_spec("dev", 3)
    ports = [(m.client_port, m.quorum_port, m.election_port, m.admin_port) for m in spec.members]
    assert ports == [(2181, 2888, 3888, 8080), (2182, 2889, 3889, 8081), (2183, 2890, 3890, 8082)]
    assert [m.name for m in spec.members] == ["zk1", "zk2", "zk3"]
    assert [m.id for m in spec.members] == [1, 2, 3]
    assert spec.hosts == "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183"
    assert spec.quorum_size == 2


def test_build_spec_members_on_distinct_hosts_share_port_numbers() -> None:
    spec = build_spec("dev", 3, hosts=["127.0.0.1", "127.0.0.2", "127.0.0.3"], base_port=2181)
    assert {m.client_port for m in spec.members} == {2181}
    assert [m.host for m in spec.members] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


def test_build_spec_hosts_are_used_round_robin() -> None:
    spec = build_spec("dev", 3, hosts=["127.0.0.1", "127.0.0.2"], base_port=3000)
    assert [(m.host, m.client_port) for m in spec.members] == [
        ("127.0.0.1", 3000), ("127.0.0.2", 3000), ("127.0.0.1", 3001)]


def test_assign_ports_skips_blocks_with_a_busy_port() -> None:
    busy = {("h", 2181 + 707)}  # the first block's quorum port

    def is_free(host: str, port: int) -> bool:
        return (host, port) not in busy

    ports = assign_ports(["h"], None, is_free)
    assert ports[0]["client"] == 2191


def test_assign_ports_ignores_admin_when_admin_disabled() -> None:
    ports = assign_ports(["h"], None, lambda h, p: p != 8080, admin_enabled=False)
    assert ports[0]["client"] == 2181


def test_assign_ports_explicit_base_is_taken_as_given() -> None:
    ports = assign_ports(["h", "h"], 40000, lambda h, p: False)
    assert [p["client"] for p in ports] == [40000, 40001]


def test_assign_ports_rejects_a_base_without_room() -> None:
    with pytest.raises(SpecError, match="--base-port"):
        assign_ports(["h"], 65000, lambda h, p: True)


def test_assign_ports_gives_up_with_a_hint() -> None:
    with pytest.raises(SpecError, match="pass --base-port"):
        assign_ports(["h"], None, lambda h, p: False, max_attempts=3)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "-x", "x" * 64, "sp ace"])
def test_validate_name_rejects(name: str) -> None:
    with pytest.raises(SpecError, match="name"):
        validate_name(name)


@pytest.mark.parametrize("n", [0, -1, 100])
def test_build_spec_rejects_member_counts(n: int) -> None:
    with pytest.raises(SpecError, match="-n"):
        build_spec("dev", n)


def test_validate_rejects_two_members_on_one_port() -> None:
    spec = build_spec("dev", 2, base_port=3000)
    m1, m2 = spec.members
    clash = replace(m2, client_port=m1.client_port)
    with pytest.raises(SpecError, match="3000 is both zk1 client port and zk2 client port"):
        replace(spec, members=(m1, clash)).validate()


def test_validate_allows_same_port_on_different_hosts() -> None:
    spec = build_spec("dev", 2, base_port=3000)
    m1, m2 = spec.members
    replace(spec, members=(m1, replace(m2, host="127.0.0.2", client_port=3000,
                                       quorum_port=m1.quorum_port,
                                       election_port=m1.election_port,
                                       admin_port=m1.admin_port))).validate()


def test_validate_rejects_duplicate_ids_and_unknown_placeholders() -> None:
    spec = build_spec("dev", 2, base_port=3000)
    m1, m2 = spec.members
    with pytest.raises(SpecError, match="duplicate member id"):
        replace(spec, members=(m1, replace(m2, id=1))).validate()
    with pytest.raises(SpecError, match="unknown placeholder"):
        replace(spec, member_command=("x", "{config}", "{nope}")).validate()
    with pytest.raises(SpecError, match="must pass"):
        replace(spec, member_command=("x",)).validate()


def test_unknown_server_kind() -> None:
    with pytest.raises(SpecError, match="--server"):
        build_spec("dev", 1, server_kind="etcd")


def test_member_lookup_by_id_or_name() -> None:
    spec = build_spec("dev", 3)
    assert spec.member("2").name == "zk2"
    assert spec.member("zk3").id == 3
    assert [m.name for m in spec.select(["3", "zk1"])] == ["zk1", "zk3"]
    assert spec.select([]) == spec.members
    with pytest.raises(SpecError, match="no member '7'.*zk1, zk2, zk3"):
        spec.member("7")


def test_json_round_trip() -> None:
    spec = build_spec("dev", 3, ssh=["root@10.0.0.1:2222"], remote_dir="/srv/zk",
                      server_kind="zookeeper")
    text = spec_to_json(spec)
    assert json.loads(text)["members"][0]["client_port"] == 2181
    assert spec_from_json(text) == spec


def test_json_rejects_other_versions_and_junk() -> None:
    d = json.loads(spec_to_json(build_spec("dev", 1)))
    d["version"] = 99
    with pytest.raises(SpecError, match="version"):
        spec_from_json(json.dumps(d))
    with pytest.raises(SpecError, match="not JSON"):
        spec_from_json("{")
    with pytest.raises(SpecError, match="malformed"):
        spec_from_json(json.dumps({"version": 1, "members": [{"id": 1}]}))


def test_zoo_cfg_standalone_has_no_server_lines() -> None:
    spec = build_spec("dev", 1, hosts=["127.0.0.5"], base_port=3000)
    cfg = render_zoo_cfg(spec, spec.members[0], "/d/zk1/data")
    assert "server." not in cfg
    for line in ("tickTime=2000", "dataDir=/d/zk1/data", "clientPort=3000",
                 "clientPortAddress=127.0.0.5", "4lw.commands.whitelist=*",
                 "admin.enableServer=true", "admin.serverPort=8899",
                 "admin.serverAddress=127.0.0.5"):
        assert line in cfg.splitlines()


def test_zoo_cfg_ensemble_lists_every_member() -> None:
    spec = build_spec("dev", 3, base_port=3000, admin_enabled=False)
    cfg = render_zoo_cfg(spec, spec.members[1], "/d")
    assert "server.1=127.0.0.1:3707:4707;127.0.0.1:3000" in cfg
    assert "server.3=127.0.0.1:3709:4709;127.0.0.1:3002" in cfg
    assert "admin.enableServer=false" in cfg
    assert "admin.serverPort" not in cfg


def test_zoo_cfg_is_read_by_our_server_config() -> None:
    from zkpy.server.config import ServerConfig, parse_properties

    spec = build_spec("dev", 3, base_port=3000)
    m = spec.members[1]
    cfg = ServerConfig.from_properties(parse_properties(render_zoo_cfg(spec, m, "/d")), myid=2)
    assert cfg.client_port == 3001
    assert cfg.admin_port == 8900 and cfg.admin_address == "127.0.0.1"
    assert [x.sid for x in cfg.members] == [1, 2, 3]
    assert cfg.four_letter_whitelist == frozenset({"*"})


def test_member_argv_fills_placeholders() -> None:
    spec = build_spec("dev", 1)
    argv = member_argv(spec, spec.members[0], python="/py", config="/c/zoo.cfg",
                       member_dir="/c", data_dir="/c/data")
    assert argv == ["/py", "-m", "zkpy", "server", "--config", "/c/zoo.cfg"]
    zk = replace(spec, member_command=MEMBER_COMMANDS["zookeeper"])
    argv = member_argv(zk, zk.members[0], python="/py", config="/c/zoo.cfg", member_dir="/c",
                       data_dir="/c/data")
    assert "-Dlog4j.configuration=file:/c/log4j.properties" in argv
    assert argv[-1] == "/c/zoo.cfg"


def test_parse_member_command() -> None:
    assert parse_member_command("java -cp 'a b' Main {config}") == (
        "java", "-cp", "a b", "Main", "{config}")
    with pytest.raises(SpecError):
        parse_member_command("  ")
    spec = build_spec("dev", 1, member_command=("run", "{config}"))
    assert spec.server_kind == "custom"


@pytest.mark.parametrize("target,expected", [
    ("root@h", ("root", "h", 22)),
    ("ssh://u@10.0.0.3:2222", ("u", "10.0.0.3", 2222)),
    ("h.example.com", (None, "h.example.com", 22)),
])
def test_parse_ssh_target(target: str, expected: tuple[str | None, str, int]) -> None:
    assert parse_ssh_target(target) == expected


def test_ssh_members_bind_their_ssh_host_unless_hosts_given() -> None:
    spec = build_spec("r", 2, ssh=["u@10.0.0.1", "u@10.0.0.2"])
    assert [(m.host, m.ssh, m.client_port) for m in spec.members] == [
        ("10.0.0.1", "u@10.0.0.1", 2181), ("10.0.0.2", "u@10.0.0.2", 2181)]
    assert all(m.is_remote for m in spec.members)


def test_spec_is_frozen() -> None:
    spec: EnsembleSpec = build_spec("dev", 1)
    with pytest.raises(AttributeError):
        spec.name = "x"  # type: ignore[misc]
