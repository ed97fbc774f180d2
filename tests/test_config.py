"""config.toml: defaults, relative paths, and one-line errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.model import Mode
from aggregator.tomltable import ConfigError
from sources.ics import IcsSource

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults_and_resolves_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[source]]\nname = "cal"\ntype = "ics"\nurl = "data/cal.ics"\n'))
    assert config.weeks == 4
    assert config.states == ("US", "CA", "AU")
    assert config.output_dir == tmp_path.resolve() / "public"
    (spec,) = config.sources
    assert isinstance(spec.source, IcsSource)
    assert spec.source.url == (tmp_path / "data" / "cal.ics").resolve().as_uri()
    assert config.feed.past_days == 30


def test_http_and_file_urls_are_kept(tmp_path: Path) -> None:
    text = (
        '[[source]]\nname = "a"\ntype = "ics"\nurl = "https://example.org/a.ics"\n'
        '[[source]]\nname = "b"\ntype = "ics"\nurl = "file:///tmp/b.ics"\n'
    )
    urls = [spec.source.url for spec in load_config(write(tmp_path, text)).sources]  # type: ignore[attr-defined]
    assert urls == ["https://example.org/a.ics", "file:///tmp/b.ics"]


def test_groups_expand_into_one_source_each_with_overrides(tmp_path: Path) -> None:
    text = (
        '[[source]]\nname = "Feeds"\ntype = "ics"\nmode = "hybrid"\n'
        'groups = ["https://example.org/one.ics",\n'
        '  {url = "https://example.org/two/", mode = "virtual", require = "rust"}]\n'
    )
    specs = load_config(write(tmp_path, text)).sources
    assert [spec.name for spec in specs] == ["Feeds: one.ics", "Feeds: two"]
    assert [spec.mode for spec in specs] == [Mode.HYBRID, Mode.VIRTUAL]
    assert [spec.require for spec in specs] == ["", "rust"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[issue]\nweeks = 'four'\n", r"\[issue\]\.weeks: expected an integer, got 'four'"),
        ("[issue]\nweeks = 0\n", r"\[issue\]\.weeks: must be at least 1"),
        ("[issue]\nweks = 4\n", r"\[issue\]\.weks: unknown key"),
        ("[output]\ndir = 3\n", r"\[output\]\.dir: expected a string"),
        ("[[source]]\ntype = 'ics'\nurl = 'x'\n", r"source\[0\]\.name: required key is missing"),
        ("[[source]]\nname = 'x'\ntype = 'rss'\nurl = 'x'\n", r"source\[0\]\.type: unknown source type 'rss'"),
        ("[[source]]\nname = 'x'\ntype = 'ics'\n", r"source\[0\]\.url: required key is missing"),
        ("[[source]]\nname = 'x'\ntype = 'ics'\nurl = 'ftp://h/x'\n", r"source\[0\]\.url: unsupported URL scheme"),
        ("[[source]]\nname = 'x'\ntype = 'ics'\nurl = 'x'\ncolour = 1\n", r"source\[0\]\.colour: unknown key"),
        ("[[source]]\nname = 'x'\ntype = 'ics'\nurl = 'x'\nmode = 'remote'\n", r"source\[0\]\.mode: expected one of"),
        (
            "[[source]]\nname = 'x'\ntype = 'ics'\nurl = 'x'\n[[source]]\nname = 'x'\ntype = 'ics'\nurl = 'y'\n",
            "used twice",
        ),
        ("surprise = true\n", r"surprise: unknown key"),
        ("[issue\n", "not valid TOML"),
    ],
)
def test_errors_are_one_line_and_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert str(path.resolve().name) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_shipped_configs_load() -> None:
    for path in (ROOT / "config.toml", ROOT / "examples" / "demo" / "config.toml"):
        if path.exists():
            assert load_config(path).sources
