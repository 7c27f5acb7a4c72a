"""The parse step over every file in ../shared/data/feeds: feedparser's test corpus and real-world feeds.

Nothing may raise except FeedError (a non-feed, said plainly), nothing may hang, every field is a
str, an aware datetime or None, every link absolute http(s) or None, and no title keeps markup.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import pytest

from bot.errors import FeedError
from bot.ingest.parse import parse_feed

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
PER_FILE_SECONDS = 20
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>")
# Known defects outside the parse step's own rules, with the reason; each is reported to its owner.
KNOWN: set[str] = set()


@contextmanager
def deadline(seconds: int, what: str) -> Iterator[None]:
    """Turn a hang into a failure naming the file (SIGALRM: pytest runs tests in the main thread)."""

    def fire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"parsing {what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _headers() -> dict[str, dict[str, str]]:
    """The HTTP headers feedparser's http cases are served with, by path (their charset matters)."""
    index = FEEDS / "feedparser_tests" / "INDEX.jsonl"
    found: dict[str, dict[str, str]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case.get("headers"):
            headers = case["headers"]
            if isinstance(headers, list):
                headers = dict(h.split(":", 1) for h in headers if ":" in h)
            found["feedparser_tests/" + case["path"]] = {str(k).strip(): str(v).strip() for k, v in headers.items()}
    return found


def _markup(title: str, raw: bytes) -> bool:
    """A tag in the title is markup unless the source escaped it, i.e. wrote it as text ("the &lt;blink&gt; tag")."""
    lowered = raw.lower()
    return any(b"&lt;" + m.group(1).lower().encode() not in lowered for m in _TAG.finditer(title))


def _absolute(link: str | None) -> bool:
    return link is None or (link.startswith(("http://", "https://")) and "://" in link and " " not in link)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:feedparser")
@pytest.mark.skipif(not FEEDS.is_dir(), reason=f"{FEEDS} is absent: the shared corpora are not beside this clone")
def test_parse_step_survives_every_feed_in_the_shared_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    headers = _headers()
    files = sorted(p for p in FEEDS.rglob("*") if p.is_file())
    assert len(files) > 2000, f"expected the whole corpus under {FEEDS}, found {len(files)} files"
    started = time.perf_counter()
    problems: list[str] = []
    parsed_files = items = rejected = 0
    for path in files:
        rel = path.relative_to(FEEDS).as_posix()
        url = f"https://corpus.example/{rel}"
        raw = path.read_bytes()
        try:
            with deadline(PER_FILE_SECONDS, rel):
                feed = parse_feed(raw, url=url, now=NOW, headers=headers.get(rel))
        except FeedError as exc:
            rejected += 1
            if not exc.problem.strip():
                problems.append(f"{rel}: FeedError without a message")
            continue
        except Exception as exc:
            problems.append(f"{rel}: raised {exc!r}")
            continue
        parsed_files += 1
        if not isinstance(feed.title, str) or (_markup(feed.title, raw) and rel not in KNOWN):
            problems.append(f"{rel}: feed title {feed.title!r}")
        if not _absolute(feed.link):
            problems.append(f"{rel}: feed link {feed.link!r}")
        for item in feed.items:
            items += 1
            for name in ("guid", "title", "text"):
                if not isinstance(getattr(item, name), str):
                    problems.append(f"{rel}: {name} is {type(getattr(item, name)).__name__}")
            if not (item.author is None or isinstance(item.author, str)):
                problems.append(f"{rel}: author {item.author!r}")
            if item.published is not None and (
                not isinstance(item.published, datetime) or item.published.utcoffset() is None
            ):
                problems.append(f"{rel}: published {item.published!r} is not an aware datetime")
            if not _absolute(item.url):
                problems.append(f"{rel}: link {item.url!r} is not absolute http(s)")
            if _markup(item.title, raw) and rel not in KNOWN:
                problems.append(f"{rel}: title keeps markup: {item.title!r}")
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[corpus] read {len(files)} files under {FEEDS}: {parsed_files} parsed ({items} items), "
            f"{rejected} rejected as not feeds, {len(problems)} problems, {seconds:.1f}s"
        )
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:50])
