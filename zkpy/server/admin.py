"""The AdminServer on asyncio: ZooKeeper's /commands JSON API plus Prometheus /metrics.

Rules:
- ``run_command`` / ``command_response`` are pure over a MemberStatus and return the
  ordered map ZooKeeper's CommandResponse.toMap builds (the command's fields, then
  ``command`` and ``error``); ``to_jackson_json`` prints it as Jackson's default pretty
  printer does (JettyAdminServer + JsonOutputter), so tools see the same bytes.
- The HTTP side is a deliberately small HTTP/1.1 server (asyncio.start_server, no new
  dependency): GET/HEAD only, bounded header size, header count, body size, requests per
  connection, concurrent connections and idle time. Bad input gets a 4xx answer and the
  connection closes; nothing a client sends can stop the server.
- ``/metrics`` renders ``fourlw.monitor_values`` in the Prometheus text format 0.0.4:
  metric names are the mntr keys without the ``zk_`` prefix (``znode_count``,
  ``avg_latency``, ...); strings go into labels of ``server_info``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import zkpy

from .fourlw import (
    NOT_SERVING,
    FourLetterWords,
    environment,
    monitor_values,
    version_string,
    watches_by_path,
)
from .stats import java_double
from .status import ConnectionView, MemberStatus

__all__ = [
    "AdminServer",
    "COMMANDS",
    "command_names",
    "command_response",
    "run_command",
    "to_jackson_json",
    "render_index",
    "render_metrics",
]

log = logging.getLogger("zkpy.server.admin")

# Bounds (JettyAdminServer: idle timeout 30 s; the rest are ours).
MAX_HEADER_BYTES = 16 * 1024  # request line + headers
MAX_HEADERS = 100
MAX_BODY_BYTES = 64 * 1024  # GET bodies are read and ignored
MAX_REQUESTS_PER_CONNECTION = 1000
MAX_CONNECTIONS = 64
LINGER_S = 0.5  # reading what a rejected client still sends, before closing
MAX_LINGER_BYTES = 256 * 1024
DEFAULT_IDLE_TIMEOUT_S = 30.0

JsonValue = Any  # str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]
Handler = Callable[[MemberStatus, Mapping[str, str], "AdminContext"], dict[str, JsonValue]]


@dataclass
class AdminContext:
    """State shared with the 4lw side (the trace mask lives in FourLetterWords)."""

    words: FourLetterWords


# ------------------------------------------------------------------------------ JSON


def _json_scalar(value: JsonValue) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return '"' + java_double(value) + '"'  # Jackson writes NaN as a string too
        return java_double(value)
    return json.dumps(str(value), ensure_ascii=False)


def _jackson(value: JsonValue, level: int, out: list[str]) -> None:
    if isinstance(value, Mapping):
        if not value:
            out.append("{ }")
            return
        out.append("{")
        inner = "  " * (level + 1)
        first = True
        for k, v in value.items():
            out.append("\n" if first else ",\n")
            first = False
            out.append(inner + json.dumps(str(k), ensure_ascii=False) + " : ")
            _jackson(v, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        out.append("[")
        items = list(value)
        for i, v in enumerate(items):
            out.append(" " if i == 0 else ", ")
            _jackson(v, level, out)  # arrays do not indent (FixedSpaceIndenter)
        out.append(" ]")
    else:
        out.append(_json_scalar(value))


def to_jackson_json(value: JsonValue) -> str:
    """Jackson ObjectMapper + INDENT_OUTPUT formatting (no trailing newline)."""
    out: list[str] = []
    _jackson(value, 0, out)
    return "".join(out)


# ------------------------------------------------------------------------------ commands


def _conn_info(conn: ConnectionView, brief: bool) -> dict[str, JsonValue]:
    """ServerCnxn.getConnectionInfo."""
    st = conn.stats
    ip, port = conn.remote
    info: dict[str, JsonValue] = {
        "remote_socket_address": f"{ip}:{port}",
        "interest_ops": st.interest_ops,
        "outstanding_requests": conn.outstanding,
        "packets_received": st.packets_received,
        "packets_sent": st.packets_sent,
    }
    if not brief:
        info.update({
            "session_id": st.session_id,
            "last_operation": st.last_op,
            "established": st.established_ms,
            "session_timeout": st.timeout_ms,
            "last_cxid": st.last_cxid,
            "last_zxid": st.last_zxid,
            "last_response_time": st.last_response_ms,
            "last_latency": st.last_latency_ms,
            "min_latency": st.min_latency,
            "avg_latency": st.avg_latency,
            "max_latency": st.max_latency_ms,
        })
    return info


def _buffer_stats(last: int, low: int, high: int) -> dict[str, JsonValue]:
    return {"last_buffer_size": last, "min_buffer_size": low, "max_buffer_size": high}


def _srvr(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    ss = status.server_stats
    data_size, log_size = status.dir_sizes()
    client = _buffer_stats(ss.last_response_size, ss.min_response_size, ss.max_response_size)
    r: dict[str, JsonValue] = {
        "version": version_string(),
        "read_only": status.read_only,
        "server_stats": {
            "packets_sent": ss.packets_sent,
            "packets_received": ss.packets_received,
            "fsync_threshold_exceed_count": ss.fsync_threshold_exceed_count,
            "client_response_stats": dict(client),
            "data_dir_size": data_size,
            "log_dir_size": log_size,
            "provider_null": False,
            "server_state": status.mode,
            "last_processed_zxid": status.last_zxid,
            "outstanding_requests": status.outstanding_requests,
            "avg_latency": ss.avg_latency,
            "max_latency": ss.max_latency,
            "min_latency": ss.min_latency,
            "num_alive_client_connections": sum(1 for _ in status.connections()),
            "auth_failed_count": ss.auth_failed,
            "non_mtlsremote_conn_count": 0,
            "non_mtlslocal_conn_count": 0,
            "uptime": ss.uptime_ms(),
        },
        "client_response": client,
    }
    q = status.quorum_info()
    if status.mode == "leader" and q is not None:
        r["proposal_stats"] = _buffer_stats(*q.proposal_sizes)
    r["node_count"] = status.node_count
    return r


def _stat(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    r = _srvr(status, kw, ctx)
    r["connections"] = [_conn_info(c, True) for c in status.connections()]
    r["secure_connections"] = []
    return r


def _cons(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"connections": [_conn_info(c, False) for c in status.connections()],
            "secure_connections": []}


def _conf(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    cfg = status.config
    return {  # ZooKeeperServerConf.toMap
        "client_port": cfg.client_port if cfg.client_port is not None else -1,
        "data_dir": os.path.abspath(cfg.data_dir) + "/version-2",
        "data_log_dir": os.path.abspath(cfg.log_dir) + "/version-2",
        "tick_time": cfg.tick_ms,
        "max_client_cnxns": cfg.max_client_cnxns,
        "min_session_timeout": cfg.min_session_timeout_ms,
        "max_session_timeout": cfg.max_session_timeout_ms,
        "server_id": cfg.myid,
        "client_port_listen_backlog": cfg.client_port_listen_backlog,
    }


def _crst(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    for conn in status.connections():
        conn.stats.reset()
    return {}


def _srst(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    status.server_stats.reset()
    return {}


def _dirs(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    data_size, log_size = status.dir_sizes()
    return {"datadir_size": data_size, "logdir_size": log_size}


def _dump(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    expiry = status.session_expiry()
    eph = status.ephemerals_by_session()
    return {
        "expiry_time_to_session_ids": {str(t): sorted(expiry[t]) for t in sorted(expiry)},
        "session_id_to_ephemeral_paths": {str(s): sorted(eph[s]) for s in sorted(eph)},
    }


def _envi(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return dict(environment())


def _hash(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"digests": [{"zxid": z, "digest": d} for z, d in status.digest_log()]}


def _gtmk(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"tracemask": ctx.words.trace_mask}


def _stmk(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    if "traceMask" not in kw:
        return {"error": "setTraceMask requires long traceMask argument"}
    try:
        mask = int(kw["traceMask"], 10)
        if not -(1 << 63) <= mask < (1 << 63):
            raise ValueError
    except ValueError:
        return {"error": f"setTraceMask requires long traceMask argument, got {kw['traceMask']}"}
    ctx.words.trace_mask = mask
    return {"tracemask": mask}


def _icfg(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"initial_configuration": status.config.raw_text}


def _isro(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"read_only": status.read_only}


def _lsnp(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    snap = status.last_snapshot()
    zxid = -1 if snap is None else snap.zxid
    return {"zxid": format(zxid & 0xFFFFFFFFFFFFFFFF, "x"),
            "timestamp": -1 if snap is None else snap.timestamp_s}


def _lead(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    q = status.quorum_info()
    if q is None:
        return {"error": "server is not initialized"}
    leader = next((m for m in status.config.members if m.sid == q.leader_id), None)
    ip = q.leader_address.rpartition(":")[0] if q.leader_address else (
        leader.host if leader is not None else "")
    return {"is_leader": status.mode == "leader", "leader_id": q.leader_id, "leader_ip": ip}


def _mntr(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return dict(monitor_values(status))


def _ruok(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {}


def _obsr(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    q = status.quorum_info()
    return {"synced_observers": 0 if q is None else q.synced_observers, "observers": []}


_SECRET_WORDS = ("password", "secret", "digest")


def _sysp(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    """Our stand-in for JVM system properties: unknown zoo.cfg keys as ZooKeeper would set
    them (``zookeeper.<key>``), secrets masked, plus a few process facts; sorted."""
    props: dict[str, str] = {
        "python.version": platform.python_version(),
        "zkpy.version": zkpy.__version__,
    }
    for key, value in status.config.extra.items():
        name = key if key.startswith("zookeeper.") else "zookeeper." + key
        props[name] = "******" if any(w in key.lower() for w in _SECRET_WORDS) else value
    return {k: props[k] for k in sorted(props)}


def _address_view(host: str, port: int) -> dict[str, JsonValue]:
    """MultipleAddresses as Jackson serialises it (one address per member here)."""
    addr = f"{host}:{port}"
    return {
        "empty": False,
        "all_addresses": [addr],
        "all_reachable_addresses": [addr],
        "one": addr,
        "reachable_address": addr,
        "wildcard_addresses": [f"0.0.0.0:{port}"],
        "all_ports": [port],
        "all_host_strings": [host],
        "all_reachable_addresses_or_all": [addr],
        "reachable_or_one": addr,
    }


def _voting_view(status: MemberStatus, kw: Mapping[str, str],
                 ctx: AdminContext) -> dict[str, JsonValue]:
    cfg = status.config
    if status.quorum_info() is None:
        return {"current_config": {}}
    view: dict[str, JsonValue] = {}
    for m in cfg.voting_members:
        view[str(m.sid)] = {
            "server_addresses": [f"{m.host}:{m.quorum_port}"],
            "election_addresses": [f"{m.host}:{m.election_port}"],
            "client_address": (f"{m.client_host or '0.0.0.0'}:{m.client_port}"
                               if m.client_port is not None else ""),
            "learner_type": m.peer_type,
        }
    return {"current_config": view}


def _wchc(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    table = status.data_watches()
    return {"session_id_to_watched_paths": {
        str(sid): sorted(table[sid]) for sid in sorted(table) if table[sid]}}


def _wchp(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    return {"path_to_session_ids": watches_by_path(status)}


def _wchs(status: MemberStatus, kw: Mapping[str, str], ctx: AdminContext) -> dict[str, JsonValue]:
    table = status.data_watches()
    paths: set[str] = set()
    for ps in table.values():
        paths.update(ps)
    return {"num_connections": sum(1 for ps in table.values() if ps),
            "num_paths": len(paths),
            "num_total_watches": sum(len(ps) for ps in table.values())}


def _zabstate(status: MemberStatus, kw: Mapping[str, str],
              ctx: AdminContext) -> dict[str, JsonValue]:
    q = status.quorum_info()
    cfg = status.config
    me = cfg.self_member
    if q is None or me is None:
        return {"voting": False, "zabstate": ""}
    zxid = status.last_zxid & 0xFFFFFFFFFFFFFFFF
    client = (f"{cfg.client_port_address or '0.0.0.0'}:{cfg.client_port}"
              if cfg.client_port is not None else None)
    return {
        "myid": cfg.myid,
        "is_leader": status.mode == "leader",
        "quorum_address": _address_view(me.host, me.quorum_port),
        "election_address": _address_view(me.host, me.election_port),
        "client_address": client,
        "voting": not me.is_observer,
        "last_zxid": f"0x{zxid:x}",
        "zab_epoch": zxid >> 32,
        "zab_counter": zxid & 0xFFFFFFFF,
        "zabstate": q.zab_state,
    }


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # primary name first
    handler: Handler
    server_required: bool = True

    @property
    def primary(self) -> str:
        return self.names[0]


COMMANDS: tuple[Command, ...] = (
    Command(("connection_stat_reset", "crst"), _crst),
    Command(("configuration", "conf", "config"), _conf),
    Command(("connections", "cons"), _cons),
    Command(("hash",), _hash),
    Command(("dirs",), _dirs),
    Command(("dump",), _dump),
    Command(("environment", "env", "envi"), _envi, server_required=False),
    Command(("get_trace_mask", "gtmk"), _gtmk, server_required=False),
    Command(("initial_configuration", "icfg"), _icfg),
    Command(("is_read_only", "isro"), _isro),
    Command(("last_snapshot", "lsnp"), _lsnp),
    Command(("leader", "lead"), _lead),
    Command(("monitor", "mntr"), _mntr, server_required=False),
    Command(("observer_connection_stat_reset", "orst"), _ruok),
    Command(("ruok",), _ruok),
    Command(("set_trace_mask", "stmk"), _stmk, server_required=False),
    Command(("server_stats", "srvr"), _srvr),
    Command(("stats", "stat"), _stat),
    Command(("stat_reset", "srst"), _srst),
    Command(("observers", "obsr"), _obsr),
    Command(("system_properties", "sysp"), _sysp, server_required=False),
    Command(("voting_view",), _voting_view),
    Command(("watches", "wchc"), _wchc),
    Command(("watches_by_path", "wchp"), _wchp),
    Command(("watch_summary", "wchs"), _wchs),
    Command(("zabstate",), _zabstate, server_required=False),
)
_BY_NAME: dict[str, Command] = {n: c for c in COMMANDS for n in c.names}


def command_names() -> list[str]:
    """Primary names, sorted (the /commands index)."""
    return sorted(c.primary for c in COMMANDS)


def command_response(command: str, data: Mapping[str, JsonValue],
                     error: str | None = None) -> dict[str, JsonValue]:
    """CommandResponse.toMap: data keys in order, then command and error; a data key
    named ``error`` keeps its place and its value wins (ZooKeeper's putAll order)."""
    m: dict[str, JsonValue] = dict(data)
    m["command"] = command
    m["error"] = error
    m.update(data)
    return m


def run_command(status: MemberStatus, name: str, kwargs: Mapping[str, str] | None = None,
                words: FourLetterWords | None = None) -> dict[str, JsonValue]:
    """Commands.runCommand: the response map for ``/commands/<name>``."""
    cmd = _BY_NAME.get(name)
    if cmd is None:
        return command_response(name, {}, f"Unknown command: {name}")
    if cmd.server_required and not status.serving:
        return command_response(name, {}, NOT_SERVING)
    ctx = AdminContext(words if words is not None else FourLetterWords(status))
    return command_response(cmd.primary, cmd.handler(status, kwargs or {}, ctx))


def render_index(command_url: str) -> str:
    """JettyAdminServer.commandLinks, one ``<br/>`` after each link."""
    base = command_url.rstrip("/")
    return "".join(f'<a href="{base}/{n}">{n}</a>\n<br/>\n' for n in command_names())


# ------------------------------------------------------------------------------ metrics

_COUNTERS = frozenset({
    "packets_received", "packets_sent", "auth_failed_count", "connection_drop_count",
    "connection_rejected",
})
_HELP: dict[str, str] = {
    "avg_latency": "Average request latency in ms since the last stats reset",
    "min_latency": "Minimum request latency in ms since the last stats reset",
    "max_latency": "Maximum request latency in ms since the last stats reset",
    "packets_received": "Client packets received since the last stats reset",
    "packets_sent": "Client packets sent since the last stats reset",
    "num_alive_connections": "Open client connections",
    "outstanding_requests": "Requests received and not yet answered",
    "uptime": "Milliseconds since the server started",
    "znode_count": "Znodes in the data tree (ZooKeeper counts the root twice)",
    "watch_count": "Watches registered on this member",
    "ephemerals_count": "Ephemeral znodes",
    "approximate_data_size": "Approximate bytes of znode paths and data",
    "global_sessions": "Sessions known to the ensemble",
    "local_sessions": "Local (non-replicated) sessions",
    "open_file_descriptor_count": "Open file descriptors of the process",
    "max_file_descriptor_count": "File descriptor limit of the process",
    "quorum_size": "Voting members in the ensemble",
    "auth_failed_count": "Failed client authentications",
}


def _metric_name(key: str) -> str:
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in key)
    return name if name and not name[0].isdigit() else "_" + name


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prom_number(value: int | float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render_metrics(status: MemberStatus) -> str:
    """Prometheus text exposition (version 0.0.4) of the mntr values."""
    values = monitor_values(status)
    out: list[str] = []
    labels = {k: str(values[k]) for k in ("version", "server_state", "peer_state")
              if k in values}
    out.append("# HELP server_info zkpy/ZooKeeper version and role (value is always 1)\n")
    out.append("# TYPE server_info gauge\n")
    out.append("server_info{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
               + "} 1\n")
    for key, value in values.items():
        if key in labels or isinstance(value, str):
            continue
        name = _metric_name(key)
        kind = "counter" if key in _COUNTERS else "gauge"
        out.append(f"# HELP {name} {_HELP.get(key, f'mntr zk_{key}')}\n")
        out.append(f"# TYPE {name} {kind}\n")
        out.append(f"{name} {_prom_number(value)}\n")
    return "".join(out)


# ------------------------------------------------------------------------------ HTTP

_REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]


