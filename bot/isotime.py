"""How newsbot writes a time for people and scripts: strict ISO 8601, four-digit year, UTC as "Z"."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(when: datetime) -> str:
    """`when` as YYYY-MM-DDTHH:MM:SSZ; a naive time is taken as UTC (the store keeps UTC)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    # isoformat pads the year to four digits, which strftime("%Y") does not do on every platform
    return aware.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
