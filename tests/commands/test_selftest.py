"""`vaddesk --self-test` from the source tree: passes on the shipped models, and fails with a
message naming the file when a model was damaged, replaced or removed.

Run as a subprocess, the way a user runs it; the models folder is redirected to a copy through
VADDESK_MODELS_DIR (read by vaddesk.paths) so the real models are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from vaddesk import paths
from vaddesk.core.model import load_manifest, sha256_file

REPO = Path(__file__).resolve().parents[2]


def _run_self_test(tmp_path: Path, models: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VADDESK_LOG_DIR=str(tmp_path / "log"))
    if models is not None:
        env["VADDESK_MODELS_DIR"] = str(models)
    return subprocess.run(
        [sys.executable, "-m", "vaddesk", "--self-test"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


def _expected_lines() -> list[str]:
    data = json.loads(paths.resource("sample", "sample.expected.json").read_text("utf-8"))
    lines = []
    for precision in ("int8", "fp32"):
        segments = data["precisions"][precision]["segments_ms"]
        spans = ", ".join(f"{start}-{end}" for start, end in segments)
        lines.append(f"ok    {precision} segments: {len(segments)} segments as expected "
                     f"({spans} ms)")
    return lines


def _models_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(paths.models_dir(), copy)
    return copy


def test_expected_segments_cover_the_placed_phrases() -> None:
    # The stored expectation is only as good as its review: each phrase espeak-ng placed in the
    # sample lies inside exactly one segment, and the pause between them is outside all of them.
    sample = paths.resource("sample")
    layout = json.loads((sample / "sample.layout.json").read_text("utf-8"))
    expected = json.loads((sample / "sample.expected.json").read_text("utf-8"))
    (first_start, first_end), (second_start, second_end) = layout["speech_spans_ms"]
    for precision in ("int8", "fp32"):
        segments = expected["precisions"][precision]["segments_ms"]
        assert len(segments) == 2, precision
        (a_start, a_end), (b_start, b_end) = segments
        assert a_start <= first_start and first_end <= a_end, precision
        assert b_start <= second_start and second_end <= b_end, precision
        assert a_end < b_start, precision


def test_manifest_lists_every_model_file_with_its_checksum() -> None:
    files = load_manifest(paths.models_dir())
    for name in ("fsmn-vad-int8.onnx", "fsmn-vad-fp32.onnx", "am.mvn"):
        assert files[name]["sha256"] == sha256_file(paths.models_dir() / name), name


def test_self_test_passes_from_source(tmp_path: Path) -> None:
    done = _run_self_test(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for expected in _expected_lines():
        assert any(line.startswith(expected) for line in lines), (expected, done.stdout)
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    assert f"ok    frontend: compiled exact fbank (_fbank{ext})" in lines, done.stdout
    assert lines[-1] == "self-test passed: 7 checks"
    # The run is in the log file too.
    assert "self-test ok int8 segments" in (tmp_path / "log" / "vaddesk.log").read_text("utf-8")


def test_tampered_model_fails_with_a_clear_message(tmp_path: Path) -> None:
    models = _models_copy(tmp_path)
    model = models / "fsmn-vad-int8.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    model.write_bytes(bytes(data))

    done = _run_self_test(tmp_path, models)

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1, done.stdout
    expected = load_manifest(models)["fsmn-vad-int8.onnx"]["sha256"]
    assert failing[0].startswith(
        f"FAIL  int8 model file: model file {model} is damaged or was replaced: sha256 is "
        f"{sha256_file(model)}, expected {expected}."
    ), failing[0]
    assert failing[0].endswith("(reinstall vaddesk)")
    # The other model is still checked and still passes.
    assert any(line.startswith("ok    fp32 segments:") for line in lines), done.stdout
    assert lines[-1] == "self-test FAILED: 1 of 6 checks"


def test_missing_model_fails_with_a_clear_message(tmp_path: Path) -> None:
    models = _models_copy(tmp_path)
    (models / "fsmn-vad-fp32.onnx").unlink()

    done = _run_self_test(tmp_path, models)

    assert done.returncode == 1, done.stdout + done.stderr
    failing = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1, done.stdout
    assert failing[0].startswith("FAIL  fp32 model file: "), failing[0]
    assert "fsmn-vad-fp32.onnx" in failing[0] and "missing" in failing[0].lower(), failing[0]
