"""packaging/build.sh fails cleanly: no usable C compiler -> exit status 1 and no bundle.

Run on a clone of the repository (build.sh deletes dist/vaddesk first, which must not touch
this checkout's bundle), with this interpreter (PYTHON) and CC=false: the compile step fails
within seconds, before PyInstaller. A bundle left from an earlier build must be gone too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.frozen

REPO = Path(__file__).resolve().parents[2]


def test_build_without_a_compiler_fails_and_leaves_no_bundle(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    old_bundle = clone / "dist" / "vaddesk"
    old_bundle.mkdir(parents=True)
    (old_bundle / "vaddesk").write_text("an earlier build\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VADDESK_")}
    env.update(PYTHON=sys.executable, CC="false", PYTHONPATH=str(clone))
    done = subprocess.run(
        ["bash", "packaging/build.sh"], cwd=clone, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "failed" in done.stderr, done.stderr
    assert not old_bundle.exists()
    assert not list((clone / "dist").iterdir())
    assert not list((clone / "vaddesk" / "core").glob("_fbank*.so"))
