"""Microphone capture: a PortAudio input stream whose callback only copies blocks into a queue.

The consumer (one worker thread, see vaddesk.pipeline.live) reads ``CaptureItem``s with
``Capture.read()``: ``AudioBlock`` (16 kHz mono float32, converted and resampled in the consumer
thread, never in the callback), ``CaptureProblem`` (overflow reports, a stalled device) and
``CaptureFailed`` (the device vanished or PortAudio failed; the stream is over).

Devices are chosen and remembered by *name*: indices change when a headset is plugged in.
The stream factory is injectable (``stream_factory=``) so tests and benchmarks can feed an array
through ``ArrayInputStream``, a simulated microphone with the same interface as
``sounddevice.InputStream``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from vaddesk.core.types import SAMPLE_RATE

log = logging.getLogger(__name__)

BLOCK_MS: Final = 40
"""Callback block length. Short blocks keep the on-screen delay low, but each block costs the
engine a network call: 20 ms blocks took 5 % of a core for the engine alone, 40 ms 1.9 %."""

QUEUE_MAX_BLOCKS: Final = 1500
"""~60 s of 40 ms blocks. If the worker is stuck that long, blocks are dropped (and counted)
rather than memory growing without bound."""

READ_MAX_BLOCKS: Final = 1000 // BLOCK_MS

STALL_AFTER_S: Final = 3.0
MAX_AGE_S: Final = 0.5
"""A stream reporting its newest sample older than this is not believed (broken timing info)."""
"""No audio for this long while running: the device is reported as stalled (once)."""


# --- devices ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InputDevice:
    name: str
    index: int
    hostapi: str
    max_input_channels: int
    default_samplerate_hz: float
    is_default: bool


def _sd() -> Any:
    # Imported lazily: importing sounddevice loads libportaudio, which may be missing.
    try:
        import sounddevice
    except OSError as exc:  # pragma: no cover - depends on the machine
        raise CaptureUnavailable(
            f"PortAudio is not available ({exc}); install libportaudio2") from exc
    return sounddevice


class CaptureUnavailable(RuntimeError):
    """No way to capture at all (PortAudio missing, no input device, bad device name)."""


def list_input_devices(sd_module: Any | None = None) -> list[InputDevice]:
    """Every device with at least one input channel, in PortAudio's order."""
    sd = sd_module if sd_module is not None else _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except Exception as exc:  # PortAudioError has no stable import path across versions
        raise CaptureUnavailable(f"cannot list audio devices: {exc}") from exc
    if isinstance(default_in, str):
        default_in = -1
    out = []
    for index, dev in enumerate(devices):
        if int(dev["max_input_channels"]) < 1:
            continue
        out.append(InputDevice(
            name=str(dev["name"]), index=index,
            hostapi=str(hostapis[int(dev["hostapi"])]["name"]),
            max_input_channels=int(dev["max_input_channels"]),
            default_samplerate_hz=float(dev["default_samplerate"]),
            is_default=index == int(default_in)))
    return out


def rescan_devices(sd_module: Any | None = None) -> None:
    """Make PortAudio enumerate devices again (it lists them once, when it is initialised):
    a headset plugged in later, or a sound server started later, appears only after this.
    Call it only while no stream is open."""
    sd = sd_module if sd_module is not None else _sd()
    # NB: sounddevice has no public re-initialise; _terminate/_initialize are what its own
    # documentation suggests for refreshing the device list.
    try:
        sd._terminate()
        sd._initialize()
    except Exception as exc:
        raise CaptureUnavailable(f"cannot rescan audio devices: {exc}") from exc


_HW_SUFFIX = re.compile(r"\s*\((?:hw:\d+,\d+|\d+)\)\s*$")


