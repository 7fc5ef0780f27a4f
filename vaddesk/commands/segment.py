"""`vaddesk segment`: find the speech in recordings and folders of them, headless."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vaddesk.commands import SubParsers
from vaddesk.core.presets import DEFAULT_PRESET
from vaddesk.core.timefmt import format_duration
from vaddesk.core.wording import counted
from vaddesk.pipeline.errors import ClusterUnavailable

if TYPE_CHECKING:  # imported lazily at run time: `vaddesk --version` must stay instant
    from vaddesk.core.talk_stats import TalkStats
    from vaddesk.export.condense import CondenseOptions
    from vaddesk.pipeline.batch import BatchEvent, BatchItem, BatchOptions, FileResult
    from vaddesk.pipeline.runner import ClusterRunner

EXIT_OK = 0
EXIT_FAILED = 1   # some files failed (all others were processed)
EXIT_USAGE = 2    # bad command line: nothing was processed
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Find the speech in recordings and write, for each input, its segments as JSON (and, on
request, Audacity labels, RTTM, SRT, WebVTT, CSV and one WAV clip per segment).

Any recording works: wav, flac, ogg, opus, mp3, m4a, aac, mp4, webm, wma, aiff ... at any
sample rate, mono, stereo or more channels (mixed down unless --channel is given, or each
channel analysed on its own as one speaker with --per-channel).
"""

EPILOG = f"""\
examples:
  vaddesk segment meeting.m4a
      writes meeting.json beside meeting.m4a (preset '{DEFAULT_PRESET}')
  vaddesk segment calls/ --recursive --preset phone --out results/ --formats json,srt,csv
      every recording under calls/, outputs mirrored under results/
  vaddesk segment talk.wav --clips --pad-ms 200 --out clips/
      also one WAV per segment (original rate and channels), 200 ms extra each side
  vaddesk segment talk.wav --set max_end_silence_ms=800 --set speech_noise_thres=0.7 \\
      --json-out talk-strict.json
  vaddesk segment call.wav --per-channel --speakers "Agent,Customer" --formats json,srt
      each channel on its own: segments say who spoke, the summary gives talk time
  vaddesk segment meeting.m4a --condense --condense-gap-ms 300
      also meeting.speech.wav: only the speech, parts joined by 300 ms of silence
  vaddesk presets        lists the presets and every parameter value

outputs (per input, in --out DIR or beside the input):
  <stem>.json  <stem>.labels.txt (Audacity)  <stem>.rttm  <stem>.srt  <stem>.vtt  <stem>.csv
  <stem>_clips/<stem>_<NNN>_<start_ms>-<end_ms>.wav   <stem>.speech.wav (--condense)
  Existing outputs are never replaced without --overwrite.

damaged files (a recording cut short, a header never finished) are analysed as far as the
audio goes; the summary lists them apart, with what was wrong, and their JSON carries it in
"warnings". --strict makes them failures. `vaddesk repair FILE` writes a fixed WAV/AIFF copy.

exit status: 0 all files done (warnings included); 1 some failed (the others were still done;
the summary lists each failure with its reason); 2 bad command line; 130 interrupted.
"""


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "segment", help="find the speech in recordings (files or folders)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="audio files, folders and/or http(s) URLs (files or HLS .m3u8 "
                             "playlists; fetched into a cache first)")
    add_segment_options(parser)
    add_url_options(parser)
    return parser


