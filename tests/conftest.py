"""Test configuration shared by every test module.

Qt must be told to draw offscreen before any QApplication exists (pytest-qt creates one lazily).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep tests away from the user's real config, data and logs.
os.environ.setdefault("VADDESK_CONFIG_DIR", "/tmp/vaddesk-test-config")


# --- the generated test corpus (tests/corpus.py), shared by the fidelity tests and others -------
import pytest


@pytest.fixture(scope="session")
def corpus() -> list:
    """Paths of the generated corpus WAVs (16 kHz mono float), cached in tests/.corpus/."""
    from tests.corpus import ensure_corpus

    return ensure_corpus()
