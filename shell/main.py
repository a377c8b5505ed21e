"""`zkpy shell`: options, mode dispatch (one command, script, REPL) and the exit status.

Modes:
- ``zkpy shell [-server HOSTS] CMD ARGS...`` runs one command (argv is its tokens, as zkCli);
- ``-f FILE`` or a non-terminal stdin runs a script: ``#`` comments, data on stdout, errors
  on stderr, no prompt or banner, stop at the first failure (``--keep-going`` continues and
  exits with the first failure's status);
- otherwise the interactive REPL (shell/repl.py).

zkCli's single-dash ``-server``/``-timeout``/``-client-configuration``/``-waitforconnection``
spellings are rewritten to their ``--`` forms before click parses (``ZkCliCommand``), but only
up to the first positional: everything after the command name belongs to the command.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import click

from .commands.session import _version
from .context import ClientFactory, Output, Shell
from .errors import ExitCode
from .parser import join_continuation, needs_continuation

# Tests replace this to drive the shell without a server.
DEFAULT_CLIENT_FACTORY: ClientFactory | None = None

_SINGLE_DASH = {"-server": "--server", "-timeout": "--timeout",
                "-client-configuration": "--client-configuration",
                "-waitforconnection": "--waitforconnection"}
_TAKES_VALUE = {"--server", "-s", "--timeout", "-f", "--file", "--format",
                "--client-configuration", "--binary"}


def rewrite_argv(args: Sequence[str]) -> list[str]:
    """zkCli spellings -> click options, up to the first positional (the command)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--" or not tok.startswith("-"):
            return out + list(args[i:])
        tok = _SINGLE_DASH.get(tok, tok)
        out.append(tok)
        if tok in _TAKES_VALUE and i + 1 < len(args):
            out.append(args[i + 1])
            i += 1
        i += 1
    return out


class ZkCliCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rewrite_argv(args))


def use_color(no_color: bool, stream: Any) -> bool:
    if no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def script_lines(lines: Iterable[str]) -> Iterable[str]:
    """Commands of a script: skip blanks and # comments, join continued lines."""
    pending = ""
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if needs_continuation(pending):
            continue
        yield join_continuation(pending)
        pending = ""
    if pending:
        yield join_continuation(pending)


async def run_script(sh: Shell, lines: Iterable[str], keep_going: bool,
                     echo: bool = False) -> int:
    first_failure = 0
    for line in script_lines(lines):
        if echo:
            sh.out.notice(f"> {line}")
        code = await sh.run_line(line)
        if sh.quit_requested:
            return first_failure or code
        if code != 0:
            if not keep_going:
                return code
            first_failure = first_failure or code
    return first_failure


def _stdin_chunks() -> Iterator[bytes]:
    """Raw stdin bytes as they arrive. os.read on the fd, not sys.stdin: a daemon thread
    blocked inside a buffered reader holds its lock and makes interpreter shutdown abort.
    A stdin with no fd (embedding, click's CliRunner) is read whole instead."""
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):
        stream = getattr(sys.stdin, "buffer", None)
        yield stream.read() if stream is not None else sys.stdin.read().encode()
        return
    while chunk := os.read(fd, 65536):
        yield chunk


async def _aiter_stdin(loop: asyncio.AbstractEventLoop) -> Any:
    """Lines of stdin, read by a daemon thread (a blocked read never delays the exit,
    which a default-executor thread would on Ctrl-C)."""
    lines: asyncio.Queue[bytes] = asyncio.Queue()

    def pump() -> None:
        pending = b""
        try:
            for chunk in _stdin_chunks():
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    loop.call_soon_threadsafe(lines.put_nowait, raw + b"\n")
            if pending:
                loop.call_soon_threadsafe(lines.put_nowait, pending)
        except (OSError, ValueError, RuntimeError):
            pass
        finally:
            try:
                loop.call_soon_threadsafe(lines.put_nowait, b"")
            except RuntimeError:
                pass  # the loop is already closed

    threading.Thread(target=pump, name="zkpy-shell-stdin", daemon=True).start()
    while True:
        raw = await lines.get()
        if not raw:
            return
        yield raw.decode("utf-8", "surrogateescape")


async def run_stdin_script(sh: Shell, keep_going: bool, echo: bool) -> int:
    """Like run_script, but each line runs as soon as it arrives (pipes from programs)."""
    loop = asyncio.get_running_loop()
    first_failure = 0
    pending = ""
    async for raw in _aiter_stdin(loop):
        line = raw.rstrip("\n").rstrip("\r")
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if needs_continuation(pending):
            continue
        cmd, pending = join_continuation(pending), ""
        if echo:
            sh.out.notice(f"> {cmd}")
        code = await sh.run_line(cmd)
        if sh.quit_requested:
            return first_failure or code
        if code != 0:
            if not keep_going:
                return code
            first_failure = first_failure or code
    if pending:
        code = await sh.run_line(join_continuation(pending))
        first_failure = first_failure or code
    return first_failure


