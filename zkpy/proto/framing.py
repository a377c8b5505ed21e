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
        # Nothing held back (the usual case): cut the frames straight out of ``data``
        # (a slice of bytes is one copy) and keep only an incomplete tail.
        src: bytes | bytearray = data
        if buf:
            buf += data
            src = buf
        frames: list[bytes] = []
        off = 0
        n = len(src)
        limit = self.max_frame_bytes
        unpack = INT32.unpack_from
        direct = src is data and type(data) is bytes  # its slices are bytes already
        while n - off >= 4:
            (length,) = unpack(src, off)
            if length < 0 or length > limit:
                raise FrameTooLarge(length, limit)
            end = off + 4 + length
            if end > n:
                break
            frames.append(src[off + 4:end] if direct else bytes(src[off + 4:end]))
            off = end
        if src is buf:
            if off:
                del buf[:off]
        elif off < n:
            buf += data[off:] if off else data
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)


def frame(payload: bytes | bytearray) -> bytes:
    """Prefix a payload with its int32 length."""
    return INT32.pack(len(payload)) + bytes(payload)
