"""Keep decoder libraries' own stderr output (libmpg123 inside libsndfile, FFmpeg) off the
user's terminal and put it in the log instead.

These libraries write from C straight to file descriptor 2 ("Warning: Xing stream size off by
more than 1%", "Cannot read next header, a one-frame stream? Duh..."), bypassing Python:
`sys.stderr` cannot catch it, only pointing descriptor 2 elsewhere can. `to_log()` does that
around one decoder call at a time (an open, one block read), never around code that reports to
the user, so a progress bar or a message printed between blocks still reaches the terminal.
Whatever the decoder said is logged at INFO: anything that matters to the user (a truncated
file) is detected by vaddesk itself and becomes a warning on the result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

_lock = threading.RLock()  # descriptor 2 is one per process: one redirection at a time
_state = threading.local()
_sink: tuple[int, int] | None = None  # (pid, descriptor of a temporary file), reused


def _sink_fd() -> int:
    """This process's temporary file (a forked child gets its own: sharing the parent's would
    mix their output)."""
    global _sink
    if _sink is None or _sink[0] != os.getpid():
        handle, name = tempfile.mkstemp(prefix="vaddesk-stderr-")
        os.unlink(name)  # only the descriptor is needed; nothing is left behind
        _sink = (os.getpid(), handle)
    return _sink[1]


@contextlib.contextmanager
def to_log(what: str) -> Iterator[None]:
    """Descriptor 2 goes to a temporary file while the block runs; its content is logged
    (`what` names the decoder call). Nested uses and a process without descriptor 2 (a
    windowed build) are fine."""
    if getattr(_state, "depth", 0):
        yield
        return
    with _lock:
        try:
            sink = _sink_fd()
            if sys.stderr is not None:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
            saved = os.dup(2)
        except OSError:  # no descriptor 2 at all: nothing can reach a terminal anyway
            yield
            return
        _state.depth = 1
        try:
            os.dup2(sink, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            _state.depth = 0
            _flush_to_log(sink, what)


def _flush_to_log(sink: int, what: str) -> None:
    end = os.lseek(sink, 0, os.SEEK_END)
    if end == 0:
        return
    os.lseek(sink, 0, os.SEEK_SET)
    data = os.read(sink, end)
    os.ftruncate(sink, 0)
    os.lseek(sink, 0, os.SEEK_SET)
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            log.info("decoder output (%s): %s", what, line.strip())
