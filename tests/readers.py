"""Independent feed readers for the tests, each as a fresh reader would see one feed."""

from __future__ import annotations

import vobject


def vobject_read(data: bytes) -> vobject.base.Component:
    """vobject's reading of a feed; it keeps the first VTIMEZONE per TZID for the whole process, so forget them."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    return vobject.readOne(data.decode("utf-8"))