def add_url_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-download-mb", type=float, default=2000, metavar="MB",
                        help="stop a URL download larger than MB megabytes (default 2000)")
    parser.add_argument("--download-timeout-s", type=float, default=30, metavar="S",
                        help="give up on a server silent for S seconds (default 30)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="keep downloads in DIR (default: vaddesk's folder in the user "
                             "cache, or $VADDESK_CACHE_DIR)")


def add_segment_options(parser: argparse.ArgumentParser) -> None:
    """Every option of `segment` after its inputs (shared with `vaddesk watch`)."""
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also look in sub-folders of folder inputs")
    parser.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                        help=f"scenario preset (default: {DEFAULT_PRESET}); see 'vaddesk presets'")
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                        dest="assignments",
                        help="change one parameter of the preset (repeatable), e.g. "
                             "--set max_end_silence_ms=800")
    parser.add_argument("--precision", choices=("int8", "fp32"), default="int8",
                        help="model precision (default: int8, faster; fp32 is the reference)")
    parser.add_argument("--channel", type=int, default=None, metavar="N",
                        help="analyse only channel N (0 = first/left, 1 = second/right); "
                             "default: mix all channels")
    parser.add_argument("--per-channel", action="store_true",
                        help="analyse each channel on its own, one speaker per channel "
                             "(segments may overlap in time); adds talk-time stats")
    parser.add_argument("--speakers", default=None, metavar="A,B,...",
                        help="names of the channels' speakers in order, with --per-channel "
                             "(default: Channel 1, Channel 2 ...; You, Others for a "
                             "vaddesk recording with computer audio)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write outputs under DIR, mirroring sub-folders of folder inputs "
                             "(default: beside each input)")
    parser.add_argument("--json-out", type=Path, default=None, metavar="FILE",
                        help="write the JSON of a single input to FILE")
    add_format_clip_arguments(parser, clips_from="the original audio")
    parser.add_argument("--clips-all-channels", action="store_true",
                        help="with --per-channel, clips keep every channel (default: only "
                             "the channel the segment was found on)")
    add_condense_arguments(parser)
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help=f"files processed in parallel (default: cores = {os.cpu_count()})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs")
    parser.add_argument("--strict", action="store_true",
                        help="treat damaged files (cut, unfinished header) as failures: no "
                             "outputs for them, exit status 1 (default: analyse what they "
                             "hold and warn)")
    add_run_options(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--resume and --cluster (shared with `vaddesk watch`)."""
    parser.add_argument("--resume", action="store_true",
                        help="skip inputs a previous run already finished with the same "
                             "settings (recorded in vaddesk-manifest.json in the output "
                             "folder); redo what changed or was interrupted")
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster, e.g. tcp://host:8786 (workers must see "
                             "the inputs and --out at the same paths); needs "
                             'pip install "vaddesk[cluster]"')


def add_format_clip_arguments(parser: argparse.ArgumentParser, clips_from: str) -> None:
    """--formats, --clips and --pad-ms (shared by `vaddesk segment` and `vaddesk export`)."""
    parser.add_argument("--formats", action="append", default=None, metavar="LIST",
                        help="comma-separated: json,audacity,rttm,srt,vtt,csv or 'all' "
                             "(default: json)")
    parser.add_argument("--clips", action="store_true",
                        help=f"also write each segment as a WAV clip cut from {clips_from}")
    parser.add_argument("--pad-ms", type=int, default=0, metavar="N",
                        help="extend each clip by N ms on both sides (clips only; default 0)")


def pad_ms_option(args: argparse.Namespace) -> int:
    if args.pad_ms < 0:
        raise UsageError(f"--pad-ms must be 0 or more, got {args.pad_ms}")
    return int(args.pad_ms)


OVERWRITE_HINT = "use --overwrite to replace, or choose another folder with --out"
"""What to do when outputs exist, in the words of `segment` and `export` (same flags)."""

CONDENSE_FORMATS = ("wav", "flac", "m4a", "mp3", "opus")  # vaddesk.export.CONDENSE_FORMATS


def add_condense_arguments(parser: argparse.ArgumentParser) -> None:
    """--condense and its options (shared by `vaddesk segment` and `vaddesk export`)."""
    parser.add_argument("--condense", action="store_true",
                        help="also write <stem>.speech.wav: only the segments, in order "
                             "(overlapping ones merged), with short fades at each join")
    parser.add_argument("--condense-gap-ms", type=int, default=0, metavar="N",
                        help="silence between the parts of the speech-only audio (default 0)")
    parser.add_argument("--condense-format", choices=CONDENSE_FORMATS, default="wav",
                        help="speech-only audio format (default wav; m4a, mp3 and opus are "
                             "smaller)")
    parser.add_argument("--condense-mode", choices=("condense", "mute"), default="condense",
                        help="'mute' keeps the original length and silences everything "
                             "outside the segments instead of cutting it out")


def condense_options(args: argparse.Namespace) -> CondenseOptions | None:
    from vaddesk.export.condense import CondenseOptions

    given = (args.condense_gap_ms != 0 or args.condense_format != "wav"
             or args.condense_mode != "condense")
    if not args.condense:
        if given:
            raise UsageError("--condense-gap-ms, --condense-format and --condense-mode "
                             "apply to the speech-only audio: add --condense")
        return None
    if args.condense_gap_ms < 0:
        raise UsageError(f"--condense-gap-ms must be 0 or more, got {args.condense_gap_ms}")
    return CondenseOptions(args.condense_format, args.condense_gap_ms, args.condense_mode)


class UsageError(Exception):
    pass


def formats_option(raw: list[str] | None, json_out: Path | None) -> tuple[str, ...]:
    from vaddesk.export.formats import FORMATS, check_formats

    if raw is None:
        return () if json_out is not None else ("json",)
    names = [n for chunk in raw for n in chunk.split(",")]
    if any(n.strip().lower() == "all" for n in names):
        return FORMATS
    try:
        chosen = check_formats(names)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not chosen:
        raise UsageError("--formats needs at least one format")
    return tuple(chosen)


def options_from_args(args: argparse.Namespace) -> BatchOptions:
    from vaddesk.core.params import VadParams, parse_assignment
    from vaddesk.core.presets import get_preset
    from vaddesk.pipeline.batch import BatchOptions

    try:
        preset = get_preset(args.preset)
        changes = dict(parse_assignment(text) for text in args.assignments)
        params = VadParams.from_mapping(changes, base=preset.params)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    pad_ms = pad_ms_option(args)
    if args.channel is not None and args.channel < 0:
        raise UsageError(f"--channel counts from 0, got {args.channel}")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, got {args.jobs}")
    if args.per_channel and args.channel is not None:
        raise UsageError("--per-channel analyses every channel; --channel picks one: "
                         "use one of them")
    speakers = _speakers(args.speakers)
    if speakers is not None and not args.per_channel:
        raise UsageError("--speakers names the channels of --per-channel: add --per-channel")
    return BatchOptions(params=params, preset=preset.name, precision=args.precision,
                        formats=formats_option(args.formats, args.json_out), clips=args.clips,
                        pad_ms=pad_ms, overwrite=args.overwrite, channel=args.channel,
                        per_channel=args.per_channel, speakers=speakers,
                        clips_all_channels=args.clips_all_channels,
                        condense=condense_options(args), strict=args.strict)


def _speakers(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    names = tuple(n.strip() for n in raw.split(","))
    if not all(names):
        raise UsageError(f"--speakers {raw!r} has an empty name: give names separated by "
                         "commas, e.g. --speakers \"Agent,Customer\"")
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise UsageError(f"--speakers names {', '.join(doubled)} twice: each channel needs "
                         "its own name")
    return names


def load_cluster_runner(address: str | None) -> ClusterRunner | None:
    """The Dask runner when --cluster is given; a UsageError saying what to install if Dask
    is missing (it is an optional extra)."""
    if address is None:
        return None
    try:
        from vaddesk.pipeline.cluster import run_cluster  # optional: dask + distributed
    except ImportError as exc:
        raise UsageError(f"--cluster needs Dask, which is not installed ({exc.name} is "
                         'missing): pip install "vaddesk[cluster]"') from None
    return run_cluster


def run(args: argparse.Namespace) -> int:
    from vaddesk.audio.fetch import FetchLimits, cache_dir, is_url
    from vaddesk.pipeline.batch import plan_items
    from vaddesk.pipeline.manifest import ManifestError
    from vaddesk.pipeline.runner import RunSettings, manifest_dir_for, run_items
    from vaddesk.pipeline.urls import fetch_url_items

    urls = [text for text in args.inputs if is_url(text)]
    paths = [Path(text) for text in args.inputs if not is_url(text)]
    try:
        options = options_from_args(args)
        items = plan_items(paths, args.recursive, args.out, args.json_out) if paths else []
        if not items and not urls:
            raise UsageError("no audio files found in: " + ", ".join(map(str, args.inputs))
                             + ("" if args.recursive else " (use --recursive for sub-folders)"))
        if args.json_out is not None and len(items) + len(urls) > 1:
            raise UsageError(f"--json-out takes a single input, but {len(items) + len(urls)} "
                             "files were given; use --out DIR for several")
        if args.max_download_mb <= 0 or args.download_timeout_s <= 0:
            raise UsageError("--max-download-mb and --download-timeout-s must be more than 0")
    except UsageError as exc:
        print(f"vaddesk segment: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    not_fetched: list[FileResult] = []
    if urls:
        limits = FetchLimits(int(args.max_download_mb * 1_000_000), args.download_timeout_s)
        fetched = fetch_url_items(urls, args.out or Path.cwd(), args.cache_dir or cache_dir(),
                                  limits, args.json_out,
                                  _download_line if sys.stderr.isatty() else None, items)
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
        for failure in fetched.failed:
            print(f"failed: {failure.item.label}: {failure.error}", file=sys.stderr)
        items += fetched.items
        not_fetched = fetched.failed
    if not items:
        print_summary(not_fetched, 0.0, sys.stdout)
        return EXIT_FAILED
    jobs = min(args.jobs or os.cpu_count() or 1, len(items))
    try:
        cluster_runner = load_cluster_runner(args.cluster)
    except UsageError as exc:
        print(f"vaddesk segment: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = RunSettings(jobs, args.cluster, args.resume, manifest_dir_for(items, args.out))
    bar = ProgressBar(items, sys.stderr) if sys.stderr.isatty() else None
    started = time.perf_counter()
    try:
        results = run_items(items, options, settings, bar.on_event if bar else None,
                            cluster_runner=cluster_runner)
    except ClusterUnavailable as exc:
        if bar:
            bar.clear()
        print(f"vaddesk segment: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ManifestError as exc:
        if bar:
            bar.clear()
        print(f"vaddesk segment: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if bar:
            bar.clear()
        print("vaddesk segment: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if bar:
        bar.clear()
    results += not_fetched
    print_summary(results, time.perf_counter() - started, sys.stdout)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


# ---- terminal output ----------------------------------------------------------------------------


def _download_line(url: str, done: int, total: int | None) -> None:
    size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    sys.stderr.write(f"\rdownloading {url[-60:]}: {size}\x1b[K")
    sys.stderr.flush()


def print_summary(results: list[FileResult], elapsed_s: float, out: TextIO) -> None:
    resumed = [r for r in results if r.resumed]
    ok = [r for r in results if r.ok and not r.resumed]
    failed = [r for r in results if not r.ok]
    audio_ms = sum(r.duration_ms for r in ok)
    speech_ms = sum(r.speech_ms for r in ok)
    speed = audio_ms / 1000 / elapsed_s if elapsed_s > 0 else 0.0
    out.write(f"{len(ok)} of {len(results)} files segmented: {format_duration(audio_ms)} of "
              f"audio, {counted(sum(r.num_segments for r in ok), 'segment')} "
              f"({format_duration(speech_ms)} of speech) "
              f"in {format_duration(elapsed_s * 1000)} ({speed:.0f}x real time)\n")
    for r in ok:
        for note in r.notes:
            out.write(f"note: {r.item.path}: {note}\n")
    if resumed:
        out.write(f"{len(resumed)} already done by an earlier run (--resume): skipped\n")
    if len(results) == 1 and ok:
        stats = ok[0].stats
        if stats is not None and len(stats.speakers) > 1:
            write_stats(stats, out)
        write_outputs(ok[0].outputs, out)
    warned = [r for r in ok if r.warnings]
    if warned:
        out.write(f"{len(warned)} with a warning (analysed what the file holds; --strict makes "
                  "these failures):\n")
        for r in warned:
            for warning in r.warnings:
                out.write(f"  {r.item.label}: {warning}\n")
    if failed:
        out.write(f"{len(failed)} failed:\n")
        for r in failed:
            out.write(f"  {r.item.label}: {failure_text(r)}\n")
    out.flush()


def failure_text(result: FileResult) -> str:
    """Why a file failed, with what to do about it in this command's words."""
    if result.existing_outputs:
        return f"{result.error} ({OVERWRITE_HINT})"
    return str(result.error)


def write_stats(stats: TalkStats, out: TextIO) -> None:
    """Talk time per speaker, one line each, then the crosstalk."""
    width = max(len(s.speaker) for s in stats.speakers)
    for s in stats.speakers:
        out.write(f"  {s.speaker:<{width}}  {format_duration(s.speech_ms):>13} speech "
                  f"({s.share * 100:4.1f} %), {counted(s.turns, 'turn')}, "
                  f"longest {format_duration(s.longest_turn_ms)}\n")
    out.write(f"  both at once {format_duration(stats.overlap_ms)}\n")


def write_outputs(outputs: list[Path], out: TextIO) -> None:
    """`wrote PATH` per file; clips (in their own folder) as one line."""
    clips = [p for p in outputs if p.name.endswith(".wav") and p.parent.name.endswith("_clips")]
    for path in outputs:
        if path not in clips:
            out.write(f"  wrote {path}\n")
    if clips:
        out.write(f"  wrote {len(clips)} clips in {clips[0].parent}\n")


class ProgressBar:
    """One line on a terminal: files done / total, audio hours done, speed, current files."""

    WIDTH = 24

    def __init__(self, items: list[BatchItem], stream: TextIO) -> None:
        self._stream = stream
        self._total = len(items)
        self._items = items
        self._done = 0
        self._done_ms = 0
        self._running: dict[int, int] = {}
        self._finished: set[int] = set()
        self._failed = 0
        self._t0 = time.perf_counter()
        self._last_draw = 0.0
        self._total_ms = self._estimate_total_ms(items)

    @staticmethod
    def _estimate_total_ms(items: list[BatchItem]) -> int | None:
        from vaddesk.audio.decode import AudioError, probe

        total = 0
        for item in items:
            try:
                total += probe(item.path).duration_ms
            except (AudioError, OSError):
                continue  # it will fail properly when processed
        return total or None

    def on_event(self, event: BatchEvent) -> None:
        from vaddesk.pipeline.batch import FileFinished, FileProgress, FileStarted

        if isinstance(event, FileFinished):
            self._finished.add(event.index)
            self._running.pop(event.index, None)
            self._done += 1
            self._done_ms += event.result.duration_ms
            if not event.result.ok:
                self._failed += 1
                self.clear()
                self._stream.write(f"failed: {event.result.item.label}: "
                                   f"{failure_text(event.result)}\n")
            elif event.result.warnings:
                self.clear()
                for warning in event.result.warnings:
                    self._stream.write(f"warning: {event.result.item.label}: {warning}\n")
            self._draw(force=True)
        elif event.index not in self._finished:
            if isinstance(event, FileStarted):
                self._running[event.index] = 0
            elif isinstance(event, FileProgress):
                self._running[event.index] = event.audio_ms
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        audio_ms = self._done_ms + sum(self._running.values())
        elapsed = max(now - self._t0, 1e-6)
        if self._total_ms:
            fraction = min(1.0, audio_ms / self._total_ms)
            hours = f"{audio_ms / 3_600_000:.2f}/{self._total_ms / 3_600_000:.2f} h"
        else:
            fraction = self._done / self._total
            hours = f"{audio_ms / 3_600_000:.2f} h"
        filled = int(fraction * self.WIDTH)
        failed = f", {self._failed} failed" if self._failed else ""
        line = (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self._done}/{self._total} "
                f"files{failed}  {hours} audio  {audio_ms / 1000 / elapsed:.0f}x real time")
        width = 100
        self._stream.write("\r" + line[:width].ljust(min(width, len(line))) + "\x1b[K")
        self._stream.flush()

    def clear(self) -> None:
        self._stream.write("\r\x1b[K")
        self._stream.flush()
