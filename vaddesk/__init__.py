"""vaddesk: find the speech in meeting recordings (FunASR FSMN-VAD, streaming INT8, on the CPU)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vaddesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
