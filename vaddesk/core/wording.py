"""Words shown to people that depend on a number ("1 segment", "2 segments")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`counted(1, "segment")` -> "1 segment"; `counted(3, "segment")` -> "3 segments"."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
