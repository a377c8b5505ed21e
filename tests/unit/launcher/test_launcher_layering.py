"""launcher.spec and launcher.plan are pure (anchors C4): no I/O, clock, processes or sockets."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "launcher"
FORBIDDEN = {"asyncio", "socket", "time", "random", "os", "threading", "selectors",
             "subprocess", "signal", "shutil", "tempfile", "pathlib", "asyncssh", "logging"}


@pytest.mark.parametrize("module", ["spec.py", "plan.py"])
def test_pure_launcher_module_has_no_io_imports(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            assert node.module in ("spec", "plan"), f"{module} imports .{node.module}"
    bad = [n for n in names if n.split(".")[0] in FORBIDDEN]
    assert not bad, f"launcher/{module}: forbidden imports {bad}"
