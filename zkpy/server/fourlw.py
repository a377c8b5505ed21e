"""Four-letter words (ruok, srvr, stat, mntr, ...) rendered in ZooKeeper 3.8's exact text.

Rules:
- ``render_*`` functions are pure text over a MemberStatus (plus explicit ``now`` values
  where a clock shows through); ``FourLetterWords.answer`` adds the whitelist, the
  not-serving answer and the two side effects (crst, srst).
- Formats follow the ZooKeeper command classes (server/command/*Command.java,
  ServerCnxn.dumpConnectionInfo, ServerStats.toString, ExpiryQueue.dump, WatchManager,
  ZooKeeperServer/QuorumZooKeeperServer.dumpConf); goldens captured from a live 3.8.0
  are in tests/unit/server/golden/.
- ``monitor_values`` is the one source of mntr numbers: the 4lw, the admin ``monitor``
  command and the Prometheus ``/metrics`` page all render it.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import zkpy

from .config import ServerConfig
from .stats import java_double
from .status import ConnectionView, MemberStatus

__all__ = [
    "FOUR_LETTER_WORDS",
    "NOT_SERVING",
    "DEFAULT_TRACE_MASK",
    "FourLetterWords",
    "version_string",
    "render_srvr",
    "render_stat",
    "render_cons",
    "render_conf",
    "render_dump",
    "render_mntr",
    "render_wchs",
    "render_wchc",
    "render_wchp",
    "render_dirs",
    "render_isro",
    "render_envi",
    "render_hash",
    "watches_by_path",
    "monitor_values",
    "environment",
    "connection_line",
    "java_date",
]

NOT_SERVING = "This ZooKeeper instance is not currently serving requests"
READ_ONLY_LINE = "READ-ONLY mode; serving only read-only clients"
DEFAULT_TRACE_MASK = 306  # ZooTrace's default text trace level, what gtmk prints
FOUR_LETTER_WORDS = frozenset({
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok",
    "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
})


# ------------------------------------------------------------------------------ helpers


@lru_cache(maxsize=1)
def version_string() -> str:
    """``3.8.0-zkpy-<version>, built on <yyyy-MM-dd HH:mm> UTC`` (ZooKeeper's shape:
    tools split on '-' and ',' and read ``Zookeeper version:`` / ``zk_version``)."""
    try:
        built = Path(zkpy.__file__).stat().st_mtime
    except OSError:
        built = 0.0
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(built))
    return f"{zkpy.ZOOKEEPER_COMPAT_VERSION}-zkpy-{zkpy.__version__}, built on {stamp} UTC"


def java_date(wall_ms: int) -> str:
    """java.util.Date.toString in the local zone: ``Sat Nov 21 14:25:35 UTC 2026``."""
    t = time.localtime(wall_ms / 1000)
    return time.strftime("%a %b %d %H:%M:%S ", t) + (t.tm_zone or "UTC") + time.strftime(
        " %Y", t)


def _addr(conn: ConnectionView) -> str:
    ip, port = conn.remote
    return f"/{ip}:{port}"


def connection_line(conn: ConnectionView, brief: bool) -> str:
    """ServerCnxn.dumpConnectionInfo, without the trailing newline."""
    st = conn.stats
    ops = st.interest_ops
    parts = [f" {_addr(conn)}[{'0' if ops == 0 else format(ops, 'x')}](queued={conn.outstanding}"
             f",recved={st.packets_received},sent={st.packets_sent}"]
    if not brief and st.session_id != 0:
        parts.append(f",sid=0x{st.session_id:x},lop={st.last_op},est={st.established_ms}"
                     f",to={st.timeout_ms}")
        if st.last_cxid >= 0:
            parts.append(f",lcxid=0x{st.last_cxid:x}")
        parts.append(f",lzxid=0x{st.last_zxid & 0xFFFFFFFFFFFFFFFF:x},lresp={st.last_response_ms}"
                     f",llat={st.last_latency_ms},minlat={st.min_latency}"
                     f",avglat={st.avg_latency},maxlat={st.max_latency_ms}")
    parts.append(")")
    return "".join(parts)


def _hex(n: int) -> str:
    """Long.toHexString (two's complement for negatives)."""
    return format(n & 0xFFFFFFFFFFFFFFFF, "x")


# ------------------------------------------------------------------------------ renderers


def render_srvr(status: MemberStatus, *, clients: bool = False) -> str:
    """srvr (and stat with ``clients=True``): StatCommand + ServerStats.toString."""
    ss = status.server_stats
    out = [f"Zookeeper version: {version_string()}\n"]
    if status.read_only:
        out.append(READ_ONLY_LINE + "\n")
    conns = list(status.connections())
    if clients:
        out.append("Clients:\n")
        out.extend(connection_line(c, True) + "\n" for c in conns)
        out.append("\n")
    out.append(f"Latency min/avg/max: {ss.min_latency}/{java_double(ss.avg_latency)}"
               f"/{ss.max_latency}\n")
    out.append(f"Received: {ss.packets_received}\n")
    out.append(f"Sent: {ss.packets_sent}\n")
    out.append(f"Connections: {len(conns)}\n")
    out.append(f"Outstanding: {status.outstanding_requests}\n")
    out.append(f"Zxid: 0x{_hex(status.last_zxid)}\n")
    out.append(f"Mode: {status.mode}\n")
    out.append(f"Node count: {status.node_count}\n")
    if status.mode == "leader":
        q = status.quorum_info()
        last, low, high = q.proposal_sizes if q is not None else (-1, -1, -1)
        out.append(f"Proposal sizes last/min/max: {last}/{low}/{high}\n")
    return "".join(out)


def render_stat(status: MemberStatus) -> str:
    return render_srvr(status, clients=True)


def render_cons(status: MemberStatus) -> str:
    return "".join(connection_line(c, False) + "\n" for c in status.connections()) + "\n"


def _abs(path: str) -> str:
    return os.path.abspath(path)


def render_conf(status: MemberStatus) -> str:
    """ZooKeeperServer.dumpConf (+ QuorumZooKeeperServer's quorum lines)."""
    cfg = status.config
    data_size, log_size = status.dir_sizes()
    lines = [
        f"clientPort={cfg.client_port if cfg.client_port is not None else -1}",
        f"secureClientPort={cfg.secure_client_port if cfg.secure_client_port else -1}",
        f"dataDir={_abs(cfg.data_dir)}/version-2",
        f"dataDirSize={data_size}",
        f"dataLogDir={_abs(cfg.log_dir)}/version-2",
        f"dataLogSize={log_size}",
        f"tickTime={cfg.tick_ms}",
        f"maxClientCnxns={cfg.max_client_cnxns}",
        f"minSessionTimeout={cfg.min_session_timeout_ms}",
        f"maxSessionTimeout={cfg.max_session_timeout_ms}",
        f"clientPortListenBacklog={cfg.client_port_listen_backlog}",
        f"serverId={cfg.myid}",
    ]
    text = "".join(line + "\n" for line in lines)
    me = cfg.self_member
    if cfg.is_distributed and me is not None:
        text += (
            f"initLimit={cfg.init_limit_ticks}\n"
            f"syncLimit={cfg.sync_limit_ticks}\n"
            f"electionAlg={cfg.election_alg}\n"
            f"electionPort={me.election_port}\n"
            f"quorumPort={me.quorum_port}\n"
            f"peerType={1 if cfg.peer_type == 'observer' else 0}\n"
            "membership: \n"
            + cfg.dynamic_config_text()
        )
    return text


def render_dump(status: MemberStatus) -> str:
    """DumpCommand: session expiry buckets, ephemerals, connections by expiry."""
    out = ["SessionTracker dump:\n"]
    expiry = status.session_expiry()
    n_sessions = sum(len(v) for v in expiry.values())
    out.append(f"Session Sets ({len(expiry)})/({n_sessions}):\n")
    sid_expiry: dict[int, int] = {}
    for when in sorted(expiry):
        sids = sorted(expiry[when])
        out.append(f"{len(sids)} expire at {java_date(when)}:\n")
        for sid in sids:
            sid_expiry[sid] = when
            out.append(f"\t0x{_hex(sid)}\n")
    out.append("ephemeral nodes dump:\n")
    eph = status.ephemerals_by_session()
    out.append(f"Sessions with Ephemerals ({len(eph)}):\n")
    for sid in sorted(eph):
        out.append(f"0x{_hex(sid)}:\n")
        out.extend(f"\t{p}\n" for p in sorted(eph[sid]))
    out.append("Connections dump:\n")
    # NIOServerCnxnFactory groups connections by their idle-expiry time; ours expire with
    # their session (sessionless ones 10 s after they connected).
    groups: dict[int, list[ConnectionView]] = {}
    conns = list(status.connections())
    for c in conns:
        when = sid_expiry.get(c.stats.session_id, c.stats.established_ms + 10_000)
        groups.setdefault(when, []).append(c)
    out.append(f"Connections Sets ({len(groups)})/({len(conns)}):\n")
    for when in sorted(groups):
        out.append(f"{len(groups[when])} expire at {java_date(when)}:\n")
        for c in groups[when]:
            out.append(f"\tip: {_addr(c)} sessionId: 0x{_hex(c.stats.session_id)}\n")
    return "".join(out)


def render_wchs(status: MemberStatus) -> str:
    """WatchManager.toString + the WatchCommand's final newline (data watches only)."""
    table = status.data_watches()
    paths: set[str] = set()
    total = 0
    n_conns = 0
    for ps in table.values():
        if ps:
            n_conns += 1
        paths.update(ps)
        total += len(ps)
    return f"{n_conns} connections watching {len(paths)} paths\nTotal watches:{total}\n"


def render_wchc(status: MemberStatus) -> str:
    out: list[str] = []
    table = status.data_watches()
    for sid in sorted(table):
        if not table[sid]:
            continue
        out.append(f"0x{_hex(sid)}\n")
        out.extend(f"\t{p}\n" for p in sorted(table[sid]))
    out.append("\n")
    return "".join(out)


def watches_by_path(status: MemberStatus) -> dict[str, list[int]]:
    by_path: dict[str, list[int]] = {}
    for sid, paths in status.data_watches().items():
        for p in paths:
            by_path.setdefault(p, []).append(sid)
    return {p: sorted(by_path[p]) for p in sorted(by_path)}


def render_wchp(status: MemberStatus) -> str:
    out: list[str] = []
    for path, sids in watches_by_path(status).items():
        out.append(f"{path}\n")
        out.extend(f"\t0x{_hex(sid)}\n" for sid in sids)
    out.append("\n")
    return "".join(out)


def render_dirs(status: MemberStatus) -> str:
    data_size, log_size = status.dir_sizes()
    return f"datadir_size: {data_size}\nlogdir_size: {log_size}\n"


def render_isro(status: MemberStatus) -> str:
    if not status.serving:
        return "null"
    return "ro" if status.read_only else "rw"


def render_hash(status: MemberStatus) -> str:
    return "".join(f"{_hex(z)}: {d}\n" for z, d in status.digest_log())


def environment() -> list[tuple[str, str]]:
    """Environment.list, with this process's Python facts where ZooKeeper shows Java's."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "<NA>"
    rss_mb = max_mb = total_mb = "<NA>"
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
        total_mb = f"{rss // 1024}MB"
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        max_mb = "unlimited" if soft == resource.RLIM_INFINITY else f"{soft // (1 << 20)}MB"
        pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        rss_mb = f"{pages // (1 << 20)}MB"
    except (ImportError, OSError, ValueError):
        pass
    return [
        ("zookeeper.version", version_string()),
        ("host.name", socket.gethostname() or "<NA>"),
        ("python.version", platform.python_version()),
        ("python.implementation", platform.python_implementation()),
        ("python.executable", sys.executable or "<NA>"),
        ("python.path", os.pathsep.join(sys.path)),
        ("io.tmpdir", tempfile.gettempdir()),
        ("os.name", platform.system() or "<NA>"),
        ("os.arch", platform.machine() or "<NA>"),
        ("os.version", platform.release() or "<NA>"),
        ("user.name", user),
        ("user.home", os.path.expanduser("~")),
        ("user.dir", os.getcwd()),
        ("os.memory.free", rss_mb),
        ("os.memory.max", max_mb),
        ("os.memory.total", total_mb),
    ]


def render_envi(env: Iterable[tuple[str, str]] | None = None) -> str:
    items = environment() if env is None else env
    return "Environment:\n" + "".join(f"{k}={v}\n" for k, v in items)


def _fd_counts() -> tuple[int, int] | None:
    """(open, max) file descriptors, as UnixOperatingSystemMXBean reports them."""
    try:
        import resource

        open_fds = len(os.listdir("/proc/self/fd"))
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return open_fds, soft
    except (ImportError, OSError):
        return None


def monitor_values(status: MemberStatus, *,
                   fd_counts: Callable[[], tuple[int, int] | None] = _fd_counts,
                   ) -> dict[str, int | float | str]:
    """mntr keys (without ``zk_``) -> values, in ZooKeeper 3.8's observed order."""
    ss = status.server_stats
    q = status.quorum_info()
    v: dict[str, int | float | str] = {
        "version": version_string(),
        "server_state": status.mode,
    }
    if q is not None:
        v["peer_state"] = q.peer_state
        if status.mode == "observer" and q.observer_master_id is not None:
            v["observer_master_id"] = q.observer_master_id
    conns = sum(1 for _ in status.connections())
    v.update({
        "ephemerals_count": status.ephemerals_count,
        "num_alive_connections": conns,
        "avg_latency": ss.avg_latency,
        "outstanding_requests": status.outstanding_requests,
        "znode_count": status.node_count,
        "global_sessions": status.global_sessions,
        "non_mtls_remote_conn_count": 0,
        "last_client_response_size": ss.last_response_size,
        "packets_sent": ss.packets_sent,
        "packets_received": ss.packets_received,
        "max_client_response_size": ss.max_response_size,
        "connection_drop_probability": 0.0,
        "watch_count": status.watch_count,
        "auth_failed_count": ss.auth_failed,
        "min_latency": ss.min_latency,
    })
    fds = fd_counts()
    if fds is not None:
        v["max_file_descriptor_count"] = fds[1]
    v["approximate_data_size"] = status.approximate_data_size
    if fds is not None:
        v["open_file_descriptor_count"] = fds[0]
    v.update({
        "local_sessions": 0,
        "uptime": ss.uptime_ms(),
        "max_latency": ss.max_latency,
        "outstanding_tls_handshake": 0,
        "min_client_response_size": ss.min_response_size,
        "non_mtls_local_conn_count": 0,
    })
    if q is not None:
        v["quorum_size"] = q.quorum_size
        if status.mode == "leader":
            last, low, high = q.proposal_sizes
            v.update({
                "learners": q.learners,
                "synced_followers": q.synced_followers,
                "synced_non_voting_followers": q.synced_non_voting_followers,
                "synced_observers": q.synced_observers,
                "pending_syncs": q.pending_syncs,
                "leader_uptime": q.leader_uptime_ms,
                "last_proposal_size": last,
                "min_proposal_size": low,
                "max_proposal_size": high,
            })
    v["connection_drop_count"] = ss.connection_drop_count
    v["connection_rejected"] = ss.connection_rejected
    for key, value in status.extra_metrics().items():
        v.setdefault(key, value)
    return v


def _mntr_value(value: int | float | str | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    return value


def render_mntr(status: MemberStatus) -> str:
    return "".join(f"zk_{k}\t{_mntr_value(v)}\n" for k, v in monitor_values(status).items())


# ------------------------------------------------------------------------------ dispatcher


class FourLetterWords:
    """Answers the four-letter words for one member (NIOServerCnxn.checkFourLetterWord).

    ``answer(word)`` returns the full text to write before closing, or None when the four
    bytes are not a known word (the caller then treats them as a frame length, as
    ZooKeeper does). Words are case-sensitive, as in ZooKeeper.
    """

    def __init__(self, status: MemberStatus, config: ServerConfig | None = None) -> None:
        self.status = status
        self._config = config
        self.trace_mask = DEFAULT_TRACE_MASK

    def _allowed(self, word: str) -> bool:
        cfg = self._config if self._config is not None else self.status.config
        return cfg.four_letter_allowed(word)

    def answer(self, word: str, extra: bytes = b"") -> str | None:
        """``extra``: bytes after the word (stmk's 8-byte big-endian mask)."""
        if word not in FOUR_LETTER_WORDS:
            return None
        if not self._allowed(word):
            return f"{word} is not executed because it is not in the whitelist.\n"
        status = self.status
        if word == "ruok":
            return "imok"
        if word == "envi":
            return render_envi()
        if word == "gtmk":
            return str(self.trace_mask)
        if word == "stmk":
            if len(extra) >= 8:
                self.trace_mask = int.from_bytes(extra[:8], "big", signed=True)
            return str(self.trace_mask)
        if word == "isro":
            return render_isro(status)
        if not status.serving:
            return NOT_SERVING if word == "hash" else NOT_SERVING + "\n"
        if word == "crst":
            for conn in status.connections():
                conn.stats.reset()
            return "Connection stats reset.\n"
        if word == "srst":
            status.server_stats.reset()
            return "Server stats reset.\n"
        return _RENDERERS[word](status)


_RENDERERS: dict[str, Callable[[MemberStatus], str]] = {
    "srvr": render_srvr,
    "stat": render_stat,
    "cons": render_cons,
    "conf": render_conf,
    "dump": render_dump,
    "mntr": render_mntr,
    "wchs": render_wchs,
    "wchc": render_wchc,
    "wchp": render_wchp,
    "dirs": render_dirs,
    "hash": render_hash,
}
