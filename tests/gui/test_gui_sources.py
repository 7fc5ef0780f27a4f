"""File ▸ Watch a folder… and File ▸ Open URL… in the real main window (offscreen), with a
real folder and a real http.server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tests.support.gui_fixtures import engine_segments, make_recording, tools_missing
from vaddesk.core.presets import get_preset
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.settings import Key, Settings

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"needs {tools_missing()}")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("gui-src"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def make_window(qtbot, settings: Settings) -> MainWindow:
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    win.watch_settle_s = 0.5
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def window(qtbot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VADDESK_CACHE_DIR", str(tmp_path / "cache"))
    win = make_window(qtbot, settings)
    yield win
    win.close()


def queued(window: MainWindow) -> list[Path]:
    return [item.path for item in window.queue.items()]


@pytest.mark.slow
def test_watch_a_folder_queues_new_recordings_and_is_remembered(
        qtbot, window: MainWindow, settings: Settings, recording: Path, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy(recording, folder / "old.wav")
    window.watch_folder(folder)
    assert window.watched_folder() == folder and window.stop_watch_action.isEnabled()
    assert settings.get_str(Key.WATCH_FOLDER) == str(folder)
    shutil.copy(recording, folder / "new.wav")
    qtbot.waitUntil(lambda: queued(window) == [folder / "new.wav"], timeout=15_000)
    qtbot.wait(1500)  # more polls: neither file is queued again, the old one never
    assert queued(window) == [folder / "new.wav"]
    # The next start watches the same folder again.
    again = make_window(qtbot, settings)
    assert again.watched_folder() == folder
    again.stop_watching()
    assert settings.get_str(Key.WATCH_FOLDER) == ""
    assert not again.stop_watch_action.isEnabled()
    again.close()
    # A folder that disappears stops the watch with a message saying what to click.
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: window.watched_folder() is None, timeout=5000)
    message = window.notifier.messages[-1]
    assert message.title == "Watched folder gone"
    assert f"the watched folder {folder} is gone" in message.text
    assert "File ▸ Watch a folder…" in message.text


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(recording: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(recording.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_open_url_downloads_then_shows_the_segments(qtbot, window: MainWindow, site: str,
                                                    recording: Path, tmp_path: Path) -> None:
    window.notifier.text_replies.append(f"{site}/{recording.name}")
    with qtbot.waitSignal(window.file_shown, timeout=90_000) as shown:
        window.choose_url()
    analysis = shown.args[0]
    assert analysis.path.parent == tmp_path / "cache" / "downloads"
    assert analysis.path.read_bytes() == recording.read_bytes()
    assert window.segments() == engine_segments(recording, get_preset("meeting").params)


def test_open_url_failures_say_what_to_do(qtbot, window: MainWindow, site: str) -> None:
    window.open_url(f"{site}/missing.wav")
    qtbot.waitUntil(lambda: bool(window.notifier.messages), timeout=10_000)
    message = window.notifier.messages[-1]
    assert message.title == "Cannot open the URL"
    assert message.text.startswith(f"{site}/missing.wav: the server answered HTTP 404")
    assert "File ▸ Open URL…" in message.text
    window.open_url("ftp://example/a.wav")
    assert window.notifier.messages[-1].title == "Not a web address"
    assert queued(window) == []
