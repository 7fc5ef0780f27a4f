"""Play a segment or from the cursor through sounddevice, from the original audio.

A feeder thread reads the original file in short chunks into a small queue; the PortAudio
callback only copies from that queue (and counts the frames played, which the window's frame
timer reads to move the play-head). No output device (common on servers and in CI) is reported
through playback_failed with a message a person can act on, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from vaddesk.audio.decode import open_audio

log = logging.getLogger(__name__)

CHUNK_S = 0.25
QUEUE_CHUNKS = 8  # ~2 s of audio buffered ahead
PREFILL_TIMEOUT_S = 0.3

StreamFactory = Callable[..., Any]


def _default_stream_factory(**kwargs: Any) -> Any:
    import sounddevice as sd

    return sd.OutputStream(**kwargs)


class Player(QObject):
    playback_started = Signal()
    playback_stopped = Signal()
    playback_failed = Signal(str)  # what went wrong and what to do

    def __init__(self, stream_factory: StreamFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = stream_factory or _default_stream_factory
        self._stream: Any = None
        self._feeder: threading.Thread | None = None
        self._stop_feeding = threading.Event()
        self._chunks: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._pending = np.zeros((0, 1), dtype=np.float32)
        self._frames_played = 0  # NB: written only by the callback; int reads are atomic
        self._finished = False  # NB: set by the callback when the queue hit its end marker
        self._sample_rate = 16_000
        self._start_ms = 0

    def is_playing(self) -> bool:
        return self._stream is not None

    def position_ms(self) -> int | None:
        """Where the play-head is now; None when not playing."""
        if self._stream is None:
            return None
        return self._start_ms + self._frames_played * 1000 // self._sample_rate

    def poll(self) -> None:
        """Called by the frame timer: notices the end of playback in the GUI thread."""
        if self._stream is not None and self._finished:
            self.stop()

    def play(self, path: Path, sample_rate: int, channels: int, start_ms: int,
             stop_ms: int | None = None) -> bool:
        self.stop()
        out_channels = min(max(channels, 1), 2)
        self._sample_rate, self._start_ms = int(sample_rate), int(start_ms)
        self._frames_played, self._finished = 0, False
        self._pending = np.zeros((0, out_channels), dtype=np.float32)
        self._chunks = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._stop_feeding = threading.Event()
        try:
            stream = self._factory(samplerate=self._sample_rate, channels=out_channels,
                                   dtype="float32", callback=self._callback)
        except Exception as exc:  # PortAudioError, or OSError when PortAudio is missing
            log.warning("cannot open audio output: %s", exc)
            self.playback_failed.emit(
                "No sound output is available, so vaddesk cannot play audio here "
                f"({exc}). Connect speakers or headphones, or check the system's sound "
                "settings, then try again. Everything else keeps working.")
            return False
        self._feeder = threading.Thread(
            target=self._feed, name="vaddesk-playback-feeder", daemon=True,
            args=(path, out_channels, start_ms, stop_ms, self._chunks, self._stop_feeding))
        self._feeder.start()
        # Start the output once the first chunk is read, so playback does not open on an
        # underrun (a WAV chunk takes milliseconds; the wait is capped for slow decoders).
        deadline = time.monotonic() + PREFILL_TIMEOUT_S
        while self._chunks.empty() and self._feeder.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        self._stream = stream
        try:
            stream.start()
        except Exception as exc:
            self.stop()
            self.playback_failed.emit(f"Sound output failed to start ({exc}).")
            return False
        self.playback_started.emit()
        return True

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        self._stop_feeding.set()
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # a vanished device must not stop the app
                log.warning("closing the audio output failed: %s", exc)
        if self._feeder is not None:
            # Unblock a feeder waiting on a full queue, then let it finish.
            while not self._chunks.empty():
                self._chunks.get_nowait()
            self._feeder.join(timeout=1.0)
            self._feeder = None
        if stream is not None:
            self.playback_stopped.emit()

    def _feed(self, path: Path, out_channels: int, start_ms: int, stop_ms: int | None,
              chunks: queue.Queue, stop: threading.Event) -> None:
        try:
            with open_audio(path) as reader:
                rate = reader.info.sample_rate
                frame = start_ms * rate // 1000
                end = reader.info.num_frames if stop_ms is None else stop_ms * rate // 1000
                end = min(end, reader.info.num_frames)
                step = int(CHUNK_S * rate)
                while frame < end and not stop.is_set():
                    data = np.asarray(reader.read_original(frame, min(frame + step, end)),
                                      dtype=np.float32)
                    if data.ndim == 1:
                        data = data[:, None]
                    if data.shape[1] != out_channels:  # > 2 channels: play the downmix
                        data = np.repeat(data.mean(axis=1, keepdims=True), out_channels, axis=1)
                    frame += step
                    while not stop.is_set():
                        try:
                            chunks.put(data, timeout=0.1)
                            break
                        except queue.Full:
                            continue
        except Exception:
            log.exception("reading %s for playback failed", path)
        finally:
            with contextlib.suppress(queue.Full):
                chunks.put(None, timeout=0.5)

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        filled = 0
        while filled < frames:
            if self._pending.shape[0] == 0:
                try:
                    chunk = self._chunks.get_nowait()
                except queue.Empty:
                    break  # feeder late: play silence for the rest of this block
                if chunk is None:
                    self._finished = True
                    break
                self._pending = chunk
            take = min(frames - filled, self._pending.shape[0])
            outdata[filled:filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        outdata[filled:] = 0
        self._frames_played += filled
