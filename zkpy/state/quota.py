"""Quotas: /zookeeper/quota/<path>/zookeeper_limits and zookeeper_stats.

Formats as zkCli's setquota writes them (StatsTrack): ``count=N,bytes=N`` first, then
``=;byteHardLimit=N;countHardLimit=N`` when hard limits exist; a missing key reads as -1.
Like ZooKeeper's DataTree, only the *deepest* quota root above a path is updated
(``getMaxPrefixWithQuota``); "/" never carries a quota. Soft limits only warn (nothing
here); hard limits fail with QUOTAEXCEEDED when ``enforce_quota`` is set.
"""

from __future__ import annotations

import re

from .tree import QUOTA, DataTree, split

_QUOTA_SLASH = QUOTA + "/"
LIMIT_NODE = "zookeeper_limits"
STAT_NODE = "zookeeper_stats"


_PAIRS = re.compile(r"[,;]+")


def parse_stats(data: bytes | None) -> dict[str, int]:
    """StatsTrack(String): pairs split on ``[,;]+``, ``k=v``; an empty value is -1."""
    out: dict[str, int] = {}
    if not data:
        return out
    for pair in _PAIRS.split(data.decode("utf-8", "replace")):
        kv = pair.split("=")
        while len(kv) > 1 and kv[-1] == "":
            kv.pop()
        if not kv[0]:
            continue
        try:
            out[kv[0]] = int(kv[1]) if len(kv) > 1 else -1
        except ValueError:
            continue
    return out


def format_stats(stats: dict[str, int]) -> bytes:
    """StatsTrack.toString: ``count=N,bytes=N`` then, if other keys exist,
    ``=;key=value;...`` with the keys sorted (the extra '=' fools old parsers)."""
    out = f"count={stats.get('count', -1)},bytes={stats.get('bytes', -1)}"
    extra = sorted(k for k in stats if k not in ("count", "bytes"))
    if extra:
        out += "=" + "".join(f";{k}={stats[k]}" for k in extra)
    return out.encode("utf-8")


def limit_path(root: str) -> str:
    return QUOTA + root + "/" + LIMIT_NODE


def stat_path(root: str) -> str:
    return QUOTA + root + "/" + STAT_NODE


class QuotaTracker:
    """Keeps the set of quota roots and the zookeeper_stats counters up to date."""

    def __init__(self, tree: DataTree) -> None:
        self.tree = tree
        self.roots: set[str] = set()
        self._log: list[tuple[bool, str]] | None = None
        tree.quota = self

    # -------------------------------------------------------------- undo log

    def begin(self) -> None:
        self._log = []

    def commit(self) -> None:
        self._log = None

    def rollback(self) -> None:
        log = self._log
        self._log = None
        if log:
            for added, root in reversed(log):
                if added:
                    self.roots.discard(root)
                else:
                    self.roots.add(root)

    def _add_root(self, root: str) -> None:
        if root not in self.roots:
            self.roots.add(root)
            if self._log is not None:
                self._log.append((True, root))

    def _del_root(self, root: str) -> None:
        if root in self.roots:
            self.roots.discard(root)
            if self._log is not None:
                self._log.append((False, root))

    # ----------------------------------------------------------------- lookup

    def max_prefix(self, path: str) -> str | None:
        """Deepest quota root that is ``path`` or one of its ancestors ("/" excluded)."""
        roots = self.roots
        if not roots:
            return None
        p = path
        while p and p != "/":
            if p in roots:
                return p
            i = p.rfind("/")
            p = p[:i]
        return None

    # ------------------------------------------------------------------ hooks

    def on_create(self, path: str, data: bytes | None) -> None:
        if path.startswith(_QUOTA_SLASH):
            parent, name = split(path)
            root = parent[len(QUOTA):]
            if name == LIMIT_NODE:
                self._add_root(root)
            elif name == STAT_NODE:
                self._recount(root)
        if self.roots:
            root2 = self.max_prefix(path)
            if root2 is not None:
                self._update(root2, len(data) if data else 0, 1)

    def on_delete(self, path: str, data: bytes | None) -> None:
        if path.startswith(_QUOTA_SLASH):
            parent, name = split(path)
            if name == LIMIT_NODE:
                self._del_root(parent[len(QUOTA):])
        if self.roots:
            root = self.max_prefix(path)
            if root is not None:
                self._update(root, -(len(data) if data else 0), -1)

    def on_set_data(self, path: str, old: bytes | None, new: bytes | None) -> None:
        if self.roots:
            root = self.max_prefix(path)
            if root is not None:
                self._update(root, (len(new) if new else 0) - (len(old) if old else 0), 0)

    def _update(self, root: str, dbytes: int, dcount: int) -> None:
        node = self.tree.get(stat_path(root))
        if node is None:
            return
        st = parse_stats(node.data)
        st["count"] = st.get("count", -1) + dcount
        st["bytes"] = st.get("bytes", -1) + dbytes
        self.tree.set_raw_data(node, format_stats(st))

    def _recount(self, root: str) -> None:
        count = 0
        nbytes = 0
        for _, n in self.tree.walk(root):
            count += 1
            nbytes += len(n.data) if n.data else 0
        node = self.tree.get(stat_path(root))
        if node is None:
            return
        self.tree.set_raw_data(node, format_stats({"count": count, "bytes": nbytes}))

    def rebuild(self) -> None:
        """Recompute the root set from the tree (after a snapshot restore)."""
        self.roots = set()
        for p in self.tree.real_paths():
            parent, name = split(p)
            if name == LIMIT_NODE and parent.startswith(QUOTA + "/"):
                self.roots.add(parent[len(QUOTA):])

    # ------------------------------------------------------------------ check

    def exceeds_hard(self, path: str, dbytes: int, dcount: int) -> bool:
        """ZooKeeperServer.checkQuota: True when a *hard* limit would be exceeded."""
        root = self.max_prefix(path)
        if root is None:
            return False
        lnode = self.tree.get(limit_path(root))
        if lnode is None:
            return False
        limits = parse_stats(lnode.data)
        cnt, cnt_hard = limits.get("count", -1), limits.get("countHardLimit", -1)
        byt, byt_hard = limits.get("bytes", -1), limits.get("byteHardLimit", -1)
        check_count = dcount != 0 and (cnt > -1 or cnt_hard > -1)
        check_bytes = dbytes != 0 and (byt > -1 or byt_hard > -1)
        if not check_count and not check_bytes:
            return False
        snode = self.tree.get(stat_path(root))
        if snode is None:
            return False
        cur = parse_stats(snode.data)
        if check_count and cnt_hard > -1 and cur.get("count", -1) + dcount > cnt_hard:
            return True
        return check_bytes and byt_hard > -1 and cur.get("bytes", -1) + dbytes > byt_hard
