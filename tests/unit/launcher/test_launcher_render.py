"""launcher.render / probe / state.classify: status values, table, JSON, readiness loop."""

from __future__ import annotations

import io

import pytest

from launcher.hosts.base import ProcInfo
from launcher.plan import MemberState
from launcher.probe import Probe, parse_srvr, wait_ready
from launcher.render import (
    EnsembleStatus,
    MemberStatus,
    format_uptime,
    render_status,
    status_json,
    status_label,
)
from launcher.state import PidRecord, classify

READY_LEADER = Probe(True, True, "leader", "0x100000002")
READY_FOLLOWER = Probe(True, True, "follower", "0x100000002")
NOT_SERVING = Probe(True, True, None, None)


def member(i: int, status: str, role: str = "-", pid: int | None = None) -> MemberStatus:
    return MemberStatus(id=i, name=f"zk{i}", host=f"127.0.0.{i}", client_port=2181,
                        quorum_port=2888, election_port=3888, role=role, status=status,
                        zxid="0x100000002" if status.startswith("Up") else None, pid=pid,
                        uptime_s=75.0 if pid else None, data_dir=f"/s/zk{i}/data")


ENSEMBLE = EnsembleStatus("dev", (member(1, "Up", "follower", 11), member(2, "Up|L", "leader", 12),
                                  member(3, "Down")))


@pytest.mark.parametrize("state,probe,label", [
    (MemberState.STOPPED, None, "Down"),
    (MemberState.STALE, None, "Stale-pid"),
    (MemberState.PAUSED, None, "Paused"),
    (MemberState.RUNNING, READY_LEADER, "Up|L"),
    (MemberState.RUNNING, READY_FOLLOWER, "Up"),
    (MemberState.RUNNING, Probe(True, True, "standalone", "0x0"), "Up"),
    (MemberState.RUNNING, NOT_SERVING, "Unready"),
    (MemberState.RUNNING, None, "Unready"),
])
def test_status_label(state: MemberState, probe: Probe | None, label: str) -> None:
    assert status_label(state, probe) == label


@pytest.mark.parametrize("seconds,text", [(None, "-"), (5.9, "5s"), (75, "1m15s"),
                                          (3725, "1h02m"), (90000, "1d01h")])
def test_format_uptime(seconds: float | None, text: str) -> None:
    assert format_uptime(seconds) == text


def test_ensemble_status_quorum_and_leader() -> None:
    assert ENSEMBLE.serving == 2 and ENSEMBLE.quorum_size == 2 and ENSEMBLE.quorum_ok
    assert ENSEMBLE.leader == "zk2"
    lost = EnsembleStatus("dev", (member(1, "Up", "follower", 1), member(2, "Down"),
                                  member(3, "Paused")))
    assert not lost.quorum_ok and lost.leader is None


def test_status_json_has_the_table_fields() -> None:
    d = status_json(ENSEMBLE)
    assert d["ensemble"] == "dev" and d["members"] == 3 and d["leader"] == "zk2"
    assert d["quorum"] == {"ok": True, "serving": 2, "size": 2}
    assert d["hosts"] == "127.0.0.1:2181,127.0.0.2:2181,127.0.0.3:2181"
    row = d["member_status"][1]
    assert {k: row[k] for k in ("name", "host", "client_port", "quorum_port", "election_port",
                                "role", "status", "zxid", "pid", "uptime_s", "data_dir")} == {
        "name": "zk2", "host": "127.0.0.2", "client_port": 2181, "quorum_port": 2888,
        "election_port": 3888, "role": "leader", "status": "Up|L", "zxid": "0x100000002",
        "pid": 12, "uptime_s": 75.0, "data_dir": "/s/zk2/data"}


