"""`vaddesk --self-test`: is this installation (source, wheel or frozen bundle) able to work?

It checks, and prints, one line per check:
1. both model files (INT8 and FP32) exist and their sha256 matches models/manifest.json;
   the compiled exact fbank (vaddesk/core/_fbank.c) is present (without it vaddesk falls back
   to a numpy replay that is exact too but several times slower: an install or bundle bug);
2. each model loads in onnxruntime and segments the bundled sample (resources/sample/sample.wav);
3. the segments equal, to the millisecond, those stored in resources/sample/sample.expected.json
   (computed once with the engine by packaging/make_sample.py and checked by eye).

Exit status 0 when everything passed, 1 otherwise (with what is wrong on the failing lines).
The output is for a person at a terminal (or a CI log); it is also written to the log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

from vaddesk import __version__, paths

log = logging.getLogger(__name__)

PRECISIONS: Final = ("int8", "fp32")
SAMPLE_PARTS: Final = ("sample", "sample.wav")
EXPECTED_PARTS: Final = ("sample", "sample.expected.json")


class SelfTestError(Exception):
    """A check failed; the message says what is wrong in words a user can act on."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_model_file(precision: str) -> str:
    """The model file of `precision` exists and matches models/manifest.json.

    The same verification every model load does (vaddesk.core.model), so the self-test can
    never disagree with the engine; its message names the file and both hashes.
    """
    from vaddesk.core.model import ModelFileError, model_info

    try:
        info = model_info(precision)  # type: ignore[arg-type]
    except ModelFileError as exc:
        raise SelfTestError(f"{exc} (reinstall vaddesk)") from exc
    return (f"{info.name} sha256 {info.sha256[:16]}… matches the manifest "
            f"({info.size_bytes} bytes)")


def _expected_segments(precision: str) -> list[list[int]]:
    path = paths.resource(*EXPECTED_PARTS)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        segments: list[list[int]] = data["precisions"][precision]["segments_ms"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SelfTestError(f"cannot read the expected segments from {path}: {exc}") from exc
    return [[int(start), int(end)] for start, end in segments]


def _expected_model_sha(precision: str) -> str | None:
    try:
        data = json.loads(paths.resource(*EXPECTED_PARTS).read_text(encoding="utf-8"))
        return str(data["precisions"][precision]["model_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _current_model_sha(precision: str) -> str:
    from vaddesk.core.model import MODEL_FILES, sha256_file

    return sha256_file(paths.model_file(MODEL_FILES[precision]))


def _read_sample() -> Any:
    import soundfile as sf

    path = paths.resource(*SAMPLE_PARTS)
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=False)
    except Exception as exc:
        raise SelfTestError(f"cannot read the bundled sample {path}: {exc}") from exc
    if rate != 16_000 or audio.ndim != 1:
        raise SelfTestError(f"the bundled sample {path} is not 16 kHz mono")
    return audio


def check_segments(precision: str, audio: Any) -> str:
    """Segment the sample with `precision` and compare with the stored segments."""
    from vaddesk.core.engine import segment_array

    expected = _expected_segments(precision)
    started = time.perf_counter()
    try:
        result = segment_array(audio, precision=precision)  # type: ignore[arg-type]
    except Exception as exc:
        raise SelfTestError(f"the {precision} model failed: {type(exc).__name__}: {exc}") from exc
    elapsed_ms = (time.perf_counter() - started) * 1000
    found = [[s.start_ms, s.end_ms] for s in result.segments]
    if found != expected:
        hint = ""
        if _expected_model_sha(precision) not in (None, _current_model_sha(precision)):
            # A developer rebuilt the model: the stored expectation is for the old one.
            hint = (" (sample.expected.json was made with another model file: "
                    "rerun packaging/make_sample.py and check its output)")
        raise SelfTestError(f"segments {found} differ from the expected {expected}{hint}")
    spans = ", ".join(f"{start}-{end}" for start, end in found)
    return f"{len(found)} segments as expected ({spans} ms) in {elapsed_ms:.0f} ms"


def _run(name: str, check: Callable[[], str], results: list[CheckResult]) -> bool:
    try:
        detail = check()
    except SelfTestError as exc:
        results.append(CheckResult(name, False, str(exc)))
    except Exception as exc:  # an unexpected failure is still a result, never a traceback
        # INFO, not ERROR: the console already gets the line below; the log keeps the traceback.
        log.info("self-test check %r crashed", name, exc_info=True)
        results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"))
    else:
        results.append(CheckResult(name, True, detail))
    line = results[-1]
    print(f"{'ok  ' if line.ok else 'FAIL'}  {line.name}: {line.detail}", flush=True)
    log.info("self-test %s %s: %s", "ok" if line.ok else "FAILED", line.name, line.detail)
    return line.ok


def check_frontend() -> str:
    from vaddesk.core import fbank_native

    where = fbank_native.native_module_file()
    if where is None:
        raise SelfTestError(
            "the compiled fbank (vaddesk/core/_fbank.c) is missing: vaddesk works, but its "
            "feature frontend runs several times slower; reinstall with a C compiler and the "
            "Python headers (packaging/install.sh installs them)"
        )
    return f"compiled exact fbank ({Path(where).name})"


def run_self_test() -> int:
    """Run every check, print one line each; 0 if all passed, 1 otherwise."""
    from vaddesk.applog import setup_logging

    setup_logging()
    print(f"vaddesk {__version__} self-test", flush=True)
    results: list[CheckResult] = []

    def locate() -> str:
        from vaddesk.core.model import ModelFileError, load_manifest

        models = paths.models_dir()
        try:
            load_manifest(models)
        except ModelFileError as exc:
            raise SelfTestError(str(exc)) from exc
        return f"models in {models}, resources in {paths.resources_dir()}"

    if _run("files", locate, results):
        audio_holder: list[Any] = []

        def sample() -> str:
            audio_holder.append(_read_sample())
            return f"{paths.resource(*SAMPLE_PARTS).name}, {len(audio_holder[0]) / 16:.0f} ms"

        have_sample = _run("sample", sample, results)
        _run("frontend", check_frontend, results)
        for precision in PRECISIONS:
            file_ok = _run(f"{precision} model file",
                           partial(check_model_file, precision), results)
            if file_ok and have_sample:
                _run(f"{precision} segments",
                     partial(check_segments, precision, audio_holder[0]), results)

    failed = [r for r in results if not r.ok]
    if failed:
        print(f"self-test FAILED: {len(failed)} of {len(results)} checks", flush=True)
        return 1
    print(f"self-test passed: {len(results)} checks", flush=True)
    return 0
