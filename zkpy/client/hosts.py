"""Connect strings: ``"h1:p1,h2:p2/chroot"`` parsing, host order and chroot mapping.

Rules:
- Pure: no sockets, no clock, no global ``random`` (the rng is passed in).
- IPv6 hosts are bracketed (``[::1]:2181``), as in ZooKeeper's ConnectStringParser;
  a missing port means 2181.
- The chroot is the part from the first ``/``; ``/`` alone means no chroot ("").
  Paths given by users are client paths; the server only sees ``chroot + path``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..paths import validate_path

DEFAULT_PORT = 2181


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ConnectString:
    hosts: tuple[HostPort, ...]
    chroot: str  # "" when there is none, else a valid absolute path without trailing "/"


def _parse_host(item: str) -> HostPort:
    item = item.strip()
    if not item:
        raise ValueError("empty host in connect string")
    if item.startswith("["):
        end = item.find("]")
        if end < 0:
            raise ValueError(f"unterminated IPv6 address in {item!r}")
        host = item[1:end]
        rest = item[end + 1:]
        if rest == "":
            port_s = ""
        elif rest.startswith(":"):
            port_s = rest[1:]
        else:
            raise ValueError(f"unexpected {rest!r} after IPv6 address in {item!r}")
    else:
        if item.count(":") > 1:
            raise ValueError(f"IPv6 address must be bracketed: {item!r}")
        host, _, port_s = item.partition(":")
    if not host:
        raise ValueError(f"empty host name in {item!r}")
    if port_s == "":
        port = DEFAULT_PORT
    else:
        try:
            port = int(port_s)
        except ValueError:
            raise ValueError(f"bad port {port_s!r} in {item!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range in {item!r}")
    return HostPort(host, port)


def parse_connect_string(connect: str) -> ConnectString:
    """Parse ``host[:port][,host[:port]...][/chroot]``; raises ValueError when malformed."""
    if not isinstance(connect, str) or not connect.strip():
        raise ValueError("connect string is empty")
    slash = connect.find("/")
    if slash >= 0:
        host_part, chroot = connect[:slash], connect[slash:]
        if chroot == "/":
            chroot = ""
        else:
            reason = validate_path(chroot)
            if reason is not None:
                raise ValueError(f"bad chroot {chroot!r}: {reason}")
    else:
        host_part, chroot = connect, ""
    hosts = tuple(_parse_host(h) for h in host_part.split(","))
    return ConnectString(hosts, chroot)


def shuffled(hosts: tuple[HostPort, ...] | list[HostPort], rng: random.Random) -> list[HostPort]:
    """A shuffled copy (ZooKeeper's StaticHostProvider shuffles once, then cycles)."""
    out = list(hosts)
    rng.shuffle(out)
    return out


class HostCycle:
    """Round-robin over a shuffled host list; ``next()`` never ends.

    ``completed_round`` tells the driver when every host was tried once since the last
    ``reset_round()`` (it then backs off before the next round).
    """

    __slots__ = ("_hosts", "_i", "_tried")

    def __init__(self, hosts: tuple[HostPort, ...] | list[HostPort], rng: random.Random) -> None:
        if not hosts:
            raise ValueError("no hosts")
        self._hosts = shuffled(hosts, rng)
        self._i = 0
        self._tried = 0

    def __len__(self) -> int:
        return len(self._hosts)

    @property
    def hosts(self) -> list[HostPort]:
        return list(self._hosts)

    def next(self) -> HostPort:
        h = self._hosts[self._i]
        self._i = (self._i + 1) % len(self._hosts)
        self._tried += 1
        return h

    @property
    def completed_round(self) -> bool:
        return self._tried >= len(self._hosts)

    def reset_round(self) -> None:
        self._tried = 0


def add_chroot(chroot: str, path: str) -> str:
    """Client path -> server path."""
    if not chroot:
        return path
    if path == "/":
        return chroot
    return chroot + path


def strip_chroot(chroot: str, server_path: str) -> str:
    """Server path -> client path. Paths outside the chroot (e.g. /zookeeper/config for
    getConfig) are returned unchanged, as the Java client does."""
    if not chroot:
        return server_path
    if server_path == chroot:
        return "/"
    if server_path.startswith(chroot + "/"):
        return server_path[len(chroot):]
    return server_path
