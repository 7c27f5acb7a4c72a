"""The lxml fast path of the parse step (bot.ingest.parse_fast): same results as feedparser's path,
and the documents it leaves to feedparser."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from feedparser.datetimes import _parse_date

import bot.ingest.parse as parse_module
from bot.ingest.parse import parse_feed
from bot.ingest.parse_fast import parse_date, read_feed
from bot.models import ParsedFeed
from tests.conftest import SHARED

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:feedparser")
NOW = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)
URL = "https://t.example/feed.xml"

RSS2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>Harbour &amp;amp; Hill</title><link>https://t.example/</link><ttl>45</ttl>
  <atom:link rel="self" href="https://t.example/feed.xml" type="application/rss+xml"/>
  <item>
    <title>Ferry &lt;b&gt;returns&lt;/b&gt;</title>
    <link>/local/ferry?utm_source=rss&amp;id=3</link>
    <guid isPermaLink="false">ferry-3</guid>
    <pubDate>Thu, 02 Jul 2026 18:40:00 -0700</pubDate>
    <dc:creator>Rosa Lindqvist</dc:creator>
    <description>Short summary.</description>
    <content:encoded><![CDATA[<p>The ferry is back.</p><p>Share this: Facebook</p>]]></content:encoded>
  </item>
  <item>
    <title>Undated</title>
    <guid>https://t.example/undated</guid>
    <description>&lt;p&gt;No date &amp;amp; no link: the guid is the link.&lt;/p&gt;</description>
  </item>
  <item>
    <title>From the future</title><link>https://t.example/future</link>
    <pubDate>Sun, 05 Jul 2026 06:00:00 GMT</pubDate>
  </item>
  <item>
    <title>Two authors</title><link>https://t.example/two</link>
    <author>desk@t.example (Desk)</author><dc:creator>Jane Doe</dc:creator>
    <pubDate>Wed, 01 Jul 2026 10:00:00 GMT</pubDate>
  </item>
</channel></rss>"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://r.example/"><title>RDF news</title><link>https://r.example/</link></channel>
  <item rdf:about="https://r.example/a">
    <title>First</title><link>https://r.example/a</link><dc:date>2026-07-01T09:30:00+02:00</dc:date>
    <description>Alpha.</description>
  </item>
  <item rdf:about="https://r.example/b">
    <title>Second</title><link>https://r.example/b</link><dc:date>2026-07-02</dc:date>
  </item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
      xml:base="https://a.example/blog/">
  <title type="html">Bakers &amp;amp; brewers</title>
  <id>tag:a.example,2026:feed</id>
  <link rel="alternate" type="text/html" href="https://a.example/"/>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Market <b>day</b></div></title>
    <id>tag:a.example,2026:1</id>
    <link href="posts/1"/>
    <updated>2026-07-02T16:30:00Z</updated>
    <author><name>Tomás Reyes</name><email>tr@a.example</email></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>One &amp; two.</p><p>Three.</p></div></content>
  </entry>
  <entry>
    <title>Video</title>
    <id>https://a.example/v/2</id>
    <published>2026-07-01T08:00:00.250-04:00</published>
    <media:group>
      <media:title>Video title</media:title><media:description>About the video.</media:description>
    </media:group>
  </entry>
</feed>""".encode()


def _feedparser_path(data: bytes, monkeypatch: pytest.MonkeyPatch, url: str = URL, **kwargs: object) -> ParsedFeed:
    with monkeypatch.context() as m:
        m.setattr(parse_module, "_parse_fast", lambda *a, **k: None)
        return parse_feed(data, url=url, now=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [RSS2, RDF, ATOM], ids=["rss2", "rdf", "atom"])
