"""Znode path rules shared by server and client (ZooKeeper's PathUtils.validatePath).

Pure functions; ``validate_path`` returns None for a valid path or the reason it is
invalid, worded as the Java client words it (zkCli prints these messages).
"""

from __future__ import annotations


def _bad_char(c: str) -> bool:
    o = ord(c)
    return (
        o == 0
        or 0x01 <= o <= 0x1F
        or 0x7F <= o <= 0x9F
        or 0xD800 <= o <= 0xF8FF
        or 0xFFF0 <= o <= 0xFFFF
    )


def validate_path(path: str | None, sequential: bool = False) -> str | None:
    """Return None if ``path`` is a legal znode path, else the reason.

    ``sequential``: the path is a prefix to which a sequence suffix will be appended,
    so a trailing ``/`` is allowed (as in PathUtils.validatePath(path, isSequential)).
    """
    if path is None:
        return "Path cannot be null"
    if sequential:
        path = path + "1"
    if len(path) == 0:
        return "Path length must be > 0"
    if path[0] != "/":
        return "Path must start with / character"
    if len(path) == 1:
        return None
    if path[-1] == "/":
        return "Path must not end with / character"
    last = "/"
    for i in range(1, len(path)):
        c = path[i]
        reason = None
        if c == "\0":
            reason = f"null character not allowed @{i}"
        elif c == "/" and last == "/":
            reason = f"empty node name specified @{i}"
        elif c == "." and last == ".":
            if path[i - 2] == "/" and (i + 1 == len(path) or path[i + 1] == "/"):
                reason = f"relative paths not allowed @{i}"
        elif c == "." and path[i - 1] == "/" and (i + 1 == len(path) or path[i + 1] == "/"):
            reason = f"relative paths not allowed @{i}"
        elif _bad_char(c):
            reason = f"invalid character @{i}"
        if reason:
            return f'Invalid path string "{path}" caused by {reason}'
        last = c
    return None


def parent_of(path: str) -> str:
    """Parent path ("/" for top-level nodes). ``path`` must not be "/"."""
    i = path.rfind("/")
    return path[:i] if i > 0 else "/"


def basename(path: str) -> str:
    return path[path.rfind("/") + 1:]


def join(parent: str, child: str) -> str:
    return "/" + child if parent == "/" else parent + "/" + child


def is_ancestor_or_self(ancestor: str, path: str) -> bool:
    """True if ``path`` equals ``ancestor`` or lies below it."""
    if ancestor == "/":
        return path.startswith("/")
    return path == ancestor or path.startswith(ancestor + "/")


def ancestors(path: str) -> list[str]:
    """Strict ancestors of ``path`` from nearest to "/"; "/" has none."""
    out = []
    while path != "/":
        path = parent_of(path)
        out.append(path)
    return out
