"""Status of an ensemble as a rich table (tiup display layout) or JSON with the same fields.

Status values: ``Up|L`` (serving, leader), ``Up`` (serving), ``Unready`` (process alive
but not serving, e.g. no quorum yet), ``Paused`` (SIGSTOP), ``Down`` (no process),
``Stale-pid`` (pid file whose pid is gone or is not our member).
Colours only where rich decides the stream is a terminal; ``NO_COLOR`` is honoured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from .plan import MemberState
from .probe import Probe

__all__ = ["EnsembleStatus", "MemberStatus", "format_uptime", "render_status", "status_json",
           "status_label"]

STYLES = {"Up|L": "bold green", "Up": "green", "Down": "red", "Paused": "yellow",
          "Stale-pid": "yellow", "Unready": "yellow"}


@dataclass(frozen=True, slots=True)
class MemberStatus:
    id: int
    name: str
    host: str
    client_port: int
    quorum_port: int
    election_port: int
    role: str  # srvr Mode, or "-"
    status: str
    zxid: str | None
    pid: int | None
    uptime_s: float | None
    data_dir: str
    ssh: str | None = None


@dataclass(frozen=True, slots=True)
class EnsembleStatus:
    name: str
    members: tuple[MemberStatus, ...]
    current: bool = False

    @property
    def quorum_size(self) -> int:
        return len(self.members) // 2 + 1

    @property
    def serving(self) -> int:
        return sum(1 for m in self.members if m.status.startswith("Up"))

    @property
    def quorum_ok(self) -> bool:
        return self.serving >= self.quorum_size

    @property
    def leader(self) -> str | None:
        for m in self.members:
            if m.role in ("leader", "standalone"):
                return m.name
        return None


def status_label(state: MemberState, probe: Probe | None) -> str:
    if state is MemberState.STOPPED:
        return "Down"
    if state is MemberState.STALE:
        return "Stale-pid"
    if state is MemberState.PAUSED:
        return "Paused"
    if probe is not None and probe.ready:
        return "Up|L" if probe.mode == "leader" else "Up"
    return "Unready"


def format_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def status_json(status: EnsembleStatus) -> dict[str, Any]:
    return {
        "ensemble": status.name,
        "current": status.current,
        "members": len(status.members),
        "quorum": {"ok": status.quorum_ok, "serving": status.serving,
                   "size": status.quorum_size},
        "leader": status.leader,
        "hosts": ",".join(f"{m.host}:{m.client_port}" for m in status.members),
        "member_status": [asdict(m) for m in status.members],
    }


def _rows(status: EnsembleStatus) -> list[list[str]]:
    return [[m.name, m.host + (f" [ssh {m.ssh}]" if m.ssh else ""),
             str(m.client_port), f"{m.quorum_port}/{m.election_port}", m.role, m.status,
             m.zxid or "-", str(m.pid) if m.pid is not None else "-",
             format_uptime(m.uptime_s), m.data_dir] for m in status.members]


HEADERS = ("ID", "Host", "Client", "Quorum/Election", "Role", "Status", "zxid", "PID", "Uptime",
           "Data Dir")


def render_status(statuses: Sequence[EnsembleStatus], file: IO[str], *,
                  color: bool | None = None) -> None:
    """Header block, table, footer for each ensemble, written to ``file``."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=file, force_terminal=color, no_color=color is False,
                      width=200 if not file.isatty() else None, highlight=False)
    for i, st in enumerate(statuses):
        if i:
            console.print()
        q = "ok" if st.quorum_ok else "LOST"
        console.print(Text.assemble(("Ensemble: ", "cyan"), st.name))
        console.print(Text.assemble(("Members:  ", "cyan"), str(len(st.members))))
        console.print(Text.assemble(("Quorum:   ", "cyan"),
                                    (f"{q} ({st.serving}/{len(st.members)}, "
                                     f"needs {st.quorum_size})",
                                     "green" if st.quorum_ok else "red")))
        console.print(Text.assemble(("Leader:   ", "cyan"), st.leader or "-"))
        table = Table(box=None, pad_edge=False, header_style="bold")
        for h in HEADERS:
            table.add_column(h, no_wrap=True)
        for row in _rows(st):
            row_text = [Text(c) for c in row]
            row_text[5] = Text(row[5], style=STYLES.get(row[5], ""))
            table.add_row(*row_text)
        console.print(table)
        console.print(f"Total members: {len(st.members)}")
