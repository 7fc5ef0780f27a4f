"""The one analysis path (vaddesk.pipeline.segmenting): what it gives, and that the batch CLI
and the GUI's analysis both go through it (same segments, same track, same report)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import audio_fixtures as af
from vaddesk.audio.decode import open_audio
from vaddesk.audio.envelope import EnvelopeBuilder
from vaddesk.core.engine import model_info, segment_blocks
from vaddesk.core.presets import get_preset
from vaddesk.core.types import SAMPLE_RATE
from vaddesk.pipeline.analysis import AnalysisJob, AnalysisProgress, analyse
from vaddesk.pipeline.batch import BatchItem, BatchOptions, process_file
from vaddesk.pipeline.segmenting import (
    BLOCK_MS,
    AnalysisCancelled,
    file_report,
    model_of,
    segment_file,
)

pytestmark = pytest.mark.skipif(bool(af.tools_missing()), reason="needs espeak-ng, sox, ffmpeg")

PARAMS = get_preset("meeting").params


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spoken master, three and a half times over: 68.4 s at 16 kHz, three 30 s blocks."""
    folder = tmp_path_factory.mktemp("segmenting")
    audio = np.tile(af.master_16k(folder), 4)[:int(68.4 * SAMPLE_RATE)]
    return af.write_wav(folder / "long.wav", audio, SAMPLE_RATE, "FLOAT")


def _engine_on_small_blocks(path: Path) -> tuple[list, np.ndarray, np.ndarray]:
    """What the engine gives for the file decoded in 777 ms blocks (the engine and the decoder
    are block-size independent), the reference for segment_file."""
    with open_audio(path) as reader:
        result = segment_blocks(list(reader.blocks_16k(block_ms=777)), PARAMS)
    return result.segments, result.track.p0, result.track.energy_db


def test_segment_file_gives_the_engines_segments_track_envelope_and_progress(
        long_wav: Path) -> None:
    calls: list[tuple[int, int]] = []
    builder = EnvelopeBuilder()
    done = segment_file(long_wav, PARAMS, progress=lambda d, t: calls.append((d, t)),
                        envelope=builder)
    segments, p0, energy = _engine_on_small_blocks(long_wav)
    assert done.segments == segments and len(segments) == 12  # 3 per spoken master
    np.testing.assert_array_equal(done.track.p0, p0)
    np.testing.assert_array_equal(done.track.energy_db, energy)
    assert done.duration_ms == 68_400 and done.info.duration_ms == 68_400
    # One progress call per 30 s block, in audio milliseconds, with the header's length.
    assert calls == [(30_000, 68_400), (60_000, 68_400), (68_400, 68_400)]
    assert BLOCK_MS == 30_000
    # The envelope saw every sample: its coarsest level is the file's min/max.
    assert done.envelope is not None and done.envelope.num_samples == 68_400 * 16
    audio, _ = af.sf.read(long_wav, dtype="float32")
    coarse = done.envelope.levels[-1]
    assert float(coarse.maxs.max()) == float(np.float16(audio.max()))
    assert float(coarse.mins.min()) == float(np.float16(audio.min()))


def test_segment_file_stops_between_blocks_when_cancelled(long_wav: Path) -> None:
    calls: list[int] = []
    with pytest.raises(AnalysisCancelled):
        segment_file(long_wav, PARAMS, progress=lambda d, t: calls.append(d),
                     cancelled=lambda: len(calls) >= 1)
    assert calls == [30_000]  # the second block was never decoded
    with pytest.raises(AnalysisCancelled):
        segment_file(long_wav, PARAMS, progress=lambda d, t: calls.append(d),
                     cancelled=lambda: True)
    assert calls == [30_000]


def test_batch_and_gui_analysis_share_the_path(long_wav: Path, tmp_path: Path) -> None:
    reference = segment_file(long_wav, PARAMS)
    progress: list[AnalysisProgress] = []
    gui = analyse(AnalysisJob(1, long_wav, PARAMS), progress.append, lambda: False)
    assert gui.segments == reference.segments
    np.testing.assert_array_equal(gui.track.p0, reference.track.p0)
    assert gui.duration_ms == reference.duration_ms == 68_400
    item = BatchItem(long_wav, tmp_path, "long")
    batch = process_file(item, BatchOptions(PARAMS, "meeting"))
    assert batch.ok, batch.error
    assert batch.num_segments == len(reference.segments) == 12
    assert batch.speech_ms == sum(s.duration_ms for s in reference.segments)
    assert batch.duration_ms == 68_400


def test_file_report_names_the_verified_model(long_wav: Path) -> None:
    done = segment_file(long_wav, PARAMS, channel=0)
    report = file_report(done.info, model_of("int8"), "meeting", PARAMS, done.segments, 0)
    assert report.model == model_info("int8")
    assert model_of("int8") is model_of("int8")  # hashed once per process
    assert report.segments == done.segments and report.channel == 0
    assert report.source.duration_ms == 68_400 and report.preset == "meeting"
