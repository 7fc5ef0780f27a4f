"""Capture: device choice by name, block queueing, overflows and a lost device.

The stream here is SIMULATED (vaddesk.audio.capture.ArrayInputStream, a thread that calls the
callback like PortAudio does): there is no sound card in CI. Real PortAudio capture through a
PulseAudio virtual microphone is tested in tests/integration/test_record_integration.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vaddesk.audio.capture import (
    ArrayInputStream,
    AudioBlock,
    Capture,
    CaptureFailed,
    CaptureItem,
    CaptureProblem,
    CaptureUnavailable,
    InputDevice,
    list_input_devices,
    resolve_device,
)


def _dev(name: str, index: int, default: bool = False) -> InputDevice:
    return InputDevice(name, index, "ALSA", 2, 48000.0, default)


DEVICES = [
    _dev("HDA Intel PCH: ALC3246 Analog (hw:0,0)", 0),
    _dev("USB Headset: Audio (hw:2,0)", 1),
    _dev("pulse", 2),
    _dev("default", 3, default=True),
]


def test_resolve_device_by_name() -> None:
    assert resolve_device(None, DEVICES).name == "default"
    assert resolve_device("", DEVICES).name == "default"
    assert resolve_device("pulse", DEVICES).index == 2
    # The card number changed since the name was remembered: still the same headset.
    assert resolve_device("USB Headset: Audio (hw:3,0)", DEVICES).index == 1
    assert resolve_device("headset", DEVICES).index == 1
    with pytest.raises(CaptureUnavailable, match="no input device named 'Webcam'; available: "
                                                 "'HDA Intel"):
        resolve_device("Webcam", DEVICES)
    with pytest.raises(CaptureUnavailable, match="'au' is ambiguous"):
        resolve_device("au", DEVICES)
    with pytest.raises(CaptureUnavailable, match="no audio input device found"):
        resolve_device(None, [])
    no_default = [_dev("hw mic", 0), _dev("pulse", 1)]
    assert resolve_device(None, no_default).name == "pulse"


class _FakeSd:
    """The three sounddevice queries list_input_devices uses, with canned answers."""

    class default:
        device = (1, 0)

    @staticmethod
    def query_devices() -> list[dict[str, Any]]:
        return [
            {"name": "speakers", "hostapi": 0, "max_input_channels": 0,
             "default_samplerate": 48000.0},
            {"name": "pulse", "hostapi": 0, "max_input_channels": 32,
             "default_samplerate": 44100.0},
        ]

    @staticmethod
    def query_hostapis() -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]


def test_list_input_devices_skips_outputs() -> None:
    assert list_input_devices(_FakeSd) == [InputDevice("pulse", 1, "ALSA", 32, 44100.0, True)]


def _capture(samples: np.ndarray, **options: Any) -> tuple[Capture, list[ArrayInputStream]]:
    made: list[ArrayInputStream] = []

    def factory(**kwargs: Any) -> ArrayInputStream:
        stream = ArrayInputStream(samples, **options, **kwargs)
        made.append(stream)
        return stream

    return Capture("simulated", stream_factory=factory), made


def _read_until(capture: Capture, done: Any) -> list[CaptureItem]:
    items: list[CaptureItem] = []
    while True:
        finished = done()
        got = capture.read(timeout_s=0.05)
        items += got
        if finished and not got:
            return items


def _audio(seconds: float) -> np.ndarray:
    return np.random.default_rng(1).uniform(-0.5, 0.5, int(16000 * seconds)).astype(np.float32)


def test_blocks_arrive_complete_and_in_order() -> None:
    audio = _audio(1.0)
    capture, made = _capture(audio, speed=0)
    capture.start()
    items = _read_until(capture, lambda: made[0].exhausted.is_set())
    capture.stop()
    blocks = [i for i in items if isinstance(i, AudioBlock)]
    assert [type(i) for i in items if not isinstance(i, AudioBlock)] == []
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]), audio)
    assert made[0].blocksize == 640  # 40 ms blocks at 16 kHz
    assert capture.overflow_count == 0


def test_overflows_are_counted_and_reported() -> None:
    audio = _audio(1.0)
    capture, made = _capture(audio, speed=0, overflow_every=10)
    capture.start()
    items = _read_until(capture, lambda: made[0].exhausted.is_set())
    capture.stop()
    problems = [i for i in items if isinstance(i, CaptureProblem)]
    assert problems and problems[-1].overflow_count == 2  # 25 blocks, every 10th flagged
    assert all("input overflow" in p.message for p in problems)
    assert capture.overflow_count == 2


def test_device_lost_mid_stream_is_reported_and_audio_kept() -> None:
    """SIMULATED device loss: the stream stops calling back and reports itself finished."""
    audio = _audio(2.0)
    capture, _made = _capture(audio, speed=0, fail_after_s=0.48)
    capture.start()
    items: list[CaptureItem] = []
    while not items or not isinstance(items[-1], CaptureFailed):
        items += capture.read(timeout_s=0.5)
    capture.stop()
    assert isinstance(items[-1], CaptureFailed)
    assert items[-1].message == "the input stream ended unexpectedly (device disconnected?)"
    got = np.concatenate([i.samples for i in items if isinstance(i, AudioBlock)])
    np.testing.assert_array_equal(got, audio[:7680])  # 12 blocks of 40 ms


def test_stream_that_cannot_open_is_a_clear_error() -> None:
    """SIMULATED PortAudio error on open."""
    capture, _ = _capture(_audio(0.1), fail_on_start="Error opening InputStream: Device "
                                                    "unavailable [PaErrorCode -9985]")
    with pytest.raises(CaptureUnavailable, match="cannot open input device 'simulated': Error "
                                                 "opening InputStream: Device unavailable"):
        capture.start()


def test_normal_stop_is_not_a_failure() -> None:
    capture, _made = _capture(_audio(5.0), speed=1.0)
    capture.start()
    first = capture.read(timeout_s=1.0)
    assert isinstance(first[0], AudioBlock)
    capture.stop()
    rest = _read_until(capture, lambda: True)
    assert not any(isinstance(i, CaptureFailed | CaptureProblem) for i in first + rest)


def test_no_input_device_says_so_not_a_portaudio_code() -> None:
    """A machine with only outputs (sounddevice's answers canned, as above: no real machine
    here has none): the message names the problem and the remedy, not 'simulated' or -1."""

    class _OutputsOnly(_FakeSd):
        @staticmethod
        def query_devices() -> list[dict[str, Any]]:
            return [{"name": "speakers", "hostapi": 0, "max_input_channels": 0,
                     "default_samplerate": 48000.0}]

    with pytest.raises(CaptureUnavailable) as err:
        Capture(None, sd_module=_OutputsOnly)
    assert str(err.value) == ("no input device found (connect a microphone or headset, or "
                              "switch one on in the sound settings)")
