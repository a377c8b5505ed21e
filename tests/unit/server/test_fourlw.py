"""Four-letter words against goldens captured from Apache ZooKeeper 3.8.0 (golden/README.md).

The fake member is set to the state the real server had at capture time, so most
answers must match byte for byte once our version string is swapped for ZooKeeper's.
Where ZooKeeper prints in hash order (dump buckets, wchc sessions) both sides are
compared with the lines of each block sorted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.server.fake_status import FakeStatus, standalone_config
from zkpy.proto.opcodes import OpCode
from zkpy.server.config import ServerConfig
from zkpy.server.fourlw import (
    NOT_SERVING,
    FourLetterWords,
    environment,
    monitor_values,
    render_conf,
    render_cons,
    render_dirs,
    render_dump,
    render_envi,
    render_hash,
    render_isro,
    render_mntr,
    render_srvr,
    render_stat,
    render_wchc,
    render_wchp,
    render_wchs,
    version_string,
)
from zkpy.server.stats import ConnectionStats
from zkpy.server.status import QuorumInfo

GOLDEN = Path(__file__).parent / "golden"
ZK_VERSION = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
SID0 = 0x1000004F9FE0000
SID1 = 0x1000004F9FE0001


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def as_zk(text: str) -> str:
    return text.replace(version_string(), ZK_VERSION)


@pytest.fixture
def utc() -> Iterator[None]:
    """java.util.Date prints in the local zone; the goldens were taken in UTC."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "UTC")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


def wall_ms(text: str) -> int:
    """'2026-11-21 14:25:35' UTC -> epoch ms."""
    import calendar

    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S")) * 1000


def closed_traffic(st: FakeStatus, received: int, sent: int) -> None:
    """Packets of connections that are gone (still in the server totals)."""
    old = st.server_stats.new_connection()
    old.packets_received, old.packets_sent = received, sent
    old.close()


def add_self(st: FakeStatus, port: int) -> None:
    """The connection asking the 4lw: ZooKeeper counts its 4 bytes and stops reading it."""
    me = st.add_connection("127.0.0.1", port)
    me.stats.packets_received = 1
    me.stats.interest_ops = 0


def set_conn(cs: ConnectionStats, **kw: int | str) -> None:
    for k, v in kw.items():
        setattr(cs, k, v)


def populated_status() -> FakeStatus:
    """The state of golden/standalone_populated at capture time."""
    st = FakeStatus(standalone_config(), last_zxid=8, node_count=10)
    c1 = st.add_connection("127.0.0.1", 56006, established_ms=1795271125243)
    set_conn(c1.stats, packets_received=4, packets_sent=4, session_id=SID1, timeout_ms=10000,
             last_op_code=OpCode.GET_CHILDREN, last_cxid=3, last_zxid=8,
             last_response_ms=341444, last_latency_ms=2, zero_count=1, timed_count=3,
             timed_total_ms=8, timed_min_ms=2, max_latency_ms=4)
    c0 = st.add_connection("127.0.0.1", 56002, established_ms=1795271125215)
    set_conn(c0.stats, packets_received=30, packets_sent=30, session_id=SID0,
             timeout_ms=10000, last_op_code=OpCode.GET_DATA, last_cxid=0x1D, last_zxid=8,
             last_response_ms=341504, last_latency_ms=1, zero_count=1, timed_count=29,
             timed_total_ms=99, timed_min_ms=1, max_latency_ms=32)
    me = st.add_connection("127.0.0.1", 56044)
    me.stats.packets_received = 1
    me.stats.interest_ops = 0
    st.server_stats.set_latency(min_ms=0, max_ms=32, total_ms=57, count=17)
    st.watches = {SID1: ["/app/x"], SID0: ["/app/x", "/nope"]}
    st.ephemerals = {SID1: ["/app/eph3"], SID0: ["/app/eph2", "/app/eph1"]}
    st.expiry = {wall_ms("2026-11-21 14:25:35"): [SID1, SID0]}
    return st


