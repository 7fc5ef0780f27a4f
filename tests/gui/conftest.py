"""The GUI tests open dozens of windows, and each window starts its own analysis process: here
they are forked from a forkserver instead of spawned (tests/support/forked_analysis.py says why
and what stays the same). Tests that ask for ``spawned_analysis`` spawn it, as the app does.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest

from tests.support.forked_analysis import ServeInCallersEnvironment, use_forkserver
from vaddesk.gui import analysis_worker
from vaddesk.gui.analysis_worker import AnalysisWorker
from vaddesk.pipeline import analysis


@pytest.fixture(autouse=True)
def forked_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    use_forkserver()
    monkeypatch.setattr(AnalysisWorker, "context", mp.get_context("forkserver"))
    monkeypatch.setattr(analysis_worker, "serve", ServeInCallersEnvironment())


@pytest.fixture
def spawned_analysis(forked_analysis: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's windows spawn their analysis process, as the app does."""
    monkeypatch.setattr(AnalysisWorker, "context", mp.get_context("spawn"))
    monkeypatch.setattr(analysis_worker, "serve", analysis.serve)
