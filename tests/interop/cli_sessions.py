"""Scripted sessions of the real ZooKeeper command-line clients and their normalisation.

- the Java zkCli (``zkCli.sh -server H:P`` with the whole script on stdin: one JVM
  start per session);
- the C client ``cli_mt H:P`` driven through a pty (pexpect): after each command a
  synchronous ``exists /<sentinel>`` marks the end of that command's output, because
  the C client runs completions in order.

Outputs are normalised so that runs against different servers (and different runs
against the same server) compare equal: the session's root path becomes ``{root}``;
zxids are replaced by their rank among the zxids of the transcript (``Z1``, ``Z2``...;
equal zxids get equal ranks, so "mzxid = czxid" survives); dates, times, timings and
session ids are masked. Watch notifications, printed by the client's event thread at
any point, are taken out of the zkCli stdout and compared as their own ordered list.

Golden transcripts from Apache ZooKeeper 3.8 live in tests/interop/golden/; refresh:

    python -m tests.interop.cli_sessions        # starts its own Apache ZooKeeper 3.8
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import CLI_MT, ZKCLI

GOLDEN = Path(__file__).resolve().parent / "golden"
ZKCLI_TIMEOUT_S = 60.0

# ----------------------------------------------------------------------- zkCli

ZKCLI_SCRIPT = """\
create {root}
create {root}/a hello
get {root}/a
get -s {root}/a
create -s {root}/s- seqdata
create -s {root}/s- more
create -e {root}/e eph
create -c {root}/cont
create {root}/cont/kid
create {root}/missing/child
create {root}/a
create {root}/bad/
create relative
stat {root}/a
stat {root}/nothing
ls {root}/cont
ls -s {root}/cont
ls -R {root}/cont
set {root}/a world
set -s {root}/a again
set -v 7 {root}/a nope
set -v 3 {root}/a v3
get {root}/a
get {root}/missing
delete {root}
delete -v 9 {root}/a
delete {root}/nothing
getAcl {root}/a
setAcl {root}/a world:anyone:cdrwa,digest:u:Bmw6zxUGjOsfPbLb/SNxfTQwn6k=:r
getAcl -s {root}/a
setAcl -v 5 {root}/a world:anyone:r
addauth digest u:p
whoami
getAllChildrenNumber {root}
getEphemerals {root}/e
sync {root}
get -w {root}/a
set {root}/a fired
stat -w {root}/watched
create {root}/watched
addWatch -m PERSISTENT {root}/pw
create {root}/pw
removewatches {root}/pw
removewatches {root}/pw
create -t 1000 {root}/ttl
config
deleteall {root}/cont
ls {root}/cont
delete {root}/e
ls -R {root}/s-0000000001
bogus
quit
"""

_ZXID_LINE = re.compile(r"^(cZxid|mZxid|pZxid) = 0x([0-9a-f]+)$", re.M)
_DATE_LINE = re.compile(r"^(ctime|mtime) = (.*)$", re.M)
_OWNER_LINE = re.compile(r"^ephemeralOwner = 0x([0-9a-f]+)$", re.M)


@dataclass
class CliRun:
    stdout: str
    stderr: str
    returncode: int


def run_zkcli(hosts: str, root: str, script: str = ZKCLI_SCRIPT) -> CliRun:
    proc = subprocess.run(
        [ZKCLI, "-server", hosts], input=script.format(root=root), capture_output=True,
        text=True, timeout=ZKCLI_TIMEOUT_S, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp",
                                                 "JAVA_TOOL_OPTIONS": "-Xshare:auto"})
    return CliRun(proc.stdout, proc.stderr, proc.returncode)


def _rank_zxids(text: str, pattern: re.Pattern[str], group: int, fmt: str) -> str:
    values = sorted({int(m.group(group), 16) for m in pattern.finditer(text)} - {0})
    rank = {v: i + 1 for i, v in enumerate(values)}

    def sub(m: re.Match[str]) -> str:
        v = int(m.group(group), 16)
        s = m.group(0)
        a, b = m.span(group)
        a -= m.start()
        b -= m.start()
        return s[:a] + (fmt.format(rank[v]) if v else m.group(group)) + s[b:]
    return pattern.sub(sub, text)


def normalise_zkcli(run: CliRun, root: str, hosts: str) -> str:
    """One text with three sections: stdout (without watch events), the watch events
    in order, stderr (without the JVM's SLF4J notices), and the exit code. The lines
    of a ``whoami`` answer are sorted (the server's order is a Java HashSet's)."""
    out = run.stdout.replace(root, "{root}").replace(hosts, "{hosts}")
    events = [ln for ln in out.splitlines() if ln.startswith("WatchedEvent ")]
    body = [ln for ln in out.splitlines()
            if ln.strip() and ln != "WATCHER::" and not ln.startswith("WatchedEvent ")]
    for i, ln in enumerate(body):
        if ln == "Auth scheme: User":
            j = i + 1
            while j < len(body) and re.match(r"^[a-z0-9]+: ", body[j]):
                j += 1
            body[i + 1:j] = sorted(body[i + 1:j])
    text = "\n".join(body) + "\n"
    text = _rank_zxids(text, _ZXID_LINE, 2, "Z{}")
    text = _DATE_LINE.sub(lambda m: f"{m.group(1)} = "
                          + (m.group(2) if m.group(2).startswith("Thu Jan 01 00:00:00") else "DATE"),
                          text)
    text = _OWNER_LINE.sub(lambda m: "ephemeralOwner = "
                           + ("0x0" if m.group(1) == "0" else "SESSION"), text)
    err = [ln.replace(root, "{root}") for ln in run.stderr.splitlines()
           if not ln.startswith("SLF4J:") and "JAVA_TOOL_OPTIONS" not in ln]
    return ("== stdout\n" + text + "== events\n" + "".join(e + "\n" for e in events)
            + "== stderr\n" + "".join(e + "\n" for e in err)
            + f"== exit code\n{run.returncode}\n")


# ---------------------------------------------------------------------- cli_mt

CLI_MT_SCRIPT = [
    "create {root}",
    "create {root}/x",
    "create +e {root}/e",
    "create +s {root}/s-",
    "create {root}/x",
    "create {root}/none/child",
    "get {root}/x",
    "ls {root}/e",
    "ls2 {root}/e",
    "exists {root}/x",
    "exists {root}/missing",
    "set {root}/x world",
    "get {root}/missing",
    "delete {root}",
    "delete {root}/s-0000000002",
    "sync {root}",
    "wexists {root}/later",
    "create {root}/later",
    "addauth digest u:p",
    "delete {root}/e",
    "delete {root}/later",
    "delete {root}/x",
    "ls {root}",
]

_MT_ZXID = re.compile(r"(czxid|mzxid)=([0-9a-f]+)")
_MT_DATE = re.compile(r"(ctime = |mtime=)\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}")
_MT_TIME = re.compile(r"^time = -?\d+ msec$", re.M)
_MT_OWNER = re.compile(r"ephemeralOwner = ([0-9a-f]+)")


def run_cli_mt(hosts: str, root: str, script: list[str] | None = None,
               timeout_s: float = 15.0) -> list[tuple[str, str]]:
    """[(command, its output)] for each command of the script."""
    import pexpect

    child = pexpect.spawn(CLI_MT, [hosts], encoding="utf-8", timeout=timeout_s,
                          env={"PATH": "/usr/bin:/bin"})
    try:
        child.expect("Got a new session id: 0x[0-9a-f]+\r\n")
        out: list[tuple[str, str]] = []
        for i, line in enumerate(script or CLI_MT_SCRIPT):
            cmd = line.format(root=root)
            sentinel = f"/zkpy_cli_mt_sentinel_{i}"
            child.sendline(cmd)
            child.sendline(f"exists {sentinel}")
            child.expect(f"Error -101 for {re.escape(sentinel)}\r\n")
            text = child.before.replace("\r\n", "\n")
            # drop the pty's echo of the two input lines
            lines = [ln for ln in text.split("\n") if ln not in (cmd, f"exists {sentinel}")]
            out.append((line, "\n".join(ln for ln in lines if ln)))
        child.sendline("quit")
        child.expect(pexpect.EOF)
        return out
    finally:
        if child.isalive():
            child.terminate(force=True)


def normalise_cli_mt(transcript: list[tuple[str, str]], root: str) -> str:
    text = "".join(f"> {cmd}\n{out}\n" for cmd, out in transcript).replace(root, "{root}")
    text = _rank_zxids(text, _MT_ZXID, 2, "Z{}")
    text = _MT_DATE.sub(lambda m: m.group(1) + "DATE", text)
    text = _MT_TIME.sub("time = N msec", text)
    text = _MT_OWNER.sub(lambda m: "ephemeralOwner = " + ("0" if m.group(1) == "0"
                                                           else "SESSION"), text)
    return text


# ------------------------------------------------------------------ regenerate


def regenerate(hosts: str | None = None) -> None:
    from tests.support.servers import start_apache_zk
    handle = None
    if hosts is None:
        handle = start_apache_zk(Path(tempfile.mkdtemp(prefix="zkpy-cli-golden-")))
        hosts = handle.hosts
    try:
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / "zkcli_session.txt").write_text(
            normalise_zkcli(run_zkcli(hosts, "/golden_zkcli"), "/golden_zkcli", hosts))
        (GOLDEN / "cli_mt_session.txt").write_text(
            normalise_cli_mt(run_cli_mt(hosts, "/golden_climt"), "/golden_climt"))
    finally:
        if handle is not None:
            handle.stop()


if __name__ == "__main__":
    regenerate(sys.argv[1] if len(sys.argv) > 1 else None)
