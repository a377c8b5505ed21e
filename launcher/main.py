"""`zkpy ensemble ...` and `zkpy up`: the click commands over the launcher.

Rules:
- Commands are thin: parse flags, load the spec, ask the Launcher to observe/plan/execute,
  render. ``--dry-run`` prints the plan and does nothing.
- stdout carries data (status tables, JSON, ``env`` output, hosts); progress, notes and
  errors go to stderr. Errors are ``Error: ...`` plus an optional ``Hint: ...``; exit codes
  follow the table in man/zkpy-ensemble.1 (0 ok, 1 failed, 2 usage/confirmation needed,
  3 unavailable/readiness timeout, 130 Ctrl-C).
- Global flags work before or after the subcommand (``zkpy ensemble --format json status``
  or ``zkpy ensemble status --format json``).
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from .executor import ExitCode, Launcher, LauncherError
from .plan import Verb, render_plan
from .spec import (
    MEMBER_COMMANDS,
    EnsembleSpec,
    SpecError,
    build_spec,
    parse_member_command,
)
from .state import StateStore, zkpy_home

__all__ = ["ensemble", "up"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_WAIT_TIMEOUT_S = 60.0
DEFAULT_SSH_TIMEOUT_S = 5.0
SHELL_COMMAND = "{python} -m zkpy shell -server {hosts}"

# ------------------------------------------------------------------------------------ plumbing


def _global_options(f: F) -> F:
    """The global flags, accepted on the group and on every subcommand (None = not given)."""
    opts = [
        click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                     default=None, help="Output format of data on stdout [default: text]."),
        click.option("-y", "--yes", is_flag=True, default=None,
                     help="Answer yes to confirmations (needed off a TTY)."),
        click.option("--wait-timeout-s", type=float, default=None,
                     help=f"Bound on every wait (ready, stop) [default: "
                          f"{DEFAULT_WAIT_TIMEOUT_S:g}]."),
        click.option("--ssh-timeout-s", type=float, default=None,
                     help=f"ssh connect timeout [default: {DEFAULT_SSH_TIMEOUT_S:g}]."),
        click.option("--dry-run", is_flag=True, default=None,
                     help="Print the plan and do nothing."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


class Opts:
    """Global flags merged from the group and the subcommand."""

    def __init__(self, ctx: click.Context, kw: dict[str, Any]) -> None:
        base: dict[str, Any] = dict(ctx.find_root().meta.get("zkpy.launcher", {}))
        for key in ("output_format", "yes", "wait_timeout_s", "ssh_timeout_s", "dry_run"):
            value = kw.pop(key, None)
            if value is not None:
                base[key] = value
        self.format: str = base.get("output_format") or "text"
        self.yes: bool = bool(base.get("yes"))
        self.wait_timeout_s: float = base.get("wait_timeout_s") or DEFAULT_WAIT_TIMEOUT_S
        self.ssh_timeout_s: float = base.get("ssh_timeout_s") or DEFAULT_SSH_TIMEOUT_S
        self.dry_run: bool = bool(base.get("dry_run"))

    def launcher(self, store: StateStore) -> Launcher:
        return Launcher(store, sys.stderr, wait_timeout_s=self.wait_timeout_s,
                        ssh_timeout_s=self.ssh_timeout_s)


def _fail(message: str, code: int, hint: str | None = None,
          details: Sequence[str] = ()) -> None:
    click.echo(f"Error: {message}", err=True)
    for line in details:
        click.echo(line, err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    raise SystemExit(int(code))


def _command(f: F) -> F:
    """Map our errors and Ctrl-C to the exit-code table; merge the global flags."""

    @_global_options
    @click.pass_context
    @functools.wraps(f)
    def wrapper(ctx: click.Context, /, **kw: Any) -> None:
        opts = Opts(ctx, kw)
        try:
            code = f(opts, **kw)
        except LauncherError as e:
            _fail(str(e), e.code, e.hint, e.details)
        except SpecError as e:
            _fail(str(e), ExitCode.USAGE)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        raise SystemExit(int(code or 0))

    return wrapper  # type: ignore[return-value]


def _store() -> StateStore:
    return StateStore(zkpy_home())


def _resolve(store: StateStore, name: str | None) -> EnsembleSpec:
    if name is None:
        name = store.current()
        if name is None:
            raise SpecError("NAME", "no ensemble given and no current ensemble; pass NAME or "
                                    "run: zkpy ensemble switch NAME")
    return store.load(name)


def _confirm(opts: Opts, question: str, *, expect: str | None = None) -> None:
    """[y/N] (or type ``expect``) on a TTY; off a TTY only --yes goes on (else exit 2)."""
    if opts.yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise LauncherError(f"{question}: confirmation needed; pass --yes", ExitCode.USAGE)
    if expect is not None:
        answer = click.prompt(f"{question}\nType the ensemble name ({expect}) to confirm",
                              default="", show_default=False, err=True)
        ok = answer.strip() == expect
    else:
        ok = click.confirm(question, default=False, err=True)
    if not ok:
        raise LauncherError("not confirmed; nothing was done", ExitCode.USAGE)


def _members_option(f: F) -> F:
    return click.option("-m", "--member", "members", multiple=True, metavar="ID|NAME",
                        help="Member to act on, by id (1) or name (zk1); repeatable. "
                             "Default: all.")(f)


def _name_argument(f: F) -> F:
    return click.argument("name", required=False)(f)


# ------------------------------------------------------------------------------------ group


@click.group("ensemble", context_settings={"help_option_names": ["-h", "--help"]})
@_global_options
@click.pass_context
def ensemble(ctx: click.Context, /, **kw: Any) -> None:
    """Create and run local or ssh-remote ensembles of zkpy (or ZooKeeper) members.

    Ensembles live under $ZKPY_HOME (default ~/.local/state/zkpy)/ensembles/NAME. Commands
    that take an optional NAME use the current ensemble (see `switch`) when it is omitted.
    """
    ctx.find_root().meta["zkpy.launcher"] = kw


@ensemble.command("create")
@click.argument("name")
@click.option("-n", "count", type=int, default=3, show_default=True, help="Number of members.")
@click.option("--base-port", type=int, default=None,
              help="First client port; quorum/election/admin ports follow ZooKeeper's "
                   "2888/3888/8080 offsets. Default: first free block from 2181.")
@click.option("--host", "hosts", multiple=True, metavar="ADDR",
              help="Address for members, round-robin (127.0.0.1, 127.0.0.2, ...); repeatable.")
@click.option("--ssh", "ssh", multiple=True, metavar="USER@HOST[:PORT]",
              help="Run members on these ssh hosts, round-robin; repeatable.")
@click.option("--server", "server_kind", type=click.Choice(sorted(MEMBER_COMMANDS)),
              default="zkpy", show_default=True, help="Member binary preset.")
@click.option("--member-command", default=None, metavar="TEMPLATE",
              help="Member command instead of --server, with {python} {config} {member_dir} "
                   "{data_dir} {id} {name} placeholders.")
@click.option("--tick-ms", type=int, default=2000, show_default=True, help="tickTime.")
@click.option("--no-admin", is_flag=True, help="Do not enable the admin HTTP server.")
@click.option("--remote-dir", default="", metavar="PATH",
              help="Base dir on ssh hosts [default: ~/.local/state/zkpy/ensembles/NAME].")
@click.option("--remote-python", default="python3", show_default=True,
              help="{python} on ssh hosts.")
@click.option("--start", "start_now", is_flag=True, help="Start the ensemble after creating it.")
@_command
def create_cmd(opts: Opts, name: str, count: int, base_port: int | None, hosts: tuple[str, ...],
               ssh: tuple[str, ...], server_kind: str, member_command: str | None, tick_ms: int,
               no_admin: bool, remote_dir: str, remote_python: str, start_now: bool) -> int:
    """Create ensemble NAME (ports fixed now, for good) and make it current."""
    store = _store()
    if store.exists(name):
        raise LauncherError(f"ensemble {name!r} already exists", ExitCode.FAILED,
                            hint=f"zkpy ensemble destroy {name}, or pick another name")
    launcher = opts.launcher(store)
    try:
        spec = _build(launcher, name, count, base_port, hosts, ssh, server_kind, member_command,
                      tick_ms, not no_admin, remote_dir, remote_python)
        if opts.dry_run:
            click.echo(_render_create_plan(spec))
            return 0
        _refuse_zkpy_quorum(spec)
        store.save(spec)
        store.set_current(name)
        click.echo(f"Created ensemble {name} ({len(spec.members)} member(s), "
                   f"hosts {spec.hosts}); it is now current", err=True)
        if start_now:
            return _run_verb(opts, launcher, spec, Verb.START, ())
        click.echo(f"Start:    zkpy ensemble start {name}", err=True)
        return 0
    finally:
        launcher.close()


def _build(launcher: Launcher, name: str, count: int, base_port: int | None,
           hosts: Sequence[str], ssh: Sequence[str], server_kind: str,
           member_command: str | None, tick_ms: int, admin: bool, remote_dir: str,
           remote_python: str) -> EnsembleSpec:
    from .hosts.local import LocalHost

    local = LocalHost()

    def is_free(host: str, port: int) -> bool:
        return local.port_holder(host, port).free if not ssh else True

    return build_spec(name, count, hosts=hosts, ssh=ssh, base_port=base_port, is_free=is_free,
                      server_kind=server_kind,
                      member_command=(parse_member_command(member_command)
                                      if member_command else None),
                      admin_enabled=admin, tick_ms=tick_ms, remote_dir=remote_dir,
                      remote_python=remote_python)


def _refuse_zkpy_quorum(spec: EnsembleSpec) -> None:
    """Fail before anything is saved or started: zkpy members of an N>1 ensemble would each
    refuse their config (quorum replication is not implemented yet)."""
    n = len(spec.members)
    if n > 1 and spec.server_kind == "zkpy":
        raise SpecError("-n", f"zkpy members cannot form a {n}-member ensemble yet (quorum "
                              "replication is not implemented); use -n 1, or --server "
                              "zookeeper for Apache ZooKeeper members")


def _render_create_plan(spec: EnsembleSpec) -> str:
    lines = [f"Plan: create {spec.name} (nothing was done)",
             f"  member command: {shlex.join(spec.member_command)}"]
    for m in spec.members:
        where = f" via ssh {m.ssh}" if m.ssh else ""
        lines.append(f"  {m.name} (myid {m.id}) on {m.host}{where}: client {m.client_port}, "
                     f"quorum {m.quorum_port}, election {m.election_port}"
                     + (f", admin {m.admin_port}" if spec.admin_enabled else ""))
    return "\n".join(lines)


def _run_verb(opts: Opts, launcher: Launcher, spec: EnsembleSpec, verb: Verb,
              member_keys: Sequence[str], *, kill_signal: str = "KILL") -> int:
    members = spec.select(member_keys)
    actions = launcher.plan(spec, verb, members, kill_signal=kill_signal)
    if opts.dry_run:
        click.echo(render_plan(spec, verb, actions))
        return 0
    code = launcher.execute(spec, actions)
    if verb in (Verb.START, Verb.RESTART) and code == ExitCode.OK:
        _print_status(opts, launcher, spec, sys.stdout)
        if opts.format == "text":
            _next_steps(spec, sys.stderr)
    return int(code)


def _print_status(opts: Opts, launcher: Launcher, spec: EnsembleSpec, file: Any) -> None:
    st = launcher.status(spec, current=_store().current() == spec.name)
    if opts.format == "json":
        from .render import status_json

        click.echo(json.dumps(status_json(st), indent=2), file=file)
    else:
        from .render import render_status

        render_status([st], file)


def _next_steps(spec: EnsembleSpec, file: Any, *, stop: str | None = None) -> None:
    click.echo("", file=file)
    click.echo(f"Connect:  zkpy shell -server {spec.hosts}", file=file)
    click.echo(f"Status:   zkpy ensemble status {spec.name}", file=file)
    click.echo(f"Stop:     {stop or f'zkpy ensemble stop {spec.name}'}", file=file)


def _verb_command(verb: Verb, help_text: str, *, confirm_remote: bool = False) -> None:
    @ensemble.command(verb.value, help=help_text)
    @_name_argument
    @_members_option
    @_command
    def cmd(opts: Opts, name: str | None, members: tuple[str, ...]) -> int:
        store = _store()
        spec = _resolve(store, name)
        if (confirm_remote and not members and not opts.dry_run
                and any(m.is_remote for m in spec.members)):
            _confirm(opts, f"{verb.value} all members of remote ensemble {spec.name}?")
        launcher = opts.launcher(store)
        try:
            return _run_verb(opts, launcher, spec, verb, members)
        finally:
            launcher.close()


_verb_command(Verb.START, "Start members (default all) and wait until they serve.")
_verb_command(Verb.STOP, "Stop members with SIGTERM and verify they are gone (exit 1 if not).",
              confirm_remote=True)
_verb_command(Verb.RESTART, "Stop, then start members and wait until they serve.",
              confirm_remote=True)
_verb_command(Verb.PAUSE, "Freeze members with SIGSTOP (a fault tool; resume continues them).")
_verb_command(Verb.RESUME, "Continue paused members with SIGCONT.")


@ensemble.command("kill")
@_name_argument
@_members_option
@click.option("--signal", "signal_name", default="KILL", show_default=True, metavar="SIG",
              help="Signal to send (KILL, TERM, HUP, ...); only KILL waits for the exit.")
@_command
def kill_cmd(opts: Opts, name: str | None, members: tuple[str, ...], signal_name: str) -> int:
    """Send members a signal at once (default SIGKILL, a crash)."""
    sig = signal_name.upper().removeprefix("SIG")
    if f"SIG{sig}" not in signal.Signals.__members__:
        raise SpecError("--signal", f"unknown signal {signal_name!r}")
    store = _store()
    spec = _resolve(store, name)
    launcher = opts.launcher(store)
    try:
        return _run_verb(opts, launcher, spec, Verb.KILL, members, kill_signal=sig)
    finally:
        launcher.close()


@ensemble.command("status")
@_name_argument
@_command
def status_cmd(opts: Opts, name: str | None) -> int:
    """Show each member: ports, role, status, zxid, pid, uptime, data dir."""
    store = _store()
    spec = _resolve(store, name)
    launcher = opts.launcher(store)
    try:
        _print_status(opts, launcher, spec, sys.stdout)
    finally:
        launcher.close()
    return 0


@ensemble.command("logs")
@click.argument("member")
@click.option("--name", "name", default=None, help="Ensemble [default: current].")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C ends).")
@click.option("-n", "--lines", "lines", type=int, default=50, show_default=True,
              help="How many last lines to print.")
@_command
def logs_cmd(opts: Opts, member: str, name: str | None, follow: bool, lines: int) -> int:
    """Print the last lines of MEMBER's log (its stdout and stderr)."""
    store = _store()
    spec = _resolve(store, name)
    m = spec.member(member)
    launcher = opts.launcher(store)
    try:
        host = launcher.host(m, spec)
        path = launcher.paths(spec, m).log
        click.echo(f"==> {m.name}: {path} <==", err=True)
        if follow:
            for line in host.follow(path, lines):
                click.echo(line)
        else:
            for line in host.tail(path, lines):
                click.echo(line)
    finally:
        launcher.close()
    return 0


