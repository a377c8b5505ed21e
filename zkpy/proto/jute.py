"""Jute, ZooKeeper's record serialization: field types and the record compiler.

Rules:
- Pure: bytes in, values out. No I/O, no knowledge of opcodes or semantics.
- Every malformed input raises ``MalformedRecord`` (never struct.error, IndexError
  or UnicodeDecodeError), so callers have exactly one thing to catch.
- Records are compiled once at import: each record class gets a generated
  ``decode(buf, off) -> (record, off)`` and ``encode(out: bytearray)`` in which
  consecutive fixed-width fields are read or written by one precompiled struct.
  This keeps per-request cost to a few C calls (the hot path of the server).

Wire facts (reference/zookeeper-protocol.md section 1): big-endian; int 4 bytes,
long 8, boolean 1 (non-zero = true); buffer and ustring are int32 length + bytes
with -1 meaning null; vector is int32 count + items with -1 meaning null.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, ClassVar, Self, TypeVar

# Field type codes. Records reference these in their FIELDS tables.
INT = "i"
LONG = "q"
BOOL = "?"
BUFFER = "buffer"
USTRING = "ustring"

_FIXED = {INT: 4, LONG: 8, BOOL: 1}

INT32 = struct.Struct("!i")
INT64 = struct.Struct("!q")

class MalformedRecord(ValueError):
    """The bytes do not decode as the expected record (truncated, bad length, bad UTF-8)."""


class Vector:
    """Field type: jute vector<T> of a primitive code or a Record class."""

    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item

    def __repr__(self) -> str:
        return f"Vector({self.item!r})"


# --- primitive helpers used by generated code (and by hand-written hot paths) ---


def read_buffer(buf: Any, off: int) -> tuple[bytes | None, int]:
    (n,) = INT32.unpack_from(buf, off)
    off += 4
    if n < 0:
        return None, off
    end = off + n
    if end > len(buf):
        raise MalformedRecord(f"buffer length {n} exceeds the {len(buf) - off} bytes left")
    return bytes(buf[off:end]), end


def read_ustring(buf: Any, off: int) -> tuple[str | None, int]:
    (n,) = INT32.unpack_from(buf, off)
    off += 4
    if n < 0:
        return None, off
    end = off + n
    if end > len(buf):
        raise MalformedRecord(f"string length {n} exceeds the {len(buf) - off} bytes left")
    return str(buf[off:end], "utf-8"), end


def write_buffer(out: bytearray, value: bytes | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
    else:
        out += INT32.pack(len(value))
        out += value


def write_ustring(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
    else:
        b = value.encode("utf-8")
        out += INT32.pack(len(b))
        out += b


def read_vector(buf: Any, off: int, read_item: Any) -> tuple[list[Any] | None, int]:
    (n,) = INT32.unpack_from(buf, off)
    off += 4
    if n < 0:
        return None, off
    # Each item takes at least one byte: a count larger than what is left is a lie
    # (and must not make us allocate a huge list).
    if n > len(buf) - off:
        raise MalformedRecord(f"vector count {n} exceeds the {len(buf) - off} bytes left")
    items = []
    append = items.append
    for _ in range(n):
        item, off = read_item(buf, off)
        append(item)
    return items, off


def write_vector(out: bytearray, items: list[Any] | None, write_item: Any) -> None:
    if items is None:
        out += b"\xff\xff\xff\xff"
        return
    out += INT32.pack(len(items))
    for item in items:
        write_item(out, item)


def _read_int(buf: Any, off: int) -> tuple[int, int]:
    return INT32.unpack_from(buf, off)[0], off + 4


def _read_long(buf: Any, off: int) -> tuple[int, int]:
    return INT64.unpack_from(buf, off)[0], off + 8


def _read_bool(buf: Any, off: int) -> tuple[bool, int]:
    return buf[off] != 0, off + 1


def _write_int(out: bytearray, v: int) -> None:
    out += INT32.pack(v)


def _write_long(out: bytearray, v: int) -> None:
    out += INT64.pack(v)


def _write_bool(out: bytearray, v: bool) -> None:
    out.append(1 if v else 0)


_PRIM_READERS = {INT: _read_int, LONG: _read_long, BOOL: _read_bool,
                 BUFFER: read_buffer, USTRING: read_ustring}
_PRIM_WRITERS = {INT: _write_int, LONG: _write_long, BOOL: _write_bool,
                 BUFFER: write_buffer, USTRING: write_ustring}


def _item_reader(t: Any) -> Any:
    if isinstance(t, str):
        return _PRIM_READERS[t]
    if isinstance(t, Vector):
        inner = _item_reader(t.item)
        return lambda buf, off: read_vector(buf, off, inner)
    return t.decode


def _item_writer(t: Any) -> Any:
    if isinstance(t, str):
        return _PRIM_WRITERS[t]
    if isinstance(t, Vector):
        inner = _item_writer(t.item)
        return lambda out, v: write_vector(out, v, inner)
    return lambda out, v: v.encode(out)


class _RecordMeta(type):
    """Gives each record class __slots__ named after its FIELDS (no per-instance dict)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _RecordMeta:
        if "FIELDS" in ns and "__slots__" not in ns:
            ns["__slots__"] = tuple(n for n, _ in ns["FIELDS"])
        return super().__new__(mcs, name, bases, ns)


