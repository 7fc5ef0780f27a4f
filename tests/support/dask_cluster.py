"""A real Dask cluster on 127.0.0.1 for the tests: `dask scheduler` + `dask worker` processes.

Started as plain processes (free ports picked here), each stopped by its PID. Workers run
without a nanny, so a worker's PID is the process that runs the tasks (SIGKILL kills it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@dataclass
class LocalCluster:
    address: str
    logs: Path
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the process)
        proc = subprocess.Popen(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--no-dashboard",
             "--no-nanny", "--name", name, "--host", "127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, env=env())
        self.workers[name] = proc
        return proc

    def wait_workers(self, count: int, timeout_s: float = 30.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout_s)

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in [*self.workers.values(), self.scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def local_cluster(logs: Path, workers: int) -> Iterator[LocalCluster]:
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(logs / "scheduler.log", "wb")  # noqa: SIM115
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=log, stderr=subprocess.STDOUT, env=env())
    cluster = LocalCluster(f"tcp://127.0.0.1:{port}", logs, scheduler)
    try:
        deadline = time.monotonic() + 20
        while True:  # the scheduler listens before workers can join
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or scheduler.poll() is not None:
                raise RuntimeError((logs / "scheduler.log").read_text())
            time.sleep(0.1)
        for i in range(workers):
            cluster.add_worker(f"w{i + 1}")
        cluster.wait_workers(workers)
        yield cluster
    finally:
        cluster.stop()
