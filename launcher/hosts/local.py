"""LocalHost: members as detached processes on this machine.

Each member runs in its own session (``start_new_session``), so a Ctrl-C in the
launcher's terminal never reaches it, with stdout and stderr appended to its log. When
this process is the member's parent (``zkpy up``, in-process tests) it reaps exited
children, so a dead member is never mistaken for a live zombie.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .base import PORT_CHECK_SCRIPT, HostError, PortHolder, ProcInfo

__all__ = ["LocalHost", "read_proc"]

_port_ns: dict[str, object] = {}
exec(PORT_CHECK_SCRIPT, _port_ns)  # noqa: S102 - our own constant, shared with ssh hosts

# children spawned by this process, so exited ones can be reaped (pid -> Popen)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _boot_time_s() -> float:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def read_proc(pid: int, proc_root: str = "/proc") -> ProcInfo | None:
    """ProcInfo from /proc/PID, or None if there is no such (non-zombie) process."""
    try:
        with open(f"{proc_root}/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open(f"{proc_root}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()  # comm may contain spaces and parens
    state = rest[0] if rest else "?"
    if state in ("Z", "X"):
        # A killed multi-threaded process (a JVM) shows its leader as a zombie while other
        # threads still exit and still hold its sockets: gone only when no task is left.
        try:
            tasks = [t for t in os.listdir(f"{proc_root}/{pid}/task") if t != str(pid)]
        except OSError:
            tasks = []
        if not tasks:
            return None
    start: float | None = None
    try:
        ticks = int(rest[19])  # field 22: starttime in clock ticks since boot
        start = _boot_time_s() + ticks / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        pass
    argv = tuple(a.decode("utf-8", "replace") for a in raw.split(b"\0") if a)
    return ProcInfo(pid=pid, state=state, cmdline=argv, start_time_s=start)


class LocalHost:
    name = "local"

    def spawn_detached(self, argv: Sequence[str], *, cwd: str, log_path: str,
                       env: Mapping[str, str] | None = None) -> int:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log_path, "ab") as log:
                log.write(f"--- zkpy ensemble: starting {' '.join(argv)}\n".encode())
                log.flush()
                proc = subprocess.Popen(
                    list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    env={**os.environ, **(env or {})})
        except OSError as e:
            raise HostError(self.name, "spawn", f"cannot run {argv[0]!r}: {e.strerror or e}",
                            hint="check the member command (zkpy ensemble create "
                                 "--server/--member-command)") from e
        _CHILDREN[proc.pid] = proc
        return proc.pid

    def _reap(self, pid: int) -> None:
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            del _CHILDREN[pid]

    def signal(self, pid: int, signum: int) -> bool:
        self._reap(pid)
        if self.process(pid) is None:
            return False
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        except PermissionError as e:
            raise HostError(self.name, "signal", f"not allowed to signal pid {pid}") from e
        return True

    def process(self, pid: int) -> ProcInfo | None:
        self._reap(pid)
        return read_proc(pid)

    def tail(self, path: str, n: int) -> list[str]:
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - max(n, 1) * 400))  # enough for typical log lines
                data = f.read()
        except FileNotFoundError:
            return []
        lines = data.decode("utf-8", "replace").splitlines()
        return lines[-n:] if n > 0 else []

    def follow(self, path: str, n: int) -> Iterator[str]:
        yield from self.tail(path, n)
        pos = os.path.getsize(path) if os.path.exists(path) else 0
        buf = b""
        while True:
            try:
                with open(path, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            if chunk:
                pos += len(chunk)
                buf += chunk
                *complete, buf = buf.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", "replace")
            else:
                time.sleep(0.2)  # interactive follow; ended by Ctrl-C

    def read_file(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_file(self, path: str, text: str) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def remove_tree(self, path: str) -> None:
        import shutil

        shutil.rmtree(path, ignore_errors=True)

    def port_holder(self, address: str, port: int) -> PortHolder:
        free, pid, cmd = _port_ns["port_holder"](address, port)  # type: ignore[operator]
        return PortHolder(free=free, pid=pid, command=cmd)

    def resolve(self, path: str) -> str:
        return os.path.abspath(os.path.expanduser(path))

    def python(self) -> str:
        return sys.executable

    def close(self) -> None:
        pass