def test_fast_path_matches_the_feedparser_path(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_feed(data, {}) is not None
    fast = parse_feed(data, url=URL, now=NOW)
    assert fast == _feedparser_path(data, monkeypatch)
    assert fast.items


def test_rss2_fields() -> None:
    feed = parse_feed(RSS2, url=URL, now=NOW)
    assert (feed.title, feed.link, feed.ttl_minutes) == ("Harbour & Hill", "https://t.example/", 45)
    ferry = feed.items[1]
    assert ferry.title == "Ferry returns"
    assert ferry.url == "https://t.example/local/ferry?id=3"
    assert ferry.guid == "ferry-3"
    assert ferry.published == datetime(2026, 7, 3, 1, 40, tzinfo=UTC)
    assert ferry.author == "Rosa Lindqvist"
    assert ferry.text == "The ferry is back."  # content:encoded wins over the description
    assert [i.title for i in feed.items] == ["From the future", "Ferry returns", "Two authors", "Undated"]
    assert feed.items[0].published == NOW  # clamped: a few hours ahead is clock skew, not a typo
    assert feed.items[2].author == "Jane Doe"  # the last of several plain authors, as feedparser
    undated = feed.items[3]
    assert undated.url == undated.guid == "https://t.example/undated"
    assert undated.text == "No date & no link: the guid is the link."


def test_atom_fields() -> None:
    feed = parse_feed(ATOM, url=URL, now=NOW)
    assert feed.title == "Bakers & brewers"
    first, video = feed.items
    assert first.title == "Market day"
    assert first.url == "https://a.example/blog/posts/1"  # xml:base
    assert first.author == "Tomás Reyes"
    assert first.text == "One & two.\n\nThree."
    assert video.title == "Video"  # media:title only stands in for a missing title
    assert video.text == "About the video."
    assert video.published == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_leading_blank_lines_and_windows_1252_bytes_match_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    stray = RSS2.replace(b"Short summary.", b"Caf\xe9 \x93quoted\x94")  # not UTF-8
    for data in (b"\n\n" + RSS2, stray):
        assert read_feed(data, {}) is not None
        assert parse_feed(data, url=URL, now=NOW) == _feedparser_path(data, monkeypatch)


def _rss(body: str, decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{decl}<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode("latin-1")


ITEM = "<item><title>t</title><link>https://t.example/1</link></item>"


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        (_rss(ITEM).replace(b"</channel>", b""), {}),  # not well-formed
        (_rss("<item><title>Fish & chips</title></item>"), {}),  # bare ampersand
        (b"<!DOCTYPE html><html><body>hi</body></html>", {}),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', {}),
        (_rss(ITEM, '<?xml version="1.0" encoding="koi8-r"?>'), {}),  # an encoding left to feedparser
        (_rss(ITEM), {"content-type": "application/rss+xml; charset=iso-8859-1"}),  # header disagrees
        (_rss(ITEM), {"content-location": "https://elsewhere.example/"}),
        (
            _rss(
                ITEM.replace("<title>t</title>", "<title>caf&eacute;</title>"),
                '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
            ),
            {},
        ),  # entity from a DTD
        (b'<rss version="2.0"><channel><title>T</title><!DOCTYPE x [<!ENTITY a "b">]></channel></rss>', {}),
        (b'<feed xmlns="http://purl.org/atom/ns#" version="0.3"><title>old</title></feed>', {}),  # Atom 0.3
        (b'<rss version="3.0"><channel><title>T</title></channel></rss>', {}),
        (b'<opml version="1.0"><body/></opml>', {}),
        (_rss(ITEM.replace("<item>", '<item xml:base="/relative/">')), {}),
        (_rss(ITEM.replace("<title>t</title>", "<title>a <b>bold</b> move</title>")), {}),  # raw markup
        (_rss(ITEM.replace("<link>", '<link url="https://t.example/2">')), {}),
        (
            _rss(
                ITEM.replace(
                    "<title>t</title>",
                    "<title>t</title><media:content xmlns:media="
                    '"http://search.yahoo.com/mrss/"><media:credit/><link>x</link></media:content>',
                )
            ),
            {},
        ),
        (
            _rss("<item><title>t</title><author>a</author><author>b</author></item>").replace(
                b"<author>a</author>", b"<author><name>a</name></author>"
            ),
            {},
        ),
        (_rss(""), {}),  # no items: refusing or accepting it stays feedparser's call
    ],
)
def test_documents_left_to_feedparser(data: bytes, headers: dict[str, str]) -> None:
    assert parse_module._parse_fast(data, url=URL, now=NOW, headers=headers) is None


