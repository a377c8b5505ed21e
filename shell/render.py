"""Text for everything the shell prints: zkCli's formats exactly, plus JSON and trees.

Pure string building (the only environment input is the local time zone used for
dates, as Java's Date.toString uses the JVM's default zone). rich is imported lazily
and only for terminal output (``tree_rich``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from zkpy.proto.opcodes import EVENT_NAMES, STATE_NAMES

_STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def java_hex(value: int) -> str:
    """Java ``Long.toHexString``: lowercase, unpadded, two's complement for negatives."""
    return format(value & 0xFFFFFFFFFFFFFFFF, "x")


def java_date(ms: int, tz: _dt.tzinfo | None = None) -> str:
    """Java ``new Date(ms).toString()``: ``EEE MMM dd HH:mm:ss zzz yyyy`` (English names)."""
    when = _dt.datetime.fromtimestamp(ms / 1000.0, tz=tz or _dt.UTC)
    if tz is None:
        when = when.astimezone()  # the local zone, like the JVM default
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
    zone = when.tzname() or "UTC"
    return (f"{days[when.weekday()]} {months[when.month - 1]} {when.day:02d} "
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {zone} {when.year}")


def iso_date(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def stat_block(stat: Any, tz: _dt.tzinfo | None = None) -> str:
    """zkCli's StatPrinter: 11 ``key = value`` lines, each ending in a newline."""
    return (
        f"cZxid = 0x{java_hex(stat.czxid)}\n"
        f"ctime = {java_date(stat.ctime, tz)}\n"
        f"mZxid = 0x{java_hex(stat.mzxid)}\n"
        f"mtime = {java_date(stat.mtime, tz)}\n"
        f"pZxid = 0x{java_hex(stat.pzxid)}\n"
        f"cversion = {stat.cversion}\n"
        f"dataVersion = {stat.version}\n"
        f"aclVersion = {stat.aversion}\n"
        f"ephemeralOwner = 0x{java_hex(stat.ephemeralOwner)}\n"
        f"dataLength = {stat.dataLength}\n"
        f"numChildren = {stat.numChildren}\n"
    )


def stat_dict(stat: Any) -> dict[str, Any]:
    """JSON form of a Stat: zkCli's key names, zxids as hex strings, dates as ISO 8601 UTC."""
    return {
        "cZxid": "0x" + java_hex(stat.czxid),
        "ctime": iso_date(stat.ctime),
        "mZxid": "0x" + java_hex(stat.mzxid),
        "mtime": iso_date(stat.mtime),
        "pZxid": "0x" + java_hex(stat.pzxid),
        "cversion": stat.cversion,
        "dataVersion": stat.version,
        "aclVersion": stat.aversion,
        "ephemeralOwner": "0x" + java_hex(stat.ephemeralOwner),
        "dataLength": stat.dataLength,
        "numChildren": stat.numChildren,
    }


def java_list(items: Iterable[str]) -> str:
    """Java ``List.toString``: ``[a, b, c]`` / ``[]``."""
    return "[" + ", ".join(items) + "]"


def perm_string(perms: int) -> str:
    """ZKUtil.getPermString: letters in the order c d r w a."""
    out = ""
    for bit, letter in ((4, "c"), (8, "d"), (1, "r"), (2, "w"), (16, "a")):
        if perms & bit:
            out += letter
    return out


def parse_perms(text: str) -> int:
    """``rwcda`` letters -> bitmask; an unknown letter raises ValueError (zkCli's wording)."""
    bits = {"r": 1, "w": 2, "c": 4, "d": 8, "a": 16}
    value = 0
    for ch in text:
        if ch not in bits:
            raise ValueError(f"Unknown perm type: {ch}")
        value |= bits[ch]
    return value


def csv_escape(text: str) -> str:
    """Jute's CSV string escaping, as zkCli's getAcl shows scheme and id."""
    out = []
    for ch in text:
        if ch == "%":
            out.append("%25")
        elif ch == ",":
            out.append("%2C")
        elif ch == "}":
            out.append("%7D")
        elif ch == "\0":
            out.append("%00")
        elif ch == "\n":
            out.append("%0A")
        elif ch == "\r":
            out.append("%0D")
        else:
            out.append(ch)
    return "".join(out)


def acl_lines(acls: Sequence[Any]) -> str:
    """zkCli's getAcl: ``'scheme,'id`` then ``: perms`` per entry."""
    return "".join(f"'{csv_escape(a.id.scheme)},'{csv_escape(a.id.id)}\n: "
                   f"{perm_string(a.perms)}\n" for a in acls)


def acl_dicts(acls: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"scheme": a.id.scheme, "id": a.id.id, "perms": perm_string(a.perms)}
            for a in acls]


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False) + "\n"


