"""Start Apache ZooKeeper 3.8 (the oracle) or a zkpy member on free loopback ports.

Every process is started in its own session and stopped by its PID (SIGTERM, then
SIGKILL after a bounded wait). Every wait is bounded and reports the last state seen.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn


def unavailable(reason: str) -> NoReturn:
    """A test prerequisite is missing: skip on a developer machine, fail in CI (env CI),
    where .ci/run installs everything the suite needs."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


ZK_JARS = [
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
]
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


def zk_classpath(netty: bool = False) -> list[str]:
    """ZooKeeper's jars; with ``netty``, also the Netty jars the Debian jar's Class-Path
    leaves out (its Netty server and client sockets, and so TLS, need them)."""
    jars = list(ZK_JARS)
    if netty:
        jars += sorted(str(p) for p in Path("/usr/share/java").glob("netty-*.jar")
                       if not p.stem[-1].isdigit() and p.stem != "netty-all")
    return jars


def apache_zk_available() -> bool:
    return shutil.which("java") is not None and all(os.path.exists(j) for j in ZK_JARS)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str,
               interval_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail with the last value seen."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        try:
            last = predicate()
        except Exception as e:  # noqa: BLE001 - we report whatever the probe saw
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}")
        time.sleep(interval_s)


def four_letter(host: str, port: int, cmd: str, timeout_s: float = 2.0) -> str:
    """Send a four-letter word and return the whole answer."""
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.sendall(cmd.encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


@dataclass
class ServerHandle:
    kind: str                     # "zookeeper" or "zkpy"
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hosts(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def srvr(self) -> str:
        return four_letter(self.host, self.port, "srvr")

    def wait_serving(self, timeout_s: float = 30.0) -> None:
        def probe() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            return "Mode:" in self.srvr()
        try:
            wait_until(probe, timeout_s, f"{self.kind} on {self.hosts} to serve")
        except TimeoutError:
            self.stop()
            raise

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.kill(self.proc.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout_s)
        except ProcessLookupError:
            pass


def _write_cfg(path: Path, cfg: dict[str, Any]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))


def start_apache_zk(workdir: Path, host: str = "127.0.0.1", port: int | None = None,
                    cfg: dict[str, Any] | None = None,
                    jvm_props: dict[str, str] | None = None,
                    wait: bool = True) -> ServerHandle:
    """Standalone Apache ZooKeeper from the Debian package (java QuorumPeerMain)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    conf = {
        "tickTime": 2000, "initLimit": 10, "syncLimit": 5, "dataDir": data,
        "clientPort": port, "clientPortAddress": host, "maxClientCnxns": 0,
        "admin.enableServer": "false", "4lw.commands.whitelist": "*",
    }
    conf.update(cfg or {})
    _write_cfg(workdir / "zoo.cfg", conf)
    log_path = workdir / "zookeeper.log"
    (workdir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, FILE\n"
        "log4j.appender.FILE=org.apache.log4j.FileAppender\n"
        f"log4j.appender.FILE.File={log_path}\n"
        "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n\n")
    props = {"log4j.configuration": f"file:{workdir / 'log4j.properties'}",
             "zookeeper.admin.enableServer": "false"}
    props.update(jvm_props or {})
    jars = zk_classpath(netty="Netty" in str(conf.get("serverCnxnFactory", "")))
    cmd = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           *[f"-D{k}={v}" for k, v in props.items()],
           "-cp", ":".join(jars),
           "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(workdir / "zoo.cfg")]
    out = open(workdir / "stdout.log", "wb")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    h = ServerHandle("zookeeper", host, port, proc, workdir, log_path)
    if wait:
        h.wait_serving(60.0)
    return h


def start_zkpy(workdir: Path, host: str = "127.0.0.1", port: int | None = None,
               cfg: dict[str, Any] | None = None, wait: bool = True,
               env: dict[str, str] | None = None) -> ServerHandle:
    """A standalone zkpy member (`python -m zkpy server --config zoo.cfg`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    conf = {
        "tickTime": 2000, "dataDir": data, "clientPort": port, "clientPortAddress": host,
        "maxClientCnxns": 0, "admin.enableServer": "false", "4lw.commands.whitelist": "*",
    }
    conf.update(cfg or {})
    _write_cfg(workdir / "zoo.cfg", conf)
    log_path = workdir / "zkpy.log"
    out = open(log_path, "wb")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen([sys.executable, "-m", "zkpy", "server", "--config",
                             str(workdir / "zoo.cfg")],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})})
    h = ServerHandle("zkpy", host, port, proc, workdir, log_path)
    if wait:
        h.wait_serving(30.0)
    return h


def start_server(kind: str, workdir: Path, **kw: Any) -> ServerHandle:
    if kind == "zookeeper":
        return start_apache_zk(workdir, **kw)
    if kind == "zkpy":
        return start_zkpy(workdir, **kw)
    raise ValueError(kind)
