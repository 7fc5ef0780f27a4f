"""`vaddesk devices`: list the audio input devices by the names `record --device` accepts."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "devices", help="list audio input devices (for `vaddesk record --device NAME`)",
        description="List audio input devices. The default input is marked with *.")
    return parser


def run(args: argparse.Namespace) -> int:
    from vaddesk.audio.capture import CaptureUnavailable, list_input_devices

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
    return 0