@ensemble.command("list")
@_command
def list_cmd(opts: Opts) -> int:
    """List ensembles; the current one is marked *."""
    store = _store()
    current = store.current()
    names = store.names()
    if opts.format == "json":
        out = []
        for n in names:
            spec = store.load(n)
            out.append({"name": n, "current": n == current, "members": len(spec.members),
                        "hosts": spec.hosts})
        click.echo(json.dumps(out, indent=2))
        return 0
    if not names:
        click.echo(f"No ensembles under {store.ensembles}; create one with: "
                   "zkpy ensemble create NAME -n 3", err=True)
    for n in names:
        click.echo(f"{'*' if n == current else ' '} {n}")
    return 0


@ensemble.command("switch")
@click.argument("name")
@_command
def switch_cmd(opts: Opts, name: str) -> int:
    """Make NAME the current ensemble."""
    store = _store()
    store.load(name)  # must exist
    store.set_current(name)
    click.echo(f"Current ensemble: {name}", err=True)
    return 0


@ensemble.command("destroy")
@click.argument("name")
@_command
def destroy_cmd(opts: Opts, name: str) -> int:
    """Stop (or kill) every member and delete the ensemble and all its data."""
    store = _store()
    spec = store.load(name)
    launcher = opts.launcher(store)
    try:
        if opts.dry_run:
            click.echo(render_plan(spec, Verb.STOP, launcher.plan(spec, Verb.STOP)))
            click.echo(f"  then: delete {store.dir(name)}"
                       + (" and member dirs on ssh hosts" if any(m.is_remote for m in spec.members)
                          else ""))
            return 0
        _confirm(opts, f"Destroy ensemble {name} and delete ALL its data?", expect=name)
        _stop_everything(launcher, spec)
        launcher.destroy_data(spec)
        click.echo(f"Destroyed ensemble {name}", err=True)
        return 0
    finally:
        launcher.close()


