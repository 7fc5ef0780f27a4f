"""`vaddesk devices`: list the audio input devices by the names `record --device` accepts, and
the outputs whose playback `record --system-audio --system-device` can record."""

from __future__ import annotations

import argparse
import sys

from vaddesk.commands import SubParsers


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "devices", help="list audio input devices (for `vaddesk record --device NAME`) and "
                        "outputs usable for computer audio",
        description="List audio input devices, then the outputs whose playback can be "
                    "recorded as computer audio (--system-audio). Defaults are marked *.")
    return parser


def run(args: argparse.Namespace) -> int:
    from vaddesk.audio.capture import CaptureUnavailable, list_input_devices
    from vaddesk.audio.system_audio import list_output_devices

    try:
        devices = list_input_devices()
    except CaptureUnavailable as exc:
        print(f"vaddesk devices: {exc}", file=sys.stderr)
        return 2
    if not devices:
        print("no audio input device found", file=sys.stderr)
        return 1
    for dev in devices:
        mark = "*" if dev.is_default else " "
        print(f"{mark} {dev.name}  ({dev.hostapi}, {dev.max_input_channels} ch, "
              f"{dev.default_samplerate_hz:g} Hz)")
    try:
        outputs = list_output_devices()
    except CaptureUnavailable as exc:
        print(f"no outputs usable for computer audio: {exc}", file=sys.stderr)
        return 0  # the inputs are listed; the microphone alone works
    print("outputs usable for computer audio (vaddesk record --system-audio "
          "--system-device NAME):")
    for out in outputs:
        mark = "*" if out.is_default else " "
        print(f"{mark} {out.name}  (computer audio: records {out.source_id})")
    if not outputs:
        print("  (none)")
    return 0
