"""Watch commands: addWatch removewatches printwatches (zkCli) and watch (a live stream)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from zkpy.proto.opcodes import AddWatchMode, WatcherType

from .. import render
from ..errors import ExitCode, UsageError
from ..parser import Flag
from . import Invocation, command

if TYPE_CHECKING:
    from ..context import Shell

_ADD_WATCH_USAGE = ("addWatch [-m mode] path # optional mode is one of [PERSISTENT, "
                    "PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE")


def add_watch_mode(raw: str | None) -> AddWatchMode:
    if raw is None:
        return AddWatchMode.PERSISTENT_RECURSIVE
    try:
        return AddWatchMode[raw.upper()]
    except KeyError:
        raise UsageError(_ADD_WATCH_USAGE) from None


@command("addWatch", group="watch", summary="add a persistent (recursive) watch",
         usage=_ADD_WATCH_USAGE,
         flags=(Flag("m", "PERSISTENT or PERSISTENT_RECURSIVE (default)", "mode"),),
         args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("addWatch /app", "addWatch -m PERSISTENT /app/config"),
         details="The watch stays until removed; its events print as WATCHER:: blocks. Works "
                 "on paths that do not exist yet.")
async def add_watch(sh: Shell, inv: Invocation) -> int:
    mode = add_watch_mode(inv.args.value("m"))
    path = sh.resolve(inv.pos[0])
    await sh.client.add_watch(path, sh.on_watch_event, mode)
    return ExitCode.OK


_REMOVE_TYPES = (("c", WatcherType.CHILDREN), ("d", WatcherType.DATA), ("a", WatcherType.ANY),
                 ("p", WatcherType.PERSISTENT), ("r", WatcherType.PERSISTENT_RECURSIVE))


@command("removewatches", group="watch", summary="remove this session's watches on a path",
         usage="removewatches path [-c|-d|-a] [-l]",
         flags=(Flag("c", "child watches"), Flag("d", "data watches"),
                Flag("a", "any watches (default)"), Flag("p", "persistent watches"),
                Flag("r", "persistent recursive watches"),
                Flag("l", "remove locally even if the server cannot be reached")),
         args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("removewatches /app", "removewatches /app -d"))
async def remove_watches(sh: Shell, inv: Invocation) -> int:
    chosen = [t for name, t in _REMOVE_TYPES if inv.args.has(name)]
    if len(chosen) > 1:
        raise UsageError("removewatches path [-c|-d|-a] [-l]",
                         hint="give at most one of -c -d -a -p -r")
    wtype = chosen[0] if chosen else WatcherType.ANY
    path = sh.resolve(inv.pos[0])
    await sh.client.remove_watches(path, wtype, None, local=inv.args.has("l"))
    return ExitCode.OK


@command("printwatches", group="watch", summary="turn printing of watch events on or off",
         usage="printwatches on|off", args=("on|off",), min_args=0, max_args=1,
         needs_connection=False, choices={0: ("on", "off")},
         examples=("printwatches off", "printwatches"))
async def printwatches(sh: Shell, inv: Invocation) -> int:
    if not inv.pos:
        sh.out.line(f"printwatches is {'on' if sh.printwatches else 'off'}")
    else:
        sh.printwatches = inv.pos[0] == "on"
    return ExitCode.OK


@command("watch", group="watch", summary="stream the events under a znode until Ctrl-C",
         usage="watch [-R] [-n count] [-t seconds] path",
         flags=(Flag("R", "include the whole subtree"),
                Flag("n", "stop after this many events", "count"),
                Flag("t", "stop after this many seconds", "seconds")),
         args=("path",), min_args=1, max_args=1, path_args=(0,), zkcli=False,
         examples=("watch /app", "watch -R /app", "watch -n 1 -t 30 /locks/lock-0000000001"),
         details="One line per event (WatchedEvent state:... type:... path:...) on stdout, "
                 "flushed at once. Ends on Ctrl-C (exit 0), after -n events or -t seconds.")
async def watch(sh: Shell, inv: Invocation) -> int:
    from .nodes import int_option

    path = sh.resolve(inv.pos[0])
    count = int_option(inv, "n", "the number of events")
    raw_t = inv.args.value("t")
    try:
        limit_s = float(raw_t) if raw_t is not None else None
    except ValueError:
        raise UsageError("-t argument must be a number of seconds") from None
    mode = AddWatchMode.PERSISTENT_RECURSIVE if inv.args.has("R") else AddWatchMode.PERSISTENT
    queue: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_event(event: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    client = sh.client
    await client.add_watch(path, on_event, mode)
    if sh.interactive:
        sh.out.notice(f"Watching {path}{' and below' if inv.args.has('R') else ''} "
                      "(Ctrl-C to stop)")
    seen = 0
    deadline = None if limit_s is None else time.monotonic() + limit_s
    try:
        while count is None or seen < count:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                break
            if int(event.type) == -1:
                continue  # connection state changes: shown by the prompt / stderr
            sh.out.line(render.event_line(event))
            seen += 1
    finally:
        wtype = (WatcherType.PERSISTENT_RECURSIVE if inv.args.has("R")
                 else WatcherType.PERSISTENT)
        try:
            await asyncio.wait_for(client.remove_watches(path, wtype, on_event), 5.0)
        except Exception:  # noqa: BLE001 - the watch dies with the session anyway
            pass
    return ExitCode.OK
