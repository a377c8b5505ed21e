"""zoo.cfg -> a frozen ServerConfig; validate() enforces ZooKeeper's value and cross-field rules.

Rules:
- The file is read with Java ``Properties`` syntax (``parse_properties``): ``key=value`` or
  ``key: value`` or ``key value``, ``#``/``!`` comment lines, backslash line continuation,
  ``\\t \\n \\uXXXX`` escapes; keys and values are trimmed as QuorumPeerConfig does.
- Known keys become typed fields with units in their names. Unknown keys are kept in
  ``extra`` (ZooKeeper turns them into ``zookeeper.<key>`` system properties; several of
  our fields are read from exactly those names, with or without the ``zookeeper.`` prefix).
- Every bad value raises ``ConfigError`` whose ``key`` and message name the zoo.cfg key.
- ``load_config(path)`` is the one entry point that touches the disk: it reads zoo.cfg, the
  optional dynamic config file, ``<dataDir>/myid`` and the JAAS file, then validates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..properties import parse_properties

if TYPE_CHECKING:
    from .tls import TlsSettings

__all__ = [
    "ConfigError",
    "Member",
    "ServerConfig",
    "ALL_FOUR_LETTER_WORDS",
    "parse_properties",
    "parse_jaas",
    "load_jaas_users",
    "parse_server_line",
    "load_config",
]

# ZooKeeper defaults (QuorumPeerConfig, ZooKeeperServer, SyncRequestProcessor, FilePadding,
# NIOServerCnxnFactory, BinaryInputArchive, ContainerManager, JettyAdminServer).
DEFAULT_TICK_MS = 3000  # ZooKeeperServer.DEFAULT_TICK_TIME (the sample zoo.cfg says 2000)
DEFAULT_MAX_CLIENT_CNXNS = 60  # per source IP
DEFAULT_SNAP_COUNT = 100_000
DEFAULT_SNAP_SIZE_LIMIT_KB = 4_194_304  # 4 GB
DEFAULT_PRE_ALLOC_SIZE_KB = 65_536  # 64 MB txn-log preallocation
DEFAULT_GLOBAL_OUTSTANDING_LIMIT = 1000
DEFAULT_COMMIT_LOG_COUNT = 500
DEFAULT_MAX_FRAME_BYTES = 0xFFFFF  # jute.maxbuffer
MIN_SNAP_RETAIN_COUNT = 3  # PurgeTxnLog refuses fewer; QuorumPeerConfig clamps
DEFAULT_ADMIN_PORT = 8080
DEFAULT_ADMIN_ADDRESS = "0.0.0.0"
DEFAULT_ADMIN_COMMAND_URL = "/commands"
DEFAULT_ADMIN_IDLE_TIMEOUT_MS = 30_000
DEFAULT_CONTAINER_CHECK_INTERVAL_MS = 60_000  # znode.container.checkIntervalMs
DEFAULT_CONTAINER_MAX_PER_MINUTE = 10_000  # znode.container.maxPerMinute
DEFAULT_JAAS_LOGIN_RENEW_MS = 60_000

# FourLetterCommands: every word a whitelist may name.
ALL_FOUR_LETTER_WORDS: frozenset[str] = frozenset({
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok",
    "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
})


class ConfigError(ValueError):
    """A zoo.cfg value is missing or wrong; ``key`` is the zoo.cfg key at fault."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


# --------------------------------------------------------------------------------------------
# JAAS

_JAAS_SECTION = re.compile(r"(\w[\w.-]*)\s*\{(.*?)\}\s*;", re.S)
_JAAS_OPTION = re.compile(r"""([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))""", re.S)


def parse_jaas(text: str, section: str = "Server") -> dict[str, str]:
    """Users of a JAAS login section's DigestLoginModule: ``user_NAME="pw"`` -> {NAME: pw}.

    Comments (``//`` and ``/* */``) are ignored. A missing section gives {}.
    Raises ConfigError (key ``java.security.auth.login.config``) on text that has no
    well-formed section at all.
    """
    cleaned = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    cleaned = re.sub(r"(?m)//.*$", " ", cleaned)
    sections = _JAAS_SECTION.findall(cleaned)
    if cleaned.strip() and not sections:
        raise ConfigError("java.security.auth.login.config",
                          "no JAAS login section of the form Name { ... };")
    users: dict[str, str] = {}
    for name, body in sections:
        if name != section:
            continue
        for opt, quoted, bare in _JAAS_OPTION.findall(body):
            if opt.startswith("user_") and len(opt) > 5:
                value = quoted if quoted or not bare else bare
                users[opt[5:]] = re.sub(r"\\(.)", r"\1", value)
    return users


