"""The one analysis path for a file: decode -> engine (-> peak envelope), and its report.

The batch CLI (:mod:`vaddesk.pipeline.batch`) and the GUI's analysis process
(:mod:`vaddesk.pipeline.analysis`) both segment a file with :func:`segment_file`, and build
the report they export with :func:`file_report`; the live session
(:mod:`vaddesk.pipeline.live`) streams through the same engine and builds its report with
:func:`file_report` too. Block size, channel choice, the exact duration after a full read and
the model's identity are therefore decided once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np

from vaddesk.audio.decode import AudioInfo, AudioReader, open_audio
from vaddesk.audio.envelope import EnvelopeBuilder, PeakEnvelope
from vaddesk.audio.resample import Resampler16k, to_mono
from vaddesk.core.bleed import BleedGate
from vaddesk.core.confidence import SegmentConfidence
from vaddesk.core.engine import Precision, segment_blocks
from vaddesk.core.model import ModelInfo, model_info
from vaddesk.core.params import VadParams
from vaddesk.core.types import SAMPLE_RATE, ChannelInfo, FrameTrack, Segment
from vaddesk.export import SegmentationReport

BLOCK_MS: Final = 30_000
"""Decode in 30 s blocks: the engine is fastest on large blocks, memory stays small, and a
cancel or a progress report waits for at most one block (tens of milliseconds of work)."""


class AnalysisCancelled(Exception):
    """Raised by :func:`segment_file` when ``cancelled()`` turned true between two blocks."""


@dataclass(frozen=True, slots=True)
class SegmentedFile:
    """One file through the engine: the segments for ``params`` and the per-frame track."""

    info: AudioInfo  # as known after the whole file was read (exact length of lossy formats)
    track: FrameTrack
    segments: list[Segment]
    duration_ms: int
    envelope: PeakEnvelope | None  # when an EnvelopeBuilder was given


def segment_file(path: Path, params: VadParams, *, precision: Precision = "int8",
                 channel: int | None = None, threads: int = 1,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 envelope: EnvelopeBuilder | None = None,
                 bleed_from: int | None = None) -> SegmentedFile:
    """Decode ``path`` (downmixed, or one 0-based ``channel``) and segment it with ``params``.

    ``bleed_from``: the channel that leaks into ``channel`` (the computer audio of a two-sided
    recording, heard by the microphone through loudspeakers): the engine hears ``channel``
    through the BleedGate fed by it, as it did live; the envelope shows ``channel`` as it is.

    ``progress(done_ms, total_ms)`` is called after each block with the audio segmented so
    far and the length the header gives (an estimate for lossy formats);
    ``cancelled()`` is asked before each block and raises :class:`AnalysisCancelled`; every
    decoded block is also added to ``envelope``. Raises AudioError (a ValueError) for audio it
    cannot read, ValueError for audio the engine refuses, OSError for the file system.
    """
    with open_audio(path) as reader:

        def blocks() -> Iterator[np.ndarray]:
            if bleed_from is not None and channel is not None:
                yield from _gated_blocks(reader, channel, bleed_from, cancelled, envelope)
                return
            for block in reader.blocks_16k(block_ms=BLOCK_MS, channel=channel):
                if cancelled is not None and cancelled():
                    raise AnalysisCancelled
                if envelope is not None:
                    envelope.add(block)
                yield block

        samples_done = None
        if progress is not None:
            report_ms = progress
            total_ms = int(reader.info.duration_ms)

            def samples_done(samples: int) -> None:
                report_ms(samples * 1000 // SAMPLE_RATE, total_ms)

        result = segment_blocks(blocks(), params, precision=precision, threads=threads,
                                progress=samples_done)
        info = reader.info  # exact length now that the whole file was read
    return SegmentedFile(info, result.track, list(result.segments), int(result.duration_ms),
                         envelope.finish() if envelope is not None else None)


def _gated_blocks(reader: AudioReader, channel: int, bleed_from: int,
                  cancelled: Callable[[], bool] | None, envelope: EnvelopeBuilder | None
                  ) -> Iterator[np.ndarray]:
    """``channel`` at 16 kHz through the BleedGate fed by ``bleed_from``, in one pass."""
    gate = BleedGate()
    rate = reader.info.sample_rate
    mine, theirs = Resampler16k(rate), Resampler16k(rate)
    for block in reader.blocks_original(max(1, rate * BLOCK_MS // 1000)):
        if cancelled is not None and cancelled():
            raise AnalysisCancelled
        a = mine.process(to_mono(block, channel))
        b = theirs.process(to_mono(block, bleed_from))
        if envelope is not None:
            envelope.add(a)
        out = gate.process(a, b)
        if out.size:
            yield out
    a, b = mine.finish(), theirs.finish()
    if envelope is not None and a.size:
        envelope.add(a)
    tail = np.concatenate((gate.process(a, b), gate.flush()))
    if tail.size:
        yield tail


@lru_cache(maxsize=2)
def model_of(precision: Precision) -> ModelInfo:
    """The shipped model for ``precision`` (verified once per process: it hashes the file)."""
    return model_info(precision)


def file_report(info: AudioInfo, model: ModelInfo, preset: str, params: VadParams,
                segments: Sequence[Segment], channel: int | None,
                channels: tuple[ChannelInfo, ...] = (),
                confidences: Sequence[SegmentConfidence] | None = None) -> SegmentationReport:
    """What the exporters write for one file's segments (the same for CLI, GUI and live);
    ``channels``: one entry per channel analysed on its own (else derived from ``channel``);
    ``confidences``: one per segment when the frame scores are at hand."""
    return SegmentationReport(source=info, model=model, preset=preset, params=params,
                              segments=list(segments), channel=channel, channels=channels,
                              confidences=None if confidences is None else list(confidences))
