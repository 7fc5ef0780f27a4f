"""The engine benchmark script runs end to end (tiny sizes; its figures are not checked here).

Speed is measured by bench/bench_engine.py, never asserted in tests; this only keeps the script
from rotting as the engine changes, and checks the one exact fact it reports on the way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_engine_smoke(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "bench_engine.py"), "--smoke",
                    "--json", str(out)], cwd=REPO, check=True, capture_output=True, timeout=600)
    figures = json.loads(out.read_text())
    # The timed FP32 run and the timed reference run agree to the millisecond.
    assert figures["offline"]["fp32_segments_equal_reference"] is True
    assert {"streaming", "network_10", "peak_rss", "stream_memory", "resegment"} <= set(figures)
    assert figures["peak_rss"]["ours-int8"]["segments"] == figures["offline"]["segments"]
