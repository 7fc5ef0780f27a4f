"""The PyInstaller bundle, run as a user runs it: the FROZEN executables in dist/vaddesk/.

The session fixture builds the bundle (bash packaging/build.sh, ~25 s here) when dist/vaddesk is
missing or older than any file that goes into it, so CI always tests what it just built. Every
test runs the frozen executables as subprocesses with a private log folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures, virtual_mic
from tests.support.virtual_mic import VirtualMic

pytestmark = pytest.mark.frozen

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist" / "vaddesk"
CLI_EXE = DIST / "vaddesk"
GUI_EXE = DIST / "vaddesk-gui"
# Everything the bundle is made from: a change to any of these makes dist/ stale.
BUILD_INPUTS = ("vaddesk", "models", "resources", "packaging")


def _newest_input_mtime() -> float:
    newest = 0.0
    for top in BUILD_INPUTS:
        for path in (REPO / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="session")
def bundle() -> Path:
    """dist/vaddesk, built now unless an up-to-date one is there."""
    if not CLI_EXE.exists() or CLI_EXE.stat().st_mtime < _newest_input_mtime():
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "packaging/build.sh"], cwd=REPO, capture_output=True, text=True,
            env=dict(os.environ, PYTHON=sys.executable), timeout=1800,
        )
        assert done.returncode == 0, f"bundle build failed:\n{done.stdout}\n{done.stderr}"
        print(f"\nbuilt the bundle in {time.monotonic() - started:.0f} s: {done.stdout.strip()}")
    assert GUI_EXE.exists()
    return DIST


@pytest.fixture
def frozen_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a frozen run: offscreen Qt, logs and settings in tmp_path.

    PYTHONPATH and the like are removed so nothing from the source tree can leak into the run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VADDESK_"))}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        VADDESK_LOG_DIR=str(tmp_path / "log"),
        VADDESK_CONFIG_DIR=str(tmp_path / "config"),
    )
    return env


def run_frozen(
    exe: Path, *args: str | Path, env: dict[str, str], timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=cwd or Path("/"),  # not the repo: the bundle must not find anything there
    )


def test_version_comes_from_the_package_metadata(
    bundle: Path, frozen_env: dict[str, str]
) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    for exe in (CLI_EXE, GUI_EXE):
        done = run_frozen(exe, "--version", env=frozen_env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"vaddesk {version}\n"


def test_self_test_passes_in_the_bundle(bundle: Path, frozen_env: dict[str, str]) -> None:
    done = run_frozen(CLI_EXE, "--self-test", env=frozen_env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # The bundle's own copies are used, not the source tree's.
    internal = str(bundle / "_internal")
    assert lines[1] == (f"ok    files: models in {internal}/models, resources in "
                        f"{internal}/resources"), done.stdout
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    assert f"ok    frontend: compiled exact fbank (_fbank{ext})" in lines, done.stdout
    assert lines[-1] == "self-test passed: 7 checks", done.stdout
    log_text = (Path(frozen_env["VADDESK_LOG_DIR"]) / "vaddesk.log").read_text("utf-8")
    assert "frozen=True" in log_text


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of generated meeting-like recordings: a 48 kHz float WAV (espeak-ng sentences
    with pauses over faint noise, tests/support/audio_fixtures.py) and the same audio as AAC
    in .m4a."""
    missing = audio_fixtures.tools_missing()
    assert not missing, f"CI installs these: {missing}"
    folder = tmp_path_factory.mktemp("recordings")
    master = audio_fixtures.make_master(folder / "src")
    audio_fixtures.encode(master, folder / "meeting.wav", ["-c:a", "pcm_s16le"])
    audio_fixtures.encode(master, folder / "meeting call.m4a", ["-c:a", "aac", "-b:a", "96k"])
    return folder


def _segments_from_source(path: Path, params: object) -> list[list[int]]:
    """The oracle: the same file through the source tree's decoder and engine."""
    from vaddesk.audio.decode import open_audio
    from vaddesk.core.engine import segment_blocks

    with open_audio(path) as reader:
        result = segment_blocks(reader.blocks_16k(), params)  # type: ignore[arg-type]
    return [[s.start_ms, s.end_ms] for s in result.segments]


