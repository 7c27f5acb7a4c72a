"""Values the config and the commands read the same way: times of day, weekdays, zones, feed paths.

Each raises ValueError with a message fit for users; the config prefixes it with the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def weekday(value: str) -> str | None:
    """ "mon" or "monday" (any case) -> "mon"; None for anything else ("month" is not a day)."""
    v = value.strip().lower()
    return v[:3] if v[:3] in WEEKDAYS and v in (v[:3], _LONG_WEEKDAYS[WEEKDAYS.index(v[:3])]) else None


def parse_time_of_day(value: str) -> tuple[int, int]:
    """ "08:30" -> (8, 30); raises ValueError with a message fit for users."""
    m = _TIME_RE.match(value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f'"{value}" is not a time of day (HH:MM)')
    return int(m.group(1)), int(m.group(2))


def check_timezone(value: str) -> str:
    """The IANA zone name if it exists, else ValueError naming an example."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{value}" is not an IANA time zone (for example "Europe/Brussels" or "UTC")') from None
    return value


# The demo feeds shipped with newsbot: read even with fetch.allow_local_files off, so that the
# example config (which turns local files off) still prints the demo digest.
BUNDLED_FEEDS = Path(__file__).resolve().parents[2] / "examples" / "feeds"


def is_bundled_feed(path: str | Path) -> bool:
    """True for a file inside the bundled demo feeds folder (symlinks and ".." resolved first)."""
    try:
        return Path(path).resolve().is_relative_to(BUNDLED_FEEDS)
    except (OSError, ValueError):
        return False


def resolve_feed_url(value: str, base_dir: Path, allow_local: bool) -> str:
    """An http(s) URL unchanged, or a local path made absolute against the config's folder.

    Local paths need `allow_local`, except the bundled demo feeds.
    """
    text = value.strip()
    if not text:
        raise ValueError("is empty; give an http(s) URL or a local file path")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return text
    if "://" in text and not lowered.startswith("file://"):
        raise ValueError(f'"{text}" has an unsupported scheme; only http and https feeds are fetched')
    path = Path(text.removeprefix("file://")).expanduser()
    resolved = str(path if path.is_absolute() else (base_dir / path).resolve())
    if not allow_local and not is_bundled_feed(resolved):
        raise ValueError(f'"{text}" is a local path; set fetch.allow_local_files = true to read feeds from files')
    return resolved
