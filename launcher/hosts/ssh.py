"""SSHHost: the Host protocol over asyncssh, one connection per host, reused.

Rules:
- One connection per ``user@host:port``, opened on first use and kept for the command.
- Every step has a deadline: ``connect_timeout_s`` for the connection, ``command_timeout_s``
  for each remote command. A failure names the host and the step, e.g.
  ``root@10.0.0.3:22: connect: ssh connect timed out after 5 s``.
- Host keys are checked against ~/.ssh/known_hosts and keys come from ~/.ssh and the
  agent (asyncssh defaults), unless ``known_hosts``/``client_keys`` are given.
- Remote commands are plain POSIX sh + coreutils + /proc; only the busy-port check needs
  the remote python (the same script LocalHost runs).
- The asyncio loop is private to this object, so callers stay synchronous.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shlex
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .base import PORT_CHECK_SCRIPT, HostError, PortHolder, ProcInfo

__all__ = ["SSHHost"]

T = TypeVar("T")


class SSHHost:
    def __init__(self, target: str, *, connect_timeout_s: float = 5.0,
                 command_timeout_s: float = 10.0, python: str = "python3",
                 known_hosts: Any = (), client_keys: Sequence[str] | None = None) -> None:
        from ..spec import parse_ssh_target

        self.user, self.address, self.port = parse_ssh_target(target)
        self.name = f"{self.user + '@' if self.user else ''}{self.address}:{self.port}"
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        self._python = python
        self._known_hosts = known_hosts  # () = asyncssh default (~/.ssh/known_hosts)
        self._client_keys = client_keys
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None
        self._proc: Any = None
        self._home: str | None = None
        self._boot: tuple[float, int] | None = None

    # ------------------------------------------------------------------ plumbing

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coro)

    async def _connection(self) -> Any:
        if self._conn is not None:
            return self._conn
        import asyncssh

        kw: dict[str, Any] = {"port": self.port}
        if self.user:
            kw["username"] = self.user
        if self._known_hosts != ():
            kw["known_hosts"] = self._known_hosts
        if self._client_keys is not None:
            kw["client_keys"] = list(self._client_keys)
        hint = "check --ssh-timeout-s, ~/.ssh/known_hosts and your keys/agent"
        try:
            self._conn = await asyncio.wait_for(asyncssh.connect(self.address, **kw),
                                                self.connect_timeout_s)
        except TimeoutError:
            raise HostError(self.name, "connect", f"ssh connect timed out after "
                                                  f"{self.connect_timeout_s:g} s", hint) from None
        except (OSError, asyncssh.Error) as e:
            raise HostError(self.name, "connect", f"ssh connect failed: {e}", hint) from e
        return self._conn

    async def _shell(self) -> Any:
        """One remote ``sh`` per connection, fed commands on stdin: the login shell's rc
        files (often slow) run once, not once per command."""
        if self._proc is None:
            conn = await self._connection()
            try:
                self._proc = await asyncio.wait_for(
                    conn.create_process("exec sh", encoding="utf-8", errors="replace"),
                    self.command_timeout_s)
            except TimeoutError:
                raise HostError(self.name, "shell", "remote shell did not start within "
                                                    f"{self.command_timeout_s:g} s") from None
        return self._proc

    async def _exec(self, step: str, command: str, *, stdin: str | None = None,
                    timeout_s: float | None = None) -> tuple[int, str, str]:
        """Run ``command`` in the shared remote shell; stdout and stderr come back merged.

        ``stdin`` is passed base64-encoded inside the command, so the shell's own stdin
        carries only commands.
        """
        proc = await self._shell()
        limit = timeout_s or self.command_timeout_s
        marker = f"__zkpy_{secrets.token_hex(8)}__"
        if stdin is not None:
            data = base64.b64encode(stdin.encode()).decode()
            body = f"printf %s {data} | base64 -d | ( {command}\n)"
        else:  # a subshell, so `exit` in a command ends the command, not our shell
            body = f"( {command}\n) < /dev/null"
        proc.stdin.write(f"{body} 2>&1; printf '\\n{marker} %d\\n' $?\n")

        async def collect() -> tuple[int, str]:
            lines: list[str] = []
            while True:
                line = await proc.stdout.readline()
                if not line:
                    raise HostError(self.name, step, "remote shell closed unexpectedly")
                if line.startswith(marker + " "):
                    out = "".join(lines)
                    return int(line.split()[1]), out[:-1] if out.endswith("\n") else out
                lines.append(line)

        try:
            code, out = await asyncio.wait_for(collect(), limit)
        except TimeoutError:
            self._drop_shell()  # its state is unknown now
            raise HostError(self.name, step, f"remote command timed out after {limit:g} s: "
                                             f"{command[:80]}") from None
        except OSError as e:
            self._drop_shell()
            raise HostError(self.name, step, f"ssh failed: {e}") from e
        return code, out, ""

    def _drop_shell(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._proc = None

    def _sh(self, step: str, command: str, *, stdin: str | None = None,
            ok: Sequence[int] = (0,)) -> tuple[int, str]:
        code, out, err = self._run(self._exec(step, command, stdin=stdin))
        if code not in ok:
            raise HostError(self.name, step, f"exit {code}: {err.strip() or out.strip()}")
        return code, out

    def home(self) -> str:
        if self._home is None:
            self._home = self._sh("home", 'printf %s "$HOME"')[1].strip() or "/"
        return self._home

    def resolve(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.home().rstrip('/')}/{path}"

    # ------------------------------------------------------------------ Host protocol

    def spawn_detached(self, argv: Sequence[str], *, cwd: str, log_path: str,
                       env: Mapping[str, str] | None = None) -> int:
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        q = shlex.quote
        # No job control in sh -c: the background job is not a group leader, so setsid
        # does not fork and $! is the member's pid.
        cmd = (f"mkdir -p {q(cwd)} && cd {q(cwd)} && "
               f"printf '%s\\n' {q('--- zkpy ensemble: starting ' + shlex.join(argv))} "
               f">> {q(log_path)} && "
               f"{{ {envs + ' ' if envs else ''}setsid {shlex.join(argv)} >> {q(log_path)} "
               f"2>&1 < /dev/null & }} && echo $!")
        _, out = self._sh("spawn", cmd)
        try:
            return int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise HostError(self.name, "spawn", f"no pid from the remote shell: {out!r}") from None

    def signal(self, pid: int, signum: int) -> bool:
        code, _ = self._sh("signal", f"kill -{int(signum)} {int(pid)} 2>/dev/null", ok=(0, 1))
        return code == 0

    def _boot_info(self) -> tuple[float, int]:
        if self._boot is None:
            _, out = self._sh("proc", "awk '/^btime/ {print $2}' /proc/stat; getconf CLK_TCK")
            parts = out.split()
            self._boot = (float(parts[0]), int(parts[1]))
        return self._boot

    def process(self, pid: int) -> ProcInfo | None:
        p = int(pid)
        code, out = self._sh("proc", f"cat /proc/{p}/stat 2>/dev/null || exit 3; "
                                     f"ls /proc/{p}/task | wc -l; "
                                     f"tr '\\0' '\\n' < /proc/{p}/cmdline", ok=(0, 3))
        if code == 3 or not out.strip():
            return None
        stat, _, after = out.partition("\n")
        tasks, _, cmd = after.partition("\n")
        rest = stat[stat.rfind(")") + 2:].split()
        state = rest[0] if rest else "?"
        if state in ("Z", "X") and tasks.strip() in ("", "0", "1"):
            return None  # a zombie leader with live threads is still exiting (see local.py)
        start: float | None = None
        try:
            btime, hz = self._boot_info()
            start = btime + int(rest[19]) / hz
        except (IndexError, ValueError, HostError):
            pass
        argv = tuple(line for line in cmd.split("\n") if line)
        return ProcInfo(pid=p, state=state, cmdline=argv, start_time_s=start)

    def tail(self, path: str, n: int) -> list[str]:
        code, out = self._sh("tail", f"tail -n {int(n)} {shlex.quote(path)} 2>/dev/null",
                             ok=(0, 1))
        return out.splitlines() if code == 0 else []

    def follow(self, path: str, n: int) -> Iterator[str]:
        async def start() -> Any:
            conn = await self._connection()
            return await conn.create_process(f"tail -n {int(n)} -F {shlex.quote(path)}")

        proc = self._run(start())
        try:
            while True:
                line = self._run(proc.stdout.readline())
                if not line:
                    return
                yield str(line).rstrip("\n")
        finally:
            proc.close()

    def read_file(self, path: str) -> str | None:
        q = shlex.quote(path)
        code, out = self._sh("read", f"test -e {q} || exit 3; cat {q}", ok=(0, 3))
        return out if code == 0 else None

    def write_file(self, path: str, text: str) -> None:
        q = shlex.quote(path)
        tmp = shlex.quote(path + ".tmp")
        parent = shlex.quote(path.rsplit("/", 1)[0] or "/") if "/" in path else "."
        self._sh("write", f"mkdir -p {parent} && cat > {tmp} && mv -f {tmp} {q}", stdin=text)

    def remove(self, path: str) -> None:
        self._sh("remove", f"rm -f {shlex.quote(path)}")

    def remove_tree(self, path: str) -> None:
        if path.rstrip("/") in ("", "/", self.home().rstrip("/")):
            raise HostError(self.name, "remove", f"refusing to delete {path!r}")
        self._sh("remove", f"rm -rf {shlex.quote(path)}")

    def port_holder(self, address: str, port: int) -> PortHolder:
        script = PORT_CHECK_SCRIPT + f"\nprint(repr(port_holder({address!r}, {int(port)})))\n"
        code, out = self._sh("check ports", f"{shlex.quote(self._python)} -", stdin=script,
                             ok=(0, 126, 127))
        if code != 0:
            return PortHolder(free=True)  # no python there: the member's bind will tell
        import ast

        free, pid, cmd = ast.literal_eval(out.strip().splitlines()[-1])
        return PortHolder(free=bool(free), pid=pid, command=cmd)

    def python(self) -> str:
        return self._python

    def close(self) -> None:
        self._drop_shell()
        if self._conn is not None:
            self._conn.close()
            try:
                self._run(asyncio.wait_for(self._conn.wait_closed(), self.connect_timeout_s))
            except (TimeoutError, OSError):
                pass
            self._conn = None
        self._loop.close()
