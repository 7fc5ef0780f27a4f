"""`vaddesk presets`: the scenario presets and every parameter value they set."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vaddesk.commands import SubParsers
from vaddesk.core.presets import DEFAULT_PRESET


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "presets", help="list the scenario presets and their parameter values",
        description="List the scenario presets (built-in and your own) with every parameter "
                    "value. Use one with 'vaddesk segment --preset NAME', change single values "
                    "with '--set PARAM=VALUE'.")
    parser.add_argument("name", nargs="?", help="show only this preset")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def run(args: argparse.Namespace) -> int:
    from vaddesk.core.params import param_infos
    from vaddesk.core.presets import all_presets, get_preset, user_presets_dir

    try:
        presets = {args.name: get_preset(args.name)} if args.name else all_presets()
    except ValueError as exc:
        print(f"vaddesk presets: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        doc = {name: {"description": p.description, "builtin": p.builtin,
                      "default": name == DEFAULT_PRESET, "parameters": p.params.to_dict()}
               for name, p in presets.items()}
        print(json.dumps(doc, indent=2))
        return 0
    out = sys.stdout
    name_w = max(len(n) for n in presets) + 2
    for name, preset in presets.items():
        tags = [t for t, on in (("default", name == DEFAULT_PRESET),
                                ("yours", not preset.builtin)) if on]
        tag = f" ({', '.join(tags)})" if tags else ""
        out.write(f"{name:<{name_w}}{preset.description}{tag}\n")
    out.write("\n")
    infos = param_infos()
    names = list(presets)
    rows = [[i.name + (f" [{i.unit}]" if i.unit else "")]
            + [_value(getattr(presets[n].params, i.name)) for n in names] for i in infos]
    header = ["parameter", *names]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        out.write("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                            for c, (cell, w) in enumerate(zip(row, widths, strict=True)))
                  .rstrip() + "\n")
    out.write(f"\nYour presets live in {user_presets_dir()}. Parameter meanings: "
              "see 'vaddesk segment --help' and docs/engine.md.\n")
    return 0
