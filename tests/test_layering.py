"""The core and audio layers must never import Qt: they run in CLI workers and processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "vaddesk"
QT_NAMES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


def _modules(sub: str) -> list[str]:
    return sorted(
        "vaddesk." + ".".join(p.relative_to(PKG).with_suffix("").parts)
        for p in (PKG / sub).rglob("*.py")
        if p.name != "__init__.py"
    )


@pytest.mark.parametrize("layer", ["core", "audio", "export"])
def test_layer_imports_no_qt(layer: str) -> None:
    modules = _modules(layer)
    assert modules, f"no modules found in vaddesk/{layer}"
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [n for n in sys.modules if n.split('.')[0] in {QT_NAMES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"vaddesk/{layer} imported Qt: {out.stdout.strip()}"


def test_no_qt_import_statement_outside_gui() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        if "gui" in path.relative_to(PKG).parts:
            continue
        text = path.read_text("utf-8")
        if any(f"import {q}" in text or f"from {q}" in text for q in QT_NAMES):
            offenders.append(str(path.relative_to(PKG)))
    assert offenders == []
