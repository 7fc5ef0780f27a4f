"""The compiled fbank's two kernels give the same bits.

_fbank.c holds one kernel source compiled twice: a GCC/Clang vector kernel (four frames at a
time, one per lane) and a portable scalar kernel (one frame at a time), which is all a
compiler without GCC vector extensions (MSVC) builds. The numbers must not depend on which
one ran: every comparison here is bit for bit, on real speech (the bundled sample).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf

from vaddesk import paths
from vaddesk.core import fbank_native
from vaddesk.core.fbank_replay import frames_view, log_fbank
from vaddesk.core.frontend import load_cmvn

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    samples, rate = sf.read(paths.resource("sample", "sample.wav"), dtype="float32")
    assert rate == 16_000 and samples.ndim == 1
    return np.ascontiguousarray(samples)


def _run(
    fn: object, samples: np.ndarray, n: int, cmvn: bool
) -> tuple[np.ndarray, np.ndarray]:
    mel = np.full((n, 80), np.nan, dtype=np.float32)
    energy = np.full(n, np.nan, dtype=np.float64)
    args: list[object] = [samples, n, mel, energy]
    if cmvn:
        shift, scale = load_cmvn(paths.model_file("am.mvn"))
        args += [np.ascontiguousarray(shift[:80]), np.ascontiguousarray(scale[:80])]
    fn(*args)  # type: ignore[operator]
    return mel, energy


def _assert_same_bits(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(a[0].view(np.int32), b[0].view(np.int32))
    np.testing.assert_array_equal(a[1].view(np.int64), b[1].view(np.int64))


def _native() -> ModuleType:
    native = fbank_native.NATIVE
    assert native is not None, "the compiled fbank is not built"
    assert hasattr(native, "fbank_scalar"), (
        f"{native.__file__} was built from an older _fbank.c: rebuild it "
        "(python setup.py build_ext --inplace --force)"
    )
    return native


def test_this_build_has_the_vector_kernel() -> None:
    # GCC or Clang (Linux, macOS): fbank() runs four frames per step, else the comparisons
    # below would compare the scalar kernel with itself. MSVC (Windows) has no GCC vector
    # extensions and builds the scalar kernel only.
    expected_lanes = 1 if sys.platform == "win32" else 4
    lanes = _native().SIMD_LANES
    assert lanes == expected_lanes


@pytest.mark.parametrize("cmvn", [False, True])
def test_scalar_kernel_equals_vector_kernel(speech: np.ndarray, cmvn: bool) -> None:
    native = _native()
    n = 1 + (speech.shape[0] - 400) // 160
    vector = _run(native.fbank, speech, n, cmvn)
    scalar = _run(native.fbank_scalar, speech, n, cmvn)
    _assert_same_bits(vector, scalar)
    assert not np.isnan(vector[0]).any() and not np.isnan(vector[1]).any()
    # ... and both are the fbank: the numpy replay agrees up to its one-ulp logs
    if not cmvn:
        replay = log_fbank(frames_view(speech, n)).T
        np.testing.assert_array_max_ulp(vector[0], replay, maxulp=1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 9])
def test_partly_filled_lanes(speech: np.ndarray, n: int) -> None:
    """Blocks that do not fill the last vector (n not a multiple of 4) give the same rows as
    the scalar kernel, and the same rows as a longer block."""
    native = _native()
    clip = np.ascontiguousarray(speech[16_000 : 16_000 + 400 + 160 * (n - 1)])
    vector = _run(native.fbank, clip, n, True)
    _assert_same_bits(vector, _run(native.fbank_scalar, clip, n, True))
    longer = _run(native.fbank, np.ascontiguousarray(speech[16_000:]), 12, True)
    _assert_same_bits(vector, (longer[0][:n], longer[1][:n]))


def _load_extension(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_fbank", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scalar_only_build_gives_the_same_bits(speech: np.ndarray, tmp_path: Path) -> None:
    """The build a compiler without vector extensions makes (VADDESK_FBANK_SCALAR=1: no
    vector kernel compiled at all) equals this build bit for bit."""
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "-b", str(tmp_path / "lib"),
         "-t", str(tmp_path / "tmp")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, VADDESK_FBANK_SCALAR="1", VADDESK_REQUIRE_NATIVE="1"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    built = list((tmp_path / "lib").rglob("_fbank*"))
    assert len(built) == 1, built
    scalar_build = fbank_native._configured(_load_extension(built[0]))
    assert scalar_build is not None and scalar_build.SIMD_LANES == 1
    n = 1 + (speech.shape[0] - 400) // 160
    expected = _run(_native().fbank, speech, n, True)
    _assert_same_bits(_run(scalar_build.fbank, speech, n, True), expected)
