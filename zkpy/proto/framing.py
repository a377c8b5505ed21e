"""Length-prefixed framing (int32 length + payload) with the jute.maxbuffer limit.

``FrameReader.feed(data)`` returns every complete frame in the data received so far;
the caller decodes them all in one go (one pass per ``data_received``).
"""

from __future__ import annotations

from .jute import INT32
from .opcodes import DEFAULT_MAX_FRAME_BYTES


class FrameTooLarge(ValueError):
    """A frame length was negative or above the limit: ZooKeeper logs "Len error" and
    closes the connection without a reply, and so do we."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"frame length {length} outside 0..{limit}")
        self.length = length
        self.limit = limit


class FrameReader:
    __slots__ = ("_buf", "max_frame_bytes")

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self.max_frame_bytes = max_frame_bytes

    def peek_length(self) -> int | None:
        """The first 4 buffered bytes as a length, or None if fewer are buffered."""
        if len(self._buf) < 4:
            return None
        return INT32.unpack_from(self._buf, 0)[0]

    def peek_prefix(self) -> bytes:
        """The first 4 buffered bytes (for four-letter-word detection)."""
        return bytes(self._buf[:4])

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        # Frames are cut out of one bytes object (a slice of bytes is one copy and one
        # object); only an incomplete tail is kept back in ``_buf``. A held-back tail is
        # joined with the new data once, rather than every frame sliced out of a bytearray
        # and then copied to bytes.
        if buf:
            buf += data
            if len(buf) < 4:
                return []
            (length,) = INT32.unpack_from(buf, 0)
            if 0 <= length <= self.max_frame_bytes and len(buf) < 4 + length:
                return []  # a big frame still arriving: no copy until it is complete
            data = bytes(buf)
            buf.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        frames: list[bytes] = []
        off = 0
        n = len(data)
        limit = self.max_frame_bytes
        unpack = INT32.unpack_from
        while n - off >= 4:
            (length,) = unpack(data, off)
            if length < 0 or length > limit:
                raise FrameTooLarge(length, limit)
            end = off + 4 + length
            if end > n:
                break
            frames.append(data[off + 4:end])
            off = end
        if off < n:
            buf += data[off:] if off else data
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)


def frame(payload: bytes | bytearray) -> bytes:
    """Prefix a payload with its int32 length."""
    return INT32.pack(len(payload)) + bytes(payload)