def test_window_opens_a_recording_and_exits_cleanly(
    bundle: Path, frozen_env: dict[str, str], recordings: Path
) -> None:
    from vaddesk.core.params import VadParams

    recording = recordings / "meeting call.m4a"  # AAC: PyAV's FFmpeg inside the bundle
    env = dict(frozen_env, VADDESK_SMOKE_TEST="90")
    done = run_frozen(GUI_EXE, recording, env=env, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ")[1] for line in lines] == ["window", "file", "closed"], done.stdout
    assert lines[0].startswith("smoke: window painted at ")
    report = json.loads(lines[1].removeprefix("smoke: file shown "))
    assert report["file"] == str(recording)
    assert report["visible"] is True
    assert report["title"].startswith("meeting call.m4a")
    # What the frozen window shows equals the source tree's decoder + engine on the same file,
    # with the parameters the window used.
    params = VadParams(**report["params"])
    assert report["segments_ms"] == _segments_from_source(recording, params)
    assert len(report["segments_ms"]) >= 3
    # The log holds no error and no traceback.
    log_text = (Path(frozen_env["VADDESK_LOG_DIR"]) / "vaddesk.log").read_text("utf-8")
    assert "Traceback" not in log_text and " ERROR " not in log_text, log_text
    assert " CRITICAL " not in log_text, log_text


def test_unexpected_error_is_logged_and_shown_in_a_dialog(
    bundle: Path, frozen_env: dict[str, str]
) -> None:
    # VADDESK_SMOKE_CRASH makes a worker thread raise once the file is on screen.
    sample = bundle / "_internal" / "resources" / "sample" / "sample.wav"
    env = dict(frozen_env, VADDESK_SMOKE_TEST="60", VADDESK_SMOKE_CRASH="1")
    done = run_frozen(GUI_EXE, sample, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ")[1] for line in lines] == ["window", "file", "error", "closed"]
    log_file = Path(frozen_env["VADDESK_LOG_DIR"]) / "vaddesk.log"
    dialog = json.loads(lines[2].removeprefix("smoke: error dialog "))
    assert dialog == {
        "title": "vaddesk hit an unexpected error",
        "text": "An unexpected error occurred in thread smoke-crash:\n\n"
                "RuntimeError: deliberate smoke-test crash\n\n"
                f"Details are in the log file:\n{log_file}",
    }
    log_text = log_file.read_text("utf-8")
    assert "CRITICAL smoke-crash vaddesk.applog: unexpected exception in thread smoke-crash\n" \
           "Traceback (most recent call last):" in log_text
    assert "RuntimeError: deliberate smoke-test crash" in log_text


def test_segment_a_folder_from_the_bundle(
    bundle: Path, frozen_env: dict[str, str], recordings: Path, tmp_path: Path
) -> None:
    from vaddesk.core.params import VadParams

    out = tmp_path / "out"
    # --jobs 2: worker processes are spawned from the frozen executable (freeze_support).
    done = run_frozen(CLI_EXE, "segment", recordings, "--out", out, "--jobs", "2",
                      env=frozen_env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["meeting call.json", "meeting.json"]
    found: dict[str, list[list[int]]] = {}
    for stem in ("meeting", "meeting call"):
        data = json.loads((out / f"{stem}.json").read_text("utf-8"))
        segments = [[s["start_ms"], s["end_ms"]] for s in data["segments"]]
        source = Path(data["source"]["path"])
        assert source.parent == recordings
        # Exactly what the source tree computes for that file with the parameters it reports.
        assert segments == _segments_from_source(source, VadParams(**data["parameters"])), stem
        found[stem] = segments
    # The AAC copy (decoded by the bundle's FFmpeg) holds the same speech as the WAV.
    assert len(found["meeting call"]) == len(found["meeting"]) >= 3
    for (a_start, a_end), (b_start, b_end) in zip(found["meeting"], found["meeting call"],
                                                  strict=True):
        assert abs(a_start - b_start) <= 30 and abs(a_end - b_end) <= 30


def test_bundle_is_slim(bundle: Path) -> None:
    # What the spec excludes must stay out (a new import can drag them back in).
    internal = bundle / "_internal"
    for absent in ("scipy", "tkinter", "onnx", "pytest", "funasr_onnx", "librosa", "numba",
                   "PyInstaller"):
        assert not (internal / absent).exists(), absent
    qt = internal / "PySide6"
    assert not list(qt.rglob("*.qm")), "Qt translations were bundled"
    for module in ("QtNetwork", "QtQml", "QtQuick", "QtDBus", "QtTest"):
        assert not list(qt.glob(f"{module}.*")), module
    platforms = sorted(p.name for p in (qt / "Qt" / "plugins" / "platforms").iterdir())
    assert platforms == ["libqminimal.so", "libqoffscreen.so", "libqxcb.so"]
    assert (qt / "QtOpenGL.abi3.so").exists()  # pyqtgraph needs it


def test_every_bundled_library_resolves(bundle: Path) -> None:
    # The spec drops libraries by name; none that is left may miss one of its dependencies
    # (the bundle's folder first, as the frozen app searches it, then the system's).
    internal = bundle / "_internal"
    unresolved: list[str] = []
    libraries = [p for p in internal.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    assert len(libraries) > 100
    for library in libraries:
        done = subprocess.run(["ldd", str(library)], capture_output=True, text=True,
                              env=dict(os.environ, LD_LIBRARY_PATH=str(internal)), timeout=60)
        unresolved += [f"{library.relative_to(internal)}: {line.strip()}"
                       for line in done.stdout.splitlines() if "not found" in line]
    assert unresolved == []


def test_install_local_and_uninstall(bundle: Path, frozen_env: dict[str, str],
                                     tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    env = dict(frozen_env, PREFIX=str(prefix))
    done = subprocess.run(["bash", str(bundle / "install-local.sh")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    desktop = (prefix / "share/applications/vaddesk.desktop").read_text("utf-8")
    assert f"Exec={prefix}/opt/vaddesk/vaddesk-gui %F" in desktop.splitlines()
    assert "Icon=vaddesk" in desktop.splitlines()
    for size in (16, 32, 48, 256, 512):
        assert (prefix / f"share/icons/hicolor/{size}x{size}/apps/vaddesk.png").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/vaddesk.svg").is_file()
    # The link in bin/ runs the installed copy.
    version = run_frozen(prefix / "bin" / "vaddesk", "--version", env=frozen_env)
    assert version.returncode == 0 and version.stdout.startswith("vaddesk "), version.stderr

    done = subprocess.run(["bash", str(bundle / "install-local.sh"), "--uninstall"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    left = [p for p in prefix.rglob("*") if p.is_file() or p.is_symlink()]
    # gtk-update-icon-cache may leave the (shared) hicolor cache; nothing of ours remains.
    assert [p.name for p in left if p.name != "icon-theme.cache"] == []


# --- the virtual microphone (tests/support/virtual_mic.py) ---------------------------------


@pytest.fixture
def vmic(frozen_env: dict[str, str]) -> Iterator[tuple[VirtualMic, dict[str, str]]]:
    """A started virtual mic and the frozen-run environment under which PortAudio hears it."""
    for mic in virtual_mic.running():
        yield mic, dict(frozen_env, **{k: mic.env[k]
                                       for k in ("XDG_RUNTIME_DIR", "HOME", "PULSE_SERVER")})


def _input_device_names(listing: str) -> list[str]:
    return [line.strip() for line in listing.splitlines() if line.strip()]


@pytest.mark.integration
def test_bundle_lists_the_virtual_microphone(
    bundle: Path, vmic: tuple[VirtualMic, dict[str, str]]
) -> None:
    _mic, pulse_env = vmic
    # Oracle: sounddevice from source, in the same PulseAudio session.
    query = (
        "import sounddevice as sd\n"
        "for d in sd.query_devices():\n"
        "    if d['max_input_channels'] > 0: print(d['name'])\n"
    )
    from_source = subprocess.run([sys.executable, "-c", query], env=pulse_env, cwd=REPO,
                                 capture_output=True, text=True, timeout=60)
    assert from_source.returncode == 0, from_source.stderr
    source_inputs = _input_device_names(from_source.stdout)
    assert "pulse" in source_inputs, source_inputs  # ALSA's PulseAudio device: the virtual mic

    done = run_frozen(CLI_EXE, "devices", env=pulse_env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in source_inputs:
        assert re.search(rf"(^|\W){re.escape(name)}(\W|$)", done.stdout, re.MULTILINE), (
            name, done.stdout)


def _best_correlation(recorded: np.ndarray, played: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of `played` inside `recorded`, and its lag (samples)."""
    size = 1 << int(np.ceil(np.log2(len(recorded) + len(played))))
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size))
    xcorr = np.fft.irfft(spectrum, size)[: len(recorded) - len(played) + 1]
    lag = int(np.argmax(xcorr))
    window = recorded[lag : lag + len(played)]
    norm = float(np.linalg.norm(window) * np.linalg.norm(played))
    return float(xcorr[lag]) / norm if norm > 0 else 0.0, lag


@pytest.mark.integration
def test_bundle_records_from_the_virtual_microphone(
    bundle: Path, vmic: tuple[VirtualMic, dict[str, str]], tmp_path: Path
) -> None:
    # PortAudio, ALSA's pulse plugin and the streaming engine, all from inside the bundle.
    mic, env = vmic
    sample = bundle / "_internal" / "resources" / "sample" / "sample.wav"
    out_dir = tmp_path / "recordings"
    recorder = subprocess.Popen(
        [str(CLI_EXE), "record", "--device", "pulse", "--duration", "9", "--out", str(out_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
    )
    try:
        assert recorder.stdout is not None
        first_line = recorder.stdout.readline()  # printed once the stream is running
        assert first_line.startswith("recording from 'pulse'"), (
            first_line, recorder.stderr.read() if recorder.stderr else "")
        player = mic.play(sample)
        assert player.wait(timeout=30) == 0
        rest, errors = recorder.communicate(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    assert recorder.returncode == 0, first_line + rest + errors
    recordings = sorted(out_dir.glob("*.wav"))
    assert len(recordings) == 1, rest
    recorded, rate = sf.read(recordings[0], dtype="float32")
    played, _ = sf.read(sample, dtype="float32")
    assert rate == 16_000
    assert abs(len(recorded) - 9 * rate) <= rate // 10  # --duration 9, within 0.1 s
    correlation, lag = _best_correlation(recorded, played)
    assert correlation >= 0.95, (correlation, lag)
    # Both phrases of the sample were heard as speech.
    closed = [line for line in rest.splitlines() if line.startswith("segment ")]
    assert len(closed) == 2, rest
