"""Generated jute decoders and the frame reader take bytes (the server's hot path, sliced
in place) and any other buffer (copied): both give the same records and the same errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from zkpy.proto import records as r
from zkpy.proto.framing import FrameReader, FrameTooLarge
from zkpy.proto.jute import MalformedRecord, Record

OPEN = [r.ACL(31, r.Id("world", "anyone"))]
STAT = r.Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
RECORDS: list[Record] = [
    r.SetDataRequest("/a/ünïcode", b"\x00\xffdata", -1),
    r.SetDataRequest("/a", None, 3),                       # a null buffer
    r.CreateRequest("/n-", b"", OPEN, 2),                  # a vector of records after them
    r.GetDataResponse(b"x" * 300, STAT),                   # a nested record after a buffer
    r.AuthPacket(0, "digest", b"u:p"),
]
BUFFERS: list[Callable[[bytes], Any]] = [bytes, bytearray, memoryview]


@pytest.mark.parametrize("record", RECORDS, ids=lambda x: type(x).__name__)
@pytest.mark.parametrize("kind", BUFFERS, ids=lambda k: k.__name__)
def test_decode_from_any_buffer(record: Record, kind: Callable[[bytes], Any]) -> None:
    raw = b"\x01\x02" + record.to_bytes()
    got, end = type(record).decode(kind(raw), 2)
    assert got == record and end == len(raw)
    for name, _ in record.FIELDS:  # values are plain bytes/str, never views of the buffer
        v = getattr(got, name)
        assert type(v) is type(getattr(record, name)), name


@pytest.mark.parametrize("kind", BUFFERS, ids=lambda k: k.__name__)
def test_short_and_bad_input_is_malformed_from_any_buffer(kind: Callable[[bytes], Any]) -> None:
    raw = r.SetDataRequest("/a", b"data", 1).to_bytes()
    for cut in range(len(raw)):
        with pytest.raises(MalformedRecord):
            r.SetDataRequest.decode(kind(raw[:cut]), 0)
    bad_utf8 = b"\x00\x00\x00\x02\xc3\x28" + raw[6:]
    with pytest.raises(MalformedRecord):
        r.SetDataRequest.decode(kind(bad_utf8), 0)


@pytest.mark.parametrize("kind", [bytes, bytearray], ids=lambda k: k.__name__)
def test_frames_are_bytes_whatever_was_fed(kind: Callable[[bytes], Any]) -> None:
    frames = [b"abc", b"", b"\x00" * 70]
    stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    reader = FrameReader(1 << 20)
    got = reader.feed(kind(stream[:5])) + reader.feed(kind(stream[5:]))  # held back, then cut
    assert got == frames and all(type(f) is bytes for f in got)
    assert reader.feed(kind(stream)) == frames and reader.buffered == 0


def test_frames_survive_any_split_of_the_stream() -> None:
    frames = [b"abc", b"", b"\x01" * 70, b"z" * 5000, b"q"]
    stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    for cut in range(len(stream) + 1):        # two reads, split anywhere
        reader = FrameReader(1 << 20)
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == frames
        assert reader.buffered == 0
    reader = FrameReader(1 << 20)             # a big frame in many small reads
    got: list[bytes] = []
    for i in range(0, len(stream), 7):
        got += reader.feed(stream[i:i + 7])
    assert got == frames and reader.buffered == 0


def test_too_large_frame_is_refused_when_its_length_arrives_in_pieces() -> None:
    reader = FrameReader(100)
    assert reader.feed(b"\x00\x00") == []
    with pytest.raises(FrameTooLarge):
        reader.feed(b"\x00\x65")              # 101 bytes: over the limit, before its body
    reader = FrameReader(100)
    assert reader.feed(b"\x00\x00\x00\x03ab") == []
    with pytest.raises(FrameTooLarge):
        reader.feed(b"c\xff\xff\xff\xff")     # a negative length after a complete frame
