"""The prebuilt place index: built once into the cache folder, reused, rebuilt for new data, never half-written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from aggregator import places
from aggregator.placeindex import CACHE_VARIABLE, open_index


def build_counter(calls: list[int]) -> Callable[[sqlite3.Connection], None]:
    def build(db: sqlite3.Connection) -> None:
        calls.append(1)
        db.execute("CREATE TABLE words (word TEXT PRIMARY KEY)")
        db.execute("INSERT INTO words VALUES ('rust')")

    return build


def test_an_index_is_built_once_and_rebuilt_only_for_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "cache"))
    calls: list[int] = []
    build = build_counter(calls)
    for _ in range(2):
        db = open_index("words", "1", build)
        assert db.execute("SELECT word FROM words").fetchall() == [("rust",)]
        db.close()
    assert len(calls) == 1
    open_index("words", "2", build).close()
    assert len(calls) == 2
    # Only the finished files are there: no temporary file is left behind.
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["words-1.sqlite", "words-2.sqlite"]
    with pytest.raises(sqlite3.OperationalError):
        open_index("words", "1", build).execute("INSERT INTO words VALUES ('c')")


def test_an_unwritable_cache_still_gives_a_working_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(CACHE_VARIABLE, str(blocked / "cache"))
    calls: list[int] = []
    db = open_index("words", "1", build_counter(calls))
    assert db.execute("SELECT word FROM words").fetchall() == [("rust",)]
    assert not (blocked / "cache").exists()


def test_the_place_index_knows_other_names_and_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    places._index.cache_clear()
    try:
        assert places.states_with_town("Saint Louis", "US") == {"MI", "MO"}
        assert places.states_with_town("St Louis", "US") == {"MO"}
        assert places.states_with_town("Durham", "US") >= {"NC", "NH"}
        assert places.states_with_town("Toronto", "CA") == {"ON"}
        assert places.states_with_town("Atlantis", "US") == frozenset()
        assert places.is_iso_code("DE") and places.is_iso_code("US-MO") and not places.is_iso_code("US-XX")
        assert [path.suffix for path in tmp_path.iterdir()] == [".sqlite"]
    finally:
        places._index.cache_clear()
