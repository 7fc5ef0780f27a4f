"""Everything in tests/integration needs more than a Python process: a private PulseAudio
daemon, a Dask cluster on 127.0.0.1, or the PyInstaller bundle in dist/. Every test here is
marked ``integration``, and those of the bundle ``frozen`` too, whatever its file says, so that
``pytest -m "not slow and not integration and not frozen"`` (the dev loop) never starts them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FROZEN_FILES = ("test_frozen.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if path.parent != HERE:
            continue  # the hook sees the whole session's items
        item.add_marker(pytest.mark.integration)
        if path.name in FROZEN_FILES:
            item.add_marker(pytest.mark.frozen)
