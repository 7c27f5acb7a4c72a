"""Poll planning as pure functions with an injected time: intervals, jitter, cache floors, backoff,
plus the [fetch] settings that bound them and the `inspect feed` command."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import FetchSettings, settings_from_dict
from bot.errors import ConfigError
from bot.ingest import schedule
from bot.ingest.inspect import inspect_feed

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
POLICY = schedule.Policy.from_settings(FetchSettings())
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "feeds" / "pacific-wire.xml"


def test_posting_interval_follows_the_feed_within_bounds() -> None:
    hourly = [NOW - timedelta(hours=h) for h in range(1, 25)]
    assert schedule.posting_interval(hourly, NOW, POLICY) == timedelta(hours=1)
    burst = [NOW - timedelta(minutes=m) for m in range(0, 60, 2)]
    assert schedule.posting_interval(burst, NOW, POLICY) == POLICY.min_interval
    stale = [NOW - timedelta(days=30)]
    assert schedule.posting_interval(stale, NOW, POLICY) == POLICY.max_interval
    assert schedule.posting_interval([None, None], NOW, POLICY) == timedelta(minutes=30)


def test_slots_are_deterministic_spread_and_aligned() -> None:
    interval = timedelta(minutes=30)
    slots = {schedule.after_success(NOW, f"https://site{i}.example/feed", interval, None) for i in range(200)}
    assert len(slots) > 150  # spread, not all at one moment
    assert all(NOW + interval / 2 <= s < NOW + interval * 1.5 for s in slots)
    url = "https://a.example/feed"
    first = schedule.after_success(NOW, url, interval, None)
    # polled on its slot, a minute late: the next slot is exactly one interval on
    assert schedule.after_success(first + timedelta(minutes=1), url, interval, None) == first + interval
    assert schedule.after_success(NOW, url, interval, None) == first


def test_cache_headers_retry_after_and_ttl_are_floors() -> None:
    assert schedule.cache_floor({"Cache-Control": "public, max-age=3600"}, NOW, POLICY) == NOW + timedelta(hours=1)
    assert schedule.cache_floor({"cache-control": "max-age=3600", "age": "600"}, NOW, POLICY) == NOW + timedelta(
        minutes=50
    )
    assert schedule.cache_floor({"Cache-Control": "no-cache, max-age=3600"}, NOW, POLICY) is None
    expires = {"Expires": "Fri, 27 Nov 2026 09:00:00 GMT"}
    assert schedule.cache_floor(expires, NOW, POLICY) == NOW + timedelta(hours=2)
    assert schedule.cache_floor({"Cache-Control": "max-age=31536000"}, NOW, POLICY) == NOW + POLICY.max_interval
    assert schedule.cache_floor({"Expires": "0"}, NOW, POLICY) is None
    assert schedule.retry_after("120", NOW) == NOW + timedelta(minutes=2)
    assert schedule.retry_after("Fri, 27 Nov 2026 08:00:00 GMT", NOW) == NOW + timedelta(hours=1)
    assert schedule.retry_after("soon", NOW) is None
    assert schedule.retry_after("99999999", NOW) == NOW + schedule.MAX_SERVER_DELAY
    assert schedule.ttl_floor(60, timedelta(minutes=10), POLICY) == timedelta(minutes=60)
    assert schedule.ttl_floor(100000, timedelta(minutes=10), POLICY) == POLICY.max_interval
    floor = NOW + timedelta(hours=3)
    assert schedule.after_success(NOW, "https://a.example/f", timedelta(minutes=30), floor) >= floor


def test_backoff_doubles_up_to_a_day_and_pauses_after_the_limit() -> None:
    interval = timedelta(minutes=30)
    waits = [schedule.backoff(n, interval, POLICY) for n in range(1, 12)]
    assert waits[0] == interval and waits == sorted(waits) and waits[-1] == timedelta(days=1)
    when, paused = schedule.after_failure(NOW, "https://a.example/f", 3, interval, POLICY)
    assert not paused and NOW + timedelta(minutes=80) <= when <= NOW + timedelta(minutes=88)
    when, paused = schedule.after_failure(NOW, "https://a.example/f", 10, interval, POLICY)
    assert paused and when >= NOW + schedule.PAUSED_RETRY
    later = NOW + timedelta(hours=5)
    assert schedule.after_failure(NOW, "https://a.example/f", 1, interval, POLICY, later)[0] >= later


def test_fetch_settings_validate_and_keep_old_configs_working(tmp_path: Path) -> None:
    def fetch(**values: object) -> FetchSettings:
        return settings_from_dict({"fetch": values}, tmp_path / "c.toml").fetch

    assert (fetch().min_poll_minutes, fetch().max_poll_minutes, fetch().pause_after_failures) == (10, 360, 10)
    assert fetch(poll_minutes=5).min_poll_minutes == 5  # an unset bound widens
    assert fetch(poll_minutes=720).max_poll_minutes == 720
    with pytest.raises(ConfigError, match=r"fetch.poll_minutes: 5 must lie between fetch.min_poll_minutes \(10\)"):
        fetch(poll_minutes=5, min_poll_minutes=10)
    with pytest.raises(ConfigError, match=r"fetch.max_per_host: 30 is more than fetch.max_concurrency \(20\)"):
        fetch(max_per_host=30)
    with pytest.raises(ConfigError, match="fetch.pause_after_failures: 0 must be greater than 0"):
        fetch(pause_after_failures=0)
    with pytest.raises(ConfigError, match="fetch.max_concurrency: 'many' is not a whole number"):
        fetch(max_concurrency="many")


async def test_inspect_feed_writes_one_json_object_per_article(tmp_path: Path) -> None:
    settings = settings_from_dict({}, tmp_path / "c.toml")
    out, err = io.StringIO(), io.StringIO()
    assert await inspect_feed(str(EXAMPLE), settings, out, err) == 0, err.getvalue()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows and err.getvalue() == ""
    for row in rows:
        assert set(row) == {"id", "url", "canonical_url", "title", "text", "published", "source"}
        assert row["source"] == "Pacific Wire" and row["url"].startswith("https://")
        assert row["published"] is None or row["published"].endswith("Z")


async def test_inspect_feed_errors_go_to_stderr_with_a_non_zero_exit(tmp_path: Path) -> None:
    settings = settings_from_dict({"fetch": {"timeout_seconds": 2}}, tmp_path / "c.toml")
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>hello</p></body></html>")
    for target, expected in (
        (str(page), "this is a web page (HTML), not a feed"),
        ("http://127.0.0.1:9/feed", "refused: 127.0.0.1 is a loopback address"),
        ("gopher://x.example/", "unsupported scheme"),
    ):
        out, err = io.StringIO(), io.StringIO()
        assert await inspect_feed(target, settings, out, err) == 1
        assert out.getvalue() == "" and expected in err.getvalue()
