"""Application logging: a rotating log file in the platform's log folder, and an excepthook.

No Qt here. The GUI passes its own `show` callable (a message box naming the log file) to
`install_excepthook`; the CLI and the frozen app use the same log file.

A windowed frozen build (PyInstaller `console=False` on Windows/macOS, or a `.desktop` launch)
may have `sys.stdout`/`sys.stderr` set to None: any `print` or `logging.StreamHandler` would then
raise. `setup_logging` replaces missing streams with a sink that discards writes, and only adds a
stderr handler when a real stderr exists.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TextIO

LOG_FILE_NAME = "vaddesk.log"
_MAX_LOG_BYTES = 2_000_000
_LOG_BACKUPS = 3
_FILE_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_STDERR_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Marker on handlers we install, so calling setup_logging twice does not duplicate them.
_OWNED = "_vaddesk_owned"

log = logging.getLogger(__name__)

_log_file: Path | None = None


class _NullStream(io.TextIOBase):
    """A text stream that accepts and drops everything (stands in for a missing stdout/stderr)."""

    def write(self, text: str) -> int:
        return len(text)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False


def make_std_streams_safe() -> None:
    """Give the process a stdout/stderr that can be written to, even in a windowed build."""
    if sys.stdout is None:
        sys.stdout = _NullStream()
    if sys.stderr is None:
        sys.stderr = _NullStream()


def _has_real_stderr() -> bool:
    return sys.stderr is not None and not isinstance(sys.stderr, _NullStream)


def log_dir() -> Path:
    """The folder for vaddesk's log file: $VADDESK_LOG_DIR, else the platform's user log folder."""
    override = os.environ.get("VADDESK_LOG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("vaddesk", appauthor=False))


def log_file() -> Path | None:
    """The log file `setup_logging` opened (None before it ran, or if it could not open one)."""
    return _log_file


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Bare messages to whatever `sys.stderr` is when a record comes: what Python itself prints
    for a warning when no logging is set up (`logging.lastResort`)."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


def setup_command_logging() -> Path:
    """The command line's logging (the main process and its worker processes): records go to
    the same log file as the app's, and the terminal shows exactly what it shows with no
    logging set up -- warnings and errors as bare messages, nothing at INFO -- so a command's
    own output is unchanged. What decoder libraries write to descriptor 2 is logged at INFO
    (`vaddesk.audio.c_stderr`), so it reaches the file and only the file."""
    path = setup_logging(stderr=False, log_file_problem_level=logging.INFO)
    handler = _CurrentStderrHandler()
    setattr(handler, _OWNED, True)
    logging.getLogger().addHandler(handler)
    return path


def setup_logging(verbose: bool = False, stderr: bool = True,
                  log_file_problem_level: int = logging.WARNING) -> Path:
    """Log to a rotating file (DEBUG if verbose else INFO) and, when a stderr exists (and
    `stderr`: a worker process has no terminal of its own to speak to), to stderr.

    Returns the log file's path. If the log folder cannot be created, logging still goes to
    stderr and the returned path is where the file would have been (the failure is logged).
    Safe to call more than once: earlier vaddesk handlers are replaced.
    `log_file_problem_level`: how loud a missing log file is (the command line keeps it off
    the terminal: a read-only home must not add a line to every command's output).
    """
    global _log_file
    make_std_streams_safe()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED, False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)

    path = log_dir() / LOG_FILE_NAME
    file_error: OSError | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=_MAX_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:  # read-only home, full disk: keep running without a file
        file_error = exc
        _log_file = None
    else:
        file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        setattr(file_handler, _OWNED, True)
        root.addHandler(file_handler)
        _log_file = path

    if stderr and _has_real_stderr():
        stream_handler = logging.StreamHandler(sys.stderr)
        # The terminal shows only warnings unless asked: the CLI's own output stays readable.
        stream_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
        stream_handler.setFormatter(logging.Formatter(_STDERR_FORMAT))
        setattr(stream_handler, _OWNED, True)
        root.addHandler(stream_handler)

    if file_error is not None:
        log.log(log_file_problem_level, "cannot write the log file %s: %s", path, file_error)
    from vaddesk import __version__

    log.info(
        "vaddesk %s starting (python %s, frozen=%s, pid %d)",
        __version__, sys.version.split()[0], getattr(sys, "frozen", False), os.getpid(),
    )
    return path


def _message_for(exc_type: type[BaseException], exc: BaseException, where: str) -> str:
    path = _log_file
    where_text = f" in {where}" if where else ""
    text = f"An unexpected error occurred{where_text}:\n\n{exc_type.__name__}: {exc}\n\n"
    if path is not None:
        text += f"Details are in the log file:\n{path}"
    else:
        text += "No log file could be written; details were printed to the console."
    return text


def install_excepthook(show: Callable[[str], None] | None = None) -> None:
    """Log every unexpected exception (main thread and other threads) and call `show(message)`.

    `show` gets a short message naming the error and the log file; it is called from the thread
    that raised, so a GUI must marshal it to its own thread. KeyboardInterrupt keeps Python's
    default behaviour. An exception raised by `show` itself is logged, never re-raised.
    """

    def report(
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
        where: str,
    ) -> None:
        if exc is None:
            exc = exc_type()
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.critical("unexpected exception%s\n%s", f" in {where}" if where else "", details)
        if not any(getattr(h, _OWNED, False) for h in logging.getLogger().handlers):
            # Logging was never set up: do not lose the traceback.
            print(details, file=sys.stderr or _NullStream())
        if show is not None:
            try:
                show(_message_for(exc_type, exc, where))
            except Exception:
                log.exception("could not show the error message")

    def main_hook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report(exc_type, exc, tb, "")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        report(args.exc_type, args.exc_value, args.exc_traceback, f"thread {name}")

    sys.excepthook = main_hook
    threading.excepthook = thread_hook
