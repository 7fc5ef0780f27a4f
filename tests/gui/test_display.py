"""display_problem() against a real X server (Xvfb) and real missing ones: the check that keeps
Qt from aborting where no display can be opened."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from vaddesk.gui.display import display_problem


def _free_display() -> int:
    for number in range(140, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and \
                not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (packaging/install.sh --dev)")
def test_a_running_x_server_is_a_display_and_a_stopped_one_is_not() -> None:
    number = _free_display()
    env = {"DISPLAY": f":{number}"}
    no_server = (
        f"no display found: DISPLAY is ':{number}', but no X server answers there (is the "
        "session still running?); the command-line tools work without one: 'vaddesk segment "
        "FILE...' finds the speech, 'vaddesk --help' lists the commands; to run the app "
        "without a screen, set QT_QPA_PLATFORM=offscreen")
    assert display_problem(env, "linux") == no_server
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "320x240x24",
                               "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while display_problem(env, "linux") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert display_problem(env, "linux") is None
        assert display_problem({"DISPLAY": f"unix:{number}.0"}, "linux") is None
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert display_problem(env, "linux") is not None
    assert display_problem(env, "linux") == no_server  # the server gone: no display again


def test_no_display_variables_and_the_platforms_that_need_none(tmp_path: Path) -> None:
    assert display_problem({}, "linux") == (
        "no display found (DISPLAY is not set, as in an ssh session or on a server): the "
        "desktop app needs a graphical session; the command-line tools work without one: "
        "'vaddesk segment FILE...' finds the speech, 'vaddesk --help' lists the commands; to "
        "run the app without a screen, set QT_QPA_PLATFORM=offscreen")
    # A Wayland name whose socket is not there is no display either.
    assert display_problem({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": str(tmp_path)},
                           "linux") is not None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": str(tmp_path)},
                           "linux") == display_problem({}, "linux")
    # ... and one whose compositor listens is (a listening socket stands in for it).
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as compositor:
        compositor.bind(str(tmp_path / "wayland-9"))
        compositor.listen(1)
        assert display_problem({"WAYLAND_DISPLAY": "wayland-9",
                                "XDG_RUNTIME_DIR": str(tmp_path)}, "linux") is None
    for qpa in ("offscreen", "minimal", "vnc:size=800x600"):
        assert display_problem({"QT_QPA_PLATFORM": qpa}, "linux") is None
    for platform in ("win32", "darwin"):
        assert display_problem({}, platform) is None
    assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"  # (the tests' own setting)
    assert display_problem() is None