def test_text_content_type_without_charset_is_fine_for_ascii() -> None:
    assert read_feed(_rss(ITEM), {"content-type": "text/xml"}) is not None
    assert read_feed(_rss(ITEM), {"content-type": "application/rss+xml; charset=UTF-8"}) is not None


def test_an_exception_in_the_fast_path_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(data: bytes, headers: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(parse_module, "read_feed", boom)
    assert parse_feed(RSS2, url=URL, now=NOW).items[0].title == "From the future"


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 02 Jul 2026 18:40:00 -0700",
        "Thu, 02 Jul 2026 18:40:00 +05:30",
        "2 Jul 2026 18:40 GMT",
        "Thursday, 02 July 2026 18:40:00 EST",
        "Thu, 02 Jul 2026 18:40:00 UT",
        "02 Jul 2026 18:40:00 Z",
        "2026-07-02T18:40:00Z",
        "2026-07-02T18:40:00.123456+02:00",
        "2026-07-02t18:40:00-05:00",
        "2026-07-02 18:40:00",
        "2026-07-02",
    ],
)
def test_dates_agree_with_feedparser(value: str) -> None:
    parsed = _parse_date(value)
    assert parsed is not None
    assert parse_date(value) == datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 02 Jul 2026 18:40:00 CEST",
        "Thu, 02 Jul 26 18:40:00 GMT",
        "August 2011",
        "2026-07-02T18:40:00+0200",
        "Thu, 31 Jun 2026 10:00:00 GMT",
        "mer, 16 nov 2022 00:38:15 +0100",
    ],
)
def test_dates_outside_the_strict_forms_are_left_to_feedparser(value: str) -> None:
    assert parse_date(value) is None


def test_odd_dates_are_read_by_feedparser_within_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _rss(
        "<item><title>t</title><guid>g</guid><pubDate>Thu, 02 Jul 26 18:40:00 GMT</pubDate></item>"
        "<item><title>u</title><guid>h</guid><pubDate>whenever</pubDate></item>"
    )
    assert read_feed(data, {}) is not None
    feed = parse_feed(data, url=URL, now=NOW)
    assert feed == _feedparser_path(data, monkeypatch)
    assert feed.items[0].published == datetime(2026, 7, 2, 18, 40, tzinfo=UTC)
    assert feed.items[1].published is None


def test_future_and_control_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    # C1 controls become windows-1252 characters, as feedparser maps them
    data = _rss(
        "<item><title>caf&#233; &#150; bar</title><guid>g</guid><pubDate>Sat, 04 Jul 2026 13:00:00 GMT</pubDate></item>"
    )
    [item] = parse_feed(data, url=URL, now=NOW).items
    assert item.title == "café – bar"
    assert item.published == NOW
    assert parse_feed(data, url=URL, now=NOW + timedelta(days=1)).items[0].published == NOW + timedelta(hours=1)
    assert parse_feed(data, url=URL, now=NOW) == _feedparser_path(data, monkeypatch)


CORPUS = SHARED / "data" / "feeds"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"{CORPUS} is absent: the shared corpora are not beside this clone")
def test_fast_path_matches_feedparser_on_every_corpus_feed_it_takes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every corpus document the fast path reads gives exactly what the feedparser path gives."""
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".csv", ".jsonl", ".json"))
    taken = 0
    differ: list[str] = []
    for path in files:
        data = path.read_bytes()
        headers = {"content-type": "application/xml"}
        url = f"https://corpus.example/{path.relative_to(CORPUS).as_posix()}"
        fast = parse_module._parse_fast(data, url=url, now=NOW, headers=headers)
        if fast is None:
            continue
        taken += 1
        if fast != _feedparser_path(data, monkeypatch, url=url, headers=headers):
            differ.append(path.relative_to(CORPUS).as_posix())
    with capsys.disabled():
        print(f"\n[fast path] {taken} of {len(files)} corpus files take it; {len(differ)} differ from feedparser")
    assert taken > 350
    assert not differ, differ[:20]
