"""The command line logs to the app's log file: what decoder libraries write from C to
descriptor 2 (libmpg123 on a cut MP3) is found there, naming the file, and never on the
terminal -- in the main process (`--jobs 1`) and in spawned workers (`--jobs 2`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import audio_fixtures as af
from tests.support import damaged_fixtures as dmg

pytestmark = [pytest.mark.slow,  # a real `vaddesk segment` per case: seconds each
              pytest.mark.skipif(bool(af.tools_missing()),
                                 reason=f"needs {', '.join(af.tools_missing())}")]

REPO = Path(__file__).resolve().parents[2]
STARTING = re.compile(r"^\S+ \S+ INFO +MainThread vaddesk\.applog: vaddesk \S+ starting "
                      r"\(python \S+, frozen=False, pid (\d+)\)$", re.MULTILINE)


def _segment(inputs: list[Path], out: Path, jobs: int, log_dir: Path
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VADDESK_LOG_DIR": str(log_dir)}
    return subprocess.run([sys.executable, "-m", "vaddesk", "segment", *map(str, inputs),
                           "--out", str(out), "--jobs", str(jobs)],
                          cwd=REPO, env=env, text=True, capture_output=True, timeout=300,
                          check=False)


def _decoder_lines(log_text: str, path: Path) -> list[str]:
    return re.findall(r"INFO +MainThread vaddesk\.audio\.c_stderr: decoder output "
                      rf"\(libsndfile (?:open|read) {re.escape(str(path))}\): (.*)$",
                      log_text, re.MULTILINE)


@pytest.mark.parametrize("jobs", [1, 2])
def test_decoder_chatter_goes_to_the_log_file_not_the_terminal(tmp_path: Path,
                                                               jobs: int) -> None:
    first = dmg.make_damaged_stream(tmp_path / "a", "mp3").path
    second = tmp_path / "b" / "second.mp3"  # the same cut MP3 again: two files, two workers
    second.parent.mkdir()
    shutil.copyfile(first, second)
    log_dir = tmp_path / "logs"
    result = _segment([first, second], tmp_path / "out", jobs, log_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # no chatter, and no log record either
    assert result.stdout.splitlines()[1] == (
        "2 with a warning (analysed what the file holds; --strict makes these failures):")
    log_text = (log_dir / "vaddesk.log").read_text("utf-8")
    xing = ("Warning: Xing stream size off by more than 1%, fuzzy seeking may be even more "
            "fuzzy than by design!")
    assert _decoder_lines(log_text, first) == [xing], log_text
    assert _decoder_lines(log_text, second) == [xing], log_text
    assert log_text.count("decoder output") == 2  # each line once, and named by its file
    pids = {int(pid) for pid in STARTING.findall(log_text)}
    # --jobs 1: the command alone; --jobs 2: the command and its worker processes, each
    # decoding one file (a spawned worker sets up its own logging).
    assert len(pids) == (1 if jobs == 1 else 3), log_text
