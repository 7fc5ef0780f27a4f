"""`vaddesk record`: record from a microphone, segmenting live; Ctrl-C / SIGTERM stop cleanly.

The recording (16 kHz mono WAV) and its segments (JSON beside it) land in the recordings folder
(or --out). Each segment is printed when it closes. A recording left by a crash in that folder
is repaired first, and said so. With --system-audio the computer's playback is recorded too:
a 2-channel WAV (0 = microphone "You", 1 = computer audio "Others"), each side segmented on its
own, talk time per speaker at the end.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from vaddesk.commands import SubParsers
from vaddesk.core.timefmt import format_ms
from vaddesk.core.wording import counted

if TYPE_CHECKING:  # imported in run(): `vaddesk --version` must not load the engine
    from vaddesk.audio.capture import Capture
    from vaddesk.pipeline.live import LiveSession
    from vaddesk.pipeline.live_sides import Side, TwoSidedSession


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "record", help="record from a microphone and find the speech as it comes",
        description="Record from an input device to a WAV file while segmenting it live. "
                    "Ctrl-C stops cleanly; the file and its segments (JSON) are kept.")
    parser.add_argument("--device", metavar="NAME",
                        help="input device by name, see `vaddesk devices` (default: the "
                             "system's default input); 'none' with --system-audio records "
                             "the computer audio only")
    parser.add_argument("--system-audio", action="store_true",
                        help="also record what the computer plays (the other side of a call) "
                             "as a second channel, segmented on its own")
    parser.add_argument("--system-device", metavar="NAME",
                        help="with --system-audio: the output whose playback is recorded, a "
                             "unique part of its name as `vaddesk devices` lists it (default: "
                             "the default output)")
    parser.add_argument("--duration", metavar="S", type=float,
                        help="stop after this many seconds of recorded audio")
    parser.add_argument("--preset", metavar="P", default=None,
                        help="parameter preset (default: meeting; see `vaddesk presets`)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="folder for the recording (default: the user data folder)")
    parser.add_argument("--clips", action="store_true",
                        help="write each segment's WAV clip and an updated JSON as it closes")
    parser.add_argument("--precision", choices=("int8", "fp32"), default="int8",
                        help="model precision (default: int8)")
    return parser


def run(args: argparse.Namespace) -> int:
    from vaddesk.audio.capture import Capture, CaptureUnavailable
    from vaddesk.audio.recorder import (
        RecordingStorageError,
        default_recordings_dir,
        recover_recordings,
    )
    from vaddesk.commands.segment import write_stats
    from vaddesk.core.presets import DEFAULT_PRESET, get_preset
    from vaddesk.core.talk_stats import talk_stats
    from vaddesk.core.types import SegmentClosed, SegmentOpened
    from vaddesk.pipeline.live import (
        ClipWritten,
        LiveOptions,
        LiveProblem,
        LiveSession,
        SegmentEvent,
        SessionEnded,
    )
    from vaddesk.pipeline.live_sides import TwoSidedSession

    mic_wanted = (args.device or "").strip().lower() != "none"
    if not mic_wanted and not args.system_audio:
        print("vaddesk record: --device none records no microphone, so there is nothing to "
              "record: add --system-audio to record the computer audio only",
              file=sys.stderr)
        return 2
    if args.system_device is not None and not args.system_audio:
        print("vaddesk record: --system-device picks the output for --system-audio: add "
              "--system-audio", file=sys.stderr)
        return 2

    if args.duration is not None and not args.duration > 0:
        print("vaddesk record: --duration must be a positive number of seconds",
              file=sys.stderr)
        return 2
    try:
        params = get_preset(args.preset or DEFAULT_PRESET).params
    except ValueError as exc:
        print(f"vaddesk record: {exc}", file=sys.stderr)
        return 2
    out_dir: Path = args.out if args.out is not None else default_recordings_dir()
    for found in recover_recordings(out_dir):
        print(f"repaired a recording left by a crash: {found.path} "
              f"({format_ms(found.duration_ms, hours=True)})", flush=True)
    try:
        capture = Capture(args.device) if mic_wanted else None
    except CaptureUnavailable as exc:
        print(f"vaddesk record: {exc}", file=sys.stderr)
        return 2
    sides = _sides(capture, args.system_device) if args.system_audio else None
    if args.system_audio and sides is None:
        return 2
    duration_ms = None if args.duration is None else round(args.duration * 1000)
    options = LiveOptions(out_dir=out_dir, write_clips=args.clips,
                          max_duration_ms=duration_ms, precision=args.precision)
    session: LiveSession | TwoSidedSession
    if sides is not None:
        session = TwoSidedSession(sides, params, options, preset=args.preset or DEFAULT_PRESET)
    else:
        assert capture is not None
        session = LiveSession(capture, params, options, preset=args.preset or DEFAULT_PRESET)
    try:
        path = session.start()
    except (CaptureUnavailable, RecordingStorageError, ValueError, RuntimeError) as exc:
        print(f"vaddesk record: {exc}", file=sys.stderr)
        return 2

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        session.request_stop()

    old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sources = " + ".join(repr(s.capture.device_name) for s in sides) if sides \
        else repr(session.capture.device_name)
    print(f"recording from {sources} to {path}  (Ctrl-C stops)", flush=True)
    count = 0
    try:
        while True:
            result = session.next_result(0.5)
            if isinstance(result, SegmentEvent):
                if isinstance(result.event, SegmentClosed):
                    count += 1
                    seg = result.event.segment
                    start = format_ms(seg.start_ms, hours=True)
                    end = format_ms(seg.end_ms, hours=True)
                    who = f"  {seg.speaker}" if seg.speaker else ""
                    print(f"segment {count:4d}  {start} - {end}  "
                          f"({seg.duration_ms / 1000:.2f} s){who}", flush=True)
                elif isinstance(result.event, SegmentOpened):
                    pass  # only closed segments are printed: a line per finished turn
            elif isinstance(result, ClipWritten):
                print(f"  clip {result.path}", flush=True)
            elif isinstance(result, LiveProblem):
                print(f"{'error' if result.fatal else 'warning'}: {result.message}",
                      file=sys.stderr, flush=True)
            elif isinstance(result, SessionEnded):
                summary = result.summary
                break
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    session.stop()
    print(f"recorded {format_ms(summary.duration_ms, hours=True)} to {summary.path}; "
          f"{counted(len(summary.segments), 'segment')}"
          + (f" in {summary.json_path}" if summary.json_path else "")
          + (f"; {counted(summary.overflow_count, 'input overflow')}"
             if summary.overflow_count else ""),
          flush=True)
    if sides is not None and len(sides) > 1:
        stats = talk_stats(summary.segments, [s.speaker for s in sides],
                           list(range(len(sides))))
        write_stats(stats, sys.stdout)
        sys.stdout.flush()
    return 0 if summary.stop_reason is None else 1


def _sides(mic: Capture | None, system_device: str | None) -> list[Side] | None:
    """The sides of a --system-audio recording, or None after saying what is missing."""
    from vaddesk.audio.capture import CaptureUnavailable
    from vaddesk.audio.system_audio import system_audio_capture
    from vaddesk.pipeline.live_sides import (
        MIC_SOURCE,
        MIC_SPEAKER,
        SYSTEM_SOURCE,
        SYSTEM_SPEAKER,
        Side,
    )

    try:
        system = system_audio_capture(system_device)
    except CaptureUnavailable as exc:
        print(f"vaddesk record: {exc}", file=sys.stderr)
        if mic is not None:
            print("vaddesk record: without --system-audio the microphone alone can be "
                  "recorded", file=sys.stderr)
        return None
    sides = [Side(system, SYSTEM_SPEAKER, SYSTEM_SOURCE)]
    if mic is not None:
        sides.insert(0, Side(mic, MIC_SPEAKER, MIC_SOURCE))
    return sides
