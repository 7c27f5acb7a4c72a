"""Poll planning: when each feed is next checked. Pure functions; the clock is passed in.

A feed is checked about as often as it posts (within fetch.min/max_poll_minutes), never before
what the server asked for (Cache-Control max-age, Expires, Retry-After, RSS <ttl>), on a slot
grid offset by a hash of its URL so feeds spread out, and less often after failures.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.config import FetchSettings

RATE_WINDOW = timedelta(days=7)  # posting rate is measured over at most this much history
MAX_BACKOFF = timedelta(days=1)
PAUSED_RETRY = timedelta(days=1)  # a paused feed is still tried this often, so it can resume
MAX_SERVER_DELAY = timedelta(days=7)  # Retry-After beyond this is treated as a mistake
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True)
class Policy:
    """The scheduling bounds from the config."""

    default_interval: timedelta
    min_interval: timedelta
    max_interval: timedelta
    pause_after: int

    @classmethod
    def from_settings(cls, fetch: FetchSettings) -> Policy:
        return cls(
            default_interval=timedelta(minutes=fetch.poll_minutes),
            min_interval=timedelta(minutes=fetch.min_poll_minutes),
            max_interval=timedelta(minutes=fetch.max_poll_minutes),
            pause_after=fetch.pause_after_failures,
        )

    def clamp(self, interval: timedelta) -> timedelta:
        return max(self.min_interval, min(self.max_interval, interval))


def phase(url: str) -> float:
    """A fraction in [0, 1) fixed by the URL: where in each interval this feed's slot falls."""
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def next_slot(earliest: datetime, interval: timedelta, url: str) -> datetime:
    """The first of the feed's slots (phase + k * interval since the epoch) at or after `earliest`.

    Deterministic jitter: feeds with the same interval land at different, stable offsets,
    so a thousand feeds added together do not all fire in the same minute forever after.
    """
    step = max(interval.total_seconds(), 1.0)
    offset = phase(url) * step
    t = earliest.timestamp()
    k = -(-(t - offset) // step)  # ceiling division
    return datetime.fromtimestamp(offset + k * step, tz=UTC)


def posting_interval(published: Iterable[datetime | None], now: datetime, policy: Policy) -> timedelta:
    """How often to check a feed, from the dates of the items it currently lists.

    The mean gap between posts over the last week (or over the span the items cover, for a busy
    feed that lists only its last few hours), clamped to the configured bounds. A feed with no
    dated items keeps the default; one with nothing recent gets the longest interval.
    """
    dates = sorted(d for d in published if d is not None and d <= now)
    if not dates:
        return policy.clamp(policy.default_interval)
    recent = [d for d in dates if now - d <= RATE_WINDOW]
    if not recent:
        return policy.max_interval
    span = max(now - recent[0], timedelta(hours=1))
    return policy.clamp(span / len(recent))


def cache_floor(headers: Mapping[str, str] | None, now: datetime, policy: Policy) -> datetime | None:
    """The earliest next check the response's Cache-Control max-age or Expires allows, if any.

    Capped at the longest interval, so a server saying "fresh for a year" cannot silence a feed.
    """
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    control = lower.get("cache-control", "")
    if "no-cache" in control.lower() or "no-store" in control.lower():
        return None
    floor: datetime | None = None
    match = _MAX_AGE.search(control)
    if match:
        age = _int(lower.get("age")) or 0
        floor = now + timedelta(seconds=max(0, int(match.group(1)) - age))
    elif "expires" in lower:
        floor = _http_date(lower["expires"])
    if floor is None or floor <= now:
        return None
    return min(floor, now + policy.max_interval)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """When a 429 or 503 said to come back: seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    seconds = _int(value)
    when = now + timedelta(seconds=seconds) if seconds is not None else _http_date(value)
    if when is None or when <= now:
        return None
    return min(when, now + MAX_SERVER_DELAY)


def ttl_floor(ttl_minutes: int | None, interval: timedelta, policy: Policy) -> timedelta:
    """The interval raised to the feed's RSS <ttl>, but never beyond the longest interval."""
    if not ttl_minutes:
        return interval
    return max(interval, min(timedelta(minutes=ttl_minutes), policy.max_interval))


def after_success(now: datetime, url: str, interval: timedelta, floor: datetime | None) -> datetime:
    """The next check after a fetch that worked (200, 304 or unchanged)."""
    # Half an interval ahead, then the next slot: a feed polled on its slot (a little late,
    # as the dispatcher runs every minute or so) is next polled one full interval later.
    earliest = now + interval / 2
    if floor is not None and floor > earliest:
        earliest = floor
    return next_slot(earliest, interval, url)


def backoff(failures: int, interval: timedelta, policy: Policy) -> timedelta:
    """The wait after `failures` consecutive failures: doubling from the shortest interval, up to a day."""
    doubled = policy.min_interval * (1 << min(failures, 30))
    return min(max(interval, doubled), max(interval, MAX_BACKOFF))


def after_failure(
    now: datetime, url: str, failures: int, interval: timedelta, policy: Policy, server_says: datetime | None = None
) -> tuple[datetime, bool]:
    """The next check after a failure, and whether the feed is now paused."""
    paused = failures >= policy.pause_after
    wait = PAUSED_RETRY if paused else backoff(failures, interval, policy)
    earliest = now + wait
    if server_says is not None and server_says > earliest:
        earliest = server_says
    # Jitter within a tenth of the wait, so feeds failing together (one host down) do not retry together.
    return earliest + wait * 0.1 * phase(url), paused


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
