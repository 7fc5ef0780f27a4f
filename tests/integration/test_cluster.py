"""`vaddesk segment --cluster` against real `dask scheduler` / `dask worker` processes on
127.0.0.1: the same JSON as a local run, byte for byte; a worker SIGKILLed mid-run loses
nothing and duplicates nothing; the model is loaded once per worker; faults are named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.dask_cluster import REPO, LocalCluster, local_cluster
from tests.support.speech_folder import make_speech_folder

distributed = pytest.importorskip("distributed")  # the `cluster` extra; dev installs it

pytestmark = pytest.mark.integration


def vaddesk(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vaddesk", *map(str, args)],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, text=True,
                          capture_output=True, timeout=timeout, check=False)


def jsons(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    with local_cluster(tmp_path_factory.mktemp("dask"), workers=2) as c:
        yield c


def test_cluster_equals_local_and_loads_the_model_once_per_worker(
        cluster: LocalCluster, tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox / "a", 4)
    make_speech_folder(inbox / "b", 3)
    local = vaddesk("segment", inbox, "-r", "--out", tmp_path / "local", "-j", "1",
                    "--formats", "json,srt")
    assert local.returncode == 0, local.stderr
    remote = vaddesk("segment", inbox, "-r", "--out", tmp_path / "remote", "--cluster",
                     cluster.address, "--formats", "json,srt")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.startswith("7 of 7 files segmented: ")
    expected = jsons(tmp_path / "local")
    assert len(expected) == 7
    assert jsons(tmp_path / "remote") == expected
    assert len(list((tmp_path / "remote").rglob("*.srt"))) == 7
    with distributed.Client(cluster.address, set_as_default=False) as client:
        from vaddesk.pipeline.cluster import worker_sessions_loaded

        loads = client.run(worker_sessions_loaded)
    assert sorted(loads.values()) == [1, 1], loads  # 7 files, one session per worker


def test_worker_killed_mid_run_every_output_once_and_complete(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 6, repeat=60)  # ~6 min each, ~0.6 s of work each
    reference = vaddesk("segment", inbox, "--out", tmp_path / "local", "-j", "2")
    assert reference.returncode == 0, reference.stderr
    with local_cluster(tmp_path / "dask", workers=2) as cluster, \
            distributed.Client(cluster.address, set_as_default=False) as watcher:
        run = subprocess.Popen(
            [sys.executable, "-m", "vaddesk", "segment", inbox, "--out", tmp_path / "remote",
             "--cluster", cluster.address], env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim = cluster.workers["w1"]
        deadline = time.monotonic() + 60
        while True:  # kill w1 while it is running a file
            busy = {ws: tasks for ws, tasks in watcher.processing().items() if tasks}
            w1 = [ws for ws, info in watcher.scheduler_info()["workers"].items()
                  if info["name"] == "w1"]
            if w1 and busy.get(w1[0]):
                time.sleep(0.15)
                os.kill(victim.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "w1 never got a task"
            time.sleep(0.02)
        out, err = run.communicate(timeout=120)
        victim.wait()
    assert run.returncode == 0, err
    assert out.startswith("6 of 6 files segmented: "), out
    assert jsons(tmp_path / "remote") == jsons(tmp_path / "local")
    leftovers = [p.name for p in (tmp_path / "remote").iterdir() if p.suffix != ".json"]
    assert leftovers == []  # no temp file of the killed writer is left behind
    assert "w1" in (tmp_path / "dask" / "scheduler.log").read_text()


def test_unreachable_scheduler_is_named_quickly_and_nothing_is_written(tmp_path: Path) -> None:
    from tests.support.dask_cluster import free_port

    inbox = tmp_path / "in"
    make_speech_folder(inbox, 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    from vaddesk.pipeline.cluster import connect
    from vaddesk.pipeline.errors import ClusterUnavailable

    # The bound is on the connection attempt (Python's start and imports come on top of it
    # and take seconds on a loaded machine).
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match=f"cannot reach the Dask scheduler at {address}"):
        connect(address)
    assert time.monotonic() - started < 10
    result = vaddesk("segment", inbox, "--out", tmp_path / "o", "--cluster", address)
    assert result.returncode == 1
    assert f"cannot reach the Dask scheduler at {address}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_unreadable_path_fails_that_file_with_the_worker_name(cluster: LocalCluster,
                                                              tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    files = make_speech_folder(inbox, 2)
    locked = inbox / "locked"
    locked.mkdir()
    secret = locked / "secret.wav"
    secret.write_bytes(files[0].read_bytes())
    secret.chmod(0)
    if os.access(secret, os.R_OK):  # root reads anything: make it vanish instead
        secret.chmod(0o644)
        gone = inbox / "gone.wav"
        result = vaddesk("segment", *files, gone, "--out", tmp_path / "o", "--cluster",
                         cluster.address)
        bad = gone
    else:
        result = vaddesk("segment", *files, secret, "--out", tmp_path / "o", "--cluster",
                         cluster.address)
        bad = secret
    assert result.returncode == 1
    assert result.stdout.startswith("2 of 3 files segmented: ")
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith(f"  {bad}: "))
    assert "(on worker w1)" in line or "(on worker w2)" in line, line
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["call_00.json",
                                                                 "call_01.json"]


def test_missing_dask_says_what_to_install(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 1)
    blocker = tmp_path / "nodask"
    blocker.mkdir()
    (blocker / "distributed.py").write_text("raise ImportError('blocked', name='distributed')")
    result = subprocess.run(
        [sys.executable, "-m", "vaddesk", "segment", str(inbox), "--cluster", "tcp://x:1"],
        env={**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"}, text=True,
        capture_output=True, timeout=60, check=False)
    assert result.returncode == 2
    assert 'pip install "vaddesk[cluster]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_cluster_with_resume_skips_what_is_done(cluster: LocalCluster, tmp_path: Path) -> None:
    import json

    inbox = tmp_path / "in"
    make_speech_folder(inbox, 3)
    out = tmp_path / "o"
    first = vaddesk("segment", inbox, "--out", out, "--cluster", cluster.address, "--resume")
    assert first.returncode == 0, first.stderr
    times = {p.name: p.stat().st_mtime_ns for p in out.glob("call_*.json")}
    assert len(times) == 3
    (inbox / "call_03.wav").write_bytes((inbox / "call_00.wav").read_bytes())
    again = vaddesk("segment", inbox, "--out", out, "--cluster", cluster.address, "--resume")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("1 of 4 files segmented")
    assert "3 already done by an earlier run (--resume): skipped" in again.stdout
    assert {n: (out / n).stat().st_mtime_ns for n in times} == times
    doc = json.loads((out / "vaddesk-manifest.json").read_text())
    assert [e["done_count"] for e in doc["inputs"]] == [1, 1, 1, 1]
    assert not (out / ".vaddesk-receipts").exists()