def _stop_everything(launcher: Launcher, spec: EnsembleSpec) -> None:
    """SIGTERM everyone; whoever survives the wait gets SIGKILL; fail if even that fails."""
    code = launcher.execute(spec, launcher.plan(spec, Verb.STOP))
    if code != ExitCode.OK:
        code = launcher.execute(spec, launcher.plan(spec, Verb.KILL, kill_signal="KILL"))
        if code != ExitCode.OK:
            raise LauncherError(f"could not stop every member of {spec.name}; data kept")


@ensemble.command("env")
@_name_argument
@_command
def env_cmd(opts: Opts, name: str | None) -> int:
    """Print ZKPY_HOSTS=host:port,... for `eval "export $(zkpy ensemble env)"`."""
    spec = _resolve(_store(), name)
    if opts.format == "json":
        click.echo(json.dumps({"ZKPY_HOSTS": spec.hosts, "ZKPY_ENSEMBLE": spec.name}))
    else:
        click.echo(f"ZKPY_HOSTS={spec.hosts}")
    return 0


@ensemble.command("shell", context_settings={"ignore_unknown_options": True})
@_name_argument
@click.argument("shell_args", nargs=-1, type=click.UNPROCESSED)
@_command
def shell_cmd(opts: Opts, name: str | None, shell_args: tuple[str, ...]) -> int:
    """Run `zkpy shell -server HOSTS` against the ensemble (extra args are passed on)."""
    spec = _resolve(_store(), name)
    argv = _shell_argv(SHELL_COMMAND, spec.hosts) + list(shell_args)
    if opts.dry_run:
        click.echo(shlex.join(argv))
        return 0
    return _run_attached(argv)