def resolve_device(name: str | None, devices: Sequence[InputDevice]) -> InputDevice:
    """The device called ``name`` (``None``/"" = the system default input).

    Matching, in order: exact name; the name without ALSA's ``(hw:X,Y)`` suffix (card numbers
    change between boots); a unique case-insensitive substring.
    """
    if not devices:
        raise CaptureUnavailable("no audio input device found")
    if not name:
        for dev in devices:
            if dev.is_default:
                return dev
        # No default: prefer the sound server ("pulse"/"pipewire"/"default") over raw hardware.
        for preferred in ("default", "pipewire", "pulse"):
            for dev in devices:
                if dev.name == preferred:
                    return dev
        return devices[0]
    for dev in devices:
        if dev.name == name:
            return dev
    bare = _HW_SUFFIX.sub("", name)
    for dev in devices:
        if _HW_SUFFIX.sub("", dev.name) == bare:
            return dev
    hits = [d for d in devices if name.lower() in d.name.lower()]
    if len(hits) == 1:
        return hits[0]
    names = ", ".join(repr(d.name) for d in devices)
    if hits:
        raise CaptureUnavailable(f"input device {name!r} is ambiguous; matches: "
                                 + ", ".join(repr(d.name) for d in hits))
    raise CaptureUnavailable(f"no input device named {name!r}; available: {names}")


# --- what the consumer reads -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AudioBlock:
    """Captured audio, 16 kHz mono float32; ``captured_at`` is time.monotonic() of the callback
    that delivered its last sample, less what the stream said it still held after that sample
    (for latency measurements and placing two streams side by side)."""

    samples: np.ndarray
    captured_at: float


@dataclass(frozen=True, slots=True)
class CaptureProblem:
    """Something the user should see, but capture goes on (overflow, stall)."""

    message: str
    overflow_count: int


@dataclass(frozen=True, slots=True)
class CaptureFailed:
    """The stream is over without being asked to stop: device lost or PortAudio error."""

    message: str


CaptureItem = AudioBlock | CaptureProblem | CaptureFailed