def sort_blocks(text: str) -> list[list[str]]:
    """Split into blocks (a header line + its tab-indented lines); sort inside blocks."""
    blocks: list[list[str]] = []
    for line in text.split("\n"):
        if line.startswith("\t") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return [[b[0], *sorted(b[1:])] for b in blocks]


# ------------------------------------------------------------------ srvr / stat


def test_srvr_empty_matches_zookeeper() -> None:
    st = FakeStatus(standalone_config())
    closed_traffic(st, 1, 1)
    st.add_connection("127.0.0.1", 44848).stats.packets_received = 1
    assert as_zk(render_srvr(st)) == golden("standalone_empty/srvr.txt")


def test_srvr_populated_matches_zookeeper() -> None:
    st = populated_status()
    closed_traffic(st, 44 - 35, 43 - 34)
    assert as_zk(render_srvr(st)) == golden("standalone_populated/srvr.txt")


def test_stat_populated_matches_zookeeper() -> None:
    st = populated_status()
    # the capture order differs from cons; rebuild the list as stat saw it
    st.conns[2].remote = ("127.0.0.1", 56016)
    st.conns = [st.conns[2], st.conns[0], st.conns[1]]
    closed_traffic(st, 45 - 35, 44 - 34)
    assert as_zk(render_stat(st)) == golden("standalone_populated/stat.txt")


def test_stat_empty_matches_zookeeper() -> None:
    st = FakeStatus(standalone_config())
    closed_traffic(st, 2, 2)
    add_self(st, 44824)
    assert as_zk(render_stat(st)) == golden("standalone_empty/stat.txt")


def test_srvr_leader_has_proposal_sizes_line() -> None:
    cfg = quorum_config(2)
    st = FakeStatus(cfg, mode="leader", last_zxid=0x100000000,
                    quorum=QuorumInfo("leading - broadcast", 2, leader_id=2))
    closed_traffic(st, 0, 0)
    st.add_connection("127.0.0.2", 5000).stats.packets_received = 1
    assert as_zk(render_srvr(st)) == golden("quorum/n2_srvr.txt")


def test_srvr_follower_and_observer() -> None:
    for sid, mode in ((1, "follower"), (3, "observer")):
        st = FakeStatus(quorum_config(sid), mode=mode,
                        quorum=QuorumInfo(f"{mode}ing - broadcast", 2, leader_id=2))
        st.add_connection("127.0.0.1", 5000).stats.packets_received = 1
        assert as_zk(render_srvr(st)) == golden(f"quorum/n{sid}_srvr.txt")


def test_srvr_read_only_line_and_negative_zxid() -> None:
    st = FakeStatus(standalone_config(), mode="read-only", read_only=True, last_zxid=-1)
    text = render_srvr(st)
    lines = text.splitlines()
    assert lines[1] == "READ-ONLY mode; serving only read-only clients"
    assert "Zxid: 0xffffffffffffffff" in lines
    assert "Mode: read-only" in lines


def test_srvr_avg_latency_rounds_half_up_to_4_places() -> None:
    st = FakeStatus(standalone_config())
    cs = st.add_connection("127.0.0.1", 1).stats
    for lat in (1, 0, 0):
        cs.note_response(4, 1, 1, lat)
    assert "Latency min/avg/max: 0/0.3333/1\n" in render_srvr(st)


# ------------------------------------------------------------------ cons / crst / srst


def test_cons_populated_matches_zookeeper() -> None:
    assert render_cons(populated_status()) == golden("standalone_populated/cons.txt")


def test_cons_empty_matches_zookeeper() -> None:
    st = FakeStatus(standalone_config())
    add_self(st, 44848)
    assert render_cons(st) == golden("standalone_empty/cons.txt")


def test_cons_without_real_cxid_omits_lcxid() -> None:
    st = FakeStatus(standalone_config())
    cs = st.add_connection("127.0.0.1", 9, established_ms=5).stats
    cs.session_id = 0xABC
    cs.note_response(11, -2, 7)  # a ping: cxid -2 is not a real cxid
    line = render_cons(st).splitlines()[0]
    assert line == (" /127.0.0.1:9[1](queued=0,recved=0,sent=0,sid=0xabc,lop=PING,est=5,to=0,"
                    "lzxid=0x7,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)")


