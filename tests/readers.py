"""Independent feed readers for the tests, each as a fresh reader would see one feed.

Each gives `(summary, start, end, status)` per VEVENT, instants in UTC (`end` None without one), the way that
reader computes them: ical.js (Thunderbird's parser, from the embedded VTIMEZONEs), vobject (dateutil on the
embedded VTIMEZONEs) and icalendar (its own zone database for IANA names).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
import vobject

# `.ci/run` installs the npm readers here (`npm ci --prefix .ci/readers`).
NODE_READERS = Path(__file__).resolve().parents[1] / ".ci" / "readers" / "node_modules"
Occurrence = tuple[str, datetime, datetime | None, str]

_ICALJS = """
const ICAL = require(process.argv[1]);
const text = require("fs").readFileSync(0, "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(zone);
const out = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const end = vevent.hasProperty("dtend") || vevent.hasProperty("duration") ? event.endDate : null;
  return [event.summary, event.startDate.toUnixTime(), end ? end.toUnixTime() : null,
          vevent.getFirstPropertyValue("status") || "CONFIRMED"];
});
process.stdout.write(JSON.stringify(out));
"""


_ICALJS_INSTANTS = """
const ICAL = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(input.vtimezone)));
const out = input.walls.map((wall) => {
  const time = ICAL.Time.fromDateTimeString(wall);
  time.zone = zone;
  return time.toUnixTime();
});
process.stdout.write(JSON.stringify(out));
"""


# Ruby's icalendar gem (Debian's ruby-icalendar) in strict mode: it refuses what RFC 5545 does not allow.
_RUBY = """
require "icalendar"
require "json"
require "stringio"
calendar = Icalendar::Parser.new($stdin.read, true).parse.first
out = calendar.events.map do |event|
  [event.summary.to_s, event.dtstart.to_time.to_i, (event.status || "CONFIRMED").to_s]
end
print JSON.generate([calendar.events.size, out])
"""


# libical 3 (Evolution/GNOME) through its GLib binding in Debian's system Python: its restriction check.
_LIBICAL = """
import sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as ical
calendar = ical.Component.new_from_string(sys.stdin.read())
passed = ical.restriction_check(calendar)
problems = []
def walk(component):
    error = component.get_first_property(ical.PropertyKind.XLICERROR_PROPERTY)
    while error is not None:
        problems.append(ical.Component.kind_to_string(component.isa()) + ": " + error.get_xlicerror())
        error = component.get_next_property(ical.PropertyKind.XLICERROR_PROPERTY)
    child = component.get_first_component(ical.ComponentKind.ANY_COMPONENT)
    while child is not None:
        walk(child)
        child = component.get_next_component(ical.ComponentKind.ANY_COMPONENT)
walk(calendar)
print("passed" if passed and not problems else "\\n".join(problems) or "restriction check failed")
"""
SYSTEM_PYTHON = Path("/usr/bin/python3")


def vobject_read(data: bytes) -> vobject.base.Component:
    """vobject's reading of a feed; it keeps the first VTIMEZONE per TZID for the whole process, so forget them."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    return vobject.readOne(data.decode("utf-8"))


def by_vobject(data: bytes) -> set[Occurrence]:
    found = set()
    for vevent in vobject_read(data).contents.get("vevent", []):
        start = vevent.dtstart.value
        if "dtend" in vevent.contents:
            end = vevent.dtend.value
        elif "duration" in vevent.contents:
            end = start + vevent.duration.value
        else:
            end = None
        status = vevent.status.value if "status" in vevent.contents else "CONFIRMED"
        found.add((vevent.summary.value, _utc(start), _utc(end) if end is not None else None, status))
    return found


def by_icalendar(data: bytes) -> set[Occurrence]:
    found = set()
    for vevent in icalendar.Calendar.from_ical(data).walk("VEVENT"):
        has_end = "DTEND" in vevent or "DURATION" in vevent
        status = str(vevent.get("STATUS", "CONFIRMED"))
        found.add((str(vevent["SUMMARY"]), _utc(vevent.start), _utc(vevent.end) if has_end else None, status))
    return found


def by_icaljs(data: bytes) -> set[Occurrence]:
    found = set()
    for summary, start, end, status in json.loads(_icaljs(_ICALJS, data)):
        # An all-day date is midnight UTC to ical.js, as `_utc` makes it for the other readers.
        last = datetime.fromtimestamp(end, UTC) if end is not None else None
        found.add((summary, datetime.fromtimestamp(start, UTC), last, status))
    return found


def icaljs_instants(vtimezone: bytes, walls: list[str]) -> list[datetime]:
    """What ical.js makes of `DTSTART;TZID=...:<wall>` under one VTIMEZONE, for each `YYYY-MM-DDTHH:MM:SS`."""
    data = json.dumps({"vtimezone": vtimezone.decode(), "walls": walls}).encode()
    return [datetime.fromtimestamp(seconds, UTC) for seconds in json.loads(_icaljs(_ICALJS_INSTANTS, data))]


def _icaljs(script: str, data: bytes, *arguments: str) -> str:
    node = shutil.which("node")
    module = NODE_READERS / "ical.js" / "dist" / "ical.es5.cjs"
    if node is None or not module.exists():
        pytest.skip("ical.js is not installed (.ci/run installs node and the npm readers)")
    done = subprocess.run(
        [node, "-e", script, str(module), *arguments], input=data, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


def by_ruby_strict(data: bytes) -> set[tuple[str, datetime, str]]:
    """`(summary, start, status)` per VEVENT as Ruby's icalendar gem reads the feed in strict mode."""
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (.ci/run installs Debian's ruby-icalendar)")
    done = subprocess.run([ruby, "-e", _RUBY], input=data, capture_output=True, timeout=120)
    if b"cannot load such file -- icalendar" in done.stderr:
        pytest.skip("Ruby's icalendar gem is not installed (.ci/run installs Debian's ruby-icalendar)")
    assert done.returncode == 0, f"Ruby's icalendar (strict) refused the feed: {done.stderr.decode()[-600:]}"
    _, events = json.loads(done.stdout)
    return {(summary, datetime.fromtimestamp(start, UTC), status) for summary, start, status in events}


def libical_problems(data: bytes) -> str:
    """ "passed", or what libical's parser and iTIP restriction check object to."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no system Python for libical's GLib binding")
    done = subprocess.run([str(SYSTEM_PYTHON), "-c", _LIBICAL], input=data, capture_output=True, timeout=120)
    if b"No module named 'gi'" in done.stderr or b"Namespace ICalGLib not available" in done.stderr:
        pytest.skip("libical's GLib binding is not installed (.ci/run installs python3-gi gir1.2-ical-3.0)")
    assert done.returncode == 0, done.stderr.decode()[-600:]
    return done.stdout.decode().strip()


def _utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        raise AssertionError(f"floating time {value} in the feed")
    return value.astimezone(UTC)


def as_utc_range(start: date | datetime, end: date | datetime | None) -> tuple[datetime, datetime | None]:
    """An event's instants as the readers report them: all-day dates as midnight UTC."""
    return _utc(start), _utc(end) if end is not None else None
