"""shell.completion: the pure suggest() engine and the TTL/budget children cache."""

from __future__ import annotations

import asyncio
import threading
import time

from shell.commands import REGISTRY
from shell.completion import ChildrenCache, suggest

TREE = {"/": ["app", "zookeeper"], "/app": ["config", "locks", "cache"],
        "/app/locks": ["l-1"]}


def children_of(parent: str) -> list[str] | None:
    return TREE.get(parent)


def texts(line: str, cwd: str = "/") -> list[str]:
    return [s.text for s in suggest(line, REGISTRY, children_of, cwd)]


def test_commands() -> None:
    assert texts("getA") == ["getAcl", "getAllChildrenNumber"]
    assert "deleteall" in texts("del")
    assert texts("") == sorted(REGISTRY)


def test_flags_from_the_spec() -> None:
    assert texts("ls -") == ["-s", "-w", "-R"]
    assert texts("ls -s -") == ["-w", "-R"]
    assert texts("create -") == ["-s", "-e", "-c", "-t"]


def test_paths() -> None:
    assert texts("ls /") == ["/app", "/zookeeper"]
    assert texts("ls /app/c") == ["/app/cache", "/app/config"]
    assert texts("get -s /app/lo") == ["/app/locks"]
    assert texts("ls /app/locks/") == ["/app/locks/l-1"]
    s = suggest("ls /app/c", REGISTRY, children_of)[0]
    assert s.replace == len("/app/c") and s.kind == "path"


def test_relative_paths_against_cwd() -> None:
    assert texts("get co", cwd="/app") == ["config"]
    assert texts("ls locks/", cwd="/app") == ["locks/l-1"]
    assert texts("cd ../z", cwd="/app") == ["../zookeeper"]


def test_positional_after_valued_flag_and_words() -> None:
    assert texts("set -v 3 /app/con") == ["/app/config"]
    assert texts("set /app/config ") == []           # data is not a path
    assert texts("printwatches o") == ["on", "off"]
    assert texts("addWatch -m P") == ["PERSISTENT", "PERSISTENT_RECURSIVE"]
    assert texts("help getE") == ["getEphemerals"]
    assert texts("nosuch /") == []


def test_unknown_children_offer_nothing() -> None:
    assert suggest("ls /nope/", REGISTRY, lambda p: None) == []


def test_cache_ttl_and_budget() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    calls: list[str] = []
    slow = threading.Event()

    async def fetch(parent: str) -> list[str]:
        calls.append(parent)
        if parent == "/slow":
            await asyncio.sleep(0.5)
            slow.set()
            return ["late"]
        return TREE.get(parent, [])

    now = [100.0]
    cache = ChildrenCache(fetch, loop, ttl_s=2.0, budget_s=0.1, clock=lambda: now[0])
    try:
        assert cache.get("/app") == ["config", "locks", "cache"]
        assert cache.get("/app") == ["config", "locks", "cache"]
        assert calls == ["/app"]                      # served from the cache
        now[0] += 3.0
        cache.get("/app")
        assert calls == ["/app", "/app"]              # expired -> fetched again
        t0 = time.monotonic()
        assert cache.get("/slow") is None             # late: give up within the budget
        assert time.monotonic() - t0 < 0.4
        assert slow.wait(5)
        deadline = time.monotonic() + 5
        while cache.get("/slow") != ["late"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cache.get("/slow") == ["late"]         # the late answer filled the cache
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
