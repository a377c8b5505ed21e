"""Runs plans against hosts: observe -> plan -> execute, with progress on stderr.

Rules:
- The executor owns every side effect; the planner decides, the executor only does.
- Progress and notes go to stderr (one plain line per member step); stdout is for data.
- Every wait is bounded by ``wait_timeout_s`` and checks the pid, so a member that dies
  during a start is reported at once with its last log lines and log path (tiup#1330).
- Errors are ``LauncherError`` carrying the exit code of the table in man/zkpy-ensemble.1.
"""

from __future__ import annotations

import signal as _signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import IO

from .hosts.base import Host, HostError
from .plan import (
    Action,
    CheckPorts,
    CleanStalePid,
    Fail,
    MemberState,
    Note,
    Observed,
    SendSignal,
    Spawn,
    Terminate,
    Verb,
    WaitGone,
    WaitReady,
    WriteConfig,
    plan,
)
from .probe import Probe, probe, wait_ready
from .render import EnsembleStatus, MemberStatus, status_label
from .spec import EnsembleSpec, MemberSpec, member_argv, render_log4j, render_zoo_cfg
from .state import MemberPaths, PidRecord, StateStore

__all__ = ["ExitCode", "Launcher", "LauncherError"]

LOG_LINES_ON_FAILURE = 20


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2  # usage error, or a confirmation was needed but not possible
    UNAVAILABLE = 3  # readiness timeout, member died while starting, ssh timeout
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class LauncherError(Exception):
    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED,
                 hint: str | None = None, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint
        self.details = tuple(details)


