"""Parse a fetched feed body (RSS 0.9x/1.0/2.0, Atom) into a `ParsedFeed`.

feedparser reads the document, with its HTML sanitiser and relative-URI rewriting off (we never
post HTML); titles, text, links and dates are normalised here. Pure: no I/O, the clock is passed
in. Raises `FeedError` for non-feeds.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.errors import FeedError
from bot.ingest.clean import clean_content, markup_to_line
from bot.ingest.urls import absolute_http_url, canonical_url
from bot.models import FeedItem, ParsedFeed

__all__ = ["parse_feed"]

_TITLE_FALLBACK_CHARS = 80
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FEED_TYPES = ("rss", "atom", "rdf", "xml", "json")
# "desk@x.example (Jane Doe)" (RSS), "Jane Doe <desk@x.example>", "Jane Doe (desk@x.example)" (feedparser's Atom).
_AUTHOR_FORMS = (
    re.compile(r"\S+@\S+\s*\((?P<name>[^()]+)\)"),
    re.compile(r"(?P<name>[^<>]+?)\s*<[^<>\s]+@[^<>\s]+>"),
    re.compile(r"(?P<name>[^()]+?)\s*\([^()\s]+@[^()\s]+\)"),
)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)


@dataclass(slots=True)
class RawEntry:
    """The fields `_item` reads of a feedparser entry (strings stripped, not yet cleaned)."""

    id: str = ""
    link: str = ""
    base: str | None = None  # the xml:base in scope at the title (else summary) element
    title: str = ""
    content: str = ""  # the first non-blank content, else the summary
    published: datetime | None = None
    author: str = ""
    author_name: str = ""


def parse_feed(data: bytes, *, url: str, now: datetime, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse `data`, fetched from `url`, into a `ParsedFeed`.

    `headers` are the HTTP response headers (their Content-Type charset decides the encoding).
    Items come newest first; items without a date follow the dated ones in document order.
    Dates later than `now` (clock skew, wrong zones) are clamped to `now` so that they cannot
    pin an item to the top of every digest. Repeated GUIDs keep their first item only, and
    entries with neither a title, text nor a link are skipped.
    Raises `FeedError` when the document is not a feed (an HTML page, an image, an error
    message) or is too broken for anything to be read from it; a malformed ("bozo") feed
    that still yields entries is accepted.
    """
    # feedparser looks headers up by lower-case name.
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    # We do not hand feedparser `url` as a Content-Location base: that made parsing ~30% slower
    # (measured), and `_item` resolves relative links against xml:base, the feed link and `url`.
    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False, response_headers=response_headers)
    feed: Mapping[str, Any] = result.get("feed") or {}
    feed_link = absolute_http_url(feed.get("link"), url)
    feed_link = canonical_url(feed_link) if feed_link else None
    entries = (_raw_entry(entry) for entry in result.get("entries") or [])
    items = _items(entries, feed_link=feed_link, document_url=url, now=now)
    if not items:
        _reject_non_feed(data, url, result, feed, response_headers)
    return _parsed(feed.get("title") or "", feed_link, items, feed.get("ttl"), url, now)


def _items(entries: Iterable[RawEntry], *, feed_link: str | None, document_url: str, now: datetime) -> list[FeedItem]:
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in entries:
        item = _item(entry, feed_link=feed_link, document_url=document_url, now=now)
        # An entry with nothing to show is what a truncated document leaves behind.
        if item.guid not in seen and (item.title or item.url):
            seen.add(item.guid)
            items.append(item)
    return items


def _parsed(
    title: str, feed_link: str | None, items: list[FeedItem], ttl: object, url: str, now: datetime
) -> ParsedFeed:
    dated = sorted((i for i in items if i.published), key=lambda i: i.published or now, reverse=True)
    undated = [i for i in items if i.published is None]
    return ParsedFeed(
        title=markup_to_line(title) or _host(feed_link or url),
        link=feed_link,
        items=(*dated, *undated),
        ttl_minutes=_ttl(ttl),
    )


def _raw_entry(entry: Mapping[str, Any]) -> RawEntry:
    """A feedparser entry reduced to the fields `_item` reads."""
    detail = entry.get("author_detail") or {}
    return RawEntry(
        id=str(entry.get("id") or ""),
        link=str(entry.get("link") or ""),
        base=_entry_base(entry),
        title=str(entry.get("title") or ""),
        content=_raw_content(entry),
        published=_date(entry),
        author=str(entry.get("author") or ""),
        author_name=str(detail.get("name") or ""),
    )