def test_render_status_plain_text_layout() -> None:
    out = io.StringIO()
    render_status([ENSEMBLE], out)
    text = out.getvalue()
    assert "\x1b[" not in text  # not a terminal: no colour codes
    lines = [ln.rstrip() for ln in text.splitlines()]
    assert lines[:4] == ["Ensemble: dev", "Members:  3", "Quorum:   ok (2/3, needs 2)",
                         "Leader:   zk2"]
    assert lines[4].split() == ["ID", "Host", "Client", "Quorum/Election", "Role", "Status",
                                "zxid", "PID", "Uptime", "Data", "Dir"]
    assert lines[6].split() == ["zk2", "127.0.0.2", "2181", "2888/3888", "leader", "Up|L",
                                "0x100000002", "12", "1m15s", "/s/zk2/data"]
    assert lines[7].split()[5] == "Down"
    assert lines[-1] == "Total members: 3"


def test_render_status_colours_when_forced() -> None:
    out = io.StringIO()
    render_status([ENSEMBLE], out, color=True)
    assert "\x1b[" in out.getvalue()


def test_parse_srvr() -> None:
    text = ("Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nZxid: 0x5\n"
            "Mode: follower\nNode count: 5\n")
    f = parse_srvr(text)
    assert f["Mode"] == "follower" and f["Zxid"] == "0x5"
    assert f["Zookeeper version"] == "3.8.0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_wait_ready_all_ready() -> None:
    clock = FakeClock()
    answers = {"zk1": [NOT_SERVING, READY_FOLLOWER], "zk2": [READY_LEADER]}
    seen: list[str] = []

    def probe_fn(host: str, port: int, t: float) -> Probe:
        name = {1: "zk1", 2: "zk2"}[port]
        return answers[name].pop(0) if len(answers[name]) > 1 else answers[name][0]

    res = wait_ready([("zk1", "h", 1), ("zk2", "h", 2)], lambda n: True, 10,
                     on_ready=lambda n, p: seen.append(n), clock=clock, sleep=clock.sleep,
                     probe_fn=probe_fn)
    assert set(res.ready) == {"zk1", "zk2"} and res.dead is None and not res.timed_out
    assert seen == ["zk2", "zk1"]


def test_wait_ready_stops_at_once_when_a_pid_dies() -> None:
    clock = FakeClock()
    res = wait_ready([("zk1", "h", 1)], lambda n: clock.now < 0.3, 60, clock=clock,
                     sleep=clock.sleep, probe_fn=lambda h, p, t: NOT_SERVING)
    assert res.dead == "zk1"
    assert clock.now < 1.0  # did not wait for the 60 s deadline


def test_wait_ready_times_out_with_the_last_probe() -> None:
    clock = FakeClock()
    res = wait_ready([("zk1", "h", 1)], lambda n: True, 2, clock=clock, sleep=clock.sleep,
                     probe_fn=lambda h, p, t: NOT_SERVING)
    assert res.timed_out == ("zk1",)
    assert res.last == {"zk1": NOT_SERVING}
    assert 2.0 <= clock.now < 2.5


def proc(cmdline: tuple[str, ...], state: str = "S") -> ProcInfo:
    return ProcInfo(pid=10, state=state, cmdline=cmdline, start_time_s=None)


def test_classify_states() -> None:
    rec = PidRecord(10, ("java", "/s/zk1/zoo.cfg"), "/s/zk1/zoo.cfg")
    assert classify(None, None).state is MemberState.STOPPED
    assert classify(rec, None).state is MemberState.STALE  # pid gone
    assert classify(rec, proc(("bash",))).state is MemberState.STALE  # pid reused
    assert classify(rec, proc(("java", "/s/zk1/zoo.cfg"))).state is MemberState.RUNNING
    assert classify(rec, proc(("java", "/s/zk1/zoo.cfg"), "T")).state is MemberState.PAUSED
    assert classify(rec, proc(("java", "/s/zk1/zoo.cfg"), "T")).pid == 10


def test_pid_record_parse() -> None:
    rec = PidRecord(10, ("a", "b"), "/c")
    assert PidRecord.parse(rec.to_json()) == rec
    assert PidRecord.parse(" 42\n") == PidRecord(42, (), "")
    assert PidRecord.parse("garbage") is None
