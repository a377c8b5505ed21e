"""Quota commands: setquota listquota delquota (zkCli's nodes under /zookeeper/quota)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from zkpy.errors import NodeExistsError, NoNodeError

from ..errors import ExitCode, UsageError
from ..parser import Flag
from . import Invocation, command

if TYPE_CHECKING:
    from ..context import Shell

QUOTA_ROOT = "/zookeeper/quota"
LIMIT_NODE = "zookeeper_limits"
STAT_NODE = "zookeeper_stats"
_KEYS = {"n": "count", "b": "bytes", "N": "countHardLimit", "B": "byteHardLimit"}


class StatsTrack:
    """zkCli's StatsTrack: ``count=..,bytes=..`` plus ``=;key=value`` extras, sorted."""

    def __init__(self, text: str | None = None) -> None:
        self.stats: dict[str, int] = {}
        for pair in re.split(r"[,;]+", text or ""):
            if not pair:
                continue
            parts = [p for p in pair.split("=") if p != ""]
            if len(parts) >= 2:
                self.stats[parts[0]] = int(parts[1])
            elif len(parts) == 1:
                self.stats[parts[0]] = -1

    def get(self, key: str) -> int:
        return self.stats.get(key, -1)

    def __str__(self) -> str:
        extra = sorted(k for k in self.stats if k not in ("count", "bytes"))
        out = f"count={self.get('count')},bytes={self.get('bytes')}"
        if extra:
            out += "=" + "".join(f";{k}={self.stats[k]}" for k in extra)
        return out


def quota_path(path: str) -> str:
    return QUOTA_ROOT + path


_QUOTA_FLAGS = (Flag("n", "soft limit on the number of nodes", "val"),
                Flag("b", "soft limit on the bytes of data", "val"),
                Flag("N", "hard limit on the number of nodes", "val"),
                Flag("B", "hard limit on the bytes of data", "val"))


@command("setquota", group="quota", summary="set a count or bytes quota on a subtree",
         usage="setquota -n|-b|-N|-B val path", flags=_QUOTA_FLAGS, args=("path",),
         min_args=1, max_args=1, path_args=(0,),
         examples=("setquota -n 100 /app", "setquota -B 1048576 /app"),
         details="Hard limits (-N, -B) are enforced only when the server enables quota "
                 "enforcement.")
async def setquota(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    if path.startswith(QUOTA_ROOT):
        raise UsageError(f"cannot set a quota under the path: {QUOTA_ROOT}")
    given = {k: inv.args.value(k) for k in _KEYS if inv.args.has(k)}
    if not given:
        raise UsageError("setquota -n|-b|-N|-B val path")
    limits: dict[str, int] = {}
    for flag, raw in given.items():
        try:
            value = int(raw or "")
        except ValueError:
            raise UsageError("NumberFormatException happens when parsing the option value")\
                from None
        if flag in "nN" and value <= 0:
            raise UsageError("the num quota must be greater than zero")
        if flag in "bB" and value < 0:
            raise UsageError("the bytes quota must be greater than or equal to zero")
        limits[_KEYS[flag]] = value
    client = sh.client
    if await client.exists(path) is None:
        raise UsageError(f"{path} does not exist.")
    # create /zookeeper/quota/<path...> step by step
    cur = QUOTA_ROOT
    for part in [x for x in path.split("/") if x]:
        cur = cur + "/" + part
        try:
            await client.create(cur, None)
        except NodeExistsError:
            pass
    limit_path, stat_path = cur + "/" + LIMIT_NODE, cur + "/" + STAT_NODE
    if await client.exists(limit_path) is None:
        quota = StatsTrack()
        quota.stats = {"count": -1, "bytes": -1, "countHardLimit": -1, "byteHardLimit": -1}
        quota.stats.update(limits)
        await client.create(limit_path, str(quota).encode())
        try:
            await client.create(stat_path, b"count=0,bytes=0")
        except NodeExistsError:
            pass
    else:
        data, _ = await client.get(limit_path)
        quota = StatsTrack((data or b"").decode())
        quota.stats.update(limits)
        await client.set(limit_path, str(quota).encode(), -1)
    try:
        data, _ = await client.get(stat_path)
        _warn_if_exceeded(sh, quota, StatsTrack((data or b"").decode()))
    except NoNodeError:
        pass
    return ExitCode.OK


def _warn_if_exceeded(sh: Shell, quota: StatsTrack, stats: StatsTrack) -> None:
    count, nbytes = stats.get("count"), stats.get("bytes")
    if any(-1 < quota.get(k) < count for k in ("count", "countHardLimit")):
        sh.out.line(f"[Warning]: the count quota you create is less than the existing "
                    f"count:{count}")
    if any(-1 < quota.get(k) < nbytes for k in ("bytes", "byteHardLimit")):
        sh.out.line(f"[Warning]: the bytes quota you create is less than the existing "
                    f"bytes:{nbytes}")


@command("listquota", group="quota", summary="print the quota and usage of a subtree",
         usage="listquota path", args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("listquota /app",))
async def listquota(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    limit_path = quota_path(path) + "/" + LIMIT_NODE
    sh.out.notice(f"absolute path is {limit_path}")
    client: Any = sh.client
    try:
        data, _ = await client.get(limit_path)
        sh.out.line(f"Output quota for {path} {StatsTrack((data or b'').decode())}")
        data, _ = await client.get(quota_path(path) + "/" + STAT_NODE)
        sh.out.line(f"Output stat for {path} {StatsTrack((data or b'').decode())}")
    except NoNodeError:
        sh.out.notice(f"quota for {path} does not exist.")
    return ExitCode.OK


@command("delquota", group="quota", summary="remove a quota (or one of its limits)",
         usage="delquota [-n|-b|-N|-B] path",
         flags=tuple(Flag(f.name, "remove the " + f.help) for f in _QUOTA_FLAGS),
         args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("delquota /app", "delquota -n /app"))
async def delquota(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    client = sh.client
    base = quota_path(path)
    limit_path = base + "/" + LIMIT_NODE
    if await client.exists(limit_path) is None:
        sh.out.line(f"Quota does not exist for {path}")
        return ExitCode.OK
    flags = [k for k in _KEYS if inv.args.has(k)]
    if flags:
        data, _ = await client.get(limit_path)
        quota = StatsTrack((data or b"").decode())
        for k in flags:
            quota.stats[_KEYS[k]] = -1
        await client.set(limit_path, str(quota).encode(), -1)
        return ExitCode.OK
    for child in await client.get_children(base):
        await client.delete(base + "/" + child, -1)
    cur = base
    while cur != QUOTA_ROOT:
        if await client.get_children(cur):
            break
        await client.delete(cur, -1)
        cur = cur.rsplit("/", 1)[0]
    return ExitCode.OK
