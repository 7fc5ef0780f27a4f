"""Is there a display the app can open? Asked before Qt is loaded (no Qt here).

Without one, Qt's xcb plugin prints "could not connect to display" and aborts the process
(SIGABRT, exit -6) from inside QApplication: nothing Python can catch. On Linux and the other
X11/Wayland systems this module checks the environment and the display server's socket first,
so the user gets a sentence and exit status 2 instead. Windows and macOS always have one.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

# Platforms that draw without any display server (tests, screenshots, the frozen smoke test).
_HEADLESS_PLATFORMS: Final = frozenset({"offscreen", "minimal", "vnc", "eglfs", "linuxfb"})
_CONNECT_TIMEOUT_S: Final = 2.0

NO_DISPLAY_HINT: Final = (
    "the command-line tools work without one: 'vaddesk segment FILE...' finds the speech, "
    "'vaddesk --help' lists the commands; to run the app without a screen, set "
    "QT_QPA_PLATFORM=offscreen")


def _x11_answers(display: str) -> bool:
    """True when an X server accepts a connection for DISPLAY (":0", "unix:1", "host:10.0")."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    sockets: list[tuple[int, object]] = []
    if host in ("", "unix") or host.startswith("/"):
        path = f"/tmp/.X11-unix/X{number}"
        if host.startswith("/"):  # macOS launchd style: the socket path itself
            path = display
        sockets.append((socket.AF_UNIX, path))
        if sys.platform.startswith("linux"):
            sockets.append((socket.AF_UNIX, "\0" + path))  # the abstract socket Xorg also has
    else:
        sockets.append((socket.AF_INET, (host, 6000 + int(number))))
    for family, address in sockets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(_CONNECT_TIMEOUT_S)
                sock.connect(address)  # type: ignore[arg-type]
                return True
        except OSError:
            continue
    return False


def _wayland_answers(env: Mapping[str, str]) -> bool:
    name = env.get("WAYLAND_DISPLAY", "")
    if not name:
        return False
    path = Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(_CONNECT_TIMEOUT_S)
            sock.connect(str(path))
            return True
    except OSError:
        return False


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None
                    ) -> str | None:
    """Why the app cannot open a window here, as a sentence; None when it can (or the
    platform always can)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "cygwin", "darwin"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if qpa in _HEADLESS_PLATFORMS:
        return None
    if _wayland_answers(env):
        return None
    display = env.get("DISPLAY", "")
    if display and _x11_answers(display):
        return None
    if display:
        return (f"no display found: DISPLAY is '{display}', but no X server answers there "
                f"(is the session still running?); {NO_DISPLAY_HINT}")
    return ("no display found (DISPLAY is not set, as in an ssh session or on a server): "
            f"the desktop app needs a graphical session; {NO_DISPLAY_HINT}")
