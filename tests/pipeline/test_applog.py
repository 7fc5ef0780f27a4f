"""vaddesk.applog: the log file, a windowed build's missing stdout/stderr, the excepthook.

Each case runs in a fresh interpreter: logging and excepthooks are process-wide, and a windowed
build's `sys.stdout is None` can only be reproduced by setting it before anything else runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VADDESK_LOG_DIR=str(tmp_path / "logs"))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_windowed_build_without_stdout_or_stderr(tmp_path: Path) -> None:
    # As in a PyInstaller console=False build: no streams at all. Nothing may crash, and the
    # uncaught exceptions (main thread and a worker thread) reach the log file and `show`.
    done = _run(f"""
        import sys, threading, json
        sys.stdout = None
        sys.stderr = None
        from vaddesk import applog
        path = applog.setup_logging()
        shown = []
        applog.install_excepthook(shown.append)
        print("a print into nowhere")
        import logging; logging.getLogger("x").warning("a warning with no stderr")
        worker = threading.Thread(target=lambda: 1 / 0, name="decoder")
        worker.start(); worker.join()
        try:
            raise ValueError("bad thing")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        with open({str(tmp_path / "result.json")!r}, "w") as out:
            json.dump({{"path": str(path), "shown": shown}}, out)
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    result = json.loads((tmp_path / "result.json").read_text("utf-8"))
    log_file = tmp_path / "logs" / "vaddesk.log"
    assert result["path"] == str(log_file)
    assert result["shown"] == [
        "An unexpected error occurred in thread decoder:\n\n"
        f"ZeroDivisionError: division by zero\n\nDetails are in the log file:\n{log_file}",
        "An unexpected error occurred:\n\n"
        f"ValueError: bad thing\n\nDetails are in the log file:\n{log_file}",
    ]
    text = log_file.read_text("utf-8")
    assert "a warning with no stderr" in text
    assert "unexpected exception in thread decoder" in text
    assert "ZeroDivisionError: division by zero" in text
    # the traceback, not just the message (code run with -c has no source lines to show)
    assert 'File "<string>", line 14, in <module>\nValueError: bad thing' in text


def test_console_gets_warnings_and_the_file_gets_info(tmp_path: Path) -> None:
    done = _run("""
        import logging
        from vaddesk import applog
        applog.setup_logging()
        applog.setup_logging()  # twice: no duplicated handlers
        logging.getLogger("vaddesk.t").info("info line")
        logging.getLogger("vaddesk.t").warning("warning line")
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "WARNING vaddesk.t: warning line\n"
    text = (tmp_path / "logs" / "vaddesk.log").read_text("utf-8")
    assert text.count("info line") == 1 and text.count("warning line") == 1


def test_unwritable_log_folder_still_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log folder should be")
    done = _run("""
        import logging
        from vaddesk import applog
        applog.setup_logging()
        logging.getLogger("vaddesk.t").warning("still logging")
        assert applog.log_file() is None
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot write the log file" in done.stderr
    assert "still logging" in done.stderr


def test_command_logging_keeps_the_terminal_as_without_logging(tmp_path: Path) -> None:
    # The command line: records in the log file; the terminal gets what Python prints with no
    # logging set up (a warning as its bare message, nothing at INFO), also after sys.stderr
    # is replaced (as a test's capture does).
    code = """
        import io, logging, sys
        from vaddesk import applog
        logging.getLogger("x").warning("before: %s", "bare")  # Python's own lastResort
        applog.setup_command_logging()
        logging.getLogger("x").info("only in the file")
        logging.getLogger("x").warning("after: %s", "bare")
        swapped, sys.stderr = sys.stderr, io.StringIO()
        logging.getLogger("x").error("into the new stderr")
        text, sys.stderr = sys.stderr.getvalue(), swapped
        print(repr(text))
    """
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "before: bare\nafter: bare\n"
    assert done.stdout == "'into the new stderr\\n'\n"
    lines = (tmp_path / "logs" / "vaddesk.log").read_text("utf-8").splitlines()
    assert [line.split(" ", 2)[2] for line in lines[1:]] == [  # after date and time
        "INFO    MainThread x: only in the file",
        "WARNING MainThread x: after: bare",
        "ERROR   MainThread x: into the new stderr",
    ]

    # No log file possible (the log folder is a file): the command's terminal says nothing
    # about it, on every run.
    (tmp_path / "blocked").write_text("")
    env = dict(os.environ, VADDESK_LOG_DIR=str(tmp_path / "blocked"))
    blocked = subprocess.run(
        [sys.executable, "-c", "from vaddesk import applog; applog.setup_command_logging(); "
         "print(applog.log_file())"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60)
    assert (blocked.returncode, blocked.stdout, blocked.stderr) == (0, "None\n", "")
