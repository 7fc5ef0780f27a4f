"""Hatchling build hook: compile the exact fbank (vaddesk/core/_fbank.c) into the package.

The C file reproduces kaldi-native-fbank's float32 arithmetic bit for bit, which only holds
without -ffast-math and without fused multiply-adds, so the flags are fixed here rather than
left to the environment. A machine without a C compiler still gets a working (pure-Python)
vaddesk: the frontend then falls back to its numpy replay and logs a warning. Set
VADDESK_REQUIRE_NATIVE=1 to make a failed compile fail the install (CI does).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("vaddesk/core/_fbank.c")
# -O3 vectorises the elementwise loops (each float32 operation still rounds on its own);
# -ffp-contract=off forbids a*b+c -> fma, which would skip a rounding.
CFLAGS = ["-O3", "-fPIC", "-shared", "-std=c99", "-ffp-contract=off", "-fno-fast-math"]


def compile_extension(root: Path, out_dir: Path) -> Path:
    """Build the extension into ``out_dir``; returns the module file."""
    src = root / SOURCE
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    out = out_dir / ("_fbank" + suffix)
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    cmd = [*cc, *CFLAGS, f"-I{include}", str(src), "-o", str(out), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


class CustomBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        # An editable install imports the module from the source tree, so it is built there;
        # a wheel gets it from a scratch folder (the source tree may be read-only, and a stale
        # copy there could shadow a later build).
        root = Path(self.root)
        editable = version == "editable"
        out_dir = (root / SOURCE).parent if editable else Path(tempfile.mkdtemp(prefix="vaddesk-"))
        try:
            out = compile_extension(root, out_dir)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            if os.environ.get("VADDESK_REQUIRE_NATIVE") == "1":
                raise RuntimeError(f"compiling {SOURCE} failed: {detail}") from exc
            self.app.display_warning(
                f"compiling {SOURCE} failed ({detail.strip()[:300]}); vaddesk will use its "
                "slower numpy frontend (install a C compiler and Python headers to fix)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if not editable:
            build_data["force_include"][str(out)] = f"vaddesk/core/{out.name}"
