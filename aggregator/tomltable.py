"""Typed, strict reading of TOML tables: every error names the file, the key and what is wrong."""

from __future__ import annotations

import builtins
import math
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aggregator.localfile import read_regular_file


class ConfigError(Exception):
    """A configuration (or curation/manual) file is wrong; the message is one line."""


_MISSING: Any = object()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, or raise ConfigError naming the file and what is wrong."""
    try:
        data = tomllib.loads(read_regular_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a binary file?)") from None
    return data


class Table:
    """A TOML table being read; keys are consumed as they are read and the rest are unknown."""

    def __init__(self, data: Mapping[builtins.str, Any], file: Path, where: builtins.str) -> None:
        self.data = dict(data)
        self.file = file
        self.where = where
        self._seen: set[builtins.str] = set()

    def error(self, key: builtins.str, what: builtins.str) -> ConfigError:
        at = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.file}: {at}: {what}")

    def has(self, key: builtins.str) -> bool:
        return key in self.data

    def _get(self, key: builtins.str, default: Any, kind: type | tuple[type, ...], noun: builtins.str) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "required key is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"expected {noun}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {noun}, got {value!r}")
        return value

    def str(self, key: builtins.str, default: Any = _MISSING) -> builtins.str:
        value: builtins.str = self._get(key, default, builtins.str, "a string")
        return value

    def int(
        self, key: builtins.str, default: Any = _MISSING, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value: int = self._get(key, default, int, "an integer")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value}")
        return value

    def float(
        self,
        key: builtins.str,
        default: Any = _MISSING,
        minimum: builtins.float | None = None,
        maximum: builtins.float | None = None,
    ) -> builtins.float:
        """A finite number (NaN and infinities are refused), optionally within [minimum, maximum]."""
        value = builtins.float(self._get(key, default, (int, builtins.float), "a number"))
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {value}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum:g}, got {value:g}")
        return value

    def bool(self, key: builtins.str, default: Any = _MISSING) -> bool:
        value: bool = self._get(key, default, bool, "true or false")
        return value

    def choice(self, key: builtins.str, choices: tuple[builtins.str, ...], default: Any = _MISSING) -> builtins.str:
        value = self.str(key, default)
        if value not in choices:
            raise self.error(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: builtins.str, default: Any = _MISSING) -> list[builtins.str]:
        value: list[Any] = self._get(key, default, list, "a list of strings")
        if not all(isinstance(item, builtins.str) for item in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        return list(value)

    def when(self, key: builtins.str, default: Any = _MISSING) -> date | datetime:
        """A TOML date or date-time (offset or local), or an ISO string of one."""
        value = self._get(key, default, (date, builtins.str), "a date or date-time")
        if isinstance(value, builtins.str):
            try:
                return datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            except ValueError:
                raise self.error(key, f"not an ISO date or date-time: {value!r}") from None
        parsed: date | datetime = value
        return parsed

    def table(self, key: builtins.str, default: Any = _MISSING) -> Table:
        value = self._get(key, default, dict, "a table")
        where = f"{self.where}.{key}" if self.where else key
        return Table(value, self.file, f"[{where}]" if not self.where else where)

    def tables(self, key: builtins.str) -> list[Table]:
        value = self._get(key, [], list, "an array of tables")
        if not all(isinstance(item, dict) for item in value):
            raise self.error(key, "expected an array of tables ([[...]])")
        return [Table(item, self.file, f"{key}[{i}]") for i, item in enumerate(value)]

    def finish(self) -> None:
        """Reject keys nobody read: they are typos or settings this version does not know."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.error(unknown[0], "unknown key")