class StreamLike(Protocol):
    """The part of sounddevice.InputStream that Capture uses."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


StreamFactory = Callable[..., StreamLike]


# --- the capture ----------------------------------------------------------------------------

class Capture:
    """One input stream. ``start()``, then ``read()`` from exactly one consumer thread, ``stop()``.

    The PortAudio callback runs on PortAudio's thread and does only three things: copy the
    block, put it on a bounded queue without blocking, count overflow flags. Everything else
    (down-mix, resampling, error reporting) happens in ``read()`` on the consumer's thread.
    """

    def __init__(self, device: str | None = None, *, stream_factory: StreamFactory | None = None,
                 sd_module: Any | None = None, devices: Sequence[InputDevice] | None = None,
                 block_ms: int = BLOCK_MS) -> None:
        self._stream_factory = stream_factory
        self._sd_module = sd_module
        if devices is None and stream_factory is None:
            devices = list_input_devices(sd_module)
            if not devices:  # not "cannot open input device 'simulated': Error querying -1"
                raise CaptureUnavailable("no input device found (connect a microphone or "
                                         "headset, or switch one on in the sound settings)")
        if devices:
            chosen = resolve_device(device, devices)
            self.device_name = chosen.name
            self._device_arg: int | str | None = chosen.index
            self._device_rate = chosen.default_samplerate_hz
            self._max_channels = chosen.max_input_channels
        else:  # an injected stream with no device list: the name is just a label
            self.device_name = device or "simulated"
            self._device_arg = device
            self._device_rate = float(SAMPLE_RATE)
            self._max_channels = 1
        self._block_ms = block_ms
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(QUEUE_MAX_BLOCKS)
        # NB: these counters are written only by the callback thread and read by the consumer;
        # int assignment is atomic under the GIL and a slightly stale read is harmless.
        self._overflows = 0
        self._dropped_blocks = 0
        self._reported_overflows = 0
        self._reported_dropped = 0
        self._stream: StreamLike | None = None
        self._stopping = threading.Event()
        self._finished = threading.Event()
        self._failure: str | None = None
        self._stream_rate = float(SAMPLE_RATE)
        self._callback_rate = float(SAMPLE_RATE)
        self._callback_pace_x = 1.0
        self._channels = 1
        self._resampler: Any = None
        self._last_audio_at = 0.0
        self._stall_reported = False

    # -- counters shown to the user --
    @property
    def overflow_count(self) -> int:
        """Input overflows flagged by PortAudio plus blocks dropped on a full queue."""
        return self._overflows + self._dropped_blocks

    @property
    def samplerate_hz(self) -> float:
        return self._stream_rate

    @property
    def pace_x(self) -> float:
        """How many seconds of audio the stream delivers per second of clock: 1 for a device,
        the playback speed of a simulated stream (ArrayInputStream) that runs faster."""
        return float(getattr(self._stream, "pace_x", 1.0))

    # -- callbacks (PortAudio's thread) --
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", False):
            self._overflows += 1
        # The block's last sample was captured before now by what the stream still holds
        # after it (PortAudio: currentTime - inputBufferAdcTime is the age of the block's
        # FIRST sample; both on PortAudio's clock, so only their difference is used). The
        # two sides are placed by these times (DriftAligner): a side whose buffer keeps a
        # few blocks' residue would otherwise sit that much later in the file. A simulated
        # stream faster than real time plays a block in frames / rate / pace_x clock seconds.
        arrived = time.monotonic()
        age_s = 0.0
        adc = float(getattr(time_info, "inputBufferAdcTime", 0.0) or 0.0)
        now = float(getattr(time_info, "currentTime", 0.0) or 0.0)
        if adc > 0.0 and now > adc:
            block_s = frames / (self._callback_rate * self._callback_pace_x)
            age_s = min(MAX_AGE_S, max(0.0, now - adc - block_s))
        try:
            self._queue.put_nowait((indata.copy(), arrived - age_s))
        except queue.Full:
            self._dropped_blocks += 1

    def _finished_callback(self) -> None:
        if not self._stopping.is_set():
            self._failure = "the input stream ended unexpectedly (device disconnected?)"
        self._finished.set()
        with contextlib.suppress(queue.Full):  # a full queue wakes the consumer anyway
            self._queue.put_nowait(None)  # wake the consumer

    # -- control (consumer's thread) --
    def start(self) -> None:
        factory = self._stream_factory
        if factory is None:
            factory = _sd().InputStream
        rate, channels = self._pick_format()
        self._callback_rate = float(rate)
        try:
            stream = factory(samplerate=rate, blocksize=int(rate * self._block_ms / 1000),
                             device=self._device_arg, channels=channels, dtype="float32",
                             callback=self._callback, finished_callback=self._finished_callback)
            # Read before start(): the first callback may come before start() returns.
            self._callback_pace_x = float(getattr(stream, "pace_x", 1.0))
            stream.start()
        except Exception as exc:
            raise CaptureUnavailable(
                f"cannot open input device {self.device_name!r}: {exc}") from exc
        self._stream = stream
        self._stream_rate = rate
        self._channels = channels
        self._last_audio_at = time.monotonic()
        if rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
        log.info("capturing from %r at %g Hz, %d channel(s)", self.device_name, rate, channels)

    def _pick_format(self) -> tuple[float, int]:
        """16 kHz mono if the device takes it (PulseAudio/PipeWire convert), else its own rate
        and up to two channels, converted in read()."""
        if self._stream_factory is not None:
            return float(SAMPLE_RATE), 1
        sd = self._sd_module if self._sd_module is not None else _sd()
        for rate, channels in ((SAMPLE_RATE, 1), (self._device_rate, 1),
                               (self._device_rate, min(2, self._max_channels))):
            try:
                sd.check_input_settings(device=self._device_arg, samplerate=rate,
                                        channels=channels, dtype="float32")
                return float(rate), channels
            except Exception:
                continue
        return float(self._device_rate), min(2, self._max_channels)

    def read(self, timeout_s: float = 0.1) -> list[CaptureItem]:
        """Everything captured since the last call (waits up to ``timeout_s`` for the first).

        Blocks are concatenated so that a worker that fell behind catches up in one step.
        Returns [] on timeout; a CaptureFailed is the last item ever returned.
        """
        raw: list[np.ndarray] = []
        last_at = 0.0
        ended = False
        try:
            first = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            first = None
            ended = self._finished.is_set()
        else:
            items = [first]
            # At most ~1 s per call: a worker catching up after a stall works in bounded
            # steps (bounded temporaries in the engine, and the GUI gets results meanwhile).
            while len(items) < READ_MAX_BLOCKS:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item is None:
                    ended = True
                else:
                    raw.append(item[0])
                    last_at = item[1]
        out: list[CaptureItem] = []
        if raw:
            self._last_audio_at = time.monotonic()
            self._stall_reported = False
            out.append(AudioBlock(self._convert(np.concatenate(raw)), last_at))
        count = self.overflow_count
        if count != self._reported_overflows + self._reported_dropped:
            what = []
            if self._overflows != self._reported_overflows:
                what.append("input overflow (audio arrived faster than it was read)")
            if self._dropped_blocks != self._reported_dropped:
                what.append("processing fell behind; audio blocks were dropped")
            self._reported_overflows = self._overflows
            self._reported_dropped = self._dropped_blocks
            out.append(CaptureProblem("; ".join(what), count))
        if (not raw and not ended and not self._stall_reported
                and time.monotonic() - self._last_audio_at > STALL_AFTER_S):
            self._stall_reported = True
            out.append(CaptureProblem(
                f"no audio from {self.device_name!r} for {STALL_AFTER_S:g} s", count))
        if ended and self._failure is not None:
            out.append(CaptureFailed(self._failure))
            self._failure = None
        return out

    def _convert(self, block: np.ndarray) -> np.ndarray:
        samples = block.astype(np.float32, copy=False)
        if samples.ndim == 2:
            samples = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 \
                else samples[:, 0]
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        # NaN/Inf from a broken driver must not reach the engine (it raises on them).
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        return np.ascontiguousarray(samples, dtype=np.float32)

    def stop(self) -> None:
        """Stop and close the stream; what was captured stays readable with read()."""
        self._stopping.set()
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
        except Exception as exc:  # a vanished device can fail to stop; nothing to save there
            log.warning("stopping the input stream failed: %s", exc)
        try:
            stream.close()
        except Exception as exc:
            log.warning("closing the input stream failed: %s", exc)


# --- a simulated microphone (tests, benchmarks) ----------------------------------------------

class ArrayInputStream:
    """Plays an array into a Capture as if it came from a microphone.

    Same constructor keywords and methods as ``sounddevice.InputStream``. A thread calls the
    callback with ``blocksize`` frames, paced at ``speed`` x real time (``speed=0``: as fast as
    the consumer keeps the queue short). ``fail_after_s`` simulates a device that disappears:
    the thread stops calling back and calls ``finished_callback``, as PortAudio does when a
    stream aborts. ``overflow_every`` flags every n-th block as an input overflow.

    When paced, each block carries PortAudio-style time info from the stream's sample clock
    (sample 0 at ``start()``, or at ``clock``'s origin: streams sharing one ``SimulatedClock``
    captured their first samples at the same instant, whenever their start() was called).
    """

    def __init__(self, samples: np.ndarray, *, speed: float = 1.0,
                 fail_after_s: float | None = None, overflow_every: int = 0,
                 fail_on_start: str | None = None, loop: bool = False,
                 clock: SimulatedClock | None = None, **kwargs: Any) -> None:
        self._samples = np.asarray(samples, dtype=np.float32)
        self._speed = speed
        self._fail_after = fail_after_s
        self._overflow_every = overflow_every
        self._fail_on_start = fail_on_start
        self._loop = loop
        self._clock = clock
        self.samplerate = float(kwargs.get("samplerate") or SAMPLE_RATE)
        self.blocksize = int(kwargs.get("blocksize") or 640)
        self.channels = int(kwargs.get("channels") or 1)
        self._callback = kwargs["callback"]
        self._finished_callback = kwargs.get("finished_callback")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finish_lock = threading.Lock()
        self.blocks_delivered = 0
        self._started_at = 0.0
        self.exhausted = threading.Event()

    @property
    def pace_x(self) -> float:
        """Audio seconds per clock second (1 when unpaced: its arrivals tell no time)."""
        return self._speed if self._speed > 0 else 1.0

    @classmethod
    def factory(cls, samples: np.ndarray, **options: Any) -> StreamFactory:
        """A stream_factory for Capture that plays ``samples``."""
        def make(**kwargs: Any) -> ArrayInputStream:
            return cls(samples, **options, **kwargs)
        return make

    def start(self) -> None:
        if self._fail_on_start:
            raise RuntimeError(self._fail_on_start)
        # The simulated sound card's clock starts now, not when the thread first runs: a
        # thread that gets a core late delivers late, as a real callback would, but its
        # samples were captured on this clock all the same.
        self._started_at = (self._clock or SimulatedClock()).origin()
        self._thread = threading.Thread(target=self._run, name="ArrayInputStream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = self.blocksize
        total = self._samples.shape[0]
        block_s = n / self.samplerate
        clock_hz = self.samplerate * self._speed  # samples per clock second when paced
        t0 = self._started_at
        pos = 0
        played = 0  # samples delivered in all (a looping array restarts pos, not this)
        aborted = False
        flags = _Flags()
        while not self._stop.is_set():
            if pos >= total:
                if not self._loop:
                    break
                pos = 0
            if self._fail_after is not None and self.blocks_delivered * block_s >= self._fail_after:
                aborted = True
                break
            # The array's last block may be short (a real stream's never is; a file's end is).
            block = self._samples[pos:pos + n].reshape(-1, 1)
            if self.channels > 1:
                block = np.repeat(block, self.channels, axis=1)
            flags.input_overflow = bool(self._overflow_every) and \
                (self.blocks_delivered + 1) % self._overflow_every == 0
            time_info = None
            if self._speed > 0:
                # Pacing like a sound card's clock (the producer is hardware; this wait is not
                # a consumer polling loop): a block is handed over once its last sample has
                # been "captured", and says when its first one was (PortAudio's time info,
                # from the sample clock), so a thread that runs late under CPU load looks
                # like a late callback, not like a device that captured late.
                delay = t0 + (played + block.shape[0]) / clock_hz - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                time_info = SimulatedTime(time.monotonic(), t0 + played / clock_hz)
            self._callback(block, block.shape[0], time_info, flags)
            pos += block.shape[0]
            played += block.shape[0]
            self.blocks_delivered += 1
        if aborted:
            self._finish()
        elif not self._stop.is_set():
            self.exhausted.set()

    def _finish(self) -> None:
        with self._finish_lock:
            callback, self._finished_callback = self._finished_callback, None
        if callback is not None:
            callback()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._finish()

    def close(self) -> None:
        self.stop()

    @property
    def finished(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()


class SimulatedClock:
    """The sample clock that simulated streams share: its origin is fixed by the first
    ``origin()`` call (the first stream's start()), so streams started one after another, as a
    session starts its sides, still captured their first samples at the same instant -- the
    known truth an alignment test checks against."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origin: float | None = None

    def origin(self) -> float:
        """time.monotonic() at which sample 0 of every stream on this clock was captured."""
        with self._lock:
            if self._origin is None:
                self._origin = time.monotonic()
            return self._origin


@dataclass(frozen=True, slots=True)
class SimulatedTime:
    """PortAudio's callback time info, as far as Capture uses it (time.monotonic() seconds)."""

    currentTime: float  # PortAudio's names
    inputBufferAdcTime: float


class _Flags:
    """Stand-in for sounddevice.CallbackFlags: truthy when a flag is set."""

    input_overflow = False

    def __bool__(self) -> bool:
        return self.input_overflow