class AdminServer:
    """HTTP admin endpoint for one member. ``await start()``, ``await close()``.

    ``start`` raises OSError when it cannot bind (the runtime exits with code 4, as
    ZooKeeper's AdminServerException does).
    """

    def __init__(self, status: MemberStatus, *, host: str | None = None,
                 port: int | None = None, command_url: str | None = None,
                 idle_timeout_s: float | None = None, words: FourLetterWords | None = None,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        cfg = status.config
        self.status = status
        self.host = host if host is not None else cfg.admin_address
        self.port = port if port is not None else cfg.admin_port
        self.command_url = "/" + (command_url or cfg.admin_command_url).strip("/")
        self.idle_timeout_s = (idle_timeout_s if idle_timeout_s is not None
                               else cfg.admin_idle_timeout_ms / 1000)
        self.words = words if words is not None else FourLetterWords(status)
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, host=self.host, port=self.port, limit=MAX_HEADER_BYTES,
            reuse_address=True)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info("admin server on http://%s:%d%s", self.host, self.port, self.command_url)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    # ---------------------------------------------------------------- connection loop

    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._active += 1
        try:
            if self._active > self.max_connections:
                await self._send_error(reader, writer, _BadRequest(503, "too many connections"))
                return
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                if not await self._serve_one(reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: answer nothing more on this socket, keep serving
            log.exception("admin connection failed")
        finally:
            self._active -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            if task is not None:
                self._tasks.discard(task)

    async def _serve_one(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> bool:
        """Read and answer one request; False = close the connection."""
        try:
            req = await asyncio.wait_for(self._read_head(reader), self.idle_timeout_s)
        except TimeoutError:
            return False
        except _BadRequest as e:
            await self._send_error(reader, writer, e)
            return False
        if req is None:
            return False
        keep_alive = self._keep_alive(req)
        try:
            await asyncio.wait_for(self._discard_body(reader, req), self.idle_timeout_s)
        except TimeoutError:
            return False
        except _BadRequest as e:
            await self._send_error(reader, writer, e)
            return False
        try:
            status, ctype, body, extra = self._route(req)
        except Exception:
            log.exception("admin request %s %s failed", req.method, req.target)
            status, ctype, extra = 500, "application/json", {}
            body = to_jackson_json({"error": "internal error"}).encode()
        await self._send(writer, status, ctype, b"" if req.method == "HEAD" else body,
                         keep_alive=keep_alive, extra=extra,
                         content_length=len(body))
        return keep_alive

    async def _send_error(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          e: _BadRequest) -> None:
        """Answer, then read (and drop) what the client still sends for a moment before
        closing, so the answer is not lost to a TCP reset (a "lingering close")."""
        await self._send(writer, e.status, "text/plain", (e.message + "\n").encode(),
                         keep_alive=False)
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()
            drained = 0
            deadline = asyncio.get_running_loop().time() + LINGER_S
            while drained < MAX_LINGER_BYTES:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                chunk = await asyncio.wait_for(reader.read(65536), left)
                if not chunk:
                    break
                drained += len(chunk)

    async def _read_head(self, reader: asyncio.StreamReader) -> _Request | None:
        total = 0
        lines: list[bytes] = []
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:
                if not lines and not e.partial.strip():
                    return None  # clean EOF between requests
                raise _BadRequest(400, "incomplete request") from None
            except asyncio.LimitOverrunError:
                raise _BadRequest(431, "request header too large") from None
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise _BadRequest(431, "request header too large")
            stripped = line.rstrip(b"\r\n")
            if not stripped:
                if not lines:
                    continue  # RFC 9112: ignore empty lines before the request line
                break
            lines.append(stripped)
            if len(lines) > MAX_HEADERS + 1:
                raise _BadRequest(431, "too many header fields")
        try:
            text = [ln.decode("latin-1") for ln in lines]
        except UnicodeDecodeError:  # latin-1 never fails; kept for clarity
            raise _BadRequest(400, "bad encoding") from None
        parts = text[0].split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise _BadRequest(400, "bad request line")
        method, target, version = parts
        if not version.startswith("HTTP/") or not method.isalpha() or not method.isupper():
            raise _BadRequest(400, "bad request line")
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            raise _BadRequest(505, "HTTP version not supported")
        if not target.startswith(("/", "http://", "https://")):
            raise _BadRequest(400, "bad request target")
        headers: dict[str, str] = {}
        for h in text[1:]:
            name, sep, value = h.partition(":")
            if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
                raise _BadRequest(400, "bad header line")
            key = name.lower()
            value = value.strip()
            if key in headers and key in ("content-length", "host", "transfer-encoding"):
                if headers[key] != value:
                    raise _BadRequest(400, f"conflicting {name} headers")
            headers[key] = value
        if version == "HTTP/1.1" and "host" not in headers:
            raise _BadRequest(400, "missing Host header")
        return _Request(method, target, version, headers)

    @staticmethod
    def _keep_alive(req: _Request) -> bool:
        conn = req.headers.get("connection", "").lower()
        tokens = {t.strip() for t in conn.split(",")}
        if req.version == "HTTP/1.1":
            return "close" not in tokens
        return "keep-alive" in tokens

    @staticmethod
    async def _discard_body(reader: asyncio.StreamReader, req: _Request) -> None:
        if "transfer-encoding" in req.headers:
            raise _BadRequest(501, "request bodies with Transfer-Encoding are not supported")
        raw = req.headers.get("content-length")
        if raw is None:
            return
        if not raw.isdigit():
            raise _BadRequest(400, "bad Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, "request body too large")
        if length:
            try:
                await reader.readexactly(length)
            except asyncio.IncompleteReadError:
                raise _BadRequest(400, "incomplete request body") from None

    def _route(self, req: _Request) -> tuple[int, str, bytes, dict[str, str]]:
        if req.method not in ("GET", "HEAD"):
            return (405, "text/plain", b"only GET and HEAD are supported\n",
                    {"Allow": "GET, HEAD"})
        target = req.target
        if target.startswith(("http://", "https://")):
            target = urlsplit(target).path or "/"
            if "?" in req.target:
                target += "?" + req.target.split("?", 1)[1]
        raw_path, _, query = target.partition("?")
        path = unquote(raw_path, errors="replace")
        base = self.command_url
        if path in (base, base + "/"):
            return 200, "text/html", render_index(base).encode(), {}
        if path == "/metrics":
            return (200, "text/plain; version=0.0.4; charset=utf-8",
                    render_metrics(self.status).encode(), {})
        if path.startswith(base + "/"):
            name = path[len(base) + 1:]
            kwargs = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            resp = run_command(self.status, name, kwargs, self.words)
            return 200, "application/json", to_jackson_json(resp).encode(), {}
        return 404, "text/plain", b"not found\n", {}

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, ctype: str, body: bytes, *,
                    keep_alive: bool, extra: Mapping[str, str] | None = None,
                    content_length: int | None = None) -> None:
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"Server: zkpy/{zkpy.__version__}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body) if content_length is None else content_length}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if status >= 400:
            head.append("Cache-Control: must-revalidate,no-cache,no-store")
        head.extend(f"{k}: {v}" for k, v in (extra or {}).items())
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
