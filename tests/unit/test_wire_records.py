"""WireRecord: responses held as their own wire bytes behave as the records they replace."""

from __future__ import annotations

import pytest

from zkpy.proto import records as r
from zkpy.proto.jute import MalformedRecord, WireRecord, as_wire

STAT = r.Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)


@pytest.mark.parametrize("cls,fields", [
    (r.SetDataResponse, (STAT,)),
    (r.SetACLResponse, (STAT,)),
    (r.ExistsResponse, (STAT,)),
    (r.GetDataResponse, (b"\x00data", STAT)),
    (r.GetDataResponse, (None, STAT)),      # a null buffer: length -1
    (r.GetDataResponse, (b"", STAT)),
], ids=lambda x: getattr(x, "__name__", None))
def test_same_bytes_and_fields_as_the_plain_record(cls: type[WireRecord],
                                                   fields: tuple) -> None:
    plain = cls.RECORD(*fields)
    wire = cls(*fields)
    assert bytes(wire) == plain.to_bytes() == wire.to_bytes()
    assert wire.astuple() == plain.astuple()
    for (name, _), value in zip(cls.FIELDS, fields, strict=True):
        assert getattr(wire, name) == value
    out = bytearray(b"hdr")
    wire.encode(out)
    assert out == b"hdr" + plain.to_bytes()
    assert as_wire(cls, plain.to_bytes()) == wire          # the hot path's way, no frame
    assert repr(wire) == repr(plain)
    decoded, end = cls.decode(b"xx" + bytes(wire) + b"tail", 2)
    assert decoded == wire and type(decoded) is cls and end == 2 + len(wire)
    assert cls.from_bytes(bytes(wire)) == wire


def test_equality_is_per_class_and_value() -> None:
    a, b = r.SetDataResponse(STAT), r.ExistsResponse(STAT)
    assert bytes(a) == bytes(b) and a != b                 # same bytes, different record
    assert a == r.SetDataResponse(STAT) and hash(a) == hash(r.SetDataResponse(STAT))
    assert a != r.SetDataResponse(r.Stat(1, 2, 3, 4, 6, 6, 7, 8, 9, 10, 11))
    assert {a, r.SetDataResponse(STAT)} == {a}


def test_damaged_bytes_are_refused() -> None:
    body = bytes(r.GetDataResponse(b"data", STAT))
    for cut in range(len(body)):
        with pytest.raises(MalformedRecord):
            r.GetDataResponse.decode(body[:cut], 0)
    with pytest.raises(MalformedRecord):
        r.GetDataResponse.from_bytes(body + b"\0")
