"""The GUI tests' analysis processes, forked from a forkserver instead of spawned.

A spawned process is a fresh interpreter that imports numpy, onnxruntime and the engine again
(about half a second of CPU), and the GUI tests open dozens of windows, each with its own
analysis process. A forkserver that has imported ``vaddesk.pipeline.analysis`` once forks them
in milliseconds. It is a process of its own, started clean (no Qt or onnxruntime threads to
fork), and the code the child runs is the app's: ``vaddesk.pipeline.analysis.serve``.

One difference to spawn is made up for here: a forked child has the forkserver's environment,
not the caller's when it started the process; the tests change VADDESK_LOG_DIR and friends per
test, so the caller's environment travels with the process object (``ServeInCallersEnvironment``
is pickled when the process starts).
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
from typing import Any

from vaddesk.pipeline.analysis import serve

PRELOAD = ["vaddesk.pipeline.analysis"]


def use_forkserver() -> None:
    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)


def _serve_in(environ: dict[str, str], *args: Any) -> None:
    os.environ.clear()
    os.environ.update(environ)
    serve(*args)


class ServeInCallersEnvironment:
    """A Process target standing in for ``serve``: unpickled in the child, it is ``serve``
    run in the environment the caller had when the process started."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return functools.partial, (_serve_in, dict(os.environ))

    def __call__(self, *args: Any) -> None:  # only the unpickled partial is ever called
        _serve_in(dict(os.environ), *args)
