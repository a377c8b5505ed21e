"""The ensemble model: EnsembleSpec/MemberSpec values, JSON round trip, validation, ports.

Rules:
- Pure: no sockets, files, clock or environment. Whatever must look at the machine (is a
  port free? where is the state dir?) is passed in as a parameter.
- Ports are assigned ONCE, at ``create``, and persisted in the spec; nothing recomputes them
  later, so a restart never moves a member (tiup#507, #1833, #2085).
- Port layout follows ZooKeeper's habits: with base port 2181 the k-th member on a host gets
  client 2181+k, quorum 2888+k, election 3888+k, admin 8080+k. Members on distinct hosts
  (127.0.0.1, 127.0.0.2, ...) therefore all get 2181/2888/3888/8080.
- Every bad value raises ``SpecError`` naming the field at fault.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "DEFAULT_BASE_PORT",
    "MEMBER_COMMANDS",
    "SPEC_VERSION",
    "EnsembleSpec",
    "MemberSpec",
    "SpecError",
    "assign_ports",
    "build_spec",
    "member_argv",
    "render_log4j",
    "render_zoo_cfg",
    "spec_from_json",
    "spec_to_json",
    "validate_name",
]

SPEC_VERSION = 1
DEFAULT_BASE_PORT = 2181
# offsets from the client base port that reproduce ZooKeeper's customary 2888/3888/8080
QUORUM_PORT_OFFSET = 2888 - 2181
ELECTION_PORT_OFFSET = 3888 - 2181
ADMIN_PORT_OFFSET = 8080 - 2181
MAX_MEMBERS = 99  # ZooKeeper ensembles are small; this bounds the port block per host
MAX_PORT = 65535

ZK_JARS = (
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
)

# Member command templates (ccm/tiup let you pick the binary). Placeholders:
# {python} the launcher's interpreter (locally) or the spec's remote_python (over ssh),
# {config} the member's zoo.cfg, {member_dir}, {data_dir}, {id}, {name}.
MEMBER_COMMANDS: dict[str, tuple[str, ...]] = {
    "zkpy": ("{python}", "-m", "zkpy", "server", "--config", "{config}"),
    "zookeeper": (
        "java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dlog4j.configuration=file:{member_dir}/log4j.properties",
        "-cp", ":".join(ZK_JARS),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain", "{config}",
    ),
}
_PLACEHOLDERS = frozenset({"python", "config", "member_dir", "data_dir", "id", "name"})

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_SSH_RE = re.compile(r"(?:(?P<user>[A-Za-z0-9_.-]+)@)?(?P<host>[A-Za-z0-9_.:-]+?)(?::(?P<port>\d+))?")


class SpecError(ValueError):
    """A spec value is wrong; ``field`` names it (a CLI flag or a JSON key)."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One member: its myid, where it runs and the ports it owns for good."""

    id: int  # myid / server.N
    name: str  # zk1, zk2, ...
    host: str  # the address it binds and clients dial (127.0.0.x locally)
    client_port: int
    quorum_port: int
    election_port: int
    admin_port: int
    ssh: str | None = None  # user@host[:port] when the member runs over ssh, else local

    @property
    def client_address(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def is_remote(self) -> bool:
        return self.ssh is not None

    def ports(self) -> dict[str, int]:
        """Every port this member binds, by role (admin only if the ensemble enables it)."""
        return {"client": self.client_port, "quorum": self.quorum_port,
                "election": self.election_port, "admin": self.admin_port}


@dataclass(frozen=True, slots=True)
class EnsembleSpec:
    """An ensemble as created; persisted as ensemble.json in its state dir."""

    name: str
    members: tuple[MemberSpec, ...]
    member_command: tuple[str, ...] = MEMBER_COMMANDS["zkpy"]
    server_kind: str = "zkpy"  # "zkpy", "zookeeper" or "custom" (informational)
    tick_ms: int = 2000
    init_limit_ticks: int = 10
    sync_limit_ticks: int = 5
    admin_enabled: bool = True
    remote_dir: str = ""  # base dir on ssh hosts ("" = ~/.local/state/zkpy/ensembles/NAME)
    remote_python: str = "python3"
    extra_cfg: Mapping[str, str] = field(default_factory=dict)
    version: int = SPEC_VERSION

    @property
    def hosts(self) -> str:
        """The client connect string: host:port,host:port,..."""
        return ",".join(m.client_address for m in self.members)

    @property
    def quorum_size(self) -> int:
        return len(self.members) // 2 + 1

    def member(self, key: str | int) -> MemberSpec:
        """A member by id (``2``) or name (``zk2``); raises SpecError otherwise."""
        text = str(key).strip()
        for m in self.members:
            if text == m.name or text == str(m.id):
                return m
        known = ", ".join(m.name for m in self.members)
        raise SpecError("member", f"no member {text!r} in ensemble {self.name!r} (members: {known})")

    def select(self, keys: Iterable[str | int]) -> tuple[MemberSpec, ...]:
        """Members addressed by id or name, in spec order; no keys = all members."""
        wanted = [self.member(k) for k in keys]
        if not wanted:
            return self.members
        ids = {m.id for m in wanted}
        return tuple(m for m in self.members if m.id in ids)

    def validate(self) -> EnsembleSpec:
        validate_name(self.name)
        if not 1 <= len(self.members) <= MAX_MEMBERS:
            raise SpecError("members", f"an ensemble has 1..{MAX_MEMBERS} members, "
                                       f"not {len(self.members)}")
        if not self.member_command:
            raise SpecError("member_command", "empty command")
        for part in self.member_command:
            for ph in re.findall(r"\{([^{}]*)\}", part):
                if ph not in _PLACEHOLDERS:
                    raise SpecError("member_command",
                                    f"unknown placeholder {{{ph}}} (known: "
                                    f"{', '.join(sorted(_PLACEHOLDERS))})")
        if not any("{config}" in p for p in self.member_command):
            raise SpecError("member_command", "the command must pass {config} (the zoo.cfg)")
        for key, value in (("tick_ms", self.tick_ms), ("init_limit_ticks", self.init_limit_ticks),
                           ("sync_limit_ticks", self.sync_limit_ticks)):
            if value <= 0:
                raise SpecError(key, f"must be positive, not {value}")
        seen_ids: set[int] = set()
        seen_names: set[str] = set()
        bound: dict[tuple[str, int], str] = {}
        for m in self.members:
            if m.id < 1 or m.id > 255:
                raise SpecError("id", f"{m.name}: myid {m.id} is out of range 1..255")
            if m.id in seen_ids:
                raise SpecError("id", f"duplicate member id {m.id}")
            if m.name in seen_names:
                raise SpecError("name", f"duplicate member name {m.name!r}")
            seen_ids.add(m.id)
            seen_names.add(m.name)
            if not m.host or any(c.isspace() for c in m.host):
                raise SpecError("host", f"{m.name}: bad host {m.host!r}")
            if m.ssh is not None:
                parse_ssh_target(m.ssh)
            ports = m.ports()
            if not self.admin_enabled:
                ports.pop("admin")
            for role, port in ports.items():
                if not 1 <= port <= MAX_PORT:
                    raise SpecError("port", f"{m.name} {role} port {port} is out of range")
                where = (m.ssh or "local", m.host, port)
                key2 = (f"{where[0]}|{where[1]}", port)
                if key2 in bound:
                    raise SpecError("port", f"{m.host}:{port} is both {bound[key2]} and "
                                            f"{m.name} {role} port")
                bound[key2] = f"{m.name} {role} port"
        return self


def validate_name(name: str) -> str:
    """Ensemble names become directory names: letters, digits, ``_.-``; not ``.``/``..``."""
    if not _NAME_RE.fullmatch(name) or name in (".", ".."):
        raise SpecError("name", f"bad ensemble name {name!r}: use 1-63 letters, digits, "
                                "'_', '.' or '-', starting with a letter or digit")
    return name


def parse_ssh_target(target: str) -> tuple[str | None, str, int]:
    """``user@host[:port]`` (an ``ssh://`` prefix is accepted) -> (user, host, port)."""
    text = target.removeprefix("ssh://")
    m = _SSH_RE.fullmatch(text)
    if not m:
        raise SpecError("ssh", f"bad ssh target {target!r}: expected user@host[:port]")
    port = int(m.group("port") or 22)
    if not 1 <= port <= MAX_PORT:
        raise SpecError("ssh", f"bad ssh port in {target!r}")
    return m.group("user"), m.group("host"), port


def assign_ports(
    hosts: Sequence[str],
    base_port: int | None,
    is_free: Callable[[str, int], bool],
    *,
    admin_enabled: bool = True,
    max_attempts: int = 200,
    step: int = 10,
) -> list[dict[str, int]]:
    """Ports for members placed on ``hosts`` (one entry per member, in order).

    The k-th member on a given host gets ``base+k`` and the customary offsets. With an
    explicit ``base_port`` the layout is taken as given (a busy port is reported at start,
    naming its holder). Without one, bases 2181, 2191, 2201, ... are tried until every port
    of every member is free according to ``is_free(host, port)``.
    """
    def layout(base: int) -> list[dict[str, int]]:
        per_host: dict[str, int] = {}
        out = []
        for h in hosts:
            k = per_host.get(h, 0)
            per_host[h] = k + 1
            out.append({"client": base + k, "quorum": base + QUORUM_PORT_OFFSET + k,
                        "election": base + ELECTION_PORT_OFFSET + k,
                        "admin": base + ADMIN_PORT_OFFSET + k})
        return out

    def fits(base: int) -> bool:
        return base >= 1 and base + ADMIN_PORT_OFFSET + len(hosts) - 1 <= MAX_PORT

    if base_port is not None:
        if not fits(base_port):
            raise SpecError("--base-port", f"{base_port} leaves no room for {len(hosts)} "
                                           f"member(s) (needs base..base+{ADMIN_PORT_OFFSET}"
                                           f"+{len(hosts) - 1} <= {MAX_PORT})")
        return layout(base_port)
    base = DEFAULT_BASE_PORT
    for _ in range(max_attempts):
        if not fits(base):
            break
        candidate = layout(base)
        if all(is_free(h, p) for h, ports in zip(hosts, candidate, strict=True)
               for role, p in ports.items() if admin_enabled or role != "admin"):
            return candidate
        base += step
    raise SpecError("--base-port", f"no free port block found from {DEFAULT_BASE_PORT} after "
                                   f"{max_attempts} tries; pass --base-port")


def build_spec(
    name: str,
    n: int,
    *,
    hosts: Sequence[str] = (),
    ssh: Sequence[str] = (),
    base_port: int | None = None,
    is_free: Callable[[str, int], bool] = lambda h, p: True,
    server_kind: str = "zkpy",
    member_command: Sequence[str] | None = None,
    admin_enabled: bool = True,
    tick_ms: int = 2000,
    remote_dir: str = "",
    remote_python: str = "python3",
) -> EnsembleSpec:
    """The spec ``zkpy ensemble create`` persists: members placed round-robin on ``hosts``
    (default 127.0.0.1) or ``ssh`` targets, ports assigned once."""
    validate_name(name)
    if not 1 <= n <= MAX_MEMBERS:
        raise SpecError("-n", f"an ensemble has 1..{MAX_MEMBERS} members, not {n}")
    if member_command is None:
        if server_kind not in MEMBER_COMMANDS:
            raise SpecError("--server", f"unknown server {server_kind!r} (known: "
                                        f"{', '.join(MEMBER_COMMANDS)}) ; or pass --member-command")
        command = MEMBER_COMMANDS[server_kind]
    else:
        command = tuple(member_command)
        server_kind = "custom"
    ssh_targets: list[str | None] = [ssh[i % len(ssh)] if ssh else None for i in range(n)]
    placed: list[str] = []
    for i in range(n):
        if hosts:
            placed.append(hosts[i % len(hosts)])
        elif ssh_targets[i] is not None:
            placed.append(parse_ssh_target(str(ssh_targets[i]))[1])
        else:
            placed.append("127.0.0.1")
    # a port is only shared between members on the same machine and address
    keys = [f"{s or 'local'}|{h}" for s, h in zip(ssh_targets, placed, strict=True)]
    ports = assign_ports(keys, base_port, lambda k, p: is_free(k.split("|", 1)[1], p),
                         admin_enabled=admin_enabled)
    members = tuple(
        MemberSpec(id=i + 1, name=f"zk{i + 1}", host=placed[i], client_port=ports[i]["client"],
                   quorum_port=ports[i]["quorum"], election_port=ports[i]["election"],
                   admin_port=ports[i]["admin"], ssh=ssh_targets[i])
        for i in range(n))
    return EnsembleSpec(name=name, members=members, member_command=command,
                        server_kind=server_kind, admin_enabled=admin_enabled, tick_ms=tick_ms,
                        remote_dir=remote_dir, remote_python=remote_python).validate()


# --------------------------------------------------------------------------------------------
# JSON


def spec_to_json(spec: EnsembleSpec) -> str:
    d = asdict(spec)
    d["members"] = [asdict(m) for m in spec.members]
    d["member_command"] = list(spec.member_command)
    d["extra_cfg"] = dict(spec.extra_cfg)
    return json.dumps(d, indent=2, sort_keys=False) + "\n"


def spec_from_json(text: str) -> EnsembleSpec:
    try:
        d: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError("ensemble.json", f"not JSON: {e}") from None
    if not isinstance(d, dict):
        raise SpecError("ensemble.json", "not a JSON object")
    if d.get("version") != SPEC_VERSION:
        raise SpecError("version", f"unsupported spec version {d.get('version')!r} "
                                   f"(this launcher reads {SPEC_VERSION})")
    try:
        members = tuple(MemberSpec(**m) for m in d.pop("members"))
        spec = EnsembleSpec(members=members, **{**d, "member_command": tuple(d["member_command"]),
                                                "extra_cfg": dict(d.get("extra_cfg", {}))})
    except (KeyError, TypeError) as e:
        raise SpecError("ensemble.json", f"malformed spec: {e}") from None
    return spec.validate()


# --------------------------------------------------------------------------------------------
# what a member is given: zoo.cfg, log4j.properties, argv


def render_zoo_cfg(spec: EnsembleSpec, member: MemberSpec, data_dir: str) -> str:
    """The member's zoo.cfg (ZooKeeper format; read by zkpy and by Apache ZooKeeper)."""
    lines = [
        f"# generated by zkpy ensemble for {spec.name}/{member.name}; edits are overwritten",
        f"tickTime={spec.tick_ms}",
        f"initLimit={spec.init_limit_ticks}",
        f"syncLimit={spec.sync_limit_ticks}",
        f"dataDir={data_dir}",
        f"clientPort={member.client_port}",
        f"clientPortAddress={member.host}",
        "maxClientCnxns=0",
        "4lw.commands.whitelist=*",
        f"admin.enableServer={'true' if spec.admin_enabled else 'false'}",
    ]
    if spec.admin_enabled:
        lines += [f"admin.serverAddress={member.host}", f"admin.serverPort={member.admin_port}"]
    if len(spec.members) > 1:
        lines += [f"server.{m.id}={m.host}:{m.quorum_port}:{m.election_port};"
                  f"{m.host}:{m.client_port}" for m in spec.members]
    lines += [f"{k}={v}" for k, v in sorted(spec.extra_cfg.items())]
    return "\n".join(lines) + "\n"


def render_log4j() -> str:
    """log4j 1.2 config for the Java member: everything to stdout, which is the member log."""
    return ("log4j.rootLogger=INFO, CONSOLE\n"
            "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.CONSOLE.layout.ConversionPattern="
            "%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n\n")


def member_argv(spec: EnsembleSpec, member: MemberSpec, *, python: str, config: str,
                member_dir: str, data_dir: str) -> list[str]:
    """The member command template with its placeholders filled in."""
    values = {"python": python, "config": config, "member_dir": member_dir,
              "data_dir": data_dir, "id": str(member.id), "name": member.name}
    return [re.sub(r"\{(\w+)\}", lambda mo: values[mo.group(1)], part)
            for part in spec.member_command]


def parse_member_command(text: str) -> tuple[str, ...]:
    """``--member-command 'java ... {config}'`` (shell words) -> argv template."""
    try:
        parts = tuple(shlex.split(text))
    except ValueError as e:
        raise SpecError("--member-command", str(e)) from None
    if not parts:
        raise SpecError("--member-command", "empty command")
    return parts


def with_members(spec: EnsembleSpec, members: Sequence[MemberSpec]) -> EnsembleSpec:
    return replace(spec, members=tuple(members)).validate()