def load_jaas_users(path: str | Path, section: str = "Server") -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("java.security.auth.login.config",
                          f"cannot read JAAS file {path}: {e.strerror}") from e
    return parse_jaas(text, section)


# --------------------------------------------------------------------------------------------
# server.N lines


@dataclass(frozen=True, slots=True)
class Member:
    """One ``server.N`` line: ``host:quorumPort:electionPort[:type][;[clientHost:]clientPort]``."""

    sid: int
    host: str
    quorum_port: int
    election_port: int
    peer_type: str = "participant"  # or "observer"
    client_host: str | None = None  # None: no client address in the line
    client_port: int | None = None

    @property
    def is_observer(self) -> bool:
        return self.peer_type == "observer"

    def to_config_line(self) -> str:
        """As ZooKeeper writes it into /zookeeper/config and the conf 4lw membership."""
        s = f"server.{self.sid}={self.host}:{self.quorum_port}:{self.election_port}:{self.peer_type}"
        if self.client_port is not None:
            s += f";{self.client_host or '0.0.0.0'}:{self.client_port}"
        return s


def _port(key: str, text: str, *, allow_zero: bool = False) -> int:
    port = _int(key, text)
    if not (0 if allow_zero else 1) <= port < 65536:
        low = 0 if allow_zero else 1
        raise ConfigError(key, f"port {port} is out of range {low}..65535")
    return port


def _split_host_port(key: str, text: str) -> tuple[str, str]:
    if text.startswith("["):  # [ipv6]:port
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise ConfigError(key, f"bad address {text!r}")
        return text[1:end], text[end + 2:]
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ConfigError(key, f"bad address {text!r}: expected host:port")
    return host, port


def parse_server_line(key: str, value: str) -> Member:
    """Parse ``server.N=...``; only one address per member (no ``|`` multi-address)."""
    sid_text = key[len("server."):]
    if not sid_text.isdigit():
        raise ConfigError(key, f"server id {sid_text!r} is not a number")
    sid = int(sid_text)
    server_part, _, client_part = value.partition(";")
    client_part = client_part.partition(";")[0]  # a secure client address is ignored
    if "|" in server_part:
        raise ConfigError(key, "multiple addresses per server are not supported")
    parts = server_part.strip().split(":")
    if server_part.strip().startswith("["):
        m = re.fullmatch(r"\[([^\]]+)\]:(.*)", server_part.strip())
        if not m:
            raise ConfigError(key, f"bad address {server_part!r}")
        parts = [m.group(1), *m.group(2).split(":")]
    if len(parts) not in (3, 4):
        raise ConfigError(key, f"{value!r} does not have the form "
                               "host:quorumPort:electionPort[:participant|observer]"
                               "[;[clientHost:]clientPort]")
    host = parts[0]
    if not host:
        raise ConfigError(key, "empty host")
    quorum_port = _port(key, parts[1])
    election_port = _port(key, parts[2])
    peer_type = "participant"
    if len(parts) == 4:
        peer_type = parts[3].strip().lower()
        if peer_type not in ("participant", "observer"):
            raise ConfigError(key, f"unrecognised peer type {parts[3]!r}")
    client_host: str | None = None
    client_port: int | None = None
    client_part = client_part.strip()
    if client_part:
        if ":" in client_part:
            client_host, port_text = _split_host_port(key, client_part)
        else:
            port_text = client_part
        client_port = _port(key, port_text)
    return Member(sid, host, quorum_port, election_port, peer_type, client_host, client_port)


# --------------------------------------------------------------------------------------------
# value helpers


def _int(key: str, text: str) -> int:
    t = text.strip()
    try:
        return int(t, 10)
    except ValueError:
        raise ConfigError(key, f"{text!r} is not an integer") from None


def _bool(key: str, text: str, *, yes_no: bool = False) -> bool:
    t = text.strip().lower()
    if t == "true" or (yes_no and t == "yes"):
        return True
    if t == "false" or (yes_no and t == "no"):
        return False
    choices = "'true' or 'false' ('yes'/'no')" if yes_no else "'true' or 'false'"
    raise ConfigError(key, f"invalid option {text!r}; choose {choices}")


