"""Write output files atomically, and only when their content changed."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` via a synced temporary file; return False when it already held `data`."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temp).chmod(0o644)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)
    return True


def remove_stale(folder: Path, keep: set[Path]) -> list[Path]:
    """Delete the files directly in `folder` that are not in `keep` (outputs of events no longer listed)."""
    if not folder.is_dir():
        return []
    stale = sorted(path for path in folder.iterdir() if path.is_file() and path not in keep)
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _sync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def update_markdown_section(path: Path, heading: str, text: str) -> None:
    """Replace the `heading` section of a markdown file (or append it), leaving every other section as it is."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text if old.strip() else text
    else:
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"#{1,2} ", lines[i])), len(lines))
        after = "".join(lines[end:])
        new = "".join(lines[:start]) + text + ("\n" + after if after else "")
    write_if_changed(path, new.encode("utf-8"))
