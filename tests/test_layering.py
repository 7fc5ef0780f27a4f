"""Import direction between the layers of vaddesk, and Qt only under ``vaddesk/gui``.

The layers, lowest first; a module may import its own layer and any layer below it:

====  ===========  ==================================================================
rank  layer        modules
====  ===========  ==================================================================
0     base         ``vaddesk`` (the version), ``vaddesk.paths`` (resource and user
                   folders), ``vaddesk.applog`` (logging setup): no vaddesk imports of
                   their own beyond this rank, used by every layer above
1     core         ``vaddesk.core.*``: the engine (frontend, model, detector), no I/O
2     audio        ``vaddesk.audio.*``: decode, sniff, capture, recorder, resample,
                   envelope (I/O only)
3     export       ``vaddesk.export.*``: writers of reports, labels and clips
4     pipeline     ``vaddesk.pipeline.*``: decode -> engine -> results (batch, analysis,
                   live session)
5     commands     ``vaddesk.commands.*`` and ``vaddesk.selftest`` (the ``--self-test``
                   command): the CLI's front end
5     gui          ``vaddesk.gui.*``: the Qt front end
6     entry        ``vaddesk.cli`` and ``vaddesk.__main__``: parse the command line and
                   start one of the two front ends
====  ===========  ==================================================================

The two front ends share a rank and must not import each other. Every ``import`` and
``from ... import`` anywhere in a file counts (module level, inside functions, under
``TYPE_CHECKING``): the file is parsed with :mod:`ast`, nothing is imported. Qt (PySide6,
shiboken6, pyqtgraph and the other Qt bindings) may be imported only under ``vaddesk/gui``;
besides the static check, importing every module of the non-Qt layers in a fresh interpreter
must leave Qt out of ``sys.modules``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "vaddesk"
QT_NAMES = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "shiboken6")

RANKS = {"base": 0, "core": 1, "audio": 2, "export": 3, "pipeline": 4, "commands": 5, "gui": 5,
         "entry": 6}
_TOP_LEVEL = {"vaddesk": "base", "vaddesk.paths": "base", "vaddesk.applog": "base",
              "vaddesk.selftest": "commands", "vaddesk.cli": "entry",
              "vaddesk.__main__": "entry"}


def layer_of(module: str) -> str:
    """The layer of a vaddesk module name (``vaddesk.core.engine`` -> ``core``)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in RANKS and (PKG / parts[1]).is_dir():
        return parts[1]
    try:
        return _TOP_LEVEL[".".join(parts[:2])]
    except KeyError:
        raise AssertionError(f"{module} has no layer: give it one in tests/test_layering.py "
                             "(and its docstring)") from None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source``, relative ones resolved against
    ``module``; ``from pkg import name`` names ``pkg.name`` when that is a vaddesk module."""
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                as_module = PKG.parent / Path(*sub.split("."))
                is_module = as_module.with_suffix(".py").is_file() or as_module.is_dir()
                found.append((node.lineno, sub if is_module else base))
    return found


def forbidden_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` (a vaddesk module whose text is ``source``) that break the
    layering, one line each: ``module:line imports target (layer -> layer)``."""
    layer = layer_of(module)
    bad: list[str] = []
    for line, target in imported_modules(module, source, is_package):
        top = target.split(".")[0]
        if top in QT_NAMES and layer != "gui":
            bad.append(f"{module}:{line} imports {target} (Qt outside vaddesk/gui)")
        if top != "vaddesk":
            continue
        target_layer = layer_of(target)
        if target_layer != layer and RANKS[target_layer] >= RANKS[layer]:
            bad.append(f"{module}:{line} imports {target} ({layer} must not import "
                       f"{target_layer})")
    return bad


def _sources() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_every_import_points_down() -> None:
    paths = _sources()
    assert len(paths) > 40, "vaddesk's modules were not found"
    bad: list[str] = []
    for path in paths:
        bad += forbidden_imports(module_name(path), path.read_text("utf-8"),
                                 path.name == "__init__.py")
    assert bad == []


@pytest.mark.parametrize(("module", "is_package", "source", "expected"), [
    ("vaddesk.audio.live", False, "def f():\n    from vaddesk.export import writer\n",
     ["vaddesk.audio.live:2 imports vaddesk.export.writer (audio must not import export)"]),
    ("vaddesk.core.engine", False, "import vaddesk.pipeline.batch\n",
     ["vaddesk.core.engine:1 imports vaddesk.pipeline.batch (core must not import pipeline)"]),
    ("vaddesk.commands.segment", False, "from ..gui import app\n",
     ["vaddesk.commands.segment:1 imports vaddesk.gui.app (commands must not import gui)"]),
    ("vaddesk.audio", True, "from ..export import writer\n",
     ["vaddesk.audio:1 imports vaddesk.export.writer (audio must not import export)"]),
    ("vaddesk.gui.app", False, "from vaddesk import cli\n",
     ["vaddesk.gui.app:1 imports vaddesk.cli (gui must not import entry)"]),
    ("vaddesk.paths", False, "if True:\n    from vaddesk.core.types import SAMPLE_RATE\n",
     ["vaddesk.paths:2 imports vaddesk.core.types (base must not import core)"]),
    ("vaddesk.pipeline.batch", False,
     "class A:\n    def f(self):\n        import PySide6.QtCore\n",
     ["vaddesk.pipeline.batch:3 imports PySide6.QtCore (Qt outside vaddesk/gui)"]),
    ("vaddesk.export.report", False, "from vaddesk import __version__, paths\n"
     "from vaddesk.core.model import ModelInfo\nfrom .atomic import PendingFile\n", []),
    ("vaddesk.gui.main_window", False, "from PySide6.QtCore import Qt\n"
     "from vaddesk.pipeline import analysis\nfrom vaddesk.commands import segment\n",
     ["vaddesk.gui.main_window:3 imports vaddesk.commands.segment "
      "(gui must not import commands)"]),
])
def test_checker_flags_forbidden_imports(module: str, is_package: bool, source: str,
                                         expected: list[str]) -> None:
    """The checker itself, on made-up sources: each forbidden import is reported, at any depth,
    relative ones too; allowed ones are not."""
    assert forbidden_imports(module, source, is_package) == expected


def _modules(sub: str) -> list[str]:
    return sorted(
        "vaddesk." + ".".join(p.relative_to(PKG).with_suffix("").parts)
        for p in (PKG / sub).rglob("*.py")
        if p.name != "__init__.py"
    )


@pytest.mark.parametrize("layer", ["core", "audio", "export", "pipeline", "commands"])
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


MAX_MODULE_LINES = 600


def test_no_module_over_600_lines() -> None:
    """Modules that fit on a few screens: split one that grows past 600 lines by what it holds."""
    long = {str(p.relative_to(PKG)): n for p in _sources()
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}
