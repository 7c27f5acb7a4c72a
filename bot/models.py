"""Platform-neutral value types shared by the core and the adapters.

Everything here is a frozen dataclass with no behaviour beyond small derived
properties: the core builds them, adapters only read and render them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Entity:
    """A named entity found in a text: `start`/`end` index into that text."""

    text: str
    label: str  # PER, ORG, LOC or MISC
    start: int
    end: int


@dataclass(frozen=True)
class KeyEntity:
    """An entity merged over one article or story, with how much it matters."""

    text: str
    label: str
    salience: float
    mentions: int = 1
    aliases: tuple[str, ...] = ()  # other surface forms merged into this one ("Jenssen", "NATO")


@dataclass(frozen=True)
class FeedItem:
    """One entry as parsed from a feed, before it is stored."""

    guid: str
    url: str | None
    title: str
    text: str  # plain text, boilerplate removed
    published: datetime | None  # aware UTC, or None when the feed gives no date
    author: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document after parsing: its title and its items, newest first."""

    title: str
    link: str | None
    items: tuple[FeedItem, ...]
    ttl_minutes: int | None = None


@dataclass(frozen=True)
class Span:
    """A highlight in a summary: `start`/`end` index into `DigestStory.summary`."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class ChannelRef:
    """Where a digest goes: an adapter name and that adapter's channel id."""

    platform: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.channel}"

    @classmethod
    def parse(cls, value: str) -> ChannelRef:
        platform, sep, channel = value.partition(":")
        if not sep or not platform or not channel:
            raise ValueError(f'"{value}" is not a channel (expected "platform:channel", e.g. "console:#news")')
        return cls(platform.strip().lower(), channel.strip())


@dataclass(frozen=True)
class DigestStory:
    """One story in a digest: what an adapter needs to render one threaded reply."""

    story_id: int
    title: str
    url: str | None
    source: str
    summary: str  # sentences joined by single spaces
    highlights: tuple[Span, ...]  # key entities inside `summary`
    key_entities: tuple[str, ...]
    also_covered_by: tuple[str, ...] = ()
    published: datetime | None = None
    title_highlights: tuple[Span, ...] = ()  # the same key entities inside `title`


@dataclass(frozen=True)
class DigestUpdate:
    """A follow-up to a story a digest already carried: posted as a reply in that story's thread,
    and listed under "Developing" in the new digest's parent. Fixed when the digest is planned."""

    story_id: int
    position: int  # of the new digest: after its stories
    title: str
    url: str | None
    sentences: tuple[str, ...]  # new sentences, never posted before
    facts: tuple[str, ...]  # new names and numbers they bring
    outlets: tuple[str, ...]  # sources new to the story since it was told
    reply_to: PostedMessage  # the story's earlier message (and its thread)
    told_at: datetime | None = None  # when the story was last told
    sources: tuple[tuple[str, str | None], ...] = ()  # (outlet, link) of the new articles

    @property
    def heading(self) -> str:
        """ "Update · 3 more outlets: A, B, C" (plain text; adapters escape it)."""
        n = len(self.outlets)
        if not n:
            return "Update · new reporting"
        return f"Update · {n} more {'outlet' if n == 1 else 'outlets'}: {', '.join(self.outlets)}"

    @property
    def what_is_new(self) -> str:
        """One line: the new facts, else the first new sentence."""
        return ", ".join(self.facts) if self.facts else (self.sentences[0] if self.sentences else "")


@dataclass(frozen=True)
class Digest:
    """A digest for one channel and one scheduled time, without any markup."""

    digest_id: int
    channel: ChannelRef
    title: str
    scheduled_for: datetime
    stories: tuple[DigestStory, ...]
    top_entities: tuple[str, ...] = ()
    timezone: str = "UTC"  # the channel's zone, for showing the date
    created_at: datetime | None = None  # when it was planned: nothing of it can be older
    updates: tuple[DigestUpdate, ...] = ()  # follow-ups to stories told before ("Developing")

    @property
    def key(self) -> str:
        """Names this digest on the platform (Slack metadata, Discord nonce), unique across databases:
        the id alone repeats once newsbot.db is deleted and made again."""
        stamp = f"{int(self.created_at.timestamp() * 1000):x}" if self.created_at else "0"
        return f"{self.digest_id}-{stamp}"


@dataclass(frozen=True)
class PostedMessage:
    """What an adapter reports for one message it posted (a Slack ts, a Discord id...)."""

    ref: str
    thread_ref: str | None = None


@dataclass(frozen=True)
class FoundPosts:
    """What a platform already shows of one digest: its parent, and its stories by position."""

    parent: PostedMessage | None = None
    stories: Mapping[int, PostedMessage] = field(default_factory=dict)


@dataclass
class PollReport:
    """Counts from one polling pass, printed by `newsbot poll` and logged by `run`."""

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    unchanged: int = 0
    failed: int = 0
    new_articles: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # Said once per pause and once per resume, to each channel subscribed to the feed.
    notices: list[tuple[ChannelRef, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CommandRequest:
    """One command from a channel, platform-neutral: `text` is what followed the command name."""

    channel: ChannelRef
    user: str
    text: str
    can_manage: bool  # the adapter's verdict: may this user change the channel's subscriptions?


@dataclass(frozen=True)
class SearchResult:
    title: str
    summary: str  # one line
    source: str
    url: str | None
    published: datetime | None


@dataclass(frozen=True)
class Reply:
    """A command's answer in plain text lines (adapters escape and style it), plus any search results."""

    lines: tuple[str, ...]
    ok: bool = True
    results: tuple[SearchResult, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
