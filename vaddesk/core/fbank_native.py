"""The compiled fbank (vaddesk/core/_fbank.c): loaded once, handed the shared tables.

_fbank.c performs the numpy replay's float32 operations (fbank_replay.py) in the same order,
several frames at a time, and calls the C library's ``logf`` as kaldi-native-fbank does, so
its log-mel energies equal kaldi-native-fbank 1.23's bit for bit (log included) at ~1 us per
frame. It is built when vaddesk is installed (setup.py). When it is missing, the frontend
falls back to the numpy replay and a warning is logged here, once.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Final

import numpy as np

from vaddesk.core.fbank_tables import KISS, NUM_MEL_BINS, TABLES, kiss_leaf_order

log = logging.getLogger(__name__)

_compiled: ModuleType | None
try:
    from vaddesk.core import _fbank as _compiled
except ImportError as exc:  # no compiler at install time: the numpy replay takes over
    _compiled = None
    log.warning("compiled fbank unavailable (%s): using the slower numpy replay", exc)


def _configured(module: ModuleType | None) -> ModuleType | None:
    """``module`` with the tables built in fbank_tables.py handed over (the C code holds no
    constants of its own beyond the frame geometry)."""
    if module is None:
        return None
    i32 = np.int32
    table = TABLES.mel_table[:, :, 0]  # (K, 80), padded with zeros
    lengths = np.count_nonzero(table, axis=0).astype(i32)  # zeros are only the padding
    module.configure(
        TABLES.window_row,
        KISS.twiddles[0],
        KISS.twiddles[1],
        np.ascontiguousarray(KISS.super_ri[0, :, 0]),
        np.ascontiguousarray(KISS.super_ri[1, :, 0]),
        kiss_leaf_order().astype(i32),
        np.ascontiguousarray(TABLES.mel_index[0], dtype=i32),
        lengths,
        np.concatenate([table[: lengths[b], b] for b in range(NUM_MEL_BINS)]),
    )
    return module


NATIVE: Final = _configured(_compiled)


def native_available() -> bool:
    """True when the compiled fbank is in use for ``fbank="exact"``."""
    return NATIVE is not None


def native_module_file() -> str | None:
    """Where the compiled fbank was loaded from (None if it is not available)."""
    return None if NATIVE is None else str(NATIVE.__file__)
