"""The pure planner: (spec, observed member states, verb) -> the ordered actions to run.

Rules:
- Pure: no processes, sockets, files or clock. The executor observes the machine, asks for
  a plan, and runs it; ``--dry-run`` prints the same plan and stops (tiup playground-ng:
  validate -> plan -> execute).
- "Already in that state" is a ``Note`` (exit 0), never an error: starting a running member
  says ``zk1 already running (pid 4711)``.
- A stale pid file (pid dead, or alive but not running our command line) is cleaned up
  before anything else touches that member (cassandra-ccm#391).
- Members are spawned first and waited for afterwards, all together: a quorum member
  cannot become ready before a majority of its peers is up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .spec import EnsembleSpec, MemberSpec

__all__ = [
    "Action",
    "CheckPorts",
    "CleanStalePid",
    "Fail",
    "MemberState",
    "Note",
    "Observed",
    "SendSignal",
    "Spawn",
    "Terminate",
    "Verb",
    "WaitGone",
    "WaitReady",
    "WriteConfig",
    "plan",
    "render_plan",
]


class MemberState(Enum):
    RUNNING = "running"
    PAUSED = "paused"  # SIGSTOPped
    STOPPED = "stopped"  # no pid file
    STALE = "stale"  # pid file, but that pid is gone or is not our member


class Verb(Enum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    KILL = "kill"
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True, slots=True)
class Observed:
    """What the executor saw of one member just before planning."""

    state: MemberState
    pid: int | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """Nothing to do; tell the user why (exit 0)."""

    member: str
    message: str

    def describe(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Fail:
    """The verb cannot apply to this member (exit 1), e.g. pausing a stopped member."""

    member: str
    message: str

    def describe(self) -> str:
        return f"fail: {self.message}"


@dataclass(frozen=True, slots=True)
class CleanStalePid:
    member: str
    pid: int

    def describe(self) -> str:
        return f"{self.member}: remove stale pid file (pid {self.pid})"


@dataclass(frozen=True, slots=True)
class CheckPorts:
    member: str
    host: str
    ports: tuple[tuple[str, int], ...]  # (role, port)

    def describe(self) -> str:
        listed = ", ".join(f"{role} {port}" for role, port in self.ports)
        return f"{self.member}: check ports free on {self.host} ({listed})"


@dataclass(frozen=True, slots=True)
class WriteConfig:
    member: str

    def describe(self) -> str:
        return f"{self.member}: write zoo.cfg and myid"


@dataclass(frozen=True, slots=True)
class Spawn:
    member: str

    def describe(self) -> str:
        return f"{self.member}: spawn the member command (detached, log redirected)"


@dataclass(frozen=True, slots=True)
class WaitReady:
    members: tuple[str, ...]

    def describe(self) -> str:
        return f"wait until ready (ruok -> imok, srvr shows a Mode): {', '.join(self.members)}"


@dataclass(frozen=True, slots=True)
class Terminate:
    """SIGTERM (then SIGCONT, so a paused member can act on it)."""

    member: str
    pid: int

    def describe(self) -> str:
        return f"{self.member}: send SIGTERM to pid {self.pid}"


@dataclass(frozen=True, slots=True)
class SendSignal:
    member: str
    pid: int
    signal_name: str  # "KILL", "STOP", "CONT", ...

    def describe(self) -> str:
        return f"{self.member}: send SIG{self.signal_name} to pid {self.pid}"


@dataclass(frozen=True, slots=True)
class WaitGone:
    """Wait for the pid to exit, then remove its pid file; failing that, exit 1."""

    member: str
    pid: int

    def describe(self) -> str:
        return f"{self.member}: verify pid {self.pid} is gone, then remove its pid file"


Action = (Note | Fail | CleanStalePid | CheckPorts | WriteConfig | Spawn | WaitReady | Terminate
          | SendSignal | WaitGone)


def _start(spec: EnsembleSpec, members: Sequence[MemberSpec],
           observed: dict[str, Observed]) -> list[Action]:
    actions: list[Action] = []
    spawned: list[str] = []
    for m in members:
        ob = observed[m.name]
        if ob.state is MemberState.RUNNING:
            actions.append(Note(m.name, f"{m.name} already running (pid {ob.pid})"))
            continue
        if ob.state is MemberState.PAUSED:
            actions.append(Note(m.name, f"{m.name} is running but paused (pid {ob.pid}); "
                                        f"resume it with: zkpy ensemble resume -m {m.name}"))
            continue
        if ob.state is MemberState.STALE and ob.pid is not None:
            actions.append(CleanStalePid(m.name, ob.pid))
        ports = [("client", m.client_port)]
        if len(spec.members) > 1:
            ports += [("quorum", m.quorum_port), ("election", m.election_port)]
        if spec.admin_enabled:
            ports.append(("admin", m.admin_port))
        actions.append(CheckPorts(m.name, m.host, tuple(ports)))
    # all port checks happen before the first spawn: fail before starting anything
    for m in members:
        if observed[m.name].state in (MemberState.STOPPED, MemberState.STALE):
            actions.append(WriteConfig(m.name))
            actions.append(Spawn(m.name))
            spawned.append(m.name)
    if spawned:
        actions.append(WaitReady(tuple(spawned)))
    return actions


def _stop(members: Sequence[MemberSpec], observed: dict[str, Observed], *,
          kill_signal: str | None) -> list[Action]:
    actions: list[Action] = []
    waits: list[Action] = []
    for m in members:
        ob = observed[m.name]
        if ob.state is MemberState.STOPPED:
            actions.append(Note(m.name, f"{m.name} already stopped"))
        elif ob.state is MemberState.STALE:
            assert ob.pid is not None
            actions.append(CleanStalePid(m.name, ob.pid))
        else:
            assert ob.pid is not None
            if kill_signal is None:
                actions.append(Terminate(m.name, ob.pid))
                waits.append(WaitGone(m.name, ob.pid))
            else:
                actions.append(SendSignal(m.name, ob.pid, kill_signal))
                if kill_signal == "KILL":
                    waits.append(WaitGone(m.name, ob.pid))
    return actions + waits  # signal everyone first, then wait: stops run in parallel


def _signal(members: Sequence[MemberSpec], observed: dict[str, Observed],
            verb: Verb) -> list[Action]:
    actions: list[Action] = []
    for m in members:
        ob = observed[m.name]
        if ob.state in (MemberState.STOPPED, MemberState.STALE):
            actions.append(Fail(m.name, f"{m.name} is not running; cannot {verb.value} it"))
        elif verb is Verb.PAUSE and ob.state is MemberState.PAUSED:
            actions.append(Note(m.name, f"{m.name} already paused (pid {ob.pid})"))
        elif verb is Verb.RESUME and ob.state is MemberState.RUNNING:
            actions.append(Note(m.name, f"{m.name} already running, not paused (pid {ob.pid})"))
        else:
            assert ob.pid is not None
            actions.append(SendSignal(m.name, ob.pid, "STOP" if verb is Verb.PAUSE else "CONT"))
    return actions


def plan(spec: EnsembleSpec, verb: Verb, observed: dict[str, Observed],
         members: Sequence[MemberSpec] | None = None, *,
         kill_signal: str = "KILL") -> list[Action]:
    """Actions that take ``members`` (default all) from ``observed`` to what ``verb`` means.

    ``observed`` must have an entry for every selected member. ``restart`` is a stop
    followed by a start of members that will then be stopped.
    """
    selected = list(spec.members if members is None else members)
    missing = [m.name for m in selected if m.name not in observed]
    if missing:
        raise ValueError(f"no observed state for {', '.join(missing)}")
    if verb is Verb.START:
        return _start(spec, selected, observed)
    if verb is Verb.STOP:
        return _stop(selected, observed, kill_signal=None)
    if verb is Verb.KILL:
        return _stop(selected, observed, kill_signal=kill_signal.upper().removeprefix("SIG"))
    if verb in (Verb.PAUSE, Verb.RESUME):
        return _signal(selected, observed, verb)
    if verb is Verb.RESTART:
        stop = [a for a in _stop(selected, observed, kill_signal=None) if not isinstance(a, Note)]
        after = {m.name: Observed(MemberState.STOPPED) for m in selected}
        return stop + _start(spec, selected, after)
    raise ValueError(f"unknown verb {verb!r}")


def render_plan(spec: EnsembleSpec, verb: Verb, actions: Sequence[Action]) -> str:
    """The text ``--dry-run`` prints: one numbered line per action."""
    lines = [f"Plan: {verb.value} {spec.name} ({len(actions)} step(s); nothing was done)"]
    for i, a in enumerate(actions, 1):
        lines.append(f"  {i:2d}. {a.describe()}")
    return "\n".join(lines)
