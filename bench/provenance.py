"""Where a benchmark figure comes from: the command, the commit, the date and the machine.

Every bench script that writes JSON puts ``run_provenance(...)`` under the key ``"run"``;
``bench/make_benchmarks_doc.py`` prints it beside each figure. The machine is described by what
changes the figures (CPU model, core count, OS, library versions), never by a host name or a path.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def os_name() -> str:
    """The distribution's pretty name (Linux), else platform's system and release."""
    try:
        with open("/etc/os-release") as release:
            for line in release:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def commit_of(tree: Path) -> str:
    """The tree's commit (short id), with "+changes" when vaddesk/ or the bench scripts differ
    from it (bench/out/, the results being written, does not count)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        commit = git("rev-parse", "--short=7", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", "vaddesk", "bench",
                      ":(exclude)bench/out")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if changed else "")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run_provenance(argv: list[str], tree: Path = REPO) -> dict[str, object]:
    """The record stored beside a run's figures. `tree` is the checkout whose vaddesk ran."""
    return {
        "command": " ".join(["python", *[_relative(arg) for arg in argv]]),
        "commit": commit_of(tree),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count() or 0,
            "os": os_name(),
            "python": platform.python_version(),
            "onnxruntime": _version("onnxruntime"),
            "numpy": _version("numpy"),
        },
        "load_average_start": list(os.getloadavg()),
    }


def _relative(arg: str) -> str:
    """An argument as typed from the repo root: absolute paths inside the repo made relative,
    other absolute paths (a scratch checkout, a temp file) reduced to their last component."""
    path = Path(arg)
    if not path.is_absolute():
        return arg
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return f"<{path.name}>"


if __name__ == "__main__":
    print(run_provenance(sys.argv))
