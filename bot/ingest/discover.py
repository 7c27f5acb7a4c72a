"""Find a site's feeds from its HTML page: <link rel="alternate" type="application/rss+xml" href=...>."""

from __future__ import annotations

from html.parser import HTMLParser

from bot.ingest.urls import absolute_http_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml")


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (type, href)
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        rels = a.get("rel", "").lower().split()
        if tag == "link" and "alternate" in rels and a.get("type", "").lower().split(";")[0].strip() in FEED_TYPES:
            self.links.append((a["type"].lower(), a.get("href", "")))


def feed_links(html: str, page_url: str) -> list[str]:
    """Absolute feed URLs a page announces, RSS and Atom first in page order; [] when none."""
    finder = _LinkFinder()
    try:
        finder.feed(html)
        finder.close()
    except Exception:  # html.parser is lenient; anything it still cannot read just has no links
        return []
    base = absolute_http_url(finder.base, page_url) if finder.base else page_url
    found = [absolute_http_url(href, base) for _, href in finder.links if href]
    return list(dict.fromkeys(u for u in found if u))
