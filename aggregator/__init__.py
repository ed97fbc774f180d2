"""twir-events' core.

Every zone lookup in the process reads the installed `tzdata` package, never the operating system's copy:
one tz database for parsing, UTC conversions and the VTIMEZONEs the feed embeds.
"""

import zoneinfo

zoneinfo.reset_tzpath(to=())
zoneinfo.ZoneInfo.clear_cache()
