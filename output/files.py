"""Write output files atomically, and only when their content changed; replace a whole output set at once."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

# Versions of an output folder kept besides the newest one: a reader that resolved the folder just before a
# swap can still finish reading.
KEEP_PREVIOUS = 1
VERSION_PREFIX = "v-"


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
    _sync(path.parent)
    return True


def replace_set(folder: Path, files: dict[str, bytes]) -> dict[Path, bool]:
    """Make `folder` hold exactly `files` (relative names), all at once; map each path to whether it changed.

    The set is written into a fresh version folder next to `folder`, then `folder` (a symlink to the current
    version) is switched to it with one rename: a reader or a crash sees the old set or the new one, never
    a mix. A real folder left by an older twir-events becomes the first version. Unfinished versions and
    temporary files from runs that were killed are removed.
    """
    versions = folder.parent / f".{folder.name}.versions"
    versions.mkdir(parents=True, exist_ok=True)
    current = _current_version(folder, versions)
    changed = {folder / name: _read(current / name if current else None) != data for name, data in files.items()}
    if current is None or any(changed.values()) or _names(current) != set(files):
        fresh = Path(tempfile.mkdtemp(prefix=VERSION_PREFIX, dir=versions))
        paths = {name: fresh / name for name in files}
        for parent in {path.parent for path in paths.values()}:
            parent.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            _write_new(paths[name], data)
        # Synced once all are written, so the file system commits them together rather than one by one.
        for path in paths.values():
            _sync(path)
        fresh.chmod(0o755)
        _sync(versions)
        _point(folder, fresh)
        current = fresh
    _clean(folder, versions, current)
    return changed


def _current_version(folder: Path, versions: Path) -> Path | None:
    """The version folder `folder` shows now; a plain folder is moved in as a version first."""
    if folder.is_symlink():
        target = folder.resolve()
        return target if target.is_dir() else None
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise NotADirectoryError(f"output folder {folder} is a file")
    # Once only: from here on `folder` is a symlink. Readers miss it for the moment between two renames.
    moved = Path(tempfile.mkdtemp(prefix=VERSION_PREFIX, dir=versions))
    moved.rmdir()
    folder.rename(moved)
    _point(folder, moved)
    return moved


def _point(folder: Path, target: Path) -> None:
    """Switch the symlink `folder` to `target` atomically (a new link renamed over the old one)."""
    link = folder.parent / f".{folder.name}.{os.getpid()}.link.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(target, folder.parent), target_is_directory=True)
    link.replace(folder)
    _sync(folder.parent)


def _clean(folder: Path, versions: Path, current: Path) -> None:
    """Remove versions older than the previous one, and temporary files that killed runs left behind."""
    for temp in folder.parent.glob(f".{folder.name}.*.link.tmp"):
        temp.unlink(missing_ok=True)
    older = sorted(
        (path for path in versions.iterdir() if path != current and path.name.startswith(VERSION_PREFIX)),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for path in older[KEEP_PREVIOUS:]:
        shutil.rmtree(path, ignore_errors=True)
    for kept in (current, *older[:KEEP_PREVIOUS]):
        for temp in kept.rglob(".*.tmp"):
            temp.unlink(missing_ok=True)


def _names(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _write_new(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o644)


def _sync(path: Path) -> None:
    """Put a file's data, or a folder's entries, on disk (a rename is durable only once its folder is synced)."""
    fd = os.open(path, os.O_RDONLY)
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
