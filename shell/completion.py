"""Completion: a pure ``suggest()`` engine and the prompt_toolkit completer around it.

``suggest(text_before_cursor, ...)`` decides *what* to complete (command names, the
command's flags, znode paths, fixed words) from the command registry; it is pure and
gets znode children through a ``children_of(parent)`` callback that may answer None
("not known in time").

``ZnodeCompleter`` supplies that callback from a per-parent cache (TTL ~2 s). A miss
schedules ``get_children`` on the shell's event loop and waits at most a small budget
(~200 ms); if the answer is late the completion shows without those paths and the
answer fills the cache for the next keystroke. It is meant to be wrapped in
prompt_toolkit's ``ThreadedCompleter`` (repl.py), so typing never waits on the network.
It never walks more than the one parent being completed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document

    from .commands import CommandSpec

ChildrenOf = Callable[[str], "list[str] | None"]

CACHE_TTL_S = 2.0
BUDGET_S = 0.2


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Replace the last ``replace`` characters before the cursor with ``text``."""

    text: str
    replace: int
    kind: str          # "command" | "flag" | "path" | "word"
    meta: str = ""


def _split(text: str) -> tuple[list[str], str]:
    """(complete tokens, the word being typed) with zkCli's quoting, tolerant of an open
    quote (the open-quoted rest is the current word)."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                return tokens, text[i + 1:]
            tokens.append(text[i + 1:end])
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(text[i:j])
        i = j
    if text and not text[-1].isspace() and tokens:
        return tokens[:-1], tokens[-1]
    return tokens, ""


def _positional_index(spec: CommandSpec, args: list[str]) -> int:
    valued = {f.name for f in spec.flags if f.takes_value}
    known = {f.name for f in spec.flags}
    index, skip = 0, False
    for tok in args:
        if skip:
            skip = False
            continue
        if tok.startswith("-") and tok[1:] in known:
            skip = tok[1:] in valued
            continue
        index += 1
    return index


def _absolute(word_dir: str, cwd: str) -> str:
    if word_dir.startswith("/"):
        return word_dir.rstrip("/") or "/"
    parts = [p for p in cwd.split("/") if p]
    for piece in word_dir.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if parts:
                parts.pop()
        else:
            parts.append(piece)
    return "/" + "/".join(parts)


def path_suggestions(word: str, cwd: str, children_of: ChildrenOf) -> list[Suggestion]:
    """Children of the word's parent whose names start with the word's last part."""
    slash = word.rfind("/")
    word_dir, prefix = (word[:slash + 1], word[slash + 1:]) if slash >= 0 else ("", word)
    parent = _absolute(word_dir, cwd)
    children = children_of(parent)
    if not children:
        return []
    return [Suggestion(word_dir + c, len(word), "path")
            for c in sorted(children) if c.startswith(prefix)]


def suggest(text_before_cursor: str, registry: Mapping[str, CommandSpec],
            children_of: ChildrenOf, cwd: str = "/") -> list[Suggestion]:
    """What to offer at the cursor. Pure: no I/O except through ``children_of``."""
    done, word = _split(text_before_cursor)
    if not done:
        names = sorted(n for n in registry if n.startswith(word))
        return [Suggestion(n, len(word), "command", registry[n].summary) for n in names]
    spec = registry.get(done[0])
    if spec is None:
        return []
    args = done[1:]
    if word.startswith("-"):
        used = set(args)
        return [Suggestion(f"-{f.name}", len(word), "flag", f.help) for f in spec.flags
                if f"-{f.name}".startswith(word) and f"-{f.name}" not in used]
    if args and args[-1].startswith("-") and any(
            f.takes_value and args[-1] == f"-{f.name}" for f in spec.flags):
        flag = next(f for f in spec.flags if args[-1] == f"-{f.name}")
        if flag.name == "m" and spec.name == "addWatch":
            return [Suggestion(w, len(word), "word") for w in
                    ("PERSISTENT", "PERSISTENT_RECURSIVE") if w.startswith(word.upper())]
        return []
    index = _positional_index(spec, args)
    if spec.name == "help" and index == 0:
        return [Suggestion(n, len(word), "command", registry[n].summary)
                for n in sorted(registry) if n.startswith(word)]
    if index in spec.choices:
        return [Suggestion(w, len(word), "word") for w in spec.choices[index]
                if w.startswith(word)]
    if index in spec.path_args or word.startswith("/"):
        return path_suggestions(word, cwd, children_of)
    return []


class ChildrenCache:
    """Per-parent children with a TTL; misses are fetched on ``loop`` within a budget."""

    def __init__(self, fetch: Callable[[str], Any], loop: asyncio.AbstractEventLoop | None,
                 ttl_s: float = CACHE_TTL_S, budget_s: float = BUDGET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch          # parent -> coroutine returning list[str]
        self._loop = loop
        self._ttl_s = ttl_s
        self._budget_s = budget_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, list[str]]] = {}
        self._inflight: dict[str, Any] = {}

    def put(self, parent: str, children: list[str]) -> None:
        with self._lock:
            self._entries[parent] = (self._clock(), list(children))

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, parent: str) -> list[str] | None:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(parent)
            if hit is not None and now - hit[0] < self._ttl_s:
                return hit[1]
            fut = self._inflight.get(parent)
        if self._loop is None or self._loop.is_closed():
            return hit[1] if hit else None
        if fut is None:
            try:
                coro = self._fetch(parent)
            except Exception:  # noqa: BLE001 - not connected: nothing to offer
                return hit[1] if hit else None
            fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
            with self._lock:
                self._inflight[parent] = fut
            fut.add_done_callback(lambda f, p=parent: self._done(p, f))
        try:
            fut.result(timeout=self._budget_s)
        except Exception:  # noqa: BLE001 - late, missing node, or lost connection
            pass
        with self._lock:
            hit = self._entries.get(parent)
        return hit[1] if hit else None

    def _done(self, parent: str, fut: Any) -> None:
        with self._lock:
            self._inflight.pop(parent, None)
        if not fut.cancelled() and fut.exception() is None:
            self.put(parent, list(fut.result()))


def _completer_base() -> type:
    from prompt_toolkit.completion import Completer
    return Completer


class ZnodeCompleter(_completer_base()):  # type: ignore[misc]
    """prompt_toolkit completer for the shell (wrap in ThreadedCompleter)."""

    def __init__(self, registry: Mapping[str, CommandSpec], cache: ChildrenCache,
                 cwd: Callable[[], str]) -> None:
        self.registry = registry
        self.cache = cache
        self.cwd = cwd

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterable[Completion]:
        from prompt_toolkit.completion import Completion

        for s in suggest(document.text_before_cursor, self.registry, self.cache.get,
                         self.cwd()):
            yield Completion(s.text, start_position=-s.replace, display_meta=s.meta)
