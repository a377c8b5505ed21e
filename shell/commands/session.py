"""Session and shell commands: connect close quit history redo version help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ExitCode, UsageError
from . import COMMANDS, GROUPS, REGISTRY, CommandSpec, Invocation, command

if TYPE_CHECKING:
    from ..context import Shell


@command("connect", group="session", summary="close the session and open a new one",
         usage="connect host:port", args=("host:port[,...][/chroot]",), min_args=0,
         max_args=1, needs_connection=False,
         examples=("connect 127.0.0.1:2181", "connect 127.0.0.1:2181,127.0.0.1:2182/app",
                   "connect"),
         details="Without an argument, reconnects to the same servers.")
async def connect(sh: Shell, inv: Invocation) -> int:
    await sh.connect(inv.pos[0] if inv.pos else None)
    sh.cwd = "/"
    return ExitCode.OK


@command("close", group="session", summary="close the session (the shell stays open)",
         usage="close ", min_args=0, max_args=0, needs_connection=False, examples=("close",),
         details="Ephemeral nodes of the session go away. Later commands say Not connected "
                 "until 'connect'.")
async def close(sh: Shell, inv: Invocation) -> int:
    await sh.disconnect()
    sh.closed_by_user = True
    return ExitCode.OK


@command("quit", group="session", summary="close the session and leave the shell",
         usage="quit ", min_args=0, max_args=0, needs_connection=False, aliases=("exit",),
         examples=("quit",),
         details="The exit status is that of the previous command (as zkCli).")
async def quit_(sh: Shell, inv: Invocation) -> int:
    sh.quit_requested = True
    return sh.last_exit


@command("history", group="session", summary="list the last commands with their numbers",
         usage="history ", min_args=0, max_args=0, needs_connection=False,
         examples=("history", "redo 3"))
async def history(sh: Shell, inv: Invocation) -> int:
    start = max(0, len(sh.history) - 11)
    for i in range(start, len(sh.history)):
        sh.out.line(f"{i} - {sh.history[i]}")
    return ExitCode.OK


@command("redo", group="session", summary="run command number N of the history again",
         usage="redo cmdno", args=("cmdno",), min_args=1, max_args=1, needs_connection=False,
         examples=("redo 3",))
async def redo(sh: Shell, inv: Invocation) -> int:
    me = len(sh.history) - 1  # this redo line
    try:
        n = int(inv.pos[0], 0)
    except ValueError:
        raise UsageError("redo cmdno", hint="cmdno is a number from 'history'") from None
    if n < 0 or n >= me:
        raise UsageError("Command index out of range")
    line = sh.history[n]
    if line.split()[0] == "redo":
        raise UsageError("No redoing redos")
    sh.history[me] = line
    return await sh._run(line)


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("zkpy")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "0.1.0"


@command("version", group="session", summary="print the shell's version", usage="version ",
         min_args=0, max_args=0, needs_connection=False, examples=("version",))
async def version_(sh: Shell, inv: Invocation) -> int:
    sh.out.line(f"zkpy CLI version: {_version()}")
    return ExitCode.OK


def help_text(spec: CommandSpec | None = None) -> str:
    """All commands grouped with summaries, or one command in detail."""
    if spec is None:
        out = ["Commands (help COMMAND for details; paths may be relative to the cwd):"]
        width = max(len(s.name) for s in COMMANDS) + 2
        for group, title in GROUPS:
            members = sorted((s for s in COMMANDS if s.group == group),
                             key=lambda s: s.name.lower())
            if not members:
                continue
            out.append("")
            out.append(f"{title}:")
            for s in members:
                extra = "" if s.zkcli else "  (zkpy)"
                out.append(f"  {s.name:<{width}}{s.summary}{extra}")
        return "\n".join(out) + "\n"
    out = [f"{spec.name} - {spec.summary}", "", f"Usage: {spec.usage.rstrip()}"]
    if spec.aliases:
        out.append(f"Aliases: {', '.join(spec.aliases)}")
    if spec.flags:
        out.append("")
        out.append("Options:")
        for f in spec.flags:
            out.append(f"  {f.spelling:<16}{f.help}")
    if spec.details:
        out += ["", spec.details]
    if spec.examples:
        out += ["", "Examples:"] + [f"  {e}" for e in spec.examples]
    out += ["", "zkCli: same command and syntax" if spec.zkcli else "zkCli: no equivalent"]
    return "\n".join(out) + "\n"


@command("help", group="session", summary="list the commands, or explain one",
         usage="help [command]", args=("command",), min_args=0, max_args=1,
         needs_connection=False, zkcli=False, examples=("help", "help create"))
async def help_(sh: Shell, inv: Invocation) -> int:
    if inv.pos:
        spec = REGISTRY.get(inv.pos[0])
        if spec is None:
            raise UsageError(f"No such command: {inv.pos[0]}", hint="'help' lists them")
        sh.out.text(help_text(spec))
    else:
        sh.out.text(help_text())
    return ExitCode.OK
