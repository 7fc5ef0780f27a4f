"""A pseudo-terminal for a command's stderr: what a user's terminal would have shown."""

from __future__ import annotations

import os


def read_all(master: int) -> str:
    """Everything written to the pty whose ``master`` end this is, once the writer has exited
    and the slave end is closed (then closes ``master``)."""
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # Linux: EIO once the slave side is closed and drained
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")
