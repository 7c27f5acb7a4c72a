"""Feed bytes -> ParsedFeed (bot.ingest.parse), on the bundled sample feeds and edge cases."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import FeedError
from bot.ingest.parse import parse_feed
from bot.models import FeedItem, ParsedFeed

FEEDS = Path(__file__).resolve().parent.parent / "examples" / "feeds"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NOW = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)
NATO_TITLE = "NATO and South Korea agree to increase global cooperation"
MARKUP = re.compile(r"<[a-zA-Z/!][^>]*>|&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


def _parse(name: str) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=f"https://{name.split('.')[0]}.example/feed.xml", now=NOW)


def _nato(feed: ParsedFeed) -> FeedItem:
    [item] = [i for i in feed.items if i.title == NATO_TITLE]
    return item


def _rss(items: str, channel: str = "<title>T</title><link>https://t.example/</link>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()
    )


# --- the bundled sample feeds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "count", "ttl"),
    [
        ("pacific-wire.xml", "Pacific Wire", 4, 30),
        ("harbor-ledger.xml", "Harbor Ledger", 4, None),
        ("lakeside-courier.xml", "Lakeside Courier", 3, None),
    ],
)
def test_sample_feeds_parse_cleanly(name: str, title: str, count: int, ttl: int | None) -> None:
    assert (FEEDS / name).stat().st_size < 15_000
    feed = _parse(name)
    assert feed.title == title
    assert feed.link is not None and feed.link.startswith("https://")
    assert feed.ttl_minutes == ttl
    assert len(feed.items) == count
    assert len({i.guid for i in feed.items}) == count
    for item in feed.items:
        assert item.published is not None and item.published.utcoffset() == timedelta(0)
        assert item.published.year == 2026
        assert item.url is not None and re.match(r"https://[a-z]+\.example/\S+$", item.url), item.url
        assert "utm_" not in item.url and "fbclid" not in item.url
        assert item.title and not MARKUP.search(item.title), item.title
        assert item.text and not MARKUP.search(item.text)
        assert item.author
        for junk in ("Spread the love", "READ ALSO", "Leave a Reply", "Share this", "appeared first on", "newsletter"):
            assert junk not in item.text, (item.title, junk)
    dates = [i.published for i in feed.items if i.published is not None]
    assert dates == sorted(dates, reverse=True)


def test_rss_dates_are_converted_to_utc() -> None:
    feed = _parse("pacific-wire.xml")
    transit = next(i for i in feed.items if "bus rapid transit" in i.title)
    # <pubDate>Thu, 02 Jul 2026 18:40:00 -0700</pubDate>
    assert transit.published == datetime(2026, 7, 3, 1, 40, tzinfo=UTC)
    assert transit.published.tzinfo is UTC


def test_nato_article_cleans_to_the_same_text_in_both_feeds() -> None:
    a, b = _nato(_parse("pacific-wire.xml")), _nato(_parse("harbor-ledger.xml"))
    assert a.guid != b.guid
    assert a.url == "https://pacificwire.example/world/2026/07/03/nato-south-korea-global-cooperation/"
    assert b.url == "https://harborledger.example/world/2026/07/03/nato-south-korea-cooperation/"
    assert a.published != b.published
    for item in (a, b):
        for junk in (
            "Spread the love",
            "READ ALSO",
            "Leave a Reply",
            "Share this",
            "appeared first on",
            "RELATED STORIES",
            "newsletter",
            "Harbor Ledger",
            "By ",
            "figcaption",
            "file photo",
            "Twitter",
        ):
            assert junk not in item.text, junk
        assert item.text.startswith("NATO and South Korea have agreed to increase global cooperation.")
        assert item.text.endswith("the 20th anniversary of the September 11, 2001 terrorist attacks.")
        assert "Kim Kyung-hyup, chairman of South Korea’s National Assembly’s Intelligence Committee" in item.text
        assert item.text.count("\n\n") == 11  # the 12 paragraphs of the article
    assert " ".join(a.text.split()) == " ".join(b.text.split())


def test_syndicated_copy_has_the_originals_canonical_url() -> None:
    original = next(i for i in _parse("pacific-wire.xml").items if "bus rapid transit" in i.title)
    copy = next(i for i in _parse("harbor-ledger.xml").items if "bus rapid transit" in i.title)
    assert copy.guid != original.guid
    assert copy.url == original.url
    assert copy.url == "https://pacificwire.example/local/2026/07/02/harbor-city-council-bus-rapid-transit/"
    assert "Read more" not in copy.text


def test_atom_feed_resolves_xml_base_and_strips_title_markup() -> None:
    feed = _parse("lakeside-courier.xml")
    assert feed.link == "https://lakesidecourier.example/"
    by_id = {i.guid.rsplit(":", 1)[1]: i for i in feed.items}
    assert by_id["schools/1187"].url == (
        "https://lakesidecourier.example/schools/2026/07/millbrook-school-garden-award"
    )
    assert by_id["council/1172"].url == "https://lakesidecourier.example/council/2026/07/lakeshore-parking-vote-delayed"
    fair = by_id["events/1179"]
    assert fair.title == "Bakers & brewers fill Market Square for the Lakeside summer fair"
    assert fair.author == "Tomás Reyes"
    assert "Lakeside Traders’ Association" in fair.text
    assert "Facebook" not in fair.text
    # no <published>: the <updated> date is used
    assert fair.published == datetime(2026, 7, 2, 16, 30, tzinfo=UTC)
    # xhtml content is read as HTML
    assert by_id["council/1172"].text.count("\n\n") == 1


# --- documents that are not feeds ----------------------------------------------------------


def test_html_page_is_refused_with_a_pointer_to_its_feed() -> None:
    page = (
        b"<!DOCTYPE html>\n<html><head><title>Pacific Wire</title>"
        b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed/">'
        b"</head><body><h1>News</h1><p>Hello</p></body></html>"
    )
    with pytest.raises(FeedError) as err:
        parse_feed(page, url="https://pacificwire.example/news", now=NOW)
    assert err.value.url == "https://pacificwire.example/news"
    assert "web page (HTML), not a feed" in err.value.problem
    assert "https://pacificwire.example/feed/" in err.value.problem


def test_html_page_without_feed_link_suggests_where_to_look() -> None:
    with pytest.raises(FeedError, match=r"web page \(HTML\).*RSS or Atom link"):
        parse_feed(b"<html><body><p>Hi</p></body></html>", url="https://a.example/", now=NOW)
    # the Content-Type header alone is enough to tell
    with pytest.raises(FeedError, match=r"web page \(HTML\)"):
        parse_feed(b"<p>oops", url="https://a.example/", now=NOW, headers={"Content-Type": "text/html"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe garbage", "not an RSS or Atom feed"),
        (b"Internal Server Error", "not an RSS or Atom feed"),
        (b'<?xml version="1.0"?><error>rate limited</error>', "not an RSS or Atom feed"),
        (b"", "empty body"),
        (b"  \n ", "empty body"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "JSON Feed"),
        (b'<rss version="2.0"><channel><item><title>cut off', "too malformed"),
    ],
)
def test_non_feeds_raise_feed_error(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message) as err:
        parse_feed(data, url="https://a.example/feed", now=NOW)
    assert str(err.value).startswith("https://a.example/feed: ")


def test_valid_empty_feed_is_not_an_error() -> None:
    feed = parse_feed(_rss(""), url="https://t.example/feed", now=NOW)
    assert feed.items == ()
    assert feed.title == "T"


def test_bozo_feed_with_entries_is_accepted() -> None:
    # an unescaped "&" makes this ill-formed XML; feedparser's loose parser still reads it
    data = _rss("<item><title>Fish & chips</title><link>https://t.example/f</link></item>")
    [item] = parse_feed(data, url="https://t.example/feed", now=NOW).items
    assert item.title == "Fish & chips"
    assert item.url == "https://t.example/f"


# --- item fields -------------------------------------------------------------------------


def test_item_without_date_link_or_title() -> None:
    data = _rss(
        "<item><title>Dated</title><link>/d</link><pubDate>Wed, 01 Jul 2026 10:00:00 GMT</pubDate></item>"
        "<item><description>&lt;p&gt;The harbour reopened on Monday after a week of repairs to the "
        "breakwater, officials said.&lt;/p&gt;</description></item>"
    )
    first = parse_feed(data, url="https://t.example/feed", now=NOW)
    dated, bare = first.items
    assert dated.title == "Dated" and dated.url == "https://t.example/d" and dated.guid == "https://t.example/d"
    assert bare.url is None
    assert bare.published is None
    assert bare.author is None
    assert bare.text == "The harbour reopened on Monday after a week of repairs to the breakwater, officials said."
    assert bare.title == "The harbour reopened on Monday after a week of repairs to the breakwater…"
    assert bare.guid.startswith("urn:newsbot:sha1:")
    # the fallback GUID is stable across polls
    assert parse_feed(data, url="https://t.example/feed", now=NOW + timedelta(hours=1)).items[1].guid == bare.guid


def test_undated_items_follow_dated_ones_in_document_order() -> None:
    data = _rss(
        "<item><title>u1</title><guid>u1</guid></item>"
        "<item><title>old</title><guid>old</guid><pubDate>Mon, 29 Jun 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>u2</title><guid>u2</guid></item>"
        "<item><title>new</title><guid>new</guid><pubDate>Fri, 03 Jul 2026 10:00:00 +0200</pubDate></item>"
    )
    feed = parse_feed(data, url="https://t.example/feed", now=NOW)
    assert [i.title for i in feed.items] == ["new", "old", "u1", "u2"]


def test_near_future_dates_are_clamped_to_now_and_repeated_guids_dropped() -> None:
    data = _rss(
        "<item><title>a</title><guid>g</guid><pubDate>Sun, 05 Jul 2026 06:00:00 GMT</pubDate></item>"
        "<item><title>a again</title><guid>g</guid></item>"
    )
    [item] = parse_feed(data, url="https://t.example/feed", now=NOW).items
    assert item.title == "a"
    assert item.published == NOW


@pytest.mark.parametrize(
    "stated",
    [
        "Mon, 01 Jan 0001 00:00:00 +0000",  # Hugo and other static-site generators, for undated pages
        "Thu, 01 Jan 1970 00:00:00 GMT",  # the Unix epoch
        "1989-12-31T23:59:59Z",
        "Mon, 06 Jul 2026 12:00:01 GMT",  # just over two days ahead of NOW
        "Fri, 01 Jan 2100 00:00:00 GMT",
    ],
)
def test_placeholder_and_far_future_dates_are_undated(stated: str) -> None:
    data = _rss(f"<item><title>a</title><guid>g</guid><pubDate>{stated}</pubDate></item>")
    [item] = parse_feed(data, url="https://t.example/feed", now=NOW).items
    assert item.published is None  # ranked by when newsbot first saw it


def test_dates_from_1990_and_up_to_two_days_ahead_are_kept() -> None:
    data = _rss(
        "<item><title>a</title><guid>a</guid><pubDate>Mon, 01 Jan 1990 00:00:00 GMT</pubDate></item>"
        "<item><title>b</title><guid>b</guid><pubDate>Mon, 06 Jul 2026 12:00:00 GMT</pubDate></item>"
    )
    items = {i.title: i.published for i in parse_feed(data, url="https://t.example/feed", now=NOW).items}
    assert items == {"a": datetime(1990, 1, 1, tzinfo=UTC), "b": NOW}


def test_fallback_guid_of_a_future_dated_item_does_not_move_with_the_clock() -> None:
    data = _rss("<item><title>t</title><pubDate>Fri, 01 Jan 2027 00:00:00 GMT</pubDate></item>")
    guids = {parse_feed(data, url="https://t.example/f", now=NOW + timedelta(hours=h)).items[0].guid for h in (0, 5)}
    assert len(guids) == 1


def test_links_titles_and_authors_are_normalised() -> None:
    data = _rss(
        "<item><title>Port &lt;b&gt;reopens&lt;/b&gt; &amp;amp;\n  ferries   return</title>"
        "<link>javascript:alert(1)</link><guid isPermaLink='false'>x1</guid>"
        "<author>desk@t.example (Rosa Lindqvist)</author></item>"
        "<item><title>Relative</title><link>/local/story?utm_source=rss&amp;id=7#top</link></item>",
        channel="<title>T &amp;amp; Co</title><link>https://T.example:443</link><ttl>not a number</ttl>",
    )
    feed = parse_feed(data, url="https://feeds.t.example/rss", now=NOW)
    assert feed.title == "T & Co"
    assert feed.link == "https://t.example/"
    assert feed.ttl_minutes is None
    first, second = feed.items
    assert first.title == "Port reopens & ferries return"
    assert first.url is None
    assert first.guid == "x1"
    assert first.author == "Rosa Lindqvist"
    assert second.url == "https://t.example/local/story?id=7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("desk@t.example (Rosa Lindqvist)", "Rosa Lindqvist"),
        ("Rosa Lindqvist &lt;desk@t.example&gt;", "Rosa Lindqvist"),
        ("desk@t.example", None),
        ("  Rosa   Lindqvist ", "Rosa Lindqvist"),
    ],
)
def test_author_forms(raw: str, expected: str | None) -> None:
    data = _rss(f"<item><title>x</title><guid>1</guid><author>{raw}</author></item>")
    assert parse_feed(data, url="https://t.example/feed", now=NOW).items[0].author == expected


def test_content_type_charset_header_is_used() -> None:
    data = '<rss version="2.0"><channel><title>Café</title><item><title>Crème brûlée</title><guid>1</guid>'
    data += "</item></channel></rss>"
    feed = parse_feed(
        data.encode("iso-8859-1"),
        url="https://t.example/feed",
        now=NOW,
        headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"},
    )
    assert feed.title == "Café"
    assert feed.items[0].title == "Crème brûlée"


@pytest.mark.parametrize("ttl", ["0", "-5", ""])
def test_ttl_must_be_a_positive_integer(ttl: str) -> None:
    assert parse_feed(_rss("", channel=f"<title>T</title><ttl>{ttl}</ttl>"), url="https://t.example/f", now=NOW) == (
        ParsedFeed(title="T", link=None, items=(), ttl_minutes=None)
    )


# --- real-world smoke test (only where ../shared/data is present) ---------------------------


@pytest.mark.skipif(not (SHARED_DATA / "feeds" / "realworld").is_dir(), reason="needs ../shared/data/feeds")
def test_realworld_feeds_smoke() -> None:
    root = SHARED_DATA / "feeds" / "realworld"
    with (root / "MANIFEST.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    parsed = refused = 0
    for row in rows[::4]:  # a quarter of the corpus keeps this test quick
        try:
            feed = parse_feed((root / row["path"]).read_bytes(), url="https://corpus.example/feed", now=NOW)
        except FeedError as e:
            assert e.problem
            refused += 1
            continue
        parsed += 1
        for item in feed.items:
            assert item.guid
            assert item.published is None or item.published.utcoffset() == timedelta(0)
            assert item.url is None or re.match(r"https?://[^/\s]+", item.url)
            assert not re.search(r"<[a-zA-Z/][^>]*>", item.title), item.title
            assert "\n" not in item.title
    assert parsed > 40
    assert refused < parsed


def test_control_characters_never_reach_storage() -> None:
    # a real-world feed in ../shared carries NUL bytes in an entry; PostgreSQL refuses them in text
    data = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><guid>g\x01</guid>"
        b"<title>Nul&#0; title\x08</title><description>Body\x0b text&#x1b;</description></item></channel></rss>"
    )
    from datetime import UTC, datetime

    from bot.ingest.parse import parse_feed as parse

    [item] = parse(data, url="https://x.example/feed", now=datetime(2026, 1, 1, tzinfo=UTC)).items
    for value in (item.guid, item.title, item.text):
        assert not any((ord(c) < 32 and c not in "\n\t") or ord(c) == 0x7F for c in value), repr(value)
