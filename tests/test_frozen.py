"""The PyInstaller bundle, run as a user runs it: the FROZEN executables in dist/vaddesk/.

The session fixture builds the bundle (bash packaging/build.sh, ~25 s here) when dist/vaddesk is
missing or older than any file that goes into it, so CI always tests what it just built. Every
test runs the frozen executables as subprocesses with a private log folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.frozen

REPO = Path(__file__).resolve().parent.parent
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
    assert lines[-1] == "self-test passed: 6 checks", done.stdout
    log_text = (Path(frozen_env["VADDESK_LOG_DIR"]) / "vaddesk.log").read_text("utf-8")
    assert "frozen=True" in log_text


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


# --- the virtual microphone (PulseAudio null sink + remap source) ----------------------------


def _start(cmd: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def pulse_env(frozen_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private PulseAudio daemon with the virtual mic `vmic` (recipe in the shared reference:
    environment-recipes.md). Yields the environment under which PortAudio sees it."""
    runtime = tmp_path / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    env = dict(frozen_env, XDG_RUNTIME_DIR=str(runtime), HOME=str(runtime),
               PULSE_SERVER=f"unix:{runtime}/pulse/native")
    daemon = _start([
        "pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n",
        "--use-pid-file=no", f"--log-target=file:{runtime}/pulse.log",
        "--load=module-native-protocol-unix auth-anonymous=1",
        "--load=module-null-sink sink_name=vspk rate=48000 channels=2",
        "--load=module-remap-source master=vspk.monitor source_name=vmic channels=1 "
        "channel_map=mono",
        "--load=module-always-sink",
    ], env)
    keepalive: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            assert daemon.poll() is None, (runtime / "pulse.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "PulseAudio did not start"
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vspk"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
        yield env
    finally:
        for process in (keepalive, daemon):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _input_device_names(listing: str) -> list[str]:
    return [line.strip() for line in listing.splitlines() if line.strip()]


def test_bundle_lists_the_virtual_microphone(bundle: Path, pulse_env: dict[str, str]) -> None:
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
