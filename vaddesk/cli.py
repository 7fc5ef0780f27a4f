"""Command line entry point.

    vaddesk [FILE ...]            open the desktop app (optionally with files/folders)
    vaddesk segment ...           batch segmentation (vaddesk.commands.segment)
    vaddesk watch FOLDER ...      segment new recordings as they land (vaddesk.commands.watch)
    vaddesk export ...            outputs from a segments file (vaddesk.commands.export)
    vaddesk presets               list presets (vaddesk.commands.presets)
    vaddesk record ...            headless live recording (vaddesk.commands.record)
    vaddesk devices               inputs and computer-audio outputs (vaddesk.commands.devices)
    vaddesk repair FILE...        fixed copies of cut WAV/AIFF files (vaddesk.commands.repair)
    vaddesk --version | --self-test

Each subcommand lives in its own module under vaddesk.commands with two functions:
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`. They are imported
lazily so that `vaddesk --version` does not load onnxruntime or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from vaddesk import __version__, applog

SUBCOMMANDS = ("segment", "watch", "export", "presets", "record", "devices", "repair")
EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaddesk",
        description="Find the speech in recordings. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"vaddesk {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check both models and segment a bundled sample, then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"vaddesk.commands.{name}")
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Anything that is not a subcommand or an option goes to the GUI as files to open, as long
    # as the first word names a file or folder: a mistyped command must not open the app.
    if not args_list or (args_list[0] not in SUBCOMMANDS and not args_list[0].startswith("-")):
        if args_list and not os.path.exists(args_list[0]):
            print(f"vaddesk: {_not_a_command(args_list[0])}", file=sys.stderr)
            return EXIT_USAGE
        return gui_main(args_list)
    parser = _build_parser()
    args = parser.parse_args(args_list)
    if args.self_test:
        from vaddesk.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        return gui_main([])
    # The app's log file: what a command logs (what a decoder library wrote to its stderr, a
    # bug's traceback) is kept there; the terminal shows what it did without a log.
    applog.setup_command_logging()
    result: int = args._run(args)
    return result


def _not_a_command(word: str) -> str:
    commands = ", ".join(SUBCOMMANDS)
    if os.sep in word or "/" in word or os.path.splitext(word)[1]:
        return (f"no such file or folder: '{word}' (to open recordings in the app, name files "
                f"or folders that exist; commands: {commands})")
    return (f"unknown command '{word}' (commands: {commands}; 'vaddesk --help' explains "
            "them)")


def gui_main(files: Sequence[str] | None = None) -> int:
    from vaddesk.gui.display import display_problem

    problem = display_problem()
    if problem is not None:  # Qt would abort the process (SIGABRT) without a word of why
        print(f"vaddesk: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from vaddesk.gui.app import run_app
    from vaddesk.gui.smoketest import arm_from_env

    arm_from_env()  # CI's smoke test of the frozen app (VADDESK_SMOKE_TEST); no-op otherwise
    return run_app(list(files or []))


if __name__ == "__main__":
    raise SystemExit(main())
