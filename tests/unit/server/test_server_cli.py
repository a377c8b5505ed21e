"""`zkpy server` refuses bad invocations and configs before touching anything."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from zkpy.server.main import EXIT_INVALID_CONFIG, server


def _cfg(tmp_path: Path, text: str) -> str:
    p = tmp_path / "zoo.cfg"
    p.write_text(f"dataDir={tmp_path / 'data'}\nclientPort=0\n{text}")
    return str(p)


def test_bad_value_names_the_key_and_exits_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(server, ["--config", _cfg(tmp_path, "tickTime=abc\n")])
    assert r.exit_code == EXIT_INVALID_CONFIG
    assert "tickTime" in r.stderr
    assert not (tmp_path / "data").exists()


def test_ensemble_config_is_refused_not_served_standalone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "myid").write_text("1\n")
    text = "".join(f"server.{i}=127.0.0.1:{2887 + i}:{3887 + i}\n" for i in (1, 2, 3))
    r = CliRunner().invoke(server, ["--config", _cfg(tmp_path, "initLimit=5\nsyncLimit=2\n" + text)])
    assert r.exit_code == EXIT_INVALID_CONFIG
    assert "3-voter ensemble" in r.stderr and "replication" in r.stderr


def test_neither_config_nor_port_is_a_usage_error() -> None:
    r = CliRunner().invoke(server, [])
    assert r.exit_code == 2 and "--config" in r.stderr


def test_config_and_quick_flags_exclude_each_other(tmp_path: Path) -> None:
    r = CliRunner().invoke(server, ["--config", _cfg(tmp_path, ""), "--port", "2181"])
    assert r.exit_code == 2 and "exclude each other" in r.stderr


def test_standalone_disabled_is_refused_with_its_own_reason(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "myid").write_text("1\n")
    text = "initLimit=5\nsyncLimit=2\nstandaloneEnabled=false\nserver.1=127.0.0.1:2888:3888\n"
    r = CliRunner().invoke(server, ["--config", _cfg(tmp_path, text)])
    assert r.exit_code == EXIT_INVALID_CONFIG
    assert "standaloneEnabled=false" in r.stderr and "replication" in r.stderr
