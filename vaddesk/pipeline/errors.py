"""Errors of a whole run (not of one file), importable without the optional Dask extra."""

from __future__ import annotations


class ClusterUnavailable(Exception):
    """The Dask scheduler cannot be reached (or refused us); nothing was processed."""
