"""Platform-neutral value types shared by the core and the adapters.

Everything here is a frozen dataclass with no behaviour beyond small derived
properties: the core builds them, adapters only read and render them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


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
class FeedChoice:
    """One of a channel's feeds, as command autocomplete offers it (text made safe to show)."""

    id: int
    name: str
    url: str


@dataclass(frozen=True)
class SearchResult:
    title: str
    summary: str  # one line
    source: str
    url: str | None
    published: datetime | None


@dataclass(frozen=True)
class Reply:
    """A command's answer in plain text lines (adapters escape and style it), plus any search results.

    `public`: the channel sees it (a change to its news that went through); otherwise only the caller.
    The core decides; an adapter that can only answer privately (Slack's ephemeral replies) may.
    """

    lines: tuple[str, ...]
    ok: bool = True
    results: tuple[SearchResult, ...] = ()
    public: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


DigestStatus = Literal["pending", "posted", "empty", "skipped"]
# why it was planned: a channel's schedule, a command or `digest --once`, or a new feed's old items set aside
DigestKind = Literal["scheduled", "manual", "backlog"]


@dataclass(frozen=True)
class FeedRow:
    """A feed as stored: where it is, how its last fetch went, whether it is paused."""

    id: int
    url: str
    name: str | None
    title: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_checked_at: datetime | None
    last_status: int | None
    last_error: str | None
    failure_count: int
    paused: bool
    from_config: bool

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.url

    @property
    def state(self) -> str:
        """How the feed is doing, in words for people: ok, failing, paused, not fetched yet."""
        if self.paused:
            return f"paused after {self.failure_count} failures; last error: {self.last_error}"
        if self.last_error:
            return f"failing ({self.failure_count}x); last error: {self.last_error}"
        if self.last_checked_at is None:
            return "not fetched yet"
        return "ok"


@dataclass(frozen=True)
class SubscriptionRow:
    """A channel's subscription: its schedule, limits and followed topics (its feeds are linked apart)."""

    id: int
    channel: ChannelRef
    schedule: tuple[str, ...]
    timezone: str
    weekdays: tuple[str, ...]
    max_stories: int | None
    from_config: bool
    follows: tuple[str, ...] = ()
    follow_only: bool = False
    summary_sentences: int | None = None
    no_news_line: bool = False
    config_digest: str | None = None
    created_at: datetime | None = None
    updates: bool | None = None  # follow-ups of told stories; None: the config's digest.updates


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored, with its summary sentences and entities, and the story it belongs to."""

    id: int
    feed_id: int
    source: str
    title: str
    url: str | None
    text: str
    published_at: datetime | None
    first_seen_at: datetime
    summary: list[str]
    entities: list[dict[str, Any]]
    story_id: int | None


@dataclass(frozen=True)
class PlannedUpdate:
    """A follow-up as planned into a digest: its position, its story, and what it will post
    (fixed at planning, so a resume posts the same; bot.digest.update_view reads it)."""

    position: int
    story_id: int
    detail: dict[str, Any]


@dataclass(frozen=True)
class DigestRow:
    """A planned digest: its stories in posting order, what of it is posted, who holds its claim."""

    id: int
    subscription_id: int
    scheduled_for: datetime
    status: DigestStatus
    title: str
    story_ids: tuple[int, ...]  # in posting order; position = index + 1
    posted: dict[int, PostedMessage]  # by position: what the platform took (or "skipped: why")
    kind: DigestKind = "scheduled"
    created_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    in_doubt: int | None = None  # a position that may be on the platform without being recorded
    last_error: str | None = None
    updates: tuple[PlannedUpdate, ...] = ()  # follow-ups, after the stories


@dataclass(frozen=True)
class ToldStory:
    """A story a channel was told: its first message, and when it was last told (story or update)."""

    story_id: int
    ref: str
    thread_ref: str | None
    told_at: datetime
    earlier: tuple[str, ...]  # sentences its earlier follow-ups posted


@dataclass(frozen=True)
class FeedSchedule:
    """A feed row with the polling state the poller needs beyond FeedRow."""

    feed: FeedRow
    next_check_at: datetime | None
    interval_seconds: int | None
    paused_at: datetime | None
    pause_notified: bool


@dataclass(frozen=True)
class SearchHit:
    """One article matching a search, with its story and how well it matched."""

    article_id: int
    story_id: int
    relevance: float  # higher is better, comparable only within one lookup
    when: datetime


@dataclass(frozen=True)
class NoticeRow:
    """A queued notice, claimed to be posted: to a channel (a feed paused, working again), or with a
    `recipient`, directly to that platform user about the channel (the manager, when posting fails)."""

    id: int
    channel: ChannelRef
    text: str
    created_at: datetime
    attempts: int
    recipient: str | None = None


# --- story clustering: what the index decides and the store applies (bot.clustering, bot.store) ---

# an article's stored clustering features (the `shingles` column, read by bot.enrich.parse_features):
# a dict of sketch, terms, names and date, or a bare sketch list in rows older than the features
StoredFeatures = dict[str, Any] | list[int] | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An already clustered article, as the story index loads it from the store."""

    story_id: int
    content_hash: str
    features: StoredFeatures
    published: datetime | None = None
    article_id: int | None = None  # None only for articles the caller never stored (tests, inspection)


@dataclass(frozen=True, slots=True)
class StoryRef:
    """A story a plan names: a stored one by `id`, or the `new`-th story the plan starts (from 0)."""

    id: int | None = None
    new: int | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.new is None):
            raise ValueError("a StoryRef names a stored story or a new one, exactly one of them")


@dataclass(frozen=True, slots=True)
class StorySplit:
    """Articles the settle step takes out of `story` into a story of their own, titled and dated by
    the oldest of them; applied only if no digest has carried `story` (which the store checks under
    its lock)."""

    story: StoryRef
    article_ids: tuple[int, ...]  # stored articles that move
    batch: tuple[int, ...]  # positions, in the plan's batch, of the new articles that move


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """A batch of new articles clustered: where each goes, in batch order, and the splits that follow.

    A new story is made by the first article placed in it (its title and time are that article's)."""

    placements: tuple[StoryRef, ...]
    new_stories: int
    splits: tuple[StorySplit, ...] = ()


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """What the store made of a ClusterPlan, in one transaction: the ids the index needs."""

    article_ids: tuple[int, ...]  # per article of the batch
    story_ids: tuple[int, ...]  # per new story of the plan
    # per split: the story its articles moved to, or None when nothing moved (a digest carries the
    # story, or another worker moved or removed those articles first)
    split_to: tuple[int | None, ...]