class Record(metaclass=_RecordMeta):
    """Base of every jute record. Subclasses set ``FIELDS = (("name", type), ...)``.

    Instances are plain slotted objects compared by value; construct with the field
    values in wire order (positional or keyword).
    """

    __slots__ = ()
    FIELDS: ClassVar[tuple[tuple[str, Any], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "FIELDS" in cls.__dict__:
            _compile(cls)

    # Replaced per class by _compile; declared for type checkers.
    @classmethod
    def decode(cls, buf: Any, off: int = 0) -> tuple[Self, int]:  # pragma: no cover
        raise NotImplementedError

    def encode(self, out: bytearray) -> None:  # pragma: no cover
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        out = bytearray()
        self.encode(out)
        return bytes(out)

    @classmethod
    def from_bytes(cls, buf: Any) -> Self:
        """Decode a record that must span the whole buffer exactly."""
        rec, off = cls.decode(buf, 0)
        if off != len(buf):
            raise MalformedRecord(f"{cls.__name__}: {len(buf) - off} trailing bytes")
        return rec

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n, _ in self.FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(_freeze(getattr(self, n)) for n, _ in self.FIELDS))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n, _ in self.FIELDS)
        return f"{type(self).__name__}({body})"

    def astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n, _ in self.FIELDS)