# ------------------------------------------------------------------ data


def is_text(data: bytes) -> bool:
    """True if ``data`` is UTF-8 without control characters other than tab/newline/CR."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch in "\t\n\r" or (ord(ch) >= 0x20 and ord(ch) != 0x7F) for ch in text)


def hexdump(data: bytes) -> str:
    """A classic 16-bytes-per-line hex dump (offset, hex, ASCII)."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        asc = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{off:08x}  {hexpart:<47}  |{asc}|")
    return "\n".join(lines) + ("\n" if lines else "")


def data_for_terminal(data: bytes | None, binary: str = "hex") -> tuple[str, str | None]:
    """(text to show, note for stderr) for znode data on a terminal.

    None -> ``null`` (as zkCli); text -> itself; binary -> a hex dump or base64 and a note.
    """
    if data is None:
        return "null\n", None
    if is_text(data):
        return data.decode("utf-8") + "\n", None
    if binary == "base64":
        return base64.b64encode(data).decode("ascii") + "\n", (
            f"(binary data, {len(data)} bytes, shown as base64)")
    return hexdump(data), f"(binary data, {len(data)} bytes, shown as a hex dump)"


def data_for_pipe(data: bytes | None) -> bytes:
    """Raw bytes plus a newline (zkCli prints ``null`` for null data)."""
    if data is None:
        return b"null\n"
    return data + b"\n"


# ------------------------------------------------------------------ events


def event_line(event: Any) -> str:
    """``WatchedEvent state:<S> type:<T> path:<p>`` (zkCli 3.8's WatchedEvent.toString)."""
    state = STATE_NAMES.get(int(event.state), str(event.state))
    etype = EVENT_NAMES.get(int(event.type), str(event.type))
    path = event.path if event.path else "null"
    return f"WatchedEvent state:{state} type:{etype} path:{path}"


def watcher_block(event: Any) -> str:
    """What zkCli prints for an event: ``\\nWATCHER::\\n\\n<event>\\n``."""
    return f"\nWATCHER::\n\n{event_line(event)}\n"


# ------------------------------------------------------------------ trees


TreeNode = tuple[str, list[Any]]  # (name, children as TreeNodes)


def tree_plain(root: TreeNode) -> str:
    """Indented text (two spaces per level), for pipes."""
    out: list[str] = []

    def walk(node: TreeNode, depth: int) -> None:
        out.append("  " * depth + node[0])
        for child in node[1]:
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(out) + "\n"


def tree_glyphs(root: TreeNode) -> str:
    """Box-drawing tree (``├──``, ``└──``) without rich, for plain terminals."""
    out = [root[0]]

    def walk(children: list[Any], prefix: str) -> None:
        for i, child in enumerate(children):
            last = i == len(children) - 1
            out.append(prefix + ("└── " if last else "├── ") + child[0])
            walk(child[1], prefix + ("    " if last else "│   "))

    walk(root[1], "")
    return "\n".join(out) + "\n"


def tree_rich(root: TreeNode, color: bool) -> str:
    """The tree drawn by rich (imported here only), rendered to a string."""
    from rich.console import Console
    from rich.tree import Tree

    def build(node: TreeNode, into: Tree) -> None:
        for child in node[1]:
            style = "bold blue" if child[1] else ""
            build(child, into.add(child[0], style=style))

    top = Tree(root[0], style="bold")
    build(root, top)
    console = Console(record=True, force_terminal=color, no_color=not color,
                      width=10_000, color_system="standard" if color else None)
    with console.capture() as cap:
        console.print(top)
    return cap.get()
