"""`newsbot inspect feed URL_OR_PATH`: fetch one feed through the same guard as polling, parse
it, and write one JSON object per article on stdout. Touches no database; errors go to `err`
with a non-zero exit code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TextIO

from bot.config import Settings
from bot.errors import FeedError, UserInputError
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import parse_feed
from bot.ingest.resolve import feed_address
from bot.ingest.urls import canonical_url
from bot.isotime import iso_utc
from bot.models import FeedItem


async def inspect_feed(target: str, settings: Settings, out: TextIO, err: TextIO) -> int:
    """Print `target`'s articles as JSON lines; returns the exit code (0 done, 1 failed)."""
    try:
        url = feed_address(target, local_files=settings.fetch.allow_local_files)
    except UserInputError as exc:
        err.write(f"newsbot: cannot inspect {target!r}: {exc}\n")
        return 1
    fetcher = Fetcher(settings.fetch)
    try:
        result = await fetcher.fetch(url)
        if result.body is None:
            raise FeedError(url, f"the server sent no body (HTTP {result.status}); try again later")
        parsed = parse_feed(result.body, url=result.url, now=datetime.now(UTC), headers=result.headers)
    except FeedError as exc:
        err.write(f"newsbot: {exc}\n")
        return 1
    finally:
        await fetcher.close()
    for item in parsed.items:
        out.write(json.dumps(article_json(item, parsed.title), ensure_ascii=False) + "\n")
    return 0


def article_json(item: FeedItem, source: str) -> dict[str, str | None]:
    published = iso_utc(item.published) if item.published else None
    return {
        "id": item.guid,
        "url": item.url,
        "canonical_url": canonical_url(item.url) if item.url else None,
        "title": item.title,
        "text": item.text,
        "published": published,
        "source": source,
    }