@dataclass
class Launcher:
    store: StateStore
    err: IO[str]
    wait_timeout_s: float = 60.0
    ssh_timeout_s: float = 5.0
    host_factory: Callable[[MemberSpec, float], Host] | None = None
    _hosts: dict[str, Host] = field(default_factory=dict)

    # ------------------------------------------------------------------ hosts

    def paths(self, spec: EnsembleSpec, member: MemberSpec) -> MemberPaths:
        return self.store.paths(spec, member, self.host(member, spec))

    def host(self, member: MemberSpec, spec: EnsembleSpec | None = None) -> Host:
        key = member.ssh or "local"
        h = self._hosts.get(key)
        if h is None:
            if self.host_factory is not None:
                h = self.host_factory(member, self.ssh_timeout_s)
            elif member.ssh is None:
                from .hosts.local import LocalHost

                h = LocalHost()
            else:
                from .hosts.ssh import SSHHost

                h = SSHHost(member.ssh, connect_timeout_s=self.ssh_timeout_s,
                            command_timeout_s=max(self.ssh_timeout_s, 10.0),
                            python=spec.remote_python if spec is not None else "python3")
            self._hosts[key] = h
        return h

    def close(self) -> None:
        for h in self._hosts.values():
            h.close()
        self._hosts.clear()

    def say(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    # ------------------------------------------------------------------ observe / plan

    def observe(self, spec: EnsembleSpec,
                members: Sequence[MemberSpec] | None = None) -> dict[str, Observed]:
        out: dict[str, Observed] = {}
        for m in members if members is not None else spec.members:
            try:
                out[m.name] = self.store.observe(self.host(m, spec), spec, m)[0]
            except HostError as e:
                raise LauncherError(f"{m.name} ({m.host}): {e}", ExitCode.UNAVAILABLE,
                                    hint=e.hint) from e
        return out

    def plan(self, spec: EnsembleSpec, verb: Verb, members: Sequence[MemberSpec] | None = None,
             *, kill_signal: str = "KILL") -> list[Action]:
        selected = list(spec.members if members is None else members)
        return plan(spec, verb, self.observe(spec, selected), selected, kill_signal=kill_signal)

    # ------------------------------------------------------------------ execute

    def execute(self, spec: EnsembleSpec, actions: Sequence[Action]) -> ExitCode:
        failed = False
        pids: dict[str, int] = {}
        for action in actions:
            m = spec.member(action.members[0] if isinstance(action, WaitReady)
                            else action.member)
            try:
                if isinstance(action, Note):
                    self.say(action.message)
                elif isinstance(action, Fail):
                    self.say(f"Error: {action.message}")
                    failed = True
                elif isinstance(action, CleanStalePid):
                    self.host(m).remove(self.paths(spec, m).pid)
                    self.say(f"{m.name}: removed stale pid file (pid {action.pid} is gone or "
                             "is not this member)")
                elif isinstance(action, CheckPorts):
                    self._check_ports(spec, m, action)
                elif isinstance(action, WriteConfig):
                    self._write_config(spec, m)
                elif isinstance(action, Spawn):
                    pids[m.name] = self._spawn(spec, m)
                elif isinstance(action, WaitReady):
                    self._wait_ready(spec, action.members, pids)
                elif isinstance(action, Terminate):
                    h = self.host(m)
                    if h.signal(action.pid, _signal.SIGTERM):
                        h.signal(action.pid, _signal.SIGCONT)  # a paused member must run to exit
                        self.say(f"{m.name}  {m.client_address}  SIGTERM sent to pid {action.pid}")
                elif isinstance(action, SendSignal):
                    signum = _signal.Signals[f"SIG{action.signal_name}"]
                    if self.host(m).signal(action.pid, signum):
                        if action.signal_name in ("STOP", "CONT"):
                            self._wait_paused(m, action.pid, action.signal_name == "STOP")
                        self.say(f"{m.name}  {m.client_address}  SIG{action.signal_name} sent to "
                                 f"pid {action.pid}")
                    else:
                        self.say(f"{m.name}: pid {action.pid} already gone")
                elif isinstance(action, WaitGone):
                    if not self._wait_gone(spec, m, action.pid):
                        self.say(f"Error: {m.name} (pid {action.pid}) is still running after "
                                 f"{self.wait_timeout_s:g} s; try: zkpy ensemble kill "
                                 f"-m {m.name} {spec.name}")
                        failed = True
            except HostError as e:
                raise LauncherError(f"{m.name} ({m.host}): {e}", ExitCode.UNAVAILABLE
                                    if "timed out" in str(e) else ExitCode.FAILED,
                                    hint=e.hint) from e
        return ExitCode.FAILED if failed else ExitCode.OK

    def _check_ports(self, spec: EnsembleSpec, m: MemberSpec, action: CheckPorts) -> None:
        h = self.host(m)
        for role, port in action.ports:
            holder = h.port_holder(m.host, port)
            if holder.free:
                continue
            who = (f"pid {holder.pid} ({holder.command})" if holder.pid is not None
                   else "another process (not visible to us)")
            raise LauncherError(
                f"{m.host}:{port} ({m.name} {role} port) is in use by {who}",
                ExitCode.FAILED,
                hint="stop that process, or create the ensemble with another --base-port "
                     "(ports are fixed at create)")

    def _write_config(self, spec: EnsembleSpec, m: MemberSpec) -> None:
        h = self.host(m)
        p = self.paths(spec, m)
        h.write_file(p.config, render_zoo_cfg(spec, m, p.data_dir))
        h.write_file(f"{p.data_dir}/myid", f"{m.id}\n")
        h.write_file(p.log4j, render_log4j())

    def _spawn(self, spec: EnsembleSpec, m: MemberSpec) -> int:
        h = self.host(m)
        p = self.paths(spec, m)
        argv = member_argv(spec, m, python=h.python(), config=p.config, member_dir=p.dir,
                           data_dir=p.data_dir)
        pid = h.spawn_detached(argv, cwd=p.dir, log_path=p.log)
        h.write_file(p.pid, PidRecord(pid, tuple(argv), p.config).to_json())
        self.say(f"{m.name}  {m.client_address}  started pid {pid}")
        return pid

    def _wait_ready(self, spec: EnsembleSpec, names: Sequence[str], pids: dict[str, int]) -> None:
        members = [spec.member(n) for n in names]

        def alive(name: str) -> bool:
            m = spec.member(name)
            return self.host(m).process(pids[name]) is not None

        def ready(name: str, p: Probe) -> None:
            m = spec.member(name)
            self.say(f"{m.name}  {m.client_address}  ready ({p.mode})")

        res = wait_ready([(m.name, m.host, m.client_port) for m in members], alive,
                         self.wait_timeout_s, on_ready=ready)
        if res.dead is None and not res.timed_out:
            return
        bad = spec.member(res.dead or res.timed_out[0])
        paths = self.paths(spec, bad)
        lines = self.host(bad).tail(paths.log, LOG_LINES_ON_FAILURE)
        if res.dead is not None:
            self.host(bad).remove(paths.pid)
            msg = f"{bad.name} ({bad.client_address}) exited while starting"
        else:
            last = (res.last or {}).get(bad.name)
            seen = (f"last probe: {last.error or ('mode ' + str(last.mode))}"
                    if last is not None else "never probed")
            waiting = ", ".join(res.timed_out)
            msg = (f"{waiting} not ready after {self.wait_timeout_s:g} s ({seen}); "
                   "members left running")
        raise LauncherError(
            msg, ExitCode.UNAVAILABLE,
            details=[f"Last {len(lines)} lines of {paths.log}:", *[f"  {ln}" for ln in lines]],
            hint=f"full log: {paths.log}  (zkpy ensemble logs {bad.name} --name {spec.name})")

    def _wait_paused(self, m: MemberSpec, pid: int, paused: bool) -> None:
        """Signals are delivered asynchronously: report only once /proc agrees."""
        h = self.host(m)
        deadline = time.monotonic() + self.wait_timeout_s
        while True:
            info = h.process(pid)
            if info is None or info.paused == paused:
                return
            if time.monotonic() >= deadline:
                raise LauncherError(f"{m.name} (pid {pid}) is not "
                                    f"{'paused' if paused else 'running'} after "
                                    f"{self.wait_timeout_s:g} s")
            time.sleep(0.02)

    def _wait_gone(self, spec: EnsembleSpec, m: MemberSpec, pid: int) -> bool:
        h = self.host(m)
        deadline = time.monotonic() + self.wait_timeout_s
        while h.process(pid) is not None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        h.remove(self.paths(spec, m).pid)
        self.say(f"{m.name}  {m.client_address}  stopped")
        return True

    # ------------------------------------------------------------------ status

    def status(self, spec: EnsembleSpec, *, current: bool = False,
               probe_timeout_s: float = 1.0) -> EnsembleStatus:
        rows: list[MemberStatus] = []
        now = time.time()
        for m in spec.members:
            h = self.host(m, spec)
            try:
                observed, _record, proc = self.store.observe(h, spec, m)
            except HostError as e:
                raise LauncherError(f"{m.name} ({m.host}): {e}", ExitCode.UNAVAILABLE,
                                    hint=e.hint) from e
            p = (probe(m.host, m.client_port, probe_timeout_s)
                 if observed.state is MemberState.RUNNING else None)
            uptime = (now - proc.start_time_s if proc is not None and proc.start_time_s
                      else None)
            rows.append(MemberStatus(
                id=m.id, name=m.name, host=m.host, client_port=m.client_port,
                quorum_port=m.quorum_port, election_port=m.election_port,
                role=(p.mode if p is not None and p.mode else "-"),
                status=status_label(observed.state, p), zxid=p.zxid if p is not None else None,
                pid=observed.pid if observed.state is not MemberState.STOPPED else None,
                uptime_s=uptime if observed.state in (MemberState.RUNNING, MemberState.PAUSED)
                else None,
                data_dir=self.paths(spec, m).data_dir, ssh=m.ssh))
        return EnsembleStatus(spec.name, tuple(rows), current=current)

    def destroy_data(self, spec: EnsembleSpec) -> None:
        for m in spec.members:
            if m.is_remote:
                self.host(m).remove_tree(self.paths(spec, m).dir)
        self.store.remove(spec.name)
