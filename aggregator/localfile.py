"""Reading a local file that must be a regular file: a FIFO or a device would block or never end."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_regular_file(path: Path) -> bytes:
    """A regular file's bytes; anything else raises OSError with a one-line reason, without blocking on it."""
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(0, f"not a regular file ({_file_kind(mode)})", str(path))
        return handle.read()


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    return next((name for test, name in kinds if test(mode)), "a socket or special file")
