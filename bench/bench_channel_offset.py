"""How far apart the two channels of `vaddesk record --system-audio` sit, on real PulseAudio.

    python bench/bench_channel_offset.py --runs 10            # one sink both sides hear
    python bench/bench_channel_offset.py --runs 10 --combine  # a combine sink into both sinks

A private PulseAudio daemon (tests/support/virtual_mic.py) with the virtual microphone's sink
and a second null sink as the default output. Each run records ``--seconds`` with
`vaddesk record --system-audio` while ONE espeak-ng sentence plays into what both sides hear
(tests/support/channel_offset.py), and prints the lag of channel 1 (computer audio) behind
channel 0 (microphone) at the cross-correlation peak, with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.channel_offset import (
    RATE,
    channel_offset,
    load_combine_sink,
    record_one_signal,
)
from tests.support.two_voices import SIDE_A, _side
from tests.support.virtual_mic import VirtualMic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.5)
    parser.add_argument("--combine", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="offset."))
    wav = folder / "one.wav"
    sf.write(wav, _side(folder, SIDE_A[:1], "en-us", args.seconds - 1.0, 1), RATE,
             subtype="PCM_16")
    pulse = VirtualMic(system_audio=True).start()
    lags = []
    try:
        if args.combine:
            load_combine_sink(pulse)
        for run in range(args.runs):
            out = folder / f"run{run}"
            out.mkdir()
            recorded = record_one_signal(pulse, wav, out, args.seconds, args.combine)
            offset = channel_offset(recorded[:, 0], recorded[:, 1])
            load = Path("/proc/loadavg").read_text().split()[0]
            lags.append(offset.lag_ms)
            print(f"run {run}: {offset.lag_ms:+7.2f} ms  (correlation {offset.correlation:.3f}, "
                  f"load {load})", flush=True)
    finally:
        pulse.stop()
    a = np.array(lags)
    print(f"{len(a)} runs: median {np.median(a):+.2f} ms, min {a.min():+.2f}, max {a.max():+.2f},"
          f" |lag| max {np.abs(a).max():.2f} ms")
    if args.json:
        args.json.write_text(json.dumps({"combine": args.combine, "lags_ms": lags}, indent=1))


if __name__ == "__main__":
    main()
