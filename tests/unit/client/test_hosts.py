"""hosts.py: connect strings, shuffling, chroot mapping; retry.py: back-off bounds."""

from __future__ import annotations

import random

import pytest

from zkpy.client.hosts import (
    HostCycle,
    HostPort,
    add_chroot,
    parse_connect_string,
    shuffled,
    strip_chroot,
)
from zkpy.client.retry import Backoff


def test_parse_hosts_ports_and_chroot() -> None:
    cs = parse_connect_string("a:1,b:2/app/x")
    assert cs.hosts == (HostPort("a", 1), HostPort("b", 2))
    assert cs.chroot == "/app/x"
    assert parse_connect_string("h").hosts == (HostPort("h", 2181),)
    assert parse_connect_string("h:3/").chroot == ""
    assert parse_connect_string(" a:1 , b ").hosts == (HostPort("a", 1), HostPort("b", 2181))


def test_parse_ipv6() -> None:
    cs = parse_connect_string("[::1]:2182,[fe80::1],127.0.0.1:5/c")
    assert cs.hosts == (HostPort("::1", 2182), HostPort("fe80::1", 2181),
                        HostPort("127.0.0.1", 5))
    assert cs.chroot == "/c"
    assert str(cs.hosts[0]) == "[::1]:2182"
    assert str(cs.hosts[2]) == "127.0.0.1:5"


@pytest.mark.parametrize("bad", ["", "  ", "a:x", "a:0", "a:70000", "::1:2181", "[::1", "[::1]x",
                                 "a,,b", ":2181", "a:1/bad/", "a:1/b//c"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_connect_string(bad)


def test_shuffle_uses_injected_rng() -> None:
    hosts = [HostPort(f"h{i}", i + 1) for i in range(6)]
    a = shuffled(hosts, random.Random(7))
    b = shuffled(hosts, random.Random(7))
    assert a == b and sorted(a, key=lambda h: h.port) == hosts
    assert hosts == [HostPort(f"h{i}", i + 1) for i in range(6)]  # input untouched


def test_host_cycle_rounds() -> None:
    hc = HostCycle([HostPort("a", 1), HostPort("b", 2), HostPort("c", 3)], random.Random(1))
    seen = [hc.next() for _ in range(3)]
    assert sorted(h.host for h in seen) == ["a", "b", "c"]
    assert hc.completed_round
    hc.reset_round()
    assert not hc.completed_round
    assert [hc.next() for _ in range(3)] == seen  # same order every round
    with pytest.raises(ValueError):
        HostCycle([], random.Random(1))


def test_chroot_mapping() -> None:
    assert add_chroot("", "/a") == "/a"
    assert add_chroot("/r", "/") == "/r"
    assert add_chroot("/r", "/a/b") == "/r/a/b"
    assert strip_chroot("/r", "/r") == "/"
    assert strip_chroot("/r", "/r/a") == "/a"
    assert strip_chroot("/r", "/rx/a") == "/rx/a"  # not under the chroot: unchanged
    assert strip_chroot("/r", "/zookeeper/config") == "/zookeeper/config"
    assert strip_chroot("", "/a") == "/a"


def test_backoff_bounded_and_jittered() -> None:
    b = Backoff(random.Random(3), initial_s=0.1, max_s=0.8)
    delays = [b.next_delay_s() for _ in range(8)]
    bases = [0.1, 0.2, 0.4, 0.8, 0.8, 0.8, 0.8, 0.8]
    for d, base in zip(delays, bases, strict=True):
        assert base / 2 <= d <= base
    b.reset()
    assert b.next_delay_s() <= 0.1
    with pytest.raises(ValueError):
        Backoff(random.Random(), initial_s=0)