def test_crst_and_srst() -> None:
    st = populated_status()
    words = FourLetterWords(st)
    assert words.answer("crst") == golden("standalone_empty/crst.txt")
    assert all(c.stats.packets_received == 0 and c.stats.last_op == "NA" for c in st.conns)
    assert st.server_stats.packets_received == 35  # server totals survive crst
    assert words.answer("srst") == golden("standalone_empty/srst.txt")
    ss = st.server_stats
    assert (ss.packets_received, ss.packets_sent, ss.max_latency, ss.avg_latency) == (0, 0, 0, 0.0)
    st.conns[0].stats.packets_received += 2
    assert ss.packets_received == 2


# ------------------------------------------------------------------ conf


def quorum_config(myid: int) -> ServerConfig:
    props = {
        "tickTime": "2000", "initLimit": "10", "syncLimit": "5",
        "dataDir": f"/tmp/zkq/d{myid}", "4lw.commands.whitelist": "*",
        "server.1": "127.0.0.1:47605:41225;127.0.0.1:60177",
        "server.2": "127.0.0.2:46313:46175;127.0.0.2:60023",
        "server.3": "127.0.0.3:34593:51529:observer;127.0.0.3:43735",
    }
    return ServerConfig.from_properties(props, myid=myid)


def test_conf_standalone_matches_zookeeper() -> None:
    st = FakeStatus(standalone_config())
    assert render_conf(st) == golden("standalone_empty/conf.txt")


@pytest.mark.parametrize("myid", [1, 2, 3])
def test_conf_quorum_matches_zookeeper(myid: int) -> None:
    st = FakeStatus(quorum_config(myid), sizes=(642, 642))
    assert render_conf(st) == golden(f"quorum/n{myid}_conf.txt")


# ------------------------------------------------------------------ dump / watches


def test_dump_matches_zookeeper(utc: None) -> None:
    st = populated_status()
    ours = as_zk(render_dump(st))
    theirs = golden("standalone_populated/dump.txt")
    head_ours, _, conns_ours = ours.partition("Connections dump:\n")
    head_theirs, _, _ = theirs.partition("Connections dump:\n")
    assert sort_blocks(head_ours) == sort_blocks(head_theirs)
    # ZooKeeper groups connections by its own idle-expiry buckets (and keeps stale empty
    # ones); ours follow the sessions. Same line shapes.
    lines = conns_ours.splitlines()
    assert lines[0] == "Connections Sets (2)/(3):"
    assert "\tip: /127.0.0.1:56006 sessionId: 0x1000004f9fe0001" in lines
    assert "\tip: /127.0.0.1:56044 sessionId: 0x0" in lines
    assert "2 expire at Sat Nov 21 14:25:35 UTC 2026:" in lines


def test_dump_empty_head_matches_zookeeper() -> None:
    text = render_dump(FakeStatus(standalone_config()))
    assert text.startswith(golden("standalone_empty/dump.txt").partition("Connections dump:")[0])


def test_wchs_matches_zookeeper() -> None:
    assert render_wchs(populated_status()) == golden("standalone_populated/wchs.txt")
    assert render_wchs(FakeStatus(standalone_config())) == golden("standalone_empty/wchs.txt")


def test_wchc_matches_zookeeper() -> None:
    ours = sorted(map(tuple, sort_blocks(render_wchc(populated_status()))))
    theirs = sorted(map(tuple, sort_blocks(golden("standalone_populated/wchc.txt"))))
    assert ours == theirs
    assert render_wchc(FakeStatus(standalone_config())) == golden("standalone_empty/wchc.txt")


def test_wchp_matches_zookeeper() -> None:
    assert render_wchp(populated_status()) == golden("standalone_populated/wchp.txt")
    assert render_wchp(FakeStatus(standalone_config())) == golden("standalone_empty/wchp.txt")


# ------------------------------------------------------------------ small words


