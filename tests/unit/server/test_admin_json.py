"""AdminServer command responses and /metrics, against JSON captured from ZooKeeper 3.8.0."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.server.fake_status import FakeStatus, standalone_config
from tests.unit.server.test_fourlw import quorum_config
from zkpy.server.admin import (
    COMMANDS,
    command_names,
    command_response,
    render_index,
    render_metrics,
    run_command,
    to_jackson_json,
)
from zkpy.server.fourlw import NOT_SERVING, FourLetterWords, version_string
from zkpy.server.status import LastSnapshot, QuorumInfo

GOLDEN = Path(__file__).parent / "golden"
SID = 72057618316066816


def golden_json(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def shape(value: Any) -> Any:
    """Key order and value types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return ["list", shape(value[0])] if value else ["list"]
    if value is None:
        return "null"
    return type(value).__name__


def unordered_shape(value: Any) -> Any:
    """shape() with object keys sorted (Jackson's bean property order varies by run)."""
    if isinstance(value, dict):
        return sorted((k, unordered_shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return ["list", unordered_shape(value[0])] if value else ["list"]
    return shape(value)


def admin_status() -> FakeStatus:
    """The state golden/admin was captured in: one session with /app/eph9 and watches."""
    st = FakeStatus(standalone_config(), last_zxid=15, node_count=8)
    c = st.add_connection("127.0.0.1", 58826, established_ms=1795271158853)
    cs = c.stats
    cs.packets_received = cs.packets_sent = 5
    cs.session_id, cs.timeout_ms = SID, 10000
    for lat in (0, 5, 3, 2, 2):
        cs.note_response(3, 4, 15, lat)
    # ZooKeeper's server-wide latency counted other requests than the connection's
    st.server_stats.set_latency(min_ms=1, max_ms=5, total_ms=14, count=5)
    st.watches = {SID: ["/app/x", "/nope"]}
    st.ephemerals = {SID: ["/app/eph9"]}
    st.expiry = {386000: [SID]}
    st.sizes = (201328512, 201328512)
    st.snapshot = LastSnapshot(0xD, 1795271154)
    return st


# ------------------------------------------------------------------ JSON printer


def test_jackson_printer_reproduces_every_golden_byte_for_byte() -> None:
    files = sorted((GOLDEN / "admin").glob("*.json")) + sorted((GOLDEN / "quorum").glob("*.json"))
    assert len(files) > 40
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert to_jackson_json(json.loads(text)) == text, f.name


def test_jackson_printer_edge_cases() -> None:
    assert to_jackson_json({}) == "{ }"
    assert to_jackson_json([]) == "[ ]"
    assert to_jackson_json({"a": [], "b": {}}) == '{\n  "a" : [ ],\n  "b" : { }\n}'
    assert to_jackson_json({"x": [1, 2.5, None, True, "s\"\n\u00e9"]}) == (
        '{\n  "x" : [ 1, 2.5, null, true, "s\\"\\n\u00e9" ]\n}')
    assert to_jackson_json({"f": 1e7, "g": 0.0}) == '{\n  "f" : 1.0E7,\n  "g" : 0.0\n}'
    assert to_jackson_json({1: 2}) == '{\n  "1" : 2\n}'


def test_command_response_order() -> None:
    assert list(command_response("x", {"a": 1})) == ["a", "command", "error"]
    lead = command_response("leader", {"error": "server is not initialized"})
    assert lead == {"error": "server is not initialized", "command": "leader"}
    assert list(lead) == ["error", "command"]


# ------------------------------------------------------------------ commands vs goldens

SHAPE_CASES = ["srvr", "stat", "cons", "conf", "crst", "srst", "dump", "wchs", "wchc", "wchp",
               "dirs", "isro", "ruok", "gtmk", "lead", "obsr", "orst", "icfg", "lsnp",
               "voting_view", "zabstate", "bogus"]


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_standalone_command_shape_matches_zookeeper(name: str) -> None:
    ours = run_command(admin_status(), name)
    theirs = golden_json(f"admin/{name}.json")
    if name == "obsr":  # ZooKeeper's empty observer list is a set; ours a list
        theirs["observers"] = list(theirs["observers"])
    assert shape(ours) == shape(theirs)


def test_hash_shape() -> None:
    assert run_command(admin_status(), "hash") == golden_json("admin/hash.json")
    st = admin_status()
    st.digests = [(1, 2)]
    assert run_command(st, "hash")["digests"] == [{"zxid": 1, "digest": 2}]


@pytest.mark.parametrize("name", ["dump", "wchs", "wchc", "wchp", "dirs", "isro", "ruok",
                                  "crst", "srst", "gtmk", "lsnp", "bogus", "lead",
                                  "voting_view", "zabstate", "orst", "obsr", "icfg"])
def test_standalone_command_values_match_zookeeper(name: str) -> None:
    ours = run_command(admin_status(), name)
    theirs = golden_json(f"admin/{name}.json")
    if name == "icfg":  # our fake config text is not the captured file
        ours["initial_configuration"] = theirs["initial_configuration"]
    assert ours == theirs


def test_cons_values_match_zookeeper() -> None:
    ours = run_command(admin_status(), "cons")
    theirs = golden_json("admin/cons.json")
    for volatile in ("last_response_time", "last_operation", "last_latency"):
        ours["connections"][0].pop(volatile)
        theirs["connections"][0].pop(volatile)
    assert ours == theirs


def test_srvr_values_match_zookeeper() -> None:
    st = admin_status()
    st.server_stats.note_response_size(93)
    st.server_stats.note_response_size(16)
    ours = run_command(st, "srvr")
    theirs = golden_json("admin/srvr.json")
    for r in (ours, theirs):
        r["server_stats"].pop("uptime")
    assert ours["version"] == version_string()
    ours["version"] = theirs["version"]
    assert ours == theirs


def test_conf_values_match_zookeeper() -> None:
    assert run_command(admin_status(), "conf") == golden_json("admin/conf.json")
    assert run_command(admin_status(), "configuration")["command"] == "configuration"


def test_mntr_keys_subset_of_zookeeper() -> None:
    ours = run_command(admin_status(), "mntr")
    theirs = golden_json("admin/mntr.json")
    assert list(ours)[:2] == ["version", "server_state"]
    assert set(ours) <= set(theirs)
    assert isinstance(ours["avg_latency"], float)


def test_envi_sysp_stmk() -> None:
    st = admin_status()
    env = run_command(st, "envi")
    assert env["zookeeper.version"] == version_string() and env["command"] == "environment"
    sysp = run_command(FakeStatus(standalone_config(**{
        "ssl.keyStore.password": "hunter2", "someKey": "v"})), "sysp")
    assert sysp["zookeeper.ssl.keyStore.password"] == "******"
    assert sysp["zookeeper.someKey"] == "v"
    keys = [k for k in sysp if k not in ("command", "error")]
    assert keys == sorted(keys)
    words = FourLetterWords(st)
    assert run_command(st, "stmk", {"traceMask": "7"}, words)["tracemask"] == 7
    assert words.answer("gtmk") == "7"
    assert run_command(st, "stmk", {}, words)["error"] == (
        "setTraceMask requires long traceMask argument")
    assert run_command(st, "stmk", {"traceMask": "x"}, words)["error"] == (
        "setTraceMask requires long traceMask argument, got x")


def test_resets_have_effect() -> None:
    st = admin_status()
    run_command(st, "crst")
    assert st.conns[0].stats.packets_received == 0
    assert st.server_stats.packets_received == 5
    run_command(st, "srst")
    assert st.server_stats.packets_received == 0 and st.server_stats.max_latency == 0


def test_not_serving_and_aliases() -> None:
    st = FakeStatus(standalone_config(), serving=False)
    assert run_command(st, "srvr") == {"command": "srvr", "error": NOT_SERVING}
    assert run_command(st, "mntr")["command"] == "monitor"  # needs no running server
    assert run_command(st, "envi")["error"] is None
    for cmd in COMMANDS:
        for name in cmd.names:
            r = run_command(admin_status(), name)
            assert r["command"] == cmd.primary, name
            if name not in ("lead", "leader", "stmk", "set_trace_mask"):
                assert r["error"] is None, name


@pytest.mark.parametrize("myid", [1, 2, 3])
def test_quorum_commands_match_zookeeper(myid: int) -> None:
    mode = {1: "follower", 2: "leader", 3: "observer"}[myid]
    q = QuorumInfo(f"{mode[:-2] if mode != 'observer' else 'observ'}ing - broadcast", 2,
                   leader_id=2, leader_address="127.0.0.2:46313", synced_observers=1)
    st = FakeStatus(quorum_config(myid), mode=mode, quorum=q,
                    last_zxid=0x100000000 if myid == 2 else 0)
    assert run_command(st, "lead") == golden_json(f"quorum/n{myid}_admin_lead.json")
    assert run_command(st, "conf") == golden_json(f"quorum/n{myid}_admin_conf.json")
    assert run_command(st, "voting_view") == golden_json(
        f"quorum/n{myid}_admin_voting_view.json")
    assert run_command(st, "zabstate") == golden_json(f"quorum/n{myid}_admin_zabstate.json")
    assert unordered_shape(run_command(st, "srvr")) == unordered_shape(
        golden_json(f"quorum/n{myid}_admin_srvr.json"))
    ours_mntr = run_command(st, "mntr")
    assert set(ours_mntr) <= set(golden_json(f"quorum/n{myid}_admin_mntr.json"))


def test_index_matches_zookeeper_modulo_commands_we_lack() -> None:
    ours = render_index("/commands")
    theirs = (GOLDEN / "admin" / "index.html").read_text()
    ours_names = re.findall(r'href="/commands/([a-z_]+)"', ours)
    theirs_names = re.findall(r'href="/commands/([a-z_]+)"', theirs)
    assert ours_names == sorted(ours_names) == command_names()
    assert ours_names == theirs_names
    assert ours == theirs
    assert render_index("/cmds/").startswith('<a href="/cmds/configuration">')


# ------------------------------------------------------------------ metrics

PROM_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$')


def test_metrics_exposition_format() -> None:
    st = admin_status()
    st.extra = {"fsync_count": 3, "weird-name.x": 1.5}
    text = render_metrics(st)
    assert text.endswith("\n")
    seen_types: dict[str, str] = {}
    samples: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter")
            assert name not in seen_types, f"duplicate TYPE {name}"
            seen_types[name] = kind
            continue
        assert PROM_LINE.match(line), line
        name = line.split("{")[0].split(" ")[0]
        assert name in seen_types, f"sample before TYPE: {line}"
        samples[name] = line
    assert samples["znode_count"] == "znode_count 8"
    assert samples["avg_latency"] == "avg_latency 2.8"
    assert seen_types["packets_received"] == "counter"
    assert samples["fsync_count"] == "fsync_count 3"
    assert samples["weird_name_x"] == "weird_name_x 1.5"
    info = samples["server_info"]
    assert f'version="{version_string()}"' in info and 'server_state="standalone"' in info
    assert "zk_" not in text.replace("mntr zk_", "")


def test_metrics_label_escaping() -> None:
    st = FakeStatus(standalone_config(), mode='odd"mode\\x')
    line = next(ln for ln in render_metrics(st).splitlines() if ln.startswith("server_info"))
    assert 'server_state="odd\\"mode\\\\x"' in line
