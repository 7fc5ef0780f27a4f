"""`vaddesk presets` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser("presets", help="(not yet available)")
    return parser


def run(args: argparse.Namespace) -> int:
    print("vaddesk presets is not available yet")
    return 2