def _freeze(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _compile(cls: type[Record]) -> None:
    """Generate __init__, decode and encode for a record class from its FIELDS."""
    fields = cls.FIELDS
    names = [n for n, _ in fields]
    ns: dict[str, Any] = {
        "MalformedRecord": MalformedRecord, "struct": struct,
        "write_buffer": write_buffer, "write_ustring": write_ustring,
        "_unpack_int": INT32.unpack_from,  # bound once: no attribute lookup per field
        "_new": object.__new__,
    }

    # __init__
    init_lines = [f"def __init__(self, {', '.join(names)}):" if names else "def __init__(self):"]
    init_lines += [f"    self.{n} = {n}" for n in names] or ["    pass"]

    # Group consecutive fixed-width fields into one struct each.
    groups: list[tuple[str, list[str] | tuple[str, Any]]] = []
    run: list[tuple[str, str]] = []
    for n, t in fields:
        if isinstance(t, str) and t in _FIXED:
            run.append((n, t))
            continue
        if run:
            groups.append(("fixed", [x for x in run]))  # type: ignore[arg-type]
            run = []
        groups.append(("var", (n, t)))
    if run:
        groups.append(("fixed", run))  # type: ignore[arg-type]

    dec = ["def decode(cls, buf, off=0):", "  try:"]
    if any(t in (BUFFER, USTRING) for _, t in fields):
        dec.append("    is_bytes = type(buf) is bytes")
        dec.append("    size = len(buf)")
    enc = ["def encode(self, out):"]
    for gi, (kind, spec) in enumerate(groups):
        if kind == "fixed":
            fmt = "!" + "".join(t for _, t in spec)  # type: ignore[misc]
            st = struct.Struct(fmt)
            ns[f"_S{gi}"] = st
            ns[f"_U{gi}"] = st.unpack_from
            fnames = [n for n, _ in spec]  # type: ignore[misc]
            dec.append(f"    {', '.join('f_' + n for n in fnames)}, = _U{gi}(buf, off)")
            dec.append(f"    off += {st.size}")
            enc.append(f"    out += _S{gi}.pack({', '.join('self.' + n for n in fnames)})")
        else:
            n, t = spec  # type: ignore[misc]
            if t in (BUFFER, USTRING):
                # read_buffer / read_ustring written out in place: requests are decoded
                # on the hot path, and two calls per path+data record are measurable.
                # A slice of bytes is already bytes; other buffers are copied.
                what, value = (("buffer", "buf[off:end] if is_bytes else bytes(buf[off:end])")
                               if t == BUFFER else
                               ("string", "buf[off:end].decode() if is_bytes "
                                "else str(buf[off:end], 'utf-8')"))
                dec += [
                    "    (n,) = _unpack_int(buf, off)",
                    "    off += 4",
                    "    if n < 0:",
                    f"      f_{n} = None",
                    "    else:",
                    "      end = off + n",
                    "      if end > size:",
                    f"        raise MalformedRecord(f'{what} length {{n}} exceeds the "
                    "{size - off} bytes left')",
                    f"      f_{n} = {value}",
                    "      off = end",
                ]
                enc.append(f"    write_{'buffer' if t == BUFFER else 'ustring'}(out, self.{n})")
            elif not isinstance(t, Vector):     # a nested record (Stat...): call it directly
                ns[f"_R{gi}"] = t.decode
                dec.append(f"    f_{n}, off = _R{gi}(buf, off)")
                enc.append(f"    self.{n}.encode(out)")
            else:
                ns[f"_R{gi}"] = _item_reader(t)
                ns[f"_W{gi}"] = _item_writer(t)
                dec.append(f"    f_{n}, off = _R{gi}(buf, off)")
                enc.append(f"    _W{gi}(out, self.{n})")
    dec.append("  except (struct.error, IndexError, UnicodeDecodeError) as e:")
    dec.append(f"    raise MalformedRecord('{cls.__name__}: ' + str(e)) from None")
    # The instance is made and filled here rather than by calling cls(...): a decode on
    # the request path then runs one Python frame, not two.
    dec.append("  rec = _new(cls)")
    dec += [f"  rec.{n} = f_{n}" for n in names]
    dec.append("  return rec, off")
    if len(enc) == 1:
        enc.append("    pass")

    src = "\n".join(init_lines + dec + enc)
    exec(compile(src, f"<jute {cls.__name__}>", "exec"), ns)  # noqa: S102 - our own schema
    cls.__init__ = ns["__init__"]  # type: ignore[misc]
    cls.decode = classmethod(ns["decode"])  # type: ignore[method-assign, assignment]
    cls.encode = ns["encode"]  # type: ignore[method-assign]
    cls.__match_args__ = tuple(names)  # type: ignore[misc]


class WireRecord(bytes):
    """A record held as its own wire bytes. For the replies a server sends most (setData,
    exists, getData): the body is packed once and the reply appends it as it is, with no
    record object to build and none to encode (that was a tenth of the instructions of a
    setData). Subclasses set FIELDS as a Record does; fields decode on access.

    Construct from field values like a Record, or, where the bytes are already at hand,
    ``bytes.__new__(cls, body)`` (no Python frame: the hot path's way). Equal to another
    instance of the same class with the same bytes, which is the same as equal fields.
    """

    __slots__ = ()
    FIELDS: ClassVar[tuple[tuple[str, Any], ...]] = ()
    RECORD: ClassVar[type[Record]]  # the same FIELDS as a plain Record: it decodes

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "FIELDS" not in cls.__dict__:
            return
        cls.RECORD = type(cls.__name__, (Record,), {"FIELDS": cls.FIELDS,
                                                    "__module__": cls.__module__})
        for name, _ in cls.FIELDS:
            setattr(cls, name, _wire_field(name))

    def __new__(cls, *fields: Any, **named: Any) -> Self:
        return bytes.__new__(cls, cls.RECORD(*fields, **named).to_bytes())

    @classmethod
    def decode(  # type: ignore[override]  # a Record's decode, not bytes.decode
            cls, buf: Any, off: int = 0) -> tuple[Self, int]:
        _, end = cls.RECORD.decode(buf, off)  # checks the layout and finds the end
        return bytes.__new__(cls, buf[off:end]), end

    @classmethod
    def from_bytes(cls, buf: Any) -> Self:
        cls.RECORD.from_bytes(buf)  # checks that the record spans ``buf`` exactly
        return bytes.__new__(cls, buf)

    def encode(self, out: bytearray) -> None:
        out += self

    def to_bytes(self) -> bytes:
        return bytes(self)

    def record(self) -> Record:
        """The fields, decoded (one decode; each field attribute does one of its own)."""
        return self.RECORD.from_bytes(self)

    def astuple(self) -> tuple[Any, ...]:
        return self.record().astuple()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = bytes.__hash__

    def __repr__(self) -> str:
        rec = self.record()
        body = ", ".join(f"{n}={getattr(rec, n)!r}" for n, _ in self.FIELDS)
        return f"{type(self).__name__}({body})"


def _wire_field(name: str) -> property:
    """A WireRecord field: decoded from the bytes on each access."""
    return property(lambda self: getattr(self.record(), name))


_W = TypeVar("_W", bound=WireRecord)

as_wire: Callable[[type[_W], bytes], _W] = bytes.__new__  # type: ignore[assignment]
"""``as_wire(cls, body)``: the WireRecord of class ``cls`` whose wire bytes are ``body``,
made without a Python frame (``cls(...)`` runs one and encodes the fields)."""
