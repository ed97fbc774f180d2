"""A prebuilt lookup index kept as an SQLite file in the user's cache folder: built once, then opened in a millisecond.

The file's name carries the version of the data it was built from, so a new gazetteer or index layout builds
a new file. Set `TWIR_EVENTS_CACHE` to use another folder.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_VARIABLE = "TWIR_EVENTS_CACHE"


def cache_folder() -> Path:
    """Where indexes and compiled templates are kept: `$TWIR_EVENTS_CACHE`, else the platform's user cache folder."""
    if folder := os.environ.get(CACHE_VARIABLE):
        return Path(folder)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("twir-events"))


def open_index(name: str, version: str, build: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    """The index `name` at `version`, read-only; built by `build` on first use (in memory if the cache is read-only)."""
    path = cache_folder() / f"{name}-{version}.sqlite"
    if not path.exists():
        try:
            _build_file(path, build)
        except (OSError, sqlite3.Error):
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            build(memory)
            memory.commit()
            return memory
    # Shared by the fetch threads: Python's SQLite is built serialized (threadsafety 3) and the file is read-only.
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _build_file(path: Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Build into a temporary file beside `path` and move it in place, so a reader never sees half an index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        db = sqlite3.connect(temporary)
        try:
            build(db)
            db.commit()
        finally:
            db.close()
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)
