"""The seed digest end to end: bundled feeds -> store -> digest -> console, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Settings
from bot.errors import PostError
from tests.conftest import FixedClock
from tests.fakes import FlakyAdapter

GOLDEN = Path(__file__).parent / "data" / "seed_digest.txt"
BOILERPLATE = ("Spread the love", "READ ALSO", "Leave a Reply", "Share this", "appeared first on", "Newsletter")


async def run_once(settings: Settings, clock: FixedClock) -> tuple[str, list[str]]:
    out = io.StringIO()
    app = App.open(settings, clock=clock, stream=out)
    try:
        report = await app.poll()
        assert report.failed == 0, report.errors
        outcomes = await app.digest_all()
    finally:
        await app.close()
    return out.getvalue(), [f"{o.channel}: {o.status} {o.stories} {o.message}".strip() for o in outcomes]


async def test_seed_digest_matches_golden_and_second_run_posts_nothing(
    demo_settings: Settings, clock: FixedClock
) -> None:
    text, outcomes = await run_once(demo_settings, clock)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert outcomes == ["console:#news: posted 8"]

    # the NATO story is there once, clean, with its key entities in bold
    assert text.count("agree to increase global cooperation") == 1
    for phrase in BOILERPLATE:
        assert phrase not in text
    nato = next(block for block in text.split("\n  │ ") if "global cooperation" in block)
    for entity in ("NATO", "South Korea", "Kim Kyung-hyup", "Stian Jenssen"):
        assert f"**{entity}**" in text.split("\n  │ 2.")[0], entity
    assert "also covered by Harbor Ledger" in text
    assert "utm_" not in text and nato

    clock.advance(minutes=5)
    again, outcomes = await run_once(demo_settings, clock)
    assert again == ""
    assert outcomes == ["console:#news: empty 0 nothing new since the last digest (2026-11-27T07:00:00Z)"]


@pytest.mark.parametrize("error", [PostError("not_in_channel"), RuntimeError("process killed")])
async def test_a_crash_mid_thread_resumes_with_the_missing_stories_only(
    demo_settings: Settings, clock: FixedClock, error: Exception
) -> None:
    flaky = FlakyAdapter(fail_on=4, error=error)  # parent, story 1, story 2, then the failure
    app = App.open(demo_settings, clock=clock, adapters={"console": flaky})
    await app.poll()
    if isinstance(error, PostError):
        outcomes = await app.digest_all()
        assert [o.status for o in outcomes] == ["failed"]
        assert "not_in_channel" in outcomes[0].message
    else:
        with pytest.raises(RuntimeError):
            await app.digest_all()
    first = list(flaky.sent)
    assert len(first) == 3  # parent and two stories made it out

    app.adapters["console"] = healthy = FlakyAdapter()
    if isinstance(error, PostError):
        # a refused post waits a little before the digest is tried again
        clock.advance(minutes=1)
        assert next(o.status for o in await app.digest_all()) == "busy"
        assert healthy.sent == []
    clock.advance(minutes=3)
    outcomes = await app.digest_all()
    await app.close()
    assert [(o.status, o.stories) for o in outcomes] == [("resumed", 6), ("empty", 0)]
    assert healthy.sent[0] not in first  # no parent again: the thread continues
    assert not set(first[1:]) & set(healthy.sent)
    assert len(first) - 1 + len(healthy.sent) == 8  # every story exactly once
