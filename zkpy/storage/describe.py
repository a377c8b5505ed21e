"""Human/JSON descriptions of log records for the offline tools.

Records hold Command bytes (zkpy.state). When zkpy.state provides `Command.from_bytes`
the record is decoded (time, session, op name, path); otherwise -- or when decoding
fails -- only zxid, size and a hex preview are shown, so the tools work on any log.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..proto.opcodes import OP_NAMES

_decoder: Callable[[bytes], Any] | None | bool = False  # False: not looked up yet


def _find_decoder() -> Callable[[bytes], Any] | None:
    for mod_name in ("zkpy.state", "zkpy.state.types", "zkpy.state.machine"):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        cmd = getattr(mod, "Command", None)
        if cmd is not None and hasattr(cmd, "from_bytes"):
            fn: Callable[[bytes], Any] = cmd.from_bytes
            return fn
    return None


def decoder() -> Callable[[bytes], Any] | None:
    global _decoder
    if _decoder is False:
        _decoder = _find_decoder()
    return _decoder if callable(_decoder) else None


def _path_of(request: Any) -> str | None:
    if isinstance(request, list):
        paths = [_path_of(r) for _, r in request] if request and isinstance(request[0], tuple) else []
        shown = [p for p in paths if p]
        return ",".join(shown) if shown else None
    p = getattr(request, "path", None)
    return p if isinstance(p, str) else None


def describe_record(zxid: int, payload: bytes) -> dict[str, Any]:
    """zxid, size, and when decodable time_ms, session, cxid, op, path."""
    out: dict[str, Any] = {"zxid": zxid, "zxid_hex": f"{zxid:#x}", "size": len(payload)}
    dec = decoder()
    if dec is not None:
        try:
            cmd = dec(payload)
        except Exception as e:  # noqa: BLE001 - a tool must show what it cannot decode
            out["decode_error"] = f"{type(e).__name__}: {e}"
        else:
            op = getattr(cmd, "op", None)
            out.update(
                time_ms=getattr(cmd, "time_ms", None),
                session=getattr(cmd, "session_id", None),
                cxid=getattr(cmd, "cxid", None),
                op=OP_NAMES.get(op, str(op)) if isinstance(op, int) else None,
                path=_path_of(getattr(cmd, "request", None)),
            )
            return out
    out["hex"] = payload[:32].hex() + ("..." if len(payload) > 32 else "")
    return out
