"""The computer's own audio ("system audio": the far side of a call) as an input stream.

Library: ``soundcard`` (PyPI, pure Python over cffi). PortAudio through ALSA, which
sounddevice uses for the microphone, does not list PulseAudio/PipeWire monitor sources, and
it has no WASAPI loopback. soundcard lists every output's monitor on Linux (PulseAudio, and
PipeWire through pipewire-pulse) and records it, and on Windows opens the same "loopback
microphone" through WASAPI loopback: one API for both. On Linux it talks to libpulse
(libpulse0), which every PulseAudio or PipeWire desktop has. The microphone stays on
sounddevice (its PortAudio stream is what the existing capture, tests and bundle rely on).

- Linux: tested here (a private PulseAudio daemon with a null sink as the default output).
- Windows: WASAPI loopback through soundcard's ``include_loopback=True``: written the same
  way, not tested here (no Windows machine).
- macOS has no loopback API: install a virtual device (BlackHole) and a Multi-Output Device
  that plays to the speakers and BlackHole; BlackHole then shows up as a microphone and is
  recorded as such (``--device BlackHole``; docs/live.md).

``LoopbackStream`` has the interface of ``sounddevice.InputStream`` that ``Capture`` uses, so
a ``Capture`` built on it gets overflow counting, stall reports and "device lost" handling
unchanged. soundcard keeps a stream alive when its source disappears (PulseAudio moves it to
another source, which would record the wrong audio), so the stream checks every
``CHECK_EVERY_S`` that its output still exists and ends with a failure when it is gone.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from vaddesk.audio.capture import BLOCK_MS, Capture, CaptureUnavailable
from vaddesk.core.types import SAMPLE_RATE

log = logging.getLogger(__name__)

CHECK_EVERY_S: Final = 0.5

HOW_TO_GET_IT: Final = (
    "computer audio needs a sound server that offers monitor sources: PulseAudio or PipeWire "
    "(with pipewire-pulse) on Linux, WASAPI on Windows; on macOS install BlackHole and record "
    "it as a microphone (--device BlackHole)")


@dataclass(frozen=True, slots=True)
class OutputDevice:
    """An output whose playback can be recorded. ``name``: what people see (the output's
    description); ``source_id``: the loopback source that records it."""

    name: str
    source_id: str
    is_default: bool


def _soundcard() -> Any:
    """soundcard, imported on demand: on Linux importing it connects to the sound server."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import soundcard
    except Exception as exc:  # soundcard fails with assertions/IndexError without a server
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise CaptureUnavailable(f"no computer audio: cannot reach a sound server ({why}); "
                                 f"{HOW_TO_GET_IT}") from exc
    return soundcard


def list_output_devices(sc_module: Any | None = None) -> list[OutputDevice]:
    """Every output whose playback can be recorded (monitor / loopback sources)."""
    sc = sc_module if sc_module is not None else _soundcard()
    try:
        speakers = list(sc.all_speakers())
        default = sc.default_speaker()
        loopbacks = [m for m in sc.all_microphones(include_loopback=True)
                     if getattr(m, "isloopback", False)]
    except Exception as exc:  # soundcard raises RuntimeError / cffi errors per platform
        raise CaptureUnavailable(f"cannot list outputs: {exc}; {HOW_TO_GET_IT}") from exc
    out = []
    for speaker in speakers:
        sid = str(speaker.id)
        # The loopback source of a speaker: "<id>.monitor" on PulseAudio/PipeWire, the same id
        # on Windows (WASAPI loopback); else the one whose name contains the speaker's.
        source = next((m for m in loopbacks if str(m.id) in (sid + ".monitor", sid)), None) \
            or next((m for m in loopbacks if str(speaker.name) in str(m.name)), None)
        if source is None:
            continue
        out.append(OutputDevice(str(speaker.name), str(source.id),
                                default is not None and sid == str(default.id)))
    return out


