"""Fbank backends for tests only, passed to the frontend as ``fbank=<callable>``.

- ``log_fbank_knf``: kaldi-native-fbank itself (the reference; a dev dependency), so the
  frontend's streaming, LFR and CMVN can be checked on the reference's own fbank.
- ``log_fbank_fast``: the replay's windowing and mel steps around numpy's double-precision FFT
  (pocketfft) instead of knf's float32 KissFFT: features within ~5e-5 of the reference's.
"""

from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np

from vaddesk.core.fbank_replay import mel_log, windowed_frames
from vaddesk.core.fbank_tables import (
    FFT_SIZE,
    FRAME_SHIFT,
    NUM_MEL_BINS,
    SAMPLE_RATE_HZ,
    WAVE_SCALE,
)


def log_fbank_fast(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (80, n) log-mel, with a float64 FFT."""
    f32 = np.float32
    spec = np.fft.rfft(windowed_frames(frames).T.astype(np.float64), n=FFT_SIZE, axis=1)
    re = spec.real.astype(f32)
    im = spec.imag.astype(f32)
    re *= re
    im *= im
    re += im
    return mel_log(np.ascontiguousarray(re.T))


def log_fbank_knf(frames: np.ndarray) -> np.ndarray:
    """The reference's own fbank (kaldi-native-fbank): (n, 400) -> (80, n)."""
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SAMPLE_RATE_HZ
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hamming"
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = NUM_MEL_BINS
    opts.energy_floor = 0
    n = frames.shape[0]
    # Frames are independent (snip edges, no dither): recompute them from their samples.
    samples = np.concatenate([frames[:, :FRAME_SHIFT].reshape(-1), frames[-1, FRAME_SHIFT:]])
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(SAMPLE_RATE_HZ, (samples * WAVE_SCALE).tolist())
    return np.array([fbank.get_frame(i) for i in range(n)], dtype=np.float32).T.copy()
