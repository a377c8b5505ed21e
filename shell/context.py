"""The shell's runtime state and its one dispatcher: connection, cwd, history, output.

``Shell.run_line(line)`` is the single entry point used by the REPL and by batch mode:
tokenise, look up the command, parse its flags, check arity and connection, run it,
turn any failure into one stderr line (+ hint) and an exit code (shell/errors.py).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import IO, Any, Protocol

from zkpy.errors import ZkError
from zkpy.paths import validate_path

from . import render
from .errors import (
    ExitCode,
    NotConnectedError,
    ShellError,
    UnknownCommandError,
    UsageError,
    describe,
)
from .parser import ParseError, parse_args, tokenize

ClientFactory = Callable[..., Any]
DEAD_STATES = frozenset({"CLOSED", "EXPIRED", "AUTH_FAILED"})


class Output:
    """Where the shell writes: stdout for data, stderr for everything else.

    Streams default to ``sys.stdout`` / ``sys.stderr`` *at write time*, so the REPL's
    patch_stdout proxy is honoured. ``tty`` selects binary-safe rendering (text, or a
    hex dump/base64 with a note) versus raw bytes; ``color`` allows ANSI colour.
    """

    def __init__(self, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                 tty: bool = False, color: bool = False, binary: str = "hex") -> None:
        self._stdout = stdout
        self._stderr = stderr
        self.tty = tty
        self.color = color
        self.binary = binary

    @property
    def stdout(self) -> IO[str]:
        return self._stdout if self._stdout is not None else sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return self._stderr if self._stderr is not None else sys.stderr

    def text(self, s: str) -> None:
        self.stdout.write(s)
        self.stdout.flush()

    def line(self, s: str) -> None:
        self.text(s + "\n")

    def data(self, data: bytes | None) -> None:
        """Znode data: raw bytes (+ newline) when piped, safe text on a terminal."""
        if self.tty:
            shown, note = render.data_for_terminal(data, self.binary)
            self.text(shown)
            if note:
                self.notice(note)
            return
        raw = render.data_for_pipe(data)
        out = self.stdout
        buf = getattr(out, "buffer", None)
        out.flush()
        if buf is not None:
            buf.write(raw)
            buf.flush()
        else:
            out.write(raw.decode("utf-8", "surrogateescape"))
            out.flush()

    def notice(self, s: str) -> None:
        self.stderr.write(s + "\n")
        self.stderr.flush()

    def error(self, message: str, hint: str | None = None) -> None:
        if self.color:
            self.stderr.write(f"\x1b[31m{message}\x1b[0m\n")
        else:
            self.stderr.write(message + "\n")
        if hint:
            self.stderr.write(f"Hint: {hint}\n")
        self.stderr.flush()


class EventSink(Protocol):
    def __call__(self, text: str) -> None: ...


class Shell:
    """One shell session: the client connection and everything commands share."""

    def __init__(self, *, hosts: str = "localhost:2181", timeout_ms: int = 30000,
                 read_only: bool = False, output: Output | None = None,
                 client_factory: ClientFactory | None = None, fmt: str = "text",
                 interactive: bool = False, debug: bool = False,
                 connect_timeout_s: float | None = None, assume_yes: bool = False,
                 ssl_context: Any = None) -> None:
        self.hosts = hosts
        self.ssl_context = ssl_context  # TLS for every connection (client configuration)
        self.timeout_ms = timeout_ms
        self.read_only = read_only
        self.out = output or Output()
        self.client_factory = client_factory
        self.fmt = fmt
        self.interactive = interactive
        self.debug = debug
        self.assume_yes = assume_yes
        self.connect_timeout_s = connect_timeout_s if connect_timeout_s is not None else min(
            10.0, max(timeout_ms / 1000.0, 1.0))
        self.client: Any = None
        self.cwd = "/"
        self.history: list[str] = []
        self.printwatches = True
        self.last_exit = 0
        self.quit_requested = False
        self.closed_by_user = False
        self.confirm: Callable[[str], Awaitable[bool]] | None = None
        self.on_state_change: Callable[[str], None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._current_path: str | None = None

    # ------------------------------------------------------------------ connection

    @property
    def state(self) -> str:
        if self.client is None:
            return "CLOSED" if self.closed_by_user else "NOT_CONNECTED"
        return str(getattr(self.client, "state", "CONNECTING"))

    @property
    def server_label(self) -> str:
        host = getattr(self.client, "connected_host", None) if self.client else None
        if host:
            return host if isinstance(host, str) else f"{host[0]}:{host[1]}"
        return self.hosts

    def _make_client(self, hosts: str) -> Any:
        factory = self.client_factory
        if factory is None:
            from zkpy.client import ZkClient
            factory = ZkClient
        extra = {"ssl_context": self.ssl_context} if self.ssl_context is not None else {}
        return factory(hosts, session_timeout_ms=self.timeout_ms, read_only=self.read_only,
                       connect_timeout_s=self.connect_timeout_s,
                       default_watcher=self.on_watch_event, **extra)

    def start_connect(self, hosts: str | None = None) -> asyncio.Task[None]:
        """Begin connecting in the background (REPL: the prompt shows CONNECTING)."""
        if hosts is not None:
            self.hosts = hosts
        self.closed_by_user = False
        self.client = self._make_client(self.hosts)
        add = getattr(self.client, "add_listener", None)
        if add is not None:
            add(self._state_listener)
        task = asyncio.ensure_future(self._start(self.client))
        task.add_done_callback(self._connect_done)
        self._connecting = task
        return task

    def _connect_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here so asyncio never warns about it
        if exc is not None and self._connecting is task:
            self.client = None  # the prompt says NOT_CONNECTED; the next command retries
        if exc is not None and self.interactive:
            self.out.notice(f"Cannot connect to {self.hosts}: {exc or type(exc).__name__}"
                            " (commands retry; 'connect HOST:PORT' picks another server)")

    async def _start(self, client: Any) -> None:
        await client.start(timeout_s=self.connect_timeout_s)

    async def connect(self, hosts: str | None = None) -> None:
        await self.disconnect()
        task = self.start_connect(hosts)
        await self._await_connect(task)

    async def _await_connect(self, task: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(task), self.connect_timeout_s + 1.0)
        except (ZkError, TimeoutError, OSError) as e:
            client, self.client = self.client, None
            if client is not None:
                try:
                    await asyncio.wait_for(client.close(), 2.0)
                except Exception:  # noqa: BLE001 - best effort on a failed connect
                    pass
            if isinstance(e, ZkError) and int(e.code) in (-115,):
                raise
            raise ShellError(f"Cannot connect to {self.hosts}: "
                             f"{e if str(e) else type(e).__name__}",
                             hint="is the server up? check -server HOST:PORT",
                             exit_code=ExitCode.UNAVAILABLE) from e

    async def ensure_connected(self) -> Any:
        """The live client; connects on first use. Raises NotConnectedError when closed."""
        if self.client is None:
            if self.closed_by_user:
                raise NotConnectedError()
            self.start_connect()
        task = self._connecting
        if task is not None and not task.done():
            await self._await_connect(task)
        elif task is not None and task.done() and task.exception() is not None:
            self._connecting = None
            await self._await_connect(task)
        state = self.state
        if state == "EXPIRED":
            raise ShellError("Session expired", hint="'connect' opens a new session",
                             exit_code=ExitCode.UNAVAILABLE)
        if state == "AUTH_FAILED":
            raise ShellError("Authentication failed: the server closed the session",
                             hint="'connect' opens a new session",
                             exit_code=ExitCode.PERMISSION)
        if self.client is None or state in DEAD_STATES:
            raise NotConnectedError()
        return self.client

    async def disconnect(self) -> None:
        client, self.client = self.client, None
        task, self._connecting = self._connecting, None
        if task is not None and not task.done():
            task.cancel()
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), 5.0)
            except Exception:  # noqa: BLE001 - closing is best effort
                if self.debug:
                    traceback.print_exc()

    def _state_listener(self, state: str) -> None:
        if self.on_state_change is not None:
            self.on_state_change(state)
        elif not self.interactive and state in ("SUSPENDED", "EXPIRED", "AUTH_FAILED"):
            self.out.notice(f"Connection state: {state}")

    def on_watch_event(self, event: Any) -> None:
        """The default watcher: print node events as zkCli does (when printwatches is on)."""
        if event is None or not self.printwatches:
            return
        if getattr(event, "path", None) is None and int(getattr(event, "type", -1)) == -1:
            return  # connection state changes show in the prompt / toolbar instead
        self.out.text(render.watcher_block(event))

    # ------------------------------------------------------------------ paths

    def resolve(self, path: str, *, sequential: bool = False) -> str:
        """An absolute znode path: absolute paths are validated as zkCli does; relative
        ones are joined to the cwd and normalised (``.`` and ``..``)."""
        if not path.startswith("/"):
            parts = [p for p in self.cwd.split("/") if p]
            for piece in path.split("/"):
                if piece in ("", "."):
                    continue
                if piece == "..":
                    if parts:
                        parts.pop()
                    continue
                parts.append(piece)
            trailing = "/" if sequential and path.endswith("/") and parts else ""
            path = "/" + "/".join(parts) + trailing
        reason = validate_path(path, sequential=sequential)
        if reason is not None:
            raise UsageError(reason)
        self._current_path = path
        return path

    # ------------------------------------------------------------------ dispatch

    async def run_line(self, line: str) -> int:
        """Run one line; return its exit code (also kept in ``last_exit``)."""
        stripped = line.strip()
        if not stripped:
            return self.last_exit
        self.history.append(stripped)
        code = await self._run(stripped)
        self.last_exit = code
        return code

    async def run_tokens(self, tokens: list[str]) -> int:
        """Run an already split command (``zkpy shell -server h ls /``: argv is the tokens)."""
        if not tokens:
            return self.last_exit
        self.history.append(" ".join(tokens))
        code = await self._run(" ".join(tokens), tokens)
        self.last_exit = code
        return code

    async def _run(self, line: str, tokens: list[str] | None = None) -> int:
        from .commands import REGISTRY, Invocation, usage_block

        self._current_path = None
        if tokens is None:
            try:
                tokens = tokenize(line)
            except ParseError as e:
                self.out.error(str(e), "close the quote, or use the other quote character")
                return ExitCode.USAGE
        if not tokens:
            return self.last_exit
        name, rest = tokens[0], tokens[1:]
        spec = REGISTRY.get(name)
        saved_fmt = self.fmt
        try:
            rest = self._take_format(rest)
            if spec is None:
                self.out.stderr.write(usage_block())
                raise UnknownCommandError(f"Command not found: Command not found {name}",
                                          hint="'help' lists the commands")
            try:
                args = parse_args(rest, spec.flags)
            except ParseError as e:
                raise UsageError(str(e), hint=f"usage: {spec.usage}") from e
            inv = Invocation(spec=spec, line=line, name=name, args=args)
            spec.check_arity(inv)
            if spec.needs_connection:
                await self.ensure_connected()
            code = await spec.handler(self, inv)
            return int(code)
        except asyncio.CancelledError:
            raise
        except KeyboardInterrupt:
            self.out.error("Interrupted")
            return ExitCode.INTERRUPTED
        except Exception as e:  # noqa: BLE001 - every failure becomes one line
            failure = describe(e, self._current_path)
            self.out.error(failure.message, failure.hint)
            if self.debug:
                traceback.print_exception(e, file=self.out.stderr)
            return failure.exit_code
        finally:
            self.fmt = saved_fmt

    def _take_format(self, tokens: list[str]) -> list[str]:
        """A per-command ``--format text|json`` anywhere on the line."""
        out: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok == "--format" or tok.startswith("--format="):
                value = tok.partition("=")[2] if "=" in tok else (
                    tokens[i + 1] if i + 1 < len(tokens) else "")
                i += 1 if "=" in tok else 2
                if value not in ("text", "json"):
                    raise UsageError(f"--format must be text or json, not {value!r}")
                self.fmt = value
                continue
            out.append(tok)
            i += 1
        return out

    async def aclose(self) -> None:
        await self.disconnect()
