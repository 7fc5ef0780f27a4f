"""`vaddesk export`: every output from segments read from a file, without running the model."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from vaddesk.commands import SubParsers
from vaddesk.commands.segment import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OVERWRITE_HINT,
    UsageError,
    add_condense_arguments,
    add_format_clip_arguments,
    condense_options,
    formats_option,
    pad_ms_option,
    write_outputs,
)
from vaddesk.core.wording import counted

DESCRIPTION = """\
Write outputs (JSON, Audacity labels, RTTM, SRT, WebVTT, CSV, WAV clips, speech-only audio)
from segments read from a file: a vaddesk JSON (e.g. edited in the app), Audacity labels
(File > Export > Labels...), RTTM, SRT, WebVTT or CSV. The model is not run.

Times are kept exactly as the file states them: a clip of a label from START to END seconds
holds the samples [floor(START * rate), floor(END * rate)) of INPUT at its own rate and
channels. Segments past the end of INPUT are clamped (with a warning), unsorted ones sorted.
"""

EPILOG = """\
examples:
  vaddesk export meeting.m4a --segments meeting.labels.txt --clips --out clips/
      the labels edited in Audacity, as WAV clips and every text format asked for
  vaddesk export meeting.m4a --segments meeting.json --condense --condense-format mp3
      meeting.speech.mp3 from the segments edited in the app

exit status: 0 done; 1 an output could not be written; 2 bad command line or segments file.
"""


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "export", help="write outputs from a segments file (JSON, labels, RTTM, SRT, ...)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, metavar="INPUT", help="the recording")
    parser.add_argument("--segments", type=Path, required=True, metavar="FILE",
                        help="segments to export: vaddesk JSON, Audacity labels, RTTM, SRT, "
                             "WebVTT or CSV")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write outputs in DIR (default: beside INPUT)")
    parser.add_argument("--json-out", type=Path, default=None, metavar="FILE",
                        help="write the JSON to FILE")
    add_format_clip_arguments(parser, clips_from="INPUT")
    add_condense_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser


def run(args: argparse.Namespace) -> int:
    from vaddesk.audio.decode import AudioError, probe
    from vaddesk.export import OutputExistsError, SegmentationReport, export_outputs
    from vaddesk.export.readers import SegmentsFileError, clamp_to_duration, read_segments_file

    err = sys.stderr
    try:
        formats = formats_option(args.formats, args.json_out)
        condense = condense_options(args)
        pad_ms = pad_ms_option(args)
        if not formats and not args.clips and condense is None and args.json_out is None:
            raise UsageError("nothing to write: give --formats, --clips or --condense")
        try:
            info = probe(args.input)
        except AudioError as exc:
            raise UsageError(f"{args.input}: {exc.problem}") from None
        try:
            segments_file = read_segments_file(args.segments)
        except SegmentsFileError as exc:
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"vaddesk export: error: {exc}", file=err)
        return EXIT_USAGE
    duration_s = Fraction(info.num_frames, info.sample_rate)
    segments_file, warnings = clamp_to_duration(segments_file, duration_s)
    for note in segments_file.notes:
        print(f"vaddesk export: note: {note}", file=err)
    for warning in warnings:
        print(f"vaddesk export: warning: {warning}", file=err)
    header = segments_file.header
    # A vaddesk JSON states whole milliseconds (the ms rule cuts its clips); the other formats
    # may be finer, and their exact times cut the audio.
    times_s = None if segments_file.format == "json" else segments_file.times_s
    report = SegmentationReport(
        source=info, model=header.model if header else None,
        preset=header.preset if header else None, params=header.params if header else None,
        segments=segments_file.segments, channel=header.channel if header else None,
        channels=segments_file.channels(info.channels),
        preset_modified=header.preset_modified if header else None, times_s=times_s)
    out_dir = args.out if args.out is not None else args.input.parent
    try:
        result = export_outputs(report, out_dir, args.input.stem, formats, clips=args.clips,
                                pad_ms=pad_ms, overwrite=args.overwrite,
                                json_path=args.json_out, condense=condense)
    except OutputExistsError as exc:
        print(f"vaddesk export: error: {exc} ({OVERWRITE_HINT})", file=err)
        return EXIT_FAILED
    except AudioError as exc:
        print(f"vaddesk export: error: {args.input}: {exc.problem}", file=err)
        return EXIT_FAILED
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"vaddesk export: error: cannot write output: {exc.strerror or exc}{where}",
              file=err)
        return EXIT_FAILED
    out = sys.stdout
    speech_ms = sum(s.duration_ms for s in report.segments)
    out.write(f"exported {counted(len(report.segments), 'segment')}"
              f" ({speech_ms / 1000:.1f} s of speech) read from {args.segments} "
              f"({segments_file.format})\n")
    write_outputs(result.written, out)
    for note in result.notes:
        out.write(f"  {note}\n")
    out.flush()
    return EXIT_OK