def test_dirs_isro_ruok_gtmk_hash_match_zookeeper() -> None:
    st = FakeStatus(standalone_config())
    words = FourLetterWords(st)
    assert render_dirs(st) == golden("standalone_empty/dirs.txt")
    assert render_isro(st) == golden("standalone_empty/isro.txt") == "rw"
    assert words.answer("ruok") == golden("standalone_empty/ruok.txt") == "imok"
    assert words.answer("gtmk") == golden("standalone_empty/gtmk.txt") == "306"
    assert render_hash(st) == golden("standalone_empty/hash.txt") == ""


def test_isro_read_only_and_not_running() -> None:
    assert render_isro(FakeStatus(standalone_config(), read_only=True)) == "ro"
    assert render_isro(FakeStatus(standalone_config(), serving=False)) == "null"


def test_hash_lines() -> None:
    st = FakeStatus(standalone_config(), digests=[(0x100000001, 1234), (0x100000002, 99)])
    assert render_hash(st) == "100000001: 1234\n100000002: 99\n"


def test_stmk_sets_mask_from_following_bytes() -> None:
    words = FourLetterWords(FakeStatus(standalone_config()))
    assert words.answer("stmk", (42).to_bytes(8, "big")) == "42"
    assert words.answer("gtmk") == "42"
    assert words.answer("stmk") == "42"  # no mask bytes: unchanged


def test_envi_shape_follows_zookeeper() -> None:
    ours = render_envi().splitlines()
    theirs = golden("standalone_empty/envi.txt").splitlines()
    assert ours[0] == theirs[0] == "Environment:"
    assert ours[1] == f"zookeeper.version={version_string()}"
    assert ours[2].startswith("host.name=")
    ours_keys = [line.split("=", 1)[0] for line in ours[1:]]
    theirs_keys = [line.split("=", 1)[0] for line in theirs[1:]]
    # JVM keys become python.* ones; the common ones keep ZooKeeper's names and order
    common = [k for k in theirs_keys if k in ours_keys]
    assert common == [k for k in ours_keys if k in theirs_keys]
    assert {"zookeeper.version", "host.name", "os.name", "os.arch", "os.version", "user.name",
            "user.home", "user.dir", "os.memory.free", "os.memory.max",
            "os.memory.total"} <= set(common)
    assert all("=" in line for line in ours[1:])
    assert render_envi([("a", "b")]) == "Environment:\na=b\n"
    assert environment()[0][0] == "zookeeper.version"


# ------------------------------------------------------------------ mntr