def _hours(key: str, text: str) -> int:
    t = text.strip()
    if t.isdigit():
        return int(t)
    m = re.fullmatch(r"(\d+)\s*([hd])", t)  # Time.parseTimeInterval subset we support
    if m:
        return int(m.group(1)) * (24 if m.group(2) == "d" else 1)
    raise ConfigError(key, f"{text!r} is not a number of hours")


def _whitelist(text: str) -> frozenset[str]:
    """FourLetterCommands.isEnabled: comma list, trimmed, case-sensitive; '*' = every word;
    srvr is always enabled (zkServer.sh needs it)."""
    words = {w.strip() for w in text.split(",") if w.strip()}
    if "*" in words:
        return frozenset({"*"})
    return frozenset(w for w in words if w in ALL_FOUR_LETTER_WORDS) | {"srvr"}


def sysprop(props: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(key as written, value) of a key that ZooKeeper reads as the system property
    ``zookeeper.<name>``, written in zoo.cfg with or without that prefix; None if absent.
    ZooKeeper turns zoo.cfg key ``k`` into ``zookeeper.k``, so there only the plain
    spelling takes effect (``zookeeper.k`` would become ``zookeeper.zookeeper.k``); we
    accept both, and the plain one wins when both are given."""
    for key in (name, "zookeeper." + name):
        if key in props:
            return key, props[key]
    return None


# --------------------------------------------------------------------------------------------
# ServerConfig


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One member's configuration. Build with ``load_config``, ``from_properties`` or
    ``from_args``; every instance those return has passed ``validate()``."""

    tick_ms: int = DEFAULT_TICK_MS
    init_limit_ticks: int = 0  # 0 = not set (required in a quorum)
    sync_limit_ticks: int = 0
    connect_to_learner_master_limit_ticks: int = 0
    data_dir: str = ""
    data_log_dir: str = ""  # "" = data_dir (filled in by __post_init__)
    client_port: int | None = None  # None = no plaintext client listener
    client_port_address: str | None = None  # None = all interfaces
    client_port_listen_backlog: int = -1
    secure_client_port: int | None = None  # None = no TLS client listener
    secure_client_port_address: str | None = None  # None = all interfaces
    tls: TlsSettings | None = None  # the ssl.* keys (set with secureClientPort)
    max_client_cnxns: int = DEFAULT_MAX_CLIENT_CNXNS  # per source IP, 0 = unlimited
    max_cnxns: int = 0  # total, 0 = unlimited
    min_session_timeout_ms: int = 0  # 0 here = 2 * tick (resolved by from_properties)
    max_session_timeout_ms: int = 0  # 0 here = 20 * tick
    four_letter_whitelist: frozenset[str] = frozenset({"srvr"})
    admin_enabled: bool = True
    admin_address: str = DEFAULT_ADMIN_ADDRESS
    admin_port: int = DEFAULT_ADMIN_PORT
    admin_command_url: str = DEFAULT_ADMIN_COMMAND_URL
    admin_idle_timeout_ms: int = DEFAULT_ADMIN_IDLE_TIMEOUT_MS
    snap_count: int = DEFAULT_SNAP_COUNT  # txns between snapshots (randomised in [n/2+1, n])
    snap_size_limit_kb: int = DEFAULT_SNAP_SIZE_LIMIT_KB
    pre_alloc_size_kb: int = DEFAULT_PRE_ALLOC_SIZE_KB
    force_sync: bool = True
    commit_log_count: int = DEFAULT_COMMIT_LOG_COUNT
    autopurge_snap_retain_count: int = MIN_SNAP_RETAIN_COUNT
    autopurge_purge_interval_hours: int = 0  # 0 = disabled
    global_outstanding_limit: int = DEFAULT_GLOBAL_OUTSTANDING_LIMIT
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES  # jute.maxbuffer
    extended_types_enabled: bool = False
    skip_acl: bool = False
    enforce_quota: bool = False
    digest_auth_enabled: bool = True
    super_digest: str | None = None  # "super:<base64 sha1>"
    auth_providers: tuple[str, ...] = ()  # authProvider.N class names, in N order
    jaas_config_path: str | None = None
    jaas_login_renew_ms: int = DEFAULT_JAAS_LOGIN_RENEW_MS
    sasl_users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    container_check_interval_ms: int = DEFAULT_CONTAINER_CHECK_INTERVAL_MS
    container_max_per_minute: int = DEFAULT_CONTAINER_MAX_PER_MINUTE
    container_max_never_used_ms: int = 0
    read_only_mode_enabled: bool = False
    local_sessions_enabled: bool = False
    reconfig_enabled: bool = False
    standalone_enabled: bool = True
    sync_enabled: bool = True
    quorum_listen_on_all_ips: bool = False
    election_alg: int = 3
    dynamic_config_file: str | None = None
    config_version: int = 0  # "version" of the server.N set (hex in files)
    members: tuple[Member, ...] = ()  # sorted by sid
    peer_type: str = "participant"
    myid: int = 0  # 0 in standalone, as ZooKeeper's conf prints serverId=0
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    config_path: str | None = None
    raw_text: str = ""  # the zoo.cfg text as read (admin initial_configuration)

    def __post_init__(self) -> None:
        if not self.data_log_dir and self.data_dir:
            object.__setattr__(self, "data_log_dir", self.data_dir)

    # ---------------------------------------------------------------- derived views

    @property
    def log_dir(self) -> str:
        """Directory holding txn logs (dataLogDir, defaulting to dataDir)."""
        return self.data_log_dir or self.data_dir

    @property
    def snap_version_dir(self) -> Path:
        return Path(self.data_dir) / "version-2"

    @property
    def log_version_dir(self) -> Path:
        return Path(self.log_dir) / "version-2"

    @property
    def client_bind_host(self) -> str:
        return self.client_port_address or "0.0.0.0"

    @property
    def x509_enabled(self) -> bool:
        """Is the x509 auth provider registered? ZooKeeper registers it for a secure client
        port (QuorumPeerConfig.configureSSLAuth) or through an authProvider.N line."""
        return self.secure_client_port is not None or any(
            c.endswith(".X509AuthenticationProvider") for c in self.auth_providers)

    @property
    def voting_members(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.is_observer)

    @property
    def is_distributed(self) -> bool:
        """QuorumPeerConfig.isDistributed: server lines and (>1 voter or !standaloneEnabled)."""
        return bool(self.members) and (len(self.voting_members) > 1 or not self.standalone_enabled)

    @property
    def self_member(self) -> Member | None:
        for m in self.members:
            if m.sid == self.myid:
                return m
        return None

    def four_letter_allowed(self, word: str) -> bool:
        """FourLetterCommands.isEnabled: srvr always; isro when read-only mode is enabled."""
        if "*" in self.four_letter_whitelist or word == "srvr":
            return True
        if word == "isro" and self.read_only_mode_enabled:
            return True
        return word in self.four_letter_whitelist

    def dynamic_config_text(self) -> str:
        """server.N lines + ``version=<hex>`` as /zookeeper/config holds them ("" standalone)."""
        if not self.members:
            return ""
        lines = [m.to_config_line() for m in self.members]
        lines.append(f"version={self.config_version:x}")
        return "\n".join(lines)

    def to_state_config(self) -> dict[str, Any]:
        """Keyword arguments for ``zkpy.state.StateConfig`` (CONTRACT.md).

        The runtime adds ``secret`` (a random int) itself.
        """
        return {
            "server_id": self.myid,
            "tick_ms": self.tick_ms,
            "min_session_timeout_ms": self.min_session_timeout_ms,
            "max_session_timeout_ms": self.max_session_timeout_ms,
            "super_digest": self.super_digest,
            "skip_acl": self.skip_acl,
            "enforce_quota": self.enforce_quota,
            "extended_types_enabled": self.extended_types_enabled,
            "digest_auth_enabled": self.digest_auth_enabled,
            "sasl_users": dict(self.sasl_users),
            "x509_enabled": self.x509_enabled,
            "config_data": self.dynamic_config_text().encode(),
            "container_max_never_used_ms": self.container_max_never_used_ms,
        }

    # ---------------------------------------------------------------- validation

    def validate(self) -> ServerConfig:
        """Raise ConfigError naming the key for a bad value or combination; return self."""
        if not self.data_dir:
            raise ConfigError("dataDir", "dataDir is not set")
        if self.tick_ms <= 0:
            raise ConfigError("tickTime", f"must be > 0, got {self.tick_ms}")
        for key, port in (("clientPort", self.client_port),
                          ("secureClientPort", self.secure_client_port)):
            if port is not None and not 0 <= port < 65536:  # 0 = any free port
                raise ConfigError(key, f"port {port} is out of range 0..65535")
        if self.client_port_address is not None and self.client_port is None:
            raise ConfigError("clientPortAddress",
                              "clientPortAddress is set but clientPort is not set")
        if self.secure_client_port_address is not None and self.secure_client_port is None:
            raise ConfigError("secureClientPortAddress", "secureClientPortAddress is set but "
                                                         "secureClientPort is not set")
        if self.secure_client_port is not None and (
                self.tls is None or not self.tls.keystore_location):
            raise ConfigError("ssl.keyStore.location",
                              "secureClientPort needs ssl.keyStore.location (the server's "
                              "key and certificate)")
        if self.max_client_cnxns < 0:
            raise ConfigError("maxClientCnxns", f"must be >= 0, got {self.max_client_cnxns}")
        if self.max_cnxns < 0:
            raise ConfigError("maxCnxns", f"must be >= 0, got {self.max_cnxns}")
        if self.min_session_timeout_ms <= 0:
            raise ConfigError("minSessionTimeout",
                              f"must be > 0, got {self.min_session_timeout_ms}")
        if self.max_session_timeout_ms <= 0:
            raise ConfigError("maxSessionTimeout",
                              f"must be > 0, got {self.max_session_timeout_ms}")
        if self.min_session_timeout_ms > self.max_session_timeout_ms:
            raise ConfigError("minSessionTimeout",
                              "minSessionTimeout must not be larger than maxSessionTimeout "
                              f"({self.min_session_timeout_ms} > {self.max_session_timeout_ms})")
        if self.admin_enabled and not 0 <= self.admin_port < 65536:
            raise ConfigError("admin.serverPort", f"port {self.admin_port} is out of range")
        if not self.admin_command_url.startswith("/"):
            raise ConfigError("admin.commandURL", "must start with '/'")
        if self.admin_idle_timeout_ms <= 0:
            raise ConfigError("admin.idleTimeout", "must be > 0")
        for key, value, low in (
            ("snapCount", self.snap_count, 2),
            ("snapSizeLimitInKb", self.snap_size_limit_kb, 0),
            ("preAllocSize", self.pre_alloc_size_kb, 1),
            ("commitLogCount", self.commit_log_count, 1),
            ("globalOutstandingLimit", self.global_outstanding_limit, 1),
            ("jute.maxbuffer", self.max_frame_bytes, 1024),
            ("autopurge.purgeInterval", self.autopurge_purge_interval_hours, 0),
            ("znode.container.checkIntervalMs", self.container_check_interval_ms, 1),
            ("znode.container.maxPerMinute", self.container_max_per_minute, 1),
            ("znode.container.maxNeverUsedIntervalMs", self.container_max_never_used_ms, 0),
            ("jaasLoginRenew", self.jaas_login_renew_ms, 1),
            ("initLimit", self.init_limit_ticks, 0),
            ("syncLimit", self.sync_limit_ticks, 0),
        ):
            if value < low:
                raise ConfigError(key, f"must be >= {low}, got {value}")
        if self.autopurge_snap_retain_count < MIN_SNAP_RETAIN_COUNT:
            raise ConfigError("autopurge.snapRetainCount",
                              f"must be >= {MIN_SNAP_RETAIN_COUNT}")
        if self.super_digest is not None and ":" not in self.super_digest:
            raise ConfigError("DigestAuthenticationProvider.superDigest",
                              "expected super:<base64 sha1 digest>")
        if self.election_alg != 3:
            raise ConfigError("electionAlg", "Invalid electionAlg value. Only 3 is supported.")
        if self.peer_type not in ("participant", "observer"):
            raise ConfigError("peerType", f"Unrecognised peertype: {self.peer_type}")
        sids = [m.sid for m in self.members]
        if len(set(sids)) != len(sids):
            raise ConfigError("server.N", "duplicate server id")
        if self.members:
            if self.self_member is None and self.is_distributed:
                raise ConfigError("myid", f"myid {self.myid} has no server.{self.myid} line")
            if not self.voting_members:
                raise ConfigError("server.N", "no voting (participant) members")
        if self.is_distributed:
            if self.init_limit_ticks <= 0:
                raise ConfigError("initLimit", "initLimit is not set")
            if self.sync_limit_ticks <= 0:
                raise ConfigError("syncLimit", "syncLimit is not set")
            if self.client_port is None:
                raise ConfigError("clientPort",
                                  "no client port in zoo.cfg or in this member's server line")
        elif self.client_port is None and self.secure_client_port is None:
            raise ConfigError("clientPort", "neither clientPort nor secureClientPort is set")
        return self

    # ---------------------------------------------------------------- builders

    @classmethod
    def from_properties(
        cls,
        props: Mapping[str, str],
        *,
        myid: int | None = None,
        sasl_users: Mapping[str, str] | None = None,
        raw_text: str = "",
        config_path: str | None = None,
    ) -> ServerConfig:
        """Typed, validated config from parsed properties (no disk access).

        ``myid`` and ``sasl_users`` come from files; ``load_config`` reads them.
        """
        kw: dict[str, Any] = {}
        extra: dict[str, str] = {}
        members: list[Member] = []
        auth: dict[int, str] = {}
        min_to = max_to = -1
        tick = DEFAULT_TICK_MS
        for key, value in props.items():
            handler = _FIELDS.get(key)
            if handler is not None:
                name, conv = handler
                kw[name] = conv(key, value)
            elif key == "tickTime":
                tick = _int(key, value)
            elif key == "minSessionTimeout":
                min_to = _int(key, value)
            elif key == "maxSessionTimeout":
                max_to = _int(key, value)
            elif key.startswith("server."):
                members.append(parse_server_line(key, value))
            elif key == "version":  # dynamic config version (hex)
                try:
                    kw["config_version"] = int(value, 16)
                except ValueError:
                    raise ConfigError(key, f"{value!r} is not a hex number") from None
            elif key == "peerType":
                kw["peer_type"] = value.lower()
            elif key == "autopurge.snapRetainCount":
                # QuorumPeerConfig logs a warning and uses 3 for anything smaller
                kw["autopurge_snap_retain_count"] = max(MIN_SNAP_RETAIN_COUNT, _int(key, value))
            elif re.fullmatch(r"(zookeeper\.)?authProvider\.\d+", key):
                auth[int(key.rsplit(".", 1)[1])] = value
            elif key.startswith(("group.", "weight.")):
                raise ConfigError(key, "hierarchical quorums (group/weight) are not supported")
            else:
                extra[key] = value
        # system-property style keys, with or without the zookeeper. prefix
        for name, (fname, conv) in _SYSPROPS.items():
            hit = sysprop(props, name)
            if hit is not None:
                kw[fname] = conv(hit[0], hit[1])
                extra.pop(hit[0], None)
        from .tls import settings_from_properties, tls_keys_in  # (tls needs ConfigError)

        if "secure_client_port" in kw or tls_keys_in(props):
            kw["tls"] = settings_from_properties(props)
        kw["tick_ms"] = tick
        kw["min_session_timeout_ms"] = tick * 2 if min_to == -1 else min_to
        kw["max_session_timeout_ms"] = tick * 20 if max_to == -1 else max_to
        kw["auth_providers"] = tuple(auth[n] for n in sorted(auth))
        kw["extra"] = MappingProxyType(extra)
        kw["raw_text"] = raw_text
        kw["config_path"] = config_path
        if sasl_users is not None:
            kw["sasl_users"] = MappingProxyType(dict(sasl_users))
        members.sort(key=lambda m: m.sid)
        kw["members"] = tuple(members)
        if members:
            kw["myid"] = myid if myid is not None else 0
            own = next((m for m in members if m.sid == kw["myid"]), None)
            if own is not None:
                # QuorumPeerConfig: the server line's type wins over peerType
                kw["peer_type"] = own.peer_type
                if own.client_port is not None:
                    static_port = kw.get("client_port")
                    if static_port is not None and static_port != own.client_port:
                        raise ConfigError(
                            "clientPort",
                            f"clientPort {static_port} differs from the client port "
                            f"{own.client_port} in server.{own.sid}")
                    kw["client_port"] = own.client_port
                    if kw.get("client_port_address") is None and own.client_host not in (
                            None, "0.0.0.0"):
                        kw["client_port_address"] = own.client_host
        return cls(**kw).validate()

    @classmethod
    def from_file(cls, path: str | Path) -> ServerConfig:
        """``load_config``: zoo.cfg + dynamic file + myid + JAAS, validated."""
        return load_config(path)

    @classmethod
    def from_args(
        cls,
        *,
        port: int,
        data_dir: str | Path,
        host: str | None = None,
        tick_ms: int = 2000,
        admin_port: int | None = None,
        four_letter_whitelist: Iterable[str] = ("srvr",),
        **overrides: Any,
    ) -> ServerConfig:
        """Quick standalone config for ``zkpy server --port N --data-dir D``.

        The admin server is off unless ``admin_port`` is given (0 = pick a free port), so a
        quick server never fights over 8080. ``overrides`` are ServerConfig field names.
        """
        wl = frozenset(w.strip() for w in four_letter_whitelist) | {"srvr"}
        cfg = cls(
            tick_ms=tick_ms,
            data_dir=str(data_dir),
            client_port=port,
            client_port_address=host,
            min_session_timeout_ms=2 * tick_ms,
            max_session_timeout_ms=20 * tick_ms,
            four_letter_whitelist=frozenset({"*"}) if "*" in wl else wl,
            admin_enabled=admin_port is not None,
            admin_port=admin_port if admin_port is not None else DEFAULT_ADMIN_PORT,
        )
        valid = {f.name for f in fields(cls)}
        bad = sorted(set(overrides) - valid)
        if bad:
            raise TypeError(f"unknown ServerConfig fields: {', '.join(bad)}")
        return replace(cfg, **overrides).validate()


def _conv_int(key: str, value: str) -> int:
    return _int(key, value)


def _conv_port(key: str, value: str) -> int:
    return _port(key, value, allow_zero=True)  # 0 = bind any free port (tests)


def _conv_str(key: str, value: str) -> str:
    return value


def _conv_path(key: str, value: str) -> str:
    if not value:
        raise ConfigError(key, "empty path")
    return value


def _conv_bool(key: str, value: str) -> bool:
    return _bool(key, value)


def _conv_yes_no(key: str, value: str) -> bool:
    return _bool(key, value, yes_no=True)


def _conv_whitelist(key: str, value: str) -> frozenset[str]:
    return _whitelist(value)


def _conv_hours(key: str, value: str) -> int:
    return _hours(key, value)


def _conv_frame_bytes(key: str, value: str) -> int:
    t = value.strip()
    try:
        return int(t, 16) if t.lower().startswith("0x") else int(t, 10)
    except ValueError:
        raise ConfigError(key, f"{value!r} is not an integer") from None


_Conv = Any  # Callable[[str, str], value]

# zoo.cfg keys QuorumPeerConfig knows -> (field, converter)
_FIELDS: dict[str, tuple[str, _Conv]] = {
    "initLimit": ("init_limit_ticks", _conv_int),
    "syncLimit": ("sync_limit_ticks", _conv_int),
    "connectToLearnerMasterLimit": ("connect_to_learner_master_limit_ticks", _conv_int),
    "dataDir": ("data_dir", _conv_path),
    "dataLogDir": ("data_log_dir", _conv_path),
    "clientPort": ("client_port", _conv_port),
    "clientPortAddress": ("client_port_address", _conv_str),
    "clientPortListenBacklog": ("client_port_listen_backlog", _conv_int),
    "secureClientPort": ("secure_client_port", _conv_port),
    "secureClientPortAddress": ("secure_client_port_address", _conv_str),
    "maxClientCnxns": ("max_client_cnxns", _conv_int),
    "electionAlg": ("election_alg", _conv_int),
    "autopurge.purgeInterval": ("autopurge_purge_interval_hours", _conv_hours),
    "standaloneEnabled": ("standalone_enabled", _conv_bool),
    "reconfigEnabled": ("reconfig_enabled", _conv_bool),
    "syncEnabled": ("sync_enabled", _conv_bool),
    "quorumListenOnAllIPs": ("quorum_listen_on_all_ips", _conv_bool),
    "localSessionsEnabled": ("local_sessions_enabled", _conv_bool),
    "dynamicConfigFile": ("dynamic_config_file", _conv_path),
}

# keys ZooKeeper reads as system properties (zoo.cfg key `k` becomes `zookeeper.k`);
# we accept `k` or `zookeeper.k`. readonlymode.enabled is really un-prefixed in ZooKeeper.
_SYSPROPS: dict[str, tuple[str, _Conv]] = {
    "maxCnxns": ("max_cnxns", _conv_int),
    "4lw.commands.whitelist": ("four_letter_whitelist", _conv_whitelist),
    "admin.enableServer": ("admin_enabled", _conv_bool),
    "admin.serverAddress": ("admin_address", _conv_str),
    "admin.serverPort": ("admin_port", _conv_port),
    "admin.commandURL": ("admin_command_url", _conv_str),
    "admin.idleTimeout": ("admin_idle_timeout_ms", _conv_int),
    "snapCount": ("snap_count", _conv_int),
    "snapSizeLimitInKb": ("snap_size_limit_kb", _conv_int),
    "preAllocSize": ("pre_alloc_size_kb", _conv_int),
    "forceSync": ("force_sync", _conv_yes_no),
    "commitLogCount": ("commit_log_count", _conv_int),
    "globalOutstandingLimit": ("global_outstanding_limit", _conv_int),
    "jute.maxbuffer": ("max_frame_bytes", _conv_frame_bytes),
    "extendedTypesEnabled": ("extended_types_enabled", _conv_bool),
    "skipACL": ("skip_acl", _conv_yes_no),
    "enforceQuota": ("enforce_quota", _conv_bool),
    "DigestAuthenticationProvider.enabled": ("digest_auth_enabled", _conv_bool),
    "DigestAuthenticationProvider.superDigest": ("super_digest", _conv_str),
    "java.security.auth.login.config": ("jaas_config_path", _conv_path),
    "jaasLoginRenew": ("jaas_login_renew_ms", _conv_int),
    "znode.container.checkIntervalMs": ("container_check_interval_ms", _conv_int),
    "znode.container.maxPerMinute": ("container_max_per_minute", _conv_int),
    "znode.container.maxNeverUsedIntervalMs": ("container_max_never_used_ms", _conv_int),
    "readonlymode.enabled": ("read_only_mode_enabled", _conv_bool),
}


def _read_myid(data_dir: str) -> int:
    path = Path(data_dir) / "myid"
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError as e:
        raise ConfigError("myid", f"{path} is missing or unreadable: {e.strerror}") from e
    except UnicodeDecodeError:
        text = "?"
    if not text.isdigit():
        raise ConfigError("myid", f"serverid {text!r} in {path} is not a number")
    return int(text)


def load_config(path: str | Path) -> ServerConfig:
    """Read zoo.cfg (+ dynamic config file, ``<dataDir>/myid``, JAAS file) and validate."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("zoo.cfg", f"cannot read {p}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError("zoo.cfg", f"{p} is not UTF-8 text") from e
    props = parse_properties(text)
    dyn_path = props.get("dynamicConfigFile")
    if dyn_path:
        if any(k.startswith(("server.", "group.", "weight.")) for k in props):
            raise ConfigError("dynamicConfigFile",
                              "server.N lines must be in the dynamic config file only")
        dp = Path(dyn_path)
        if not dp.is_absolute():
            dp = p.parent / dp
        try:
            dyn = parse_properties(dp.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError("dynamicConfigFile", f"cannot read {dp}: {e.strerror}") from e
        props.update(dyn)
    myid: int | None = None
    if any(k.startswith("server.") for k in props) and props.get("dataDir"):
        myid_file = Path(props["dataDir"]) / "myid"
        standalone_single = (
            sum(1 for k, v in props.items()
                if k.startswith("server.") and not v.split(";")[0].endswith(":observer")) <= 1
            and props.get("standaloneEnabled", "true").strip().lower() != "false")
        if myid_file.exists() or not standalone_single:
            myid = _read_myid(props["dataDir"])
    sasl_users: dict[str, str] | None = None
    jaas = sysprop(props, "java.security.auth.login.config")
    if jaas is not None and jaas[1]:
        jp = Path(jaas[1])
        if not jp.is_absolute():
            jp = p.parent / jp
        sasl_users = load_jaas_users(jp)
    return ServerConfig.from_properties(props, myid=myid, sasl_users=sasl_users,
                                        raw_text=text, config_path=str(p))