def _reject_non_feed(
    data: bytes,
    url: str,
    result: Mapping[str, Any],
    feed: Mapping[str, Any],
    headers: Mapping[str, str],
) -> None:
    """Raise `FeedError` for a document without items unless it is a valid, empty feed."""
    version = result.get("version") or ""
    problem = str(result.get("bozo_exception") or "no feed elements found")
    if not data.strip():
        raise FeedError(url, "the server sent an empty body instead of a feed; check the URL, or try later")
    if not version:
        content_type = headers.get("content-type", "").lower()
        if "html" in content_type or _HTML_START.match(data[:4096]):
            raise FeedError(url, _html_page_message(feed, url))
        if "json" in content_type or data.lstrip().removeprefix(b"\xef\xbb\xbf")[:1] == b"{":
            # feedparser 6 reads no JSON Feed; most sites that offer one also offer RSS or Atom.
            raise FeedError(
                url, "this is a JSON Feed, which newsbot cannot read yet; subscribe to the site's RSS or Atom feed"
            )
        raise FeedError(
            url,
            f"this is not an RSS or Atom feed (the parser said: {problem}); "
            "check that the URL points at the feed itself, not at a web page or a download",
        )
    if result.get("bozo") and not feed.get("title") and not feed.get("link"):
        raise FeedError(
            url,
            f"the feed is too malformed to read anything from it (the parser said: {problem}); "
            "the publisher has to fix it, or use another feed for this site",
        )


def _html_page_message(feed: Mapping[str, Any], url: str) -> str:
    # feedparser's loose parser keeps the page's <link rel="alternate"> elements: if the page
    # advertises its feed we can name it instead of making the user go and look.
    for link in feed.get("links") or []:
        kind = str(link.get("type") or "").lower()
        if link.get("rel") == "alternate" and any(t in kind for t in _FEED_TYPES):
            href = absolute_http_url(link.get("href"), url)
            if href:
                return f"this is a web page (HTML), not a feed; the page links to its feed at {href}: use that URL"
    return (
        "this is a web page (HTML), not a feed; find the site's RSS or Atom link "
        "(often /feed, /rss or /atom.xml) and subscribe to that URL instead"
    )


def _item(entry: RawEntry, *, feed_link: str | None, document_url: str, now: datetime) -> FeedItem:
    # Relative links resolve against the entry's xml:base, else the site's link (RSS item
    # links are mostly site-relative), else the URL the feed was fetched from.
    entry_base = absolute_http_url(entry.base, document_url) if entry.base else None
    base = entry_base or feed_link or document_url
    link = absolute_http_url(entry.link, base)
    url = canonical_url(link) if link else None
    text = clean_content(entry.content)
    stated = entry.published
    title = markup_to_line(entry.title) or _first_words(text)
    # The fallback GUID hashes the stated date, not the clamped one, which moves with `now`.
    guid = entry.id.strip() or url or _hash_guid(title, stated, text)
    published = plausible_date(stated, now)
    author = _author(entry.author, entry.author_name) or None
    return FeedItem(
        guid=_printable(guid),
        url=url,
        title=_printable(title),
        text=_printable(text),
        published=published,
        author=_printable(author) if author else None,
    )


EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)  # before the web: placeholders (0001-01-01, the Unix epoch)
FUTURE_SLACK = timedelta(days=2)  # beyond clock skew and time zones: a typo or a placeholder


def plausible_date(stated: datetime | None, now: datetime) -> datetime | None:
    """A feed's date if it can be true, never later than now; None ("undated") for placeholders.

    Static-site generators write "Mon, 01 Jan 0001" for undated pages, others the Unix epoch or
    a far-future date; such an item is undated, so it ranks by when newsbot first saw it.
    """
    if stated is None or stated < EARLIEST_DATE or stated > now + FUTURE_SLACK:
        return None
    return min(stated, now.astimezone(UTC))


def _printable(value: str) -> str:
    # NUL and other control bytes do occur in real feeds; PostgreSQL refuses NUL in text
    return _CONTROL.sub("", value)


def _entry_base(entry: Mapping[str, Any]) -> str | None:
    # feedparser records the in-scope xml:base on each *_detail dict; a relative xml:base is
    # relative to the document (resolved in `_item`).
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if detail and detail.get("base"):
            return str(detail["base"])
    return None


def _raw_content(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or []:
        value = content.get("value")
        if value and value.strip():
            return str(value)
    return str(entry.get("summary") or "")


def _date(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed is None:
            continue
        try:
            # feedparser's struct_time is already UTC; timegm keeps it that way.
            value = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        return value
    return None


def _author(raw_author: str, detail_name: str) -> str:
    # Parsed from the raw string: feedparser's author_detail cuts e-mail addresses at a 4-letter
    # TLD ("desk@t.example" -> "desk@t.exam", name "ple"). A bare address is not a name and
    # is not worth publishing, so it gives "".
    raw = markup_to_line(raw_author)
    if "@" not in raw:
        return raw or detail_name
    for pattern in _AUTHOR_FORMS:
        match = pattern.fullmatch(raw)
        if match:
            return match.group("name").strip()
    return ""


def _first_words(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= _TITLE_FALLBACK_CHARS:
        return line
    cut = line.rfind(" ", 0, _TITLE_FALLBACK_CHARS)
    return line[: cut if cut > 0 else _TITLE_FALLBACK_CHARS].rstrip(" ,;:") + "…"


def _hash_guid(title: str, published: datetime | None, text: str) -> str:
    # Stable across polls; the text only joins in when there is no title, so an edited body
    # under an unchanged title and date does not look like a new item.
    key = "\x1f".join((title, published.isoformat() if published else "", "" if title else text))
    return "urn:newsbot:sha1:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes if minutes > 0 else None


def _host(url: str) -> str:
    return urlsplit(url).netloc or url