def parse_mntr(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("\t")
        out[key] = value
    return out


def test_mntr_keys_and_value_formats_follow_zookeeper() -> None:
    st = populated_status()
    st.global_sessions, st.watch_count, st.ephemerals_count = 2, 4, 3
    text = render_mntr(st)
    assert text.endswith("\n") and all("\t" in line for line in text.splitlines())
    ours = parse_mntr(as_zk(text))
    theirs = parse_mntr(golden("standalone_populated/mntr.txt"))
    assert list(ours)[:2] == list(theirs)[:2] == ["zk_version", "zk_server_state"]
    assert ours["zk_version"] == theirs["zk_version"]
    missing = set(ours) - set(theirs)
    assert not missing, f"keys ZooKeeper does not have: {missing}"
    for key in ("zk_znode_count", "zk_ephemerals_count", "zk_global_sessions",
                "zk_watch_count", "zk_server_state", "zk_outstanding_requests",
                "zk_min_latency", "zk_max_latency", "zk_avg_latency", "zk_local_sessions",
                "zk_connection_drop_probability"):
        assert ours[key] == theirs[key], key
    assert ours["zk_num_alive_connections"] == "3"
    # types: every value ZooKeeper prints as an integer is an integer here too
    for key, value in ours.items():
        if key in ("zk_version", "zk_server_state"):
            continue
        if "." in theirs[key]:
            assert "." in value, key
        else:
            int(value)


@pytest.mark.parametrize(("myid", "mode", "peer_state"), [
    (1, "follower", "following - broadcast"),
    (2, "leader", "leading - broadcast"),
    (3, "observer", "observing - broadcast"),
])
def test_mntr_quorum_keys_follow_zookeeper(myid: int, mode: str, peer_state: str) -> None:
    q = QuorumInfo(peer_state, 2, leader_id=2, observer_master_id=2,
                   learners=2, synced_followers=1, synced_observers=1, leader_uptime_ms=8056)
    st = FakeStatus(quorum_config(myid), mode=mode, quorum=q)
    ours = parse_mntr(as_zk(render_mntr(st)))
    theirs = parse_mntr(golden(f"quorum/n{myid}_mntr.txt"))
    head = 4 if mode == "observer" else 3
    assert list(ours)[:head] == list(theirs)[:head]
    assert set(ours) <= set(theirs), set(ours) - set(theirs)
    leader_keys = {"zk_learners", "zk_synced_followers", "zk_synced_non_voting_followers",
                   "zk_synced_observers", "zk_pending_syncs", "zk_leader_uptime",
                   "zk_last_proposal_size", "zk_min_proposal_size", "zk_max_proposal_size"}
    if mode == "leader":
        assert leader_keys <= set(ours)
        for k in leader_keys - {"zk_leader_uptime"}:
            assert ours[k] == theirs[k], k
    else:
        assert not leader_keys & set(ours)
    assert ours["zk_quorum_size"] == theirs["zk_quorum_size"] == "2"


def test_monitor_values_extra_metrics_and_no_fd_counts() -> None:
    st = FakeStatus(standalone_config(), extra={"fsync_count": 3, "avg_fsync_ms": 0.5,
                                                "znode_count": 999})
    v = monitor_values(st, fd_counts=lambda: None)
    assert v["fsync_count"] == 3 and v["avg_fsync_ms"] == 0.5
    assert v["znode_count"] == 5  # extras never override the core gauges
    assert "open_file_descriptor_count" not in v


# ------------------------------------------------------------------ dispatcher rules


def test_whitelist_message() -> None:
    st = FakeStatus(standalone_config(**{"4lw.commands.whitelist": "ruok"}))
    words = FourLetterWords(st)
    assert words.answer("ruok") == "imok"
    assert words.answer("srvr", b"").startswith("Zookeeper version: ")  # always enabled
    assert words.answer("mntr") == "mntr is not executed because it is not in the whitelist.\n"
    assert words.answer("stat") == "stat is not executed because it is not in the whitelist.\n"


def test_default_whitelist_is_srvr_only() -> None:
    st = FakeStatus(ServerConfig.from_properties({"dataDir": "/d", "clientPort": "1"}))
    words = FourLetterWords(st, st.config)
    assert words.answer("ruok") == "ruok is not executed because it is not in the whitelist.\n"
    assert words.answer("srvr") is not None and "Mode: standalone" in str(words.answer("srvr"))


def test_unknown_words_are_not_answered() -> None:
    words = FourLetterWords(FakeStatus(standalone_config()))
    for w in ("RUOK", "xxxx", "\x00\x00\x00\x2c", "ruo"):
        assert words.answer(w) is None


@pytest.mark.parametrize("word", ["srvr", "stat", "conf", "cons", "crst", "srst", "dump",
                                  "mntr", "wchs", "wchc", "wchp", "dirs"])
def test_not_serving(word: str) -> None:
    words = FourLetterWords(FakeStatus(standalone_config(), serving=False))
    assert words.answer(word) == NOT_SERVING + "\n"


def test_not_serving_exceptions() -> None:
    words = FourLetterWords(FakeStatus(standalone_config(), serving=False))
    assert words.answer("ruok") == "imok"
    assert words.answer("isro") == "null"
    assert words.answer("hash") == NOT_SERVING
    assert words.answer("gtmk") == "306"
    assert str(words.answer("envi")).startswith("Environment:\n")


def test_every_word_answers_when_serving() -> None:
    st = populated_status()
    words = FourLetterWords(st)
    for w in sorted(("conf cons crst dirs dump envi gtmk hash isro mntr ruok srst srvr stat "
                     "stmk wchc wchp wchs").split()):
        assert isinstance(words.answer(w), str), w


def test_version_string_shape() -> None:
    v = version_string()
    assert v.startswith("3.8.0-zkpy-")
    assert v.endswith(" UTC") and ", built on " in v
    ver, _, built = v.partition(", built on ")
    time.strptime(built, "%Y-%m-%d %H:%M UTC")