def resolve_output(name: str | None, devices: Sequence[OutputDevice]) -> OutputDevice:
    """The output called ``name`` (None/"" = the default output): exact name or source id,
    else a unique case-insensitive part of either."""
    if not devices:
        raise CaptureUnavailable(f"no output whose audio can be recorded; {HOW_TO_GET_IT}")
    if not name:
        for dev in devices:
            if dev.is_default:
                return dev
        return devices[0]
    for dev in devices:
        if name in (dev.name, dev.source_id):
            return dev
    needle = name.lower()
    hits = [d for d in devices if needle in d.name.lower() or needle in d.source_id.lower()]
    if len(hits) == 1:
        return hits[0]
    listed = ", ".join(repr(d.name) for d in devices)
    if hits:
        raise CaptureUnavailable(f"output {name!r} is ambiguous; matches: "
                                 + ", ".join(repr(d.name) for d in hits))
    raise CaptureUnavailable(f"no output named {name!r}; outputs: {listed}")


@dataclass(frozen=True, slots=True)
class LoopbackTime:
    """PortAudio's callback time info, as far as Capture uses it (seconds, one clock)."""

    currentTime: float  # PortAudio's names
    inputBufferAdcTime: float


def _loopback_time(samples_since_block_start: int, rate_hz: int) -> LoopbackTime:
    now = time.monotonic()
    return LoopbackTime(now, now - samples_since_block_start / rate_hz)


class LoopbackStream:
    """A soundcard loopback recorder behind sounddevice.InputStream's interface.

    A thread records blocks and hands each to ``callback`` (as PortAudio would); it ends on
    ``stop()``, on an error, or when the output is gone, then calls ``finished_callback``.
    """

    def __init__(self, *, source_id: str, samplerate: float, blocksize: int,
                 callback: Callable[..., None], finished_callback: Callable[[], None],
                 sc_module: Any | None = None, **_ignored: Any) -> None:
        self._sc = sc_module if sc_module is not None else _soundcard()
        self._source_id = source_id
        self._rate = int(samplerate)
        self._blocksize = max(1, int(blocksize))
        self._callback = callback
        self._finished_callback = finished_callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: str | None = None
        self._mic = self._sc.get_microphone(id=source_id, include_loopback=True)

    @classmethod
    def factory(cls, source_id: str, sc_module: Any | None = None
                ) -> Callable[..., LoopbackStream]:
        def make(**kwargs: Any) -> LoopbackStream:
            return cls(source_id=source_id, sc_module=sc_module, **kwargs)
        return make

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="LoopbackStream", daemon=True)
        self._thread.start()

    def _present(self) -> bool:
        try:
            return any(str(m.id) == self._source_id
                       for m in self._sc.all_microphones(include_loopback=True))
        except Exception:
            return False

    def _run(self) -> None:
        frames_per_check = max(1, int(CHECK_EVERY_S * self._rate / self._blocksize))
        try:
            with warnings.catch_warnings():
                # soundcard warns on discontinuities; Capture counts what matters itself.
                warnings.simplefilter("ignore")
                with self._mic.recorder(samplerate=self._rate, channels=1,
                                        blocksize=self._blocksize) as recorder:
                    n = 0
                    while not self._stop.is_set():
                        data = recorder.record(numframes=self._blocksize)
                        block = np.asarray(data, np.float32).reshape(-1, 1)
                        # What soundcard already received after this block (it hands out
                        # fixed blocks from PulseAudio's larger fragments) was captured after
                        # the block's last sample: the block is at least that old.
                        held = int(np.size(getattr(recorder, "_pending_chunk", ())))
                        self._callback(block, block.shape[0],
                                       _loopback_time(block.shape[0] + held, self._rate), None)
                        n += 1
                        if n % frames_per_check == 0 and not self._present():
                            self.failure = "the output is gone"
                            log.warning("loopback source %s disappeared", self._source_id)
                            break
        except Exception as exc:
            self.failure = str(exc)
            log.warning("loopback recording of %s failed: %s", self._source_id, exc)
        finally:
            self._finished_callback()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def close(self) -> None:
        return None


def system_audio_capture(name: str | None = None, sc_module: Any | None = None,
                         block_ms: int = BLOCK_MS) -> Capture:
    """A Capture of the playback of output ``name`` (default: the default output)."""
    output = resolve_output(name, list_output_devices(sc_module))
    capture = Capture(output.name, stream_factory=LoopbackStream.factory(output.source_id,
                                                                          sc_module),
                      block_ms=block_ms)
    log.info("computer audio from %r (%s) at %d Hz", output.name, output.source_id,
             SAMPLE_RATE)
    return capture

