"""`vaddesk record` flag errors for computer audio, and the message when there is no sound
server to take it from (a PULSE_SERVER that does not exist: the plain-ALSA case)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaddesk.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["--device", "none"], "vaddesk record: --device none records no microphone, so there is "
                           "nothing to record: add --system-audio to record the computer "
                           "audio only\n"),
    (["--device", "None", "--system-device", "Speakers"],
     "vaddesk record: --device none records no microphone, so there is nothing to record: "
     "add --system-audio to record the computer audio only\n"),
    (["--system-device", "Speakers"], "vaddesk record: --system-device picks the output for "
                                      "--system-audio: add --system-audio\n"),
])
def test_flag_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                     message: str) -> None:
    assert main(["record", "--out", str(tmp_path), *argv]) == 2
    assert capsys.readouterr().err == message
    assert list(tmp_path.iterdir()) == []


def test_no_sound_server_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path), "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    done = subprocess.run([sys.executable, "-m", "vaddesk", "record", "--device", "none",
                           "--system-audio", "--out", str(tmp_path / "out")], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("vaddesk record: no computer audio: cannot reach a sound "
                                  "server (")
    assert "PulseAudio or PipeWire (with pipewire-pulse) on Linux" in done.stderr
    assert "BlackHole" in done.stderr
    assert not (tmp_path / "out").exists()
