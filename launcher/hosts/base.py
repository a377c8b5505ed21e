"""The Host protocol: everything the launcher does to a machine that runs members.

Rules:
- One protocol for the local machine and ssh hosts; the executor never asks which it has.
- Paths are strings in the host's own namespace (a remote path is a path on that host).
- ``process(pid)`` reports what /proc says, so stale pid files and paused members are seen
  the same way locally and remotely.
- Failures raise ``HostError`` naming the host and the step (``zk3 (10.0.0.3): ssh connect
  timed out after 5 s``), with a hint when one is actionable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Host", "HostError", "PortHolder", "ProcInfo", "PORT_CHECK_SCRIPT"]


class HostError(Exception):
    """An operation on a host failed; ``host`` and ``step`` say where and what."""

    def __init__(self, host: str, step: str, message: str, hint: str | None = None) -> None:
        self.host = host
        self.step = step
        self.hint = hint
        super().__init__(f"{host}: {step}: {message}")


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    state: str  # /proc/PID/stat state letter: R S D T t Z ...
    cmdline: tuple[str, ...]
    start_time_s: float | None  # wall-clock start time (epoch seconds) when known

    @property
    def paused(self) -> bool:
        return self.state in ("T", "t")


@dataclass(frozen=True, slots=True)
class PortHolder:
    """Who holds host:port, as far as the host can tell."""

    free: bool
    pid: int | None = None
    command: str | None = None


class Host(Protocol):
    name: str  # "local" or "user@host:port"

    def spawn_detached(self, argv: Sequence[str], *, cwd: str, log_path: str,
                       env: Mapping[str, str] | None = None) -> int:
        """Start argv in its own session, stdout+stderr appended to log_path; return pid."""
        ...

    def signal(self, pid: int, signum: int) -> bool:
        """Send a signal; False when no such process."""
        ...

    def process(self, pid: int) -> ProcInfo | None:
        """The live process, or None if it is gone (zombies count as gone, and are reaped)."""
        ...

    def tail(self, path: str, n: int) -> list[str]:
        ...

    def follow(self, path: str, n: int) -> Iterator[str]:
        """The last n lines, then new lines as they are written (until interrupted)."""
        ...

    def read_file(self, path: str) -> str | None:
        """The file's text, or None if it does not exist."""
        ...

    def write_file(self, path: str, text: str) -> None:
        """Write atomically, creating parent directories."""
        ...

    def remove(self, path: str) -> None:
        """Remove a file if it exists."""
        ...

    def remove_tree(self, path: str) -> None:
        ...

    def port_holder(self, address: str, port: int) -> PortHolder:
        ...

    def resolve(self, path: str) -> str:
        """An absolute path on this host (relative paths are from the login directory)."""
        ...

    def python(self) -> str:
        """The interpreter that {python} in a member command means on this host."""
        ...

    def close(self) -> None:
        ...


# Runs locally (exec) and remotely (python3 -c) so both hosts answer "who holds this port"
# the same way: try to bind; if busy, find the listening socket's inode in /proc/net/tcp*
# and the process whose fd points at it. SO_REUSEADDR as servers set it.
PORT_CHECK_SCRIPT = r'''
import errno, os, socket, sys
def port_holder(address, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as servers do: TIME_WAIT leftovers of 4lw probes must not count as busy
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((address, port))
        return (True, None, None)
    except OSError as e:
        if e.errno not in (errno.EADDRINUSE, errno.EACCES):
            return (True, None, None)
    finally:
        s.close()
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, st, inode = cols[1], cols[3], cols[9]
                    if int(local.rsplit(":", 1)[1], 16) == port and st == "0A":
                        inodes.add("socket:[%s]" % inode)
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                    return (False, int(pid), " ".join(cmd.split())[:200])
        except OSError:
            continue
    return (False, None, None)
'''
