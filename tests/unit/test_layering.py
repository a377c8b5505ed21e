"""zkpy/state and zkpy/proto are pure: no I/O, clock, randomness or threads."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "zkpy"
FORBIDDEN = {"asyncio", "socket", "time", "random", "os", "threading", "selectors",
             "subprocess", "multiprocessing", "signal", "secrets", "uvloop",
             "logging.handlers", "datetime", "shutil", "tempfile", "io"}
PURE_PACKAGES = ["state", "proto"]


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
            out.extend(f"{node.module}.{a.name}" for a in node.names)
    return out


def _files() -> list[Path]:
    return [p for pkg in PURE_PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_has_no_io_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    bad = []
    for name in _imports(tree):
        top = name.split(".")[0]
        if top in FORBIDDEN or name in FORBIDDEN:
            bad.append(name)
    assert not bad, f"{path}: forbidden imports {bad}"


def test_state_imports_only_proto_and_shared_modules() -> None:
    allowed_internal = ("zkpy.proto", "zkpy.paths", "zkpy.errors")
    for path in sorted((ROOT / "state").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                assert ("zkpy." + node.module).startswith(allowed_internal), (path, node.module)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.startswith("zkpy."):
                assert node.module.startswith(allowed_internal), (path, node.module)


def test_scan_finds_files() -> None:
    assert len(_files()) >= 10
