"""The launcher's state on disk: one directory per ensemble, and the current-ensemble pointer.

Layout (``$ZKPY_HOME``, else ``$XDG_STATE_HOME/zkpy``, else ``~/.local/state/zkpy``)::

    ensembles/NAME/ensemble.json            the spec (ports fixed at create)
    ensembles/NAME/members/zk1/zoo.cfg      generated from the spec at every start
    ensembles/NAME/members/zk1/data/        dataDir (myid, txn logs, snapshots)
    ensembles/NAME/members/zk1/member.log   stdout+stderr of the member
    ensembles/NAME/members/zk1/member.pid   {"pid", "argv", "config"} written after spawn
    current                                 name of the current ensemble (ccm switch)

Members on ssh hosts keep the same ``zk1/...`` tree under the spec's ``remote_dir`` on
their host; only ensemble.json and the pointer live locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .hosts.base import Host, ProcInfo
from .plan import MemberState, Observed
from .spec import EnsembleSpec, MemberSpec, SpecError, spec_from_json, spec_to_json, validate_name

__all__ = ["MemberPaths", "PidRecord", "StateStore", "classify", "zkpy_home"]

SPEC_FILE = "ensemble.json"
CURRENT_FILE = "current"


def zkpy_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("ZKPY_HOME"):
        return Path(env["ZKPY_HOME"])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "zkpy"
    return Path.home() / ".local" / "state" / "zkpy"


@dataclass(frozen=True, slots=True)
class MemberPaths:
    """Paths of one member on its own host."""

    dir: str
    config: str
    data_dir: str
    log: str
    pid: str
    log4j: str

    @classmethod
    def under(cls, base: str, member: MemberSpec) -> MemberPaths:
        d = f"{base.rstrip('/')}/{member.name}"
        return cls(dir=d, config=f"{d}/zoo.cfg", data_dir=f"{d}/data", log=f"{d}/member.log",
                   pid=f"{d}/member.pid", log4j=f"{d}/log4j.properties")


@dataclass(frozen=True, slots=True)
class PidRecord:
    pid: int
    argv: tuple[str, ...]
    config: str

    def to_json(self) -> str:
        return json.dumps({"pid": self.pid, "argv": list(self.argv), "config": self.config}) + "\n"

    @classmethod
    def parse(cls, text: str) -> PidRecord | None:
        """A pid file's record; a bare number (hand-written) is accepted; junk gives None."""
        text = text.strip()
        if text.isdigit():
            return cls(int(text), (), "")
        try:
            d = json.loads(text)
            return cls(int(d["pid"]), tuple(d.get("argv", ())), str(d.get("config", "")))
        except (ValueError, KeyError, TypeError):
            return None


def classify(record: PidRecord | None, proc: ProcInfo | None) -> Observed:
    """A member's state from its pid file and what /proc says about that pid.

    Alive but not running our command line (the pid was reused) counts as stale, as does a
    dead pid (cassandra-ccm#391).
    """
    if record is None:
        return Observed(MemberState.STOPPED)
    if proc is None:
        return Observed(MemberState.STALE, record.pid)
    if record.config and not any(record.config in part for part in proc.cmdline):
        return Observed(MemberState.STALE, record.pid)
    if proc.paused:
        return Observed(MemberState.PAUSED, record.pid)
    return Observed(MemberState.RUNNING, record.pid)


class StateStore:
    """Ensemble specs and the current pointer under the zkpy home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.ensembles = home / "ensembles"

    def dir(self, name: str) -> Path:
        return self.ensembles / validate_name(name)

    def exists(self, name: str) -> bool:
        return (self.dir(name) / SPEC_FILE).exists()

    def names(self) -> list[str]:
        if not self.ensembles.is_dir():
            return []
        return sorted(p.name for p in self.ensembles.iterdir() if (p / SPEC_FILE).exists())

    def load(self, name: str) -> EnsembleSpec:
        path = self.dir(name) / SPEC_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError("name", f"no ensemble {name!r} (under {self.ensembles})") from None
        return spec_from_json(text)

    def save(self, spec: EnsembleSpec) -> None:
        d = self.dir(spec.name)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{SPEC_FILE}.tmp"
        tmp.write_text(spec_to_json(spec), encoding="utf-8")
        os.replace(tmp, d / SPEC_FILE)

    def remove(self, name: str) -> None:
        import shutil

        shutil.rmtree(self.dir(name), ignore_errors=True)
        if self.current() == name:
            self.set_current(None)

    def current(self) -> str | None:
        try:
            name = (self.home / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def set_current(self, name: str | None) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        p = self.home / CURRENT_FILE
        if name is None:
            p.unlink(missing_ok=True)
        else:
            p.write_text(name + "\n", encoding="utf-8")

    def member_base(self, spec: EnsembleSpec, member: MemberSpec) -> str:
        """The directory holding this member's dir, on the member's host."""
        if member.is_remote:
            return spec.remote_dir or f".local/state/zkpy/ensembles/{spec.name}"
        return str(self.dir(spec.name) / "members")

    def paths(self, spec: EnsembleSpec, member: MemberSpec, host: Host) -> MemberPaths:
        return MemberPaths.under(host.resolve(self.member_base(spec, member)), member)

    def observe(self, host: Host, spec: EnsembleSpec,
                member: MemberSpec) -> tuple[Observed, PidRecord | None, ProcInfo | None]:
        paths = self.paths(spec, member, host)
        text = host.read_file(paths.pid)
        record = PidRecord.parse(text) if text is not None else None
        if text is not None and record is None:  # junk in the pid file
            return Observed(MemberState.STALE, -1), None, None
        proc = host.process(record.pid) if record is not None else None
        return classify(record, proc), record, proc
