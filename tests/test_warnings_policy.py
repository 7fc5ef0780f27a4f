"""Warnings raised by vaddesk's own code fail the tests (pyproject: filterwarnings
"error:::vaddesk"); warnings attributed to other modules stay warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


def test_a_warning_from_vaddesk_is_an_error() -> None:
    with pytest.raises(UserWarning, match="raised in vaddesk"):
        warnings.warn_explicit("raised in vaddesk", UserWarning, "vaddesk/core/engine.py", 1,
                               module="vaddesk.core.engine")
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        # numpy attributes a ufunc warning to the calling frame's module: here, vaddesk's.
        exec("np.log(np.zeros(1))", {"np": np, "__name__": "vaddesk.core.fake"})


def test_a_warning_from_elsewhere_stays_a_warning() -> None:
    with pytest.warns(UserWarning, match="raised in a library"):
        warnings.warn_explicit("raised in a library", UserWarning, "lib.py", 1, module="lib")
