"""Build script for the one compiled part of vaddesk: the exact fbank (vaddesk/core/_fbank.c).

Everything else about the package is declared in pyproject.toml; setuptools is the build
backend because its ``Extension``/``build_ext`` is the standard way to compile a CPython
extension with the platform's own compiler: GCC or Clang on Linux and macOS, MSVC on Windows,
found and configured by setuptools itself (a hand-written compiler call only knows one of
them), with the wheel tagged for the platform and ``pip install -e .`` building in place.

The flags are fixed here rather than left to the environment: the C code reproduces
kaldi-native-fbank's float32 rounding bit for bit, which only holds without fast-math and
without fused multiply-adds (-ffp-contract=off; MSVC's /fp:precise does not contract since
Visual Studio 2022). _fbank.c refuses to compile under the wrong flags.

Without a working compiler vaddesk still installs: the extension is optional, and the frontend
falls back to its numpy replay with a logged warning. VADDESK_REQUIRE_NATIVE=1 makes a failed
compile fail the install (packaging/install.sh --dev and packaging/build.sh set it).
VADDESK_FBANK_SCALAR=1 builds only the portable scalar kernel (as a compiler without GCC
vector extensions does), for checking it.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

# -O3 vectorises the elementwise loops (each float32 operation still rounds on its own);
# -ffp-contract=off forbids a*b+c -> fma, which would skip a rounding.
GCC_CLANG_FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


class BuildFbank(build_ext):
    """build_ext with the flags of the compiler setuptools picked."""

    def build_extensions(self) -> None:
        flags = MSVC_FLAGS if self.compiler.compiler_type == "msvc" else GCC_CLANG_FLAGS
        for ext in self.extensions:
            ext.extra_compile_args = [*flags, *ext.extra_compile_args]
        super().build_extensions()


# Folders shipped as data inside the package: their files, not their Python scripts (the
# model build and calibration scripts in models/ are tools of the repository).
DATA_PACKAGES = {"vaddesk._models": "models", "vaddesk._resources": "resources"}


class BuildPy(build_py):
    """build_py that copies no modules from the data-only packages."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        if package in DATA_PACKAGES:
            return []
        return list(super().find_package_modules(package, package_dir))


def _data_subpackages() -> list[str]:
    """Every folder below the data-only packages, as a package name (setuptools wants each
    importable-looking folder listed, or warns that it might be left out)."""
    names = []
    for package, folder in DATA_PACKAGES.items():
        root = Path(folder)
        for sub in sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__"):
            names.append(".".join((package, *sub.relative_to(root).parts)))
    return names


def _fbank_extension() -> Extension:
    require = os.environ.get("VADDESK_REQUIRE_NATIVE") == "1"
    scalar = os.environ.get("VADDESK_FBANK_SCALAR") == "1"
    return Extension(
        "vaddesk.core._fbank",
        sources=["vaddesk/core/_fbank.c"],
        depends=["vaddesk/core/_fbank_kernel.h"],
        define_macros=[("VADDESK_FBANK_SCALAR", "1")] if scalar else [],
        libraries=[] if os.name == "nt" else ["m"],
        optional=not require,  # a failed compile: warning, numpy fallback at run time
    )


setup(
    # The models and resources live at the top of the repository; an installed vaddesk carries
    # them inside the package (vaddesk/_models, vaddesk/_resources: see vaddesk/paths.py).
    packages=[*find_packages(include=["vaddesk", "vaddesk.*"]), *DATA_PACKAGES,
              *_data_subpackages()],
    package_dir=DATA_PACKAGES,
    package_data={
        "vaddesk._models": ["*.onnx", "*.mvn", "*.yaml", "*.json", "*.md"],
        **{name: ["*"] for name in _data_subpackages() if name.startswith("vaddesk._resources")},
        # data files beside the modules (stubs, and whatever a package keeps next to its code)
        "": ["*.pyi", "*.json", "*.html", "*.css", "*.js", "*.svg", "*.png", "*.qss", "*.txt"],
    },
    ext_modules=[_fbank_extension()],
    cmdclass={"build_ext": BuildFbank, "build_py": BuildPy},
)
