"""A real microphone for tests: a private PulseAudio daemon with a null sink and a mono remap
source (the recipe in environment-recipes.md). What ``paplay`` plays into the sink, PortAudio
captures from the ``pulse`` ALSA device.

Everything runs under a private XDG_RUNTIME_DIR/HOME and is torn down by PID. It works as root
(CI runs as root): ``--system=false`` and a private HOME make the daemon run as a per-user
instance; it only warns that it is not meant to run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

WARM_UP_S = 2.5
"""Without it the first ~0.5 s of audio is lost (the idle null sink renders in 2 s blocks)."""


def available() -> str | None:
    """None if a virtual mic can run here, else why not."""
    for tool in ("pulseaudio", "pactl", "pacat", "paplay"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
    return None


def running(system_audio: bool = False) -> Iterator[VirtualMic]:
    """The body of a test fixture: a started VirtualMic, stopped afterwards. CI installs
    PulseAudio, so a missing one fails the test (a setup error), it is not skipped."""
    why_not = available()
    if why_not is not None:
        pytest.fail(why_not)
    mic = VirtualMic(system_audio=system_audio).start()
    try:
        yield mic
    finally:
        mic.stop()


class VirtualMic:
    """Start with ``start()``, stop with ``stop()``; ``env`` is for subprocesses."""

    def __init__(self, system_audio: bool = False) -> None:
        """``system_audio``: a second null sink ``meet`` ("MeetingOut") is the default output,
        standing in for the computer's speakers; ``play_output()`` plays into it."""
        self.system_audio = system_audio
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="vmic."))
        self.env = dict(os.environ)
        self.env.update(XDG_RUNTIME_DIR=str(self.runtime_dir), HOME=str(self.runtime_dir),
                        PULSE_SERVER=f"unix:{self.runtime_dir}/pulse/native")
        self._daemon: subprocess.Popen[bytes] | None = None
        self._keep_alive: list[subprocess.Popen[bytes]] = []
        self.log_path = self.runtime_dir / "pulse.log"

    def start(self) -> VirtualMic:
        self._daemon = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n",
             "--use-pid-file=no", f"--log-target=file:{self.log_path}",
             "--load=module-native-protocol-unix auth-anonymous=1",
             "--load=module-null-sink sink_name=vspk rate=48000 channels=2",
             "--load=module-remap-source master=vspk.monitor source_name=vmic channels=1 "
             "channel_map=mono",
             *(["--load=module-null-sink sink_name=meet rate=48000 channels=2 "
                "sink_properties=device.description=MeetingOut"] if self.system_audio else []),
             "--load=module-always-sink"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            ok = subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode
            if ok == 0:
                break
            if self._daemon.poll() is not None or time.monotonic() > deadline:
                log = self.log_path.read_text() if self.log_path.exists() else "(no log)"
                self.stop()
                raise RuntimeError(f"pulseaudio did not start:\n{log}")
            time.sleep(0.05)  # waiting for an external daemon's socket; nothing to wait on
        sinks = ["vspk", "meet"] if self.system_audio else ["vspk"]
        for cmd in (["pactl", "set-default-sink", sinks[-1]],
                    ["pactl", "set-default-source", "vmic"]):
            subprocess.run(cmd, env=self.env, check=True, capture_output=True)
        # Keep-alive: a low-latency stream keeps each null sink rendering in small blocks.
        for sink in sinks:
            with open("/dev/zero", "rb") as zeros:  # the child keeps its own copy of the fd
                self._keep_alive.append(subprocess.Popen(
                    ["pacat", "--playback", "-d", sink, "--latency-msec=20", "--rate=16000",
                     "--channels=1", "--format=s16le"],
                    env=self.env, stdin=zeros, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
        time.sleep(WARM_UP_S)
        return self

    def play_output(self, wav: Path) -> subprocess.Popen[bytes]:
        """Play into the computer's output (the ``meet`` sink): the far side of a call."""
        return subprocess.Popen(["paplay", "-d", "meet", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def unload_output(self) -> None:
        """The output device (the ``meet`` sink) disappears, as a headset unplugged."""
        modules = subprocess.run(["pactl", "list", "short", "modules"], env=self.env,
                                 capture_output=True, text=True, check=True).stdout
        (index,) = [line.split()[0] for line in modules.splitlines()
                    if "sink_name=meet" in line]
        subprocess.run(["pactl", "unload-module", index], env=self.env, check=True,
                       capture_output=True)

    def play(self, wav: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", "-d", "vspk", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        for proc in (*self._keep_alive, self._daemon):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._keep_alive = []
        self._daemon = None
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


# --- test speech --------------------------------------------------------------------------

SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
)


def make_speech(path: Path, pauses_s: tuple[float, ...] = (0.6, 1.2, 1.5, 1.0, 0.8),
                seed: int = 7) -> Path:
    """A 16 kHz mono PCM16 WAV of espeak-ng sentences separated by ``pauses_s`` (the first
    is leading silence, the last trailing), over quiet white noise (-60 dBFS)."""
    import numpy as np
    import soundfile as sf
    import soxr

    rate = 16000
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(pauses_s[0] * rate), np.float32)]
    for i, pause in enumerate(pauses_s[1:]):
        raw = path.with_name(f"{path.stem}_s{i}.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw),
                        SENTENCES[i % len(SENTENCES)]], check=True, capture_output=True)
        speech, speech_rate = sf.read(raw, dtype="float32")
        raw.unlink()
        parts.append(soxr.resample(speech, speech_rate, rate).astype(np.float32))
        parts.append(np.zeros(int(pause * rate), np.float32))
    audio = np.concatenate(parts)
    audio *= 0.5 / float(np.abs(audio).max())
    audio += (0.001 * rng.standard_normal(audio.shape[0])).astype(np.float32)
    sf.write(path, audio, rate, subtype="PCM_16")
    return path
