"""Run shell lines against the fake client and capture stdout/stderr/exit codes."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

from shell.context import Output, Shell
from tests.unit.shell.fake_client import FakeServer, factory


@dataclass
class Result:
    out: str
    err: str
    code: int
    raw: bytes


class Harness:
    def __init__(self, server: FakeServer | None = None, *, tty: bool = False,
                 fmt: str = "text", interactive: bool = False, **kw: Any) -> None:
        self.raw = io.BytesIO()
        self.stdout = io.TextIOWrapper(self.raw, encoding="utf-8", write_through=True)
        self.stderr = io.StringIO()
        self.make = factory(server)
        self.server: FakeServer = self.make.server  # type: ignore[attr-defined]
        self.shell = Shell(hosts="127.0.0.1:2181", output=Output(
            stdout=self.stdout, stderr=self.stderr, tty=tty), client_factory=self.make,
            fmt=fmt, interactive=interactive, **kw)
        self.loop = asyncio.new_event_loop()

    def run(self, *lines: str) -> Result:
        start_raw, start_err = len(self.raw.getvalue()), len(self.stderr.getvalue())
        code = 0
        for line in lines:
            code = self.loop.run_until_complete(self.shell.run_line(line))
        raw = self.raw.getvalue()[start_raw:]
        return Result(raw.decode("utf-8", "replace"), self.stderr.getvalue()[start_err:],
                      code, raw)

    def close(self) -> None:
        self.loop.run_until_complete(self.shell.aclose())
        self.loop.close()
