"""From what a user typed to a feed: one resolution for `newsbot feeds add` and chat `subscribe`.

Both take a feed URL, a site's page (its `<link rel="alternate">` feed is used) or, where local
files are allowed, a path; both say the same things when that fails.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bot.config import resolve_feed_url
from bot.errors import FeedError, UserInputError
from bot.ingest.fetch import Fetcher
from bot.models import ParsedFeed

# "example.org" or "news.example.org/feed": a host name without its scheme
_BARE_HOST = re.compile(r"(?i)^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?(?:/\S*)?$")
_FILE_NAME = re.compile(r"(?i)^[^/]+\.(?:xml|rss|atom|rdf|json|html?|txt)$")  # "feed.xml" is a file, not a host


def feed_address(value: str, *, local_files: bool, local_refusal: str | None = None) -> str:
    """The URL (or absolute path) to fetch for `value`; UserInputError saying why not.

    `local_files` says whether a path may be read here; `local_refusal` is what to tell a user
    whose path is refused for a reason other than the setting (chat platforms never read files).
    """
    text = value.strip()
    if not text:
        raise UserInputError("Give a feed or site URL (https://...).")
    is_path = "://" not in text
    if is_path and _BARE_HOST.match(text) and not _FILE_NAME.match(text) and not Path(text).expanduser().exists():
        raise UserInputError(f'"{text}" is not a URL; did you mean https://{text} ?')
    if is_path and not local_files and local_refusal:
        raise UserInputError(f'"{text}" is a local path; {local_refusal}')
    try:
        return resolve_feed_url(text, Path.cwd(), local_files)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None


async def find_feed(fetcher: Fetcher, url: str, now: datetime) -> tuple[str, ParsedFeed]:
    """The feed at `url` (after redirects), or the first feed the web page at `url` announces."""
    # here, not at the top: the chat router imports this module, and most commands parse nothing
    from bot.ingest.discover import feed_links
    from bot.ingest.parse import parse_feed

    result = await fetcher.fetch(url)
    if result.body is None:
        raise FeedError(url, f"the server sent no body (HTTP {result.status}); try again later")
    try:
        return result.url, parse_feed(result.body, url=result.url, now=now, headers=result.headers)
    except FeedError:
        links = feed_links(result.body.decode("utf-8", "replace"), result.url)
        if not links:
            raise  # the parser's own words: an HTML page without a feed link, or not a feed at all
    feed = await fetcher.fetch(links[0])
    parsed = parse_feed(feed.body or b"", url=feed.url, now=now, headers=feed.headers)
    return feed.url, parsed


def feed_failure(exc: FeedError) -> str:
    """The one sentence both the CLI and chat use for a feed that could not be fetched or read."""
    return f"That feed did not work: {exc.problem}"


def items_line(count: int, first_items: int) -> str:
    """What the next digest brings from a newly followed feed."""
    if count == 0:
        return "It has no items yet; new ones come in the next digests."
    if count > first_items:
        return f"The next digest brings its newest {first_items} items; older ones count as read."
    return f"The next digest brings its {'item' if count == 1 else f'{count} items'}."