def _shell_argv(template: str, hosts: str) -> list[str]:
    return [part.replace("{python}", sys.executable).replace("{hosts}", hosts)
            for part in shlex.split(template)]


def _run_attached(argv: Sequence[str]) -> int:
    """Run a child on our terminal; Ctrl-C belongs to it while it runs (like system())."""
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(list(argv), preexec_fn=_default_sigint)  # noqa: PLW1509
        except OSError as e:
            raise LauncherError(f"cannot run {argv[0]!r}: {e.strerror or e}") from e
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# ------------------------------------------------------------------------------------ up


@click.command("up", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "count", type=int, default=1, show_default=True, help="Number of members.")
@click.option("--base-port", type=int, default=None,
              help="First client port [default: first free block from 2181].")
@click.option("--host", "hosts", multiple=True, metavar="ADDR",
              help="Address(es) for members, round-robin [default: 127.0.0.1].")
@click.option("--name", default=None, help="Ensemble name [default: up-<pid>]; an existing "
                                           "ensemble of that name is reused.")
@click.option("--keep", is_flag=True, help="Keep the ensemble and its data when the shell exits "
                                           "(members are stopped either way).")
@click.option("--no-shell", is_flag=True, help="Start, print the hosts on stdout and return; "
                                               "the ensemble keeps running.")
