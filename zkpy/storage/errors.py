"""Storage exceptions.

`StorageError` means "this could not be made durable" (disk full, read-only disk, I/O
error): the caller must not acknowledge anything that was waiting on it.
`CorruptHistoryError` means the on-disk history is damaged in a way that would silently
shorten it (a bad record in the middle, a zxid gap, a missing segment): refuse to start.
"""

from __future__ import annotations

import errno


class StorageError(OSError):
    """An I/O operation on the data dir failed; nothing it covered is durable."""

    def __init__(self, what: str, path: str, cause: OSError | None = None) -> None:
        code = cause.errno if cause is not None else None
        name = errno.errorcode.get(code, "?") if code is not None else "?"
        reason = f"{name}: {cause.strerror}" if cause is not None else "failed"
        super().__init__(code or 0, f"{what} {path}: {reason}")
        self.what = what
        self.path = path
        self.cause = cause


class CorruptHistoryError(Exception):
    """The txn log / snapshot history is damaged; message names file and offset."""

    def __init__(self, message: str, path: str | None = None, offset: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f" [{path}" + (f" at offset {offset}" if offset is not None else "") + "]"
        super().__init__(message + where)
        self.path = path
        self.offset = offset
