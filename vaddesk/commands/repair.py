"""`vaddesk repair`: a fixed copy of a WAV/AIFF whose header does not match its audio.

The same repair vaddesk applies to its own recordings after a crash
(vaddesk.audio.header_repair): the header's sizes are set from the whole frames present. The
original is never changed unless --in-place, and then atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from vaddesk.audio import header_repair
from vaddesk.commands import SubParsers

EXIT_OK = 0        # every file repaired, or nothing to repair
EXIT_FAILED = 1    # some file cannot be repaired (the others were)
EXIT_USAGE = 2

DESCRIPTION = """\
Write a fixed copy of a WAV, W64, RF64 or AIFF file whose header does not match the audio in
it: a recording cut short (by a crash, a full disk, an interrupted copy) whose header declares
more than the file holds, or a file whose writer never filled in its sizes (0 or 0xFFFFFFFF).
The copy holds every whole frame present, bit for bit, under a correct header; any program
opens it. The original is left as it is unless --in-place.
"""

EPILOG = """\
examples:
  vaddesk repair meeting.wav              writes meeting.repaired.wav beside it
  vaddesk repair rec/*.wav --out fixed/   writes fixed/<name> for each file that needs it
  vaddesk repair meeting.wav --in-place   replaces meeting.wav (atomically: a failure
                                          leaves the original untouched)

exit status: 0 repaired, or nothing to repair; 1 some file cannot be repaired (not a
WAV/AIFF, no audio, output exists, write failed); 2 bad command line.
"""


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "repair", help="write a fixed copy of a cut or unfinished WAV/AIFF file",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="WAV/W64/RF64/AIFF files")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="write the repaired copies into DIR, under their own names "
                            "(default: beside each file as NAME.repaired.EXT)")
    where.add_argument("--in-place", action="store_true",
                       help="replace each damaged file by its repair (atomically)")
    return parser


def repaired_name(path: Path) -> str:
    """`meeting.wav` -> `meeting.repaired.wav`: beside the original, never over it."""
    return f"{path.stem}.repaired{path.suffix}"


def repair_one(path: Path, out_dir: Path | None, in_place: bool, out: TextIO) -> bool:
    """Repair one file and say what happened on `out`; False when it cannot be repaired."""
    try:
        layout = header_repair.inspect(path)
    except FileNotFoundError:
        out.write(f"{path}: cannot repair: file not found\n")
        return False
    except IsADirectoryError:
        out.write(f"{path}: cannot repair: is a folder (give the files in it)\n")
        return False
    except OSError as exc:
        out.write(f"{path}: cannot repair: cannot read it ({exc.strerror or exc})\n")
        return False
    if layout is None:
        out.write(f"{path}: cannot repair: not a WAV/W64/RF64/AIFF file with PCM audio "
                  "(repair fixes the header sizes of those; other files are read as they are "
                  "by 'vaddesk segment')\n")
        return False
    if layout.damage is None:
        out.write(f"{path}: nothing to repair: the header matches the "
                  f"{layout.seconds(layout.present_data_bytes):.2f} s the file holds\n")
        return True
    if layout.present_data_bytes == 0:
        out.write(f"{path}: cannot repair: {layout.describe()}, and it holds no whole frame "
                  "of audio\n")
        return False
    seconds = f"{layout.seconds(layout.present_data_bytes):.2f} s"
    try:
        if in_place:
            header_repair.repair_in_place(path, layout)
            out.write(f"{path}: {layout.describe()}; repaired in place ({seconds})\n")
            return True
        target = (out_dir if out_dir is not None else path.parent) / (
            path.name if out_dir is not None else repaired_name(path))
        if target.exists() and target.resolve() == path.resolve():
            out.write(f"{path}: not repaired: --out is the file's own folder, where the copy "
                      "would replace the original (use --in-place for that, or another "
                      "folder)\n")
            return False
        if target.exists():
            out.write(f"{path}: not repaired: {target} already exists (remove it, or choose "
                      "another folder with --out)\n")
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        header_repair.write_repaired(path, layout, target)
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        out.write(f"{path}: cannot repair: writing failed: {exc.strerror or exc}{where}; the "
                  "original is unchanged\n")
        return False
    out.write(f"{path}: {layout.describe()}; wrote {target} ({seconds})\n")
    return True


def run(args: argparse.Namespace) -> int:
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"vaddesk repair: error: --out {args.out} is a file; give a folder",
              file=sys.stderr)
        return EXIT_USAGE
    results = [repair_one(path, args.out, args.in_place, sys.stdout) for path in args.files]
    sys.stdout.flush()
    return EXIT_OK if all(results) else EXIT_FAILED
