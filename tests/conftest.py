"""Test configuration shared by every test module.

Qt must be told to draw offscreen before any QApplication exists (pytest-qt creates one lazily).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep tests away from the user's real config, data and logs.
os.environ.setdefault("VADDESK_CONFIG_DIR", "/tmp/vaddesk-test-config")
os.environ.setdefault("VADDESK_EDITS_DIR", "/tmp/vaddesk-test-edits")  # the app's autosaves
os.environ.setdefault("VADDESK_RECORDINGS_DIR", "/tmp/vaddesk-test-recordings")
os.environ.setdefault("VADDESK_CACHE_DIR", "/tmp/vaddesk-test-cache")  # URL downloads
# The command line logs too (vaddesk.applog): its subprocesses inherit this.
os.environ.setdefault("VADDESK_LOG_DIR", "/tmp/vaddesk-test-logs")


# --- the generated test corpus (tests/support/corpus.py), shared by the fidelity tests and others
import pytest


@pytest.fixture(scope="session")
def corpus() -> list:
    """Paths of the generated corpus WAVs (16 kHz mono float), cached in tests/.corpus/."""
    from tests.support.corpus import ensure_corpus

    return ensure_corpus()


# --- in CI a skip is a failure -------------------------------------------------------------------
# Tests skip when a tool (espeak-ng, ffmpeg, the reference runtime) is missing, which is kind to a
# developer's laptop. CI installs all of them (packaging/install.sh --dev), so there a skip can
# only mean a broken install step, and it must not pass silently.
_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if _CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true), which hides a missing install step: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_skip(outcome.get_result())
