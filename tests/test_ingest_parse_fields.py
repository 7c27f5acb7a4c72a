"""Fields the parse step reads from RSS 2.0, RSS 1.0 (RDF) and Atom: titles, links, GUIDs, text,
authors, the date forms feeds use, stray encodings and control characters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.parse import parse_feed

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


def test_rdf_fields() -> None:
    feed = parse_feed(RDF, url=URL, now=NOW)
    assert (feed.title, feed.link) == ("RDF news", "https://r.example/")
    second, first = feed.items
    assert (first.guid, first.url, first.title, first.text) == (
        "https://r.example/a",
        "https://r.example/a",
        "First",
        "Alpha.",
    )
    assert first.published == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    assert (second.title, second.published) == ("Second", datetime(2026, 7, 2, tzinfo=UTC))


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


def test_leading_blank_lines_and_windows_1252_bytes() -> None:
    # blank lines before "<?xml" (a server-side template slip) change nothing
    assert parse_feed(b"\n\n" + RSS2, url=URL, now=NOW) == parse_feed(RSS2, url=URL, now=NOW)
    # a "UTF-8" document with windows-1252 bytes in it is read as windows-1252
    stray = RSS2.replace(b"Ferry &lt;b&gt;returns&lt;/b&gt;", b"Caf\xe9 \x93quoted\x94")
    assert parse_feed(stray, url=URL, now=NOW).items[1].title == "Café “quoted”"


def _rss(body: str, decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{decl}<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode("latin-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Thu, 02 Jul 2026 18:40:00 -0700", datetime(2026, 7, 3, 1, 40)),
        ("Thu, 02 Jul 2026 18:40:00 +05:30", datetime(2026, 7, 2, 13, 10)),
        ("2 Jul 2026 18:40 GMT", datetime(2026, 7, 2, 18, 40)),
        ("Thursday, 02 July 2026 18:40:00 EST", datetime(2026, 7, 2, 23, 40)),
        ("Thu, 02 Jul 2026 18:40:00 UT", datetime(2026, 7, 2, 18, 40)),
        ("02 Jul 2026 18:40:00 Z", datetime(2026, 7, 2, 18, 40)),
        ("2026-07-02T18:40:00Z", datetime(2026, 7, 2, 18, 40)),
        ("2026-07-02T18:40:00.123456+02:00", datetime(2026, 7, 2, 16, 40)),
        ("2026-07-02t18:40:00-05:00", datetime(2026, 7, 2, 23, 40)),
        ("2026-07-02 18:40:00", datetime(2026, 7, 2, 18, 40)),  # no zone: UTC
        ("2026-07-02", datetime(2026, 7, 2)),
    ],
)
def test_date_forms_feeds_use(value: str, expected: datetime) -> None:
    [item] = parse_feed(
        _rss(f"<item><title>t</title><guid>g</guid><pubDate>{value}</pubDate></item>"), url=URL, now=NOW
    ).items
    assert item.published == expected.replace(tzinfo=UTC)


def test_odd_dates() -> None:
    data = _rss(
        "<item><title>t</title><guid>g</guid><pubDate>Thu, 02 Jul 26 18:40:00 GMT</pubDate></item>"
        "<item><title>u</title><guid>h</guid><pubDate>whenever</pubDate></item>"
    )
    feed = parse_feed(data, url=URL, now=NOW)
    assert feed.items[0].published == datetime(2026, 7, 2, 18, 40, tzinfo=UTC)
    assert feed.items[1].published is None


def test_future_and_control_characters() -> None:
    # C1 controls become windows-1252 characters, as feedparser maps them
    data = _rss(
        "<item><title>caf&#233; &#150; bar</title><guid>g</guid><pubDate>Sat, 04 Jul 2026 13:00:00 GMT</pubDate></item>"
    )
    [item] = parse_feed(data, url=URL, now=NOW).items
    assert item.title == "café – bar"
    assert item.published == NOW
    assert parse_feed(data, url=URL, now=NOW + timedelta(days=1)).items[0].published == NOW + timedelta(hours=1)