@click.option("--server", "server_kind", type=click.Choice(sorted(MEMBER_COMMANDS)),
              default="zkpy", show_default=True, help="Member binary preset.")
@click.option("--member-command", default=None, metavar="TEMPLATE",
              help="Member command instead of --server (see zkpy ensemble create).")
@click.option("--shell-command", default=SHELL_COMMAND, show_default=True, hidden=True,
              help="Shell to run, with {python} and {hosts}.")
@_command
def up(opts: Opts, count: int, base_port: int | None, hosts: tuple[str, ...],
       name: str | None, keep: bool,
       no_shell: bool, server_kind: str, member_command: str | None,
       shell_command: str) -> int:
    """Start a throwaway local ensemble, wait until it serves, and open the shell on it.

    When the shell exits the members are stopped and the data deleted (unless --keep).
    """
    store = _store()
    name = name or f"up-{os.getpid()}"
    launcher = opts.launcher(store)
    created = False
    try:
        if store.exists(name):
            spec = store.load(name)
            click.echo(f"Reusing ensemble {name} ({spec.hosts})", err=True)
        else:
            spec = _build(launcher, name, count, base_port, hosts, (), server_kind, member_command,
                          2000, True, "", "python3")
            if opts.dry_run:
                click.echo(_render_create_plan(spec))
                click.echo(f"  then: start, wait ready, run {shell_command}"
                           + ("" if keep or no_shell else "; on exit stop and delete"))
                return 0
            _refuse_zkpy_quorum(spec)
            store.save(spec)
            created = True
        if opts.dry_run:
            click.echo(render_plan(spec, Verb.START, launcher.plan(spec, Verb.START)))
            return 0
        try:
            if launcher.execute(spec, launcher.plan(spec, Verb.START)) != ExitCode.OK:
                raise LauncherError(f"could not start {name}")
        except BaseException:
            _teardown(launcher, spec, remove=created and not keep, quiet=True)
            raise
        from .render import render_status

        render_status([launcher.status(spec)], sys.stderr)
        if no_shell:
            _next_steps(spec, sys.stderr, stop=f"zkpy ensemble destroy --yes {name}")
            click.echo(spec.hosts)
            return 0
        _next_steps(spec, sys.stderr, stop="exit the shell (quit or Ctrl-D)"
                    + ("" if keep else "; the data is then deleted"))
        click.echo("", err=True)
        try:
            rc = _run_attached(_shell_argv(shell_command, spec.hosts))
        finally:
            _teardown(launcher, spec, remove=created and not keep)
        return rc
    finally:
        launcher.close()


def _teardown(launcher: Launcher, spec: EnsembleSpec, *, remove: bool, quiet: bool = False) -> None:
    try:
        _stop_everything(launcher, spec)
    except LauncherError as e:
        click.echo(f"Error: {e}", err=True)
        return
    if remove:
        launcher.destroy_data(spec)
        if not quiet:
            click.echo(f"Removed ensemble {spec.name} and its data", err=True)
    elif not quiet:
        click.echo(f"Kept ensemble {spec.name}; start it again with: "
                   f"zkpy ensemble start {spec.name}", err=True)