async def run_shell(*, hosts: str, timeout_ms: int, read_only: bool, script: str | None,
                    keep_going: bool, fmt: str, no_color: bool, debug: bool, yes: bool,
                    echo: bool, command: Sequence[str], binary: str = "hex",
                    client_factory: ClientFactory | None = None,
                    interactive: bool | None = None, ssl_context: Any = None) -> int:
    factory = client_factory or DEFAULT_CLIENT_FACTORY
    if interactive is None:
        interactive = not command and script is None and sys.stdin.isatty() and \
            sys.stdout.isatty()
    out = Output(tty=sys.stdout.isatty(), color=use_color(no_color, sys.stdout), binary=binary)
    sh = Shell(hosts=hosts, timeout_ms=timeout_ms, read_only=read_only, output=out,
               client_factory=factory, fmt=fmt, interactive=interactive, debug=debug,
               assume_yes=yes, ssl_context=ssl_context)
    try:
        if command:
            return await sh.run_tokens(list(command))
        if script is not None:
            if script == "-":
                return await run_stdin_script(sh, keep_going, echo)
            try:
                with open(script, encoding="utf-8", errors="surrogateescape") as f:
                    lines = f.readlines()
            except OSError as e:
                out.error(f"Cannot read script {script}: {e.strerror}")
                return ExitCode.USAGE
            return await run_script(sh, lines, keep_going, echo)
        if interactive:
            from .repl import run_repl
            out.notice(f"zkpy shell {_version()}: 'help' lists the commands, Tab completes, "
                       "Ctrl-D exits.")
            return await run_repl(sh)
        return await run_stdin_script(sh, keep_going, echo)
    finally:
        try:
            await asyncio.wait_for(sh.aclose(), 10.0)
        except Exception:  # noqa: BLE001 - leaving anyway
            pass


@click.command(cls=ZkCliCommand, context_settings={
    "help_option_names": ["-h", "--help"], "ignore_unknown_options": True,
    "allow_interspersed_args": False})
@click.option("--server", "-s", "hosts", default=lambda: os.environ.get("ZKPY_HOSTS",
              "localhost:2181"), show_default="localhost:2181 or $ZKPY_HOSTS",
              metavar="HOSTS",
              help="host:port[,host:port...][/chroot] to connect to (zkCli: -server).")
@click.option("--timeout", "timeout_ms", type=click.IntRange(min=1), default=30000,
              show_default=True, metavar="MS",
              help="session timeout in milliseconds (zkCli: -timeout).")
@click.option("-r", "--read-only", is_flag=True,
              help="allow a read-only session on a member without quorum.")
@click.option("-f", "--file", "script", metavar="SCRIPT",
              help="run the commands in SCRIPT ('-' = stdin) and exit.")
@click.option("--keep-going", is_flag=True,
              help="in a script, continue after a failing command.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="output format of stat, ls -s, getAcl, srvr, ...")
@click.option("--binary", type=click.Choice(["hex", "base64"]), default="hex",
              show_default=True, help="how a terminal shows data that is not text.")
@click.option("--no-color", is_flag=True, help="never use colour (NO_COLOR is honoured).")
@click.option("--debug", is_flag=True, help="show tracebacks of unexpected errors.")
@click.option("-y", "--yes", is_flag=True,
              help="confirm destructive commands (deleteall /) without asking.")
@click.option("--echo", is_flag=True, help="in a script, echo each command to stderr.")
@click.option("--client-configuration", metavar="FILE",
              help="zkCli's client configuration file: zookeeper.client.secure=true and "
                   "the zookeeper.ssl.* keys connect over TLS; other keys are ignored.")
@click.option("--waitforconnection", is_flag=True,
              help="zkCli compatibility: accepted (the shell always waits).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def shell(hosts: str, timeout_ms: int, read_only: bool, script: str | None,
          keep_going: bool, fmt: str, binary: str, no_color: bool, debug: bool, yes: bool,
          echo: bool, client_configuration: str | None, waitforconnection: bool,
          command: tuple[str, ...]) -> None:
    """A zkCli-compatible ZooKeeper shell.

    Runs COMMAND if given, else the commands of -f SCRIPT or of stdin when it is not a
    terminal, else an interactive prompt. zkCli's -server and -timeout spellings work.
    See 'help' inside the shell and man zkpy-shell.
    """
    ssl_context = None
    if client_configuration is not None:
        ssl_context = _client_tls(client_configuration)
    try:
        code = asyncio.run(run_shell(
            hosts=hosts, timeout_ms=timeout_ms, read_only=read_only, script=script,
            keep_going=keep_going, fmt=fmt, no_color=no_color, debug=debug, yes=yes,
            echo=echo, command=command, binary=binary, ssl_context=ssl_context))
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    sys.stdout.flush()
    sys.exit(int(code))


def _client_tls(path: str) -> Any:
    """The SSLContext a zkCli client configuration file asks for (None: plain TCP); a
    file that cannot be read or used ends the shell with a usage error."""
    from zkpy.client.tls import StoreError, client_context
    from zkpy.properties import parse_properties

    try:
        with open(path, encoding="utf-8") as f:
            props = parse_properties(f.read())
    except (OSError, UnicodeDecodeError):
        click.echo(f"Cannot read client configuration {path}", err=True)
        sys.exit(ExitCode.USAGE)
    try:
        return client_context(props)
    except StoreError as e:
        click.echo(f"Invalid client configuration {path}: {e}", err=True)
        sys.exit(ExitCode.USAGE)


def main() -> None:
    """``python -m shell``."""
    shell(prog_name="zkpy shell")
