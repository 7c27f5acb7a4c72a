"""Feeds for the follow-up tests: a harbour-bridge story told at 08:00, then either later reports with
new facts from three more outlets, or the same wire text re-sent by three more outlets."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

OUTLETS = ("Pacific Wire", "Harbor Ledger", "Lakeside Courier", "Metro Times")
LEAD = (
    "The Harbor Point bridge was closed on Tuesday morning after a cargo ship struck one of its supports. "
    "Traffic between the north shore and the city centre was diverted through the tunnel. "
    "Engineers from the port authority began inspecting the damaged pillar."
)
TITLE = "Harbor Point bridge closed after cargo ship strikes support"
# later reports: each brings a sentence the first one did not have, with a name or number in it
LATER = (
    (
        "Harbor Point bridge closed after cargo ship strikes support; ship lost power",
        "The cargo ship Nordic Star lost engine power minutes before the crash, Coast Guard commander "
        "Maria Alvarez said. " + LEAD,
    ),
    (
        "Harbor Point bridge closed for weeks after cargo ship strikes support",
        "The port authority said the bridge will stay shut for at least 6 weeks while the pillar is rebuilt. " + LEAD,
    ),
    (
        "Harbor Point bridge closed after cargo ship strikes support; 14 crew treated",
        "Fourteen crew members were treated for minor injuries, and 3 tugboats pulled the vessel clear. " + LEAD,
    ),
)


def rss(name: str, items: list[dict[str, Any]]) -> str:
    slug = name.lower().replace(" ", "-")
    body = "".join(
        f"<item><title>{escape(i['title'])}</title><link>https://{slug}.example/{i['guid']}</link>"
        f"<guid>{i['guid']}</guid><pubDate>{format_datetime(i['published'])}</pubDate>"
        f"<description>{escape(i['text'])}</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(name)}</title>'
        f"<link>https://{slug}.example/</link>{body}</channel></rss>"
    )


def feed_paths(root: Path) -> list[Path]:
    return [root / f"{n.lower().replace(' ', '-')}.xml" for n in OUTLETS]


def write_first(root: Path, when: datetime) -> None:
    """08:00: Pacific Wire has the story; the other outlets have nothing yet."""
    paths = feed_paths(root)
    paths[0].write_text(rss(OUTLETS[0], [{"title": TITLE, "guid": "bridge-1", "published": when, "text": LEAD}]))
    for name, path in zip(OUTLETS[1:], paths[1:], strict=True):
        path.write_text(rss(name, []))


def write_later(root: Path, when: datetime, *, copies: bool = False) -> None:
    """By 14:00: three more outlets carry it, with new facts (or, with `copies`, the same wire text)."""
    paths = feed_paths(root)
    for i, (name, path) in enumerate(zip(OUTLETS[1:], paths[1:], strict=True)):
        title, text = (TITLE, LEAD) if copies else LATER[i]
        item = {"title": title, "guid": f"bridge-{name[:3].lower()}", "published": when, "text": text}
        path.write_text(rss(name, [item]))


def feed_config(root: Path) -> list[dict[str, str]]:
    return [{"url": str(p), "name": n} for p, n in zip(feed_paths(root), OUTLETS, strict=True)]
