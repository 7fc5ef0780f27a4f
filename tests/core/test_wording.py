"""Counted nouns: "1 segment", never "1 segments"."""

from vaddesk.core.wording import counted


def test_counted() -> None:
    assert [counted(n, "segment") for n in (0, 1, 2)] == ["0 segments", "1 segment",
                                                          "2 segments"]
    assert counted(1, "file") == "1 file" and counted(5, "copy", "copies") == "5 copies"
