"""The commands service: one handler per command, a neutral CommandRequest in and a Reply out.

Commands that change a channel's subscriptions or settings check `can_manage` first. Every
wrong command answers with what was wrong and the usage line; nothing is half-changed. Each
command's database work is a unit of work on the storage thread (bot.storage), through the
CommandStore port; the same service answers the adapters' lookups (bot.ports.ChannelLookup).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypeVar

from bot.commands.args import schedule_args, tokens
from bot.config import Settings
from bot.delivery import DigestOutcome
from bot.digest import story_view
from bot.errors import FeedError, NewsbotError, StorageBusy, UserInputError
from bot.ingest.fetch import Fetcher
from bot.ingest.resolve import feed_address, feed_failure, find_feed, items_line
from bot.limits import MAX_FOLLOWS, MAX_SENTENCES, MAX_STORIES, MAX_TOPIC_CHARS
from bot.models import (
    ChannelRef,
    CommandRequest,
    FeedChoice,
    FeedRow,
    PollReport,
    Reply,
    SearchResult,
    SubscriptionRow,
)
from bot.ports import Clock, CommandStore
from bot.shutdown import Stopping
from bot.storage import COMMAND_PATIENCE, Storage
from bot.text_safety import safe_line

log = logging.getLogger(__name__)
T = TypeVar("T")

USAGE = {
    "subscribe": "subscribe <feed or site URL>",
    "unsubscribe": "unsubscribe <feed URL or id>",
    "list": "list",
    "search": 'search <words or "a phrase">',
    "digest": "digest [now]",
    "schedule": "schedule <HH:MM> [more times] [IANA time zone] [weekdays]  |  schedule off",
    "follow": "follow <entity or keyword>  |  follow only on|off  |  follow",
    "unfollow": "unfollow <entity or keyword>",
    "settings": (
        f"settings [stories <1-{MAX_STORIES}>] [sentences <1-{MAX_SENTENCES}>] [nonews on|off] [updates on|off]"
    ),
    "help": "help [command]",
}
# what `help <command>` adds below the usage line
DETAILS = {
    "schedule": (
        "Each schedule command replaces the whole schedule: a time zone or weekdays left out mean the "
        "default zone and every day.",
        "Zones are IANA names, as in the config: Europe/Paris, America/New_York, UTC, CET.",
    ),
    "follow": ("follow only on shows only stories about followed topics; follow only off shows every story again.",),
}
CHANGES = {"subscribe", "unsubscribe", "schedule", "follow", "unfollow", "settings"}
_BARE_SHOWS = ("follow", "schedule", "settings")  # without arguments these only show the current state


def changes_channel(text: str) -> bool:
    """Does this command change the channel's news (so needs a manager, and its success is shown to the
    channel)? The bare forms of follow, schedule and settings only show the current state. Adapters ask
    before running it (Discord must choose a public or private acknowledgement first)."""
    words = tokens(text)
    if not words:
        return False
    name = words[0].lower()
    return name in CHANGES and (len(words) > 1 or name not in _BARE_SHOWS)


RECENCY_HALF_LIFE_HOURS = 72.0


class Ingest(Protocol):
    """What commands need of the ingest service (bot.ingest.service.IngestService)."""

    fetcher: Fetcher

    async def poll(self, feed_ids: Iterable[int] | None = None, *, due_only: bool = False) -> PollReport: ...


class Delivery(Protocol):
    """What commands need of the delivery service (bot.delivery.DeliveryService)."""

    async def digest_for(self, sub: SubscriptionRow, kind: str) -> list[DigestOutcome]: ...


def _error(message: str, command: str | None = None) -> Reply:
    lines = [message]
    if command in USAGE:
        lines.append(f"Usage: {USAGE[command]}")
    return Reply(tuple(lines), ok=False)


class Router:
    """The commands service: runs chat commands, and answers adapters' lookups (ChannelLookup).

    Each command's database work is one unit of work on the storage thread (bot.storage), given
    COMMAND_PATIENCE: a command the database cannot serve in time says so.
    """

    def __init__(
        self,
        storage: Storage[CommandStore],
        settings: Settings,
        clock: Clock,
        ingest: Ingest,
        delivery: Delivery,
        schedule_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.storage = storage
        self.config = settings
        self.clock = clock
        self.ingest = ingest
        self.delivery = delivery
        self._schedule_changed = schedule_changed
        self.handlers: dict[str, Callable[[CommandRequest, list[str]], Awaitable[Reply]]] = {
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "list": self.list_feeds,
            "search": self.search,
            "digest": self.digest,
            "schedule": self.schedule,
            "follow": self.follow,
            "unfollow": self.unfollow,
            "settings": self.settings,
            "help": self.help,
        }

    async def schedule_changed(self) -> None:
        if self._schedule_changed is not None:
            await self._schedule_changed()

    async def _db(self, work: Callable[[CommandStore], T]) -> T:
        return await self.storage.run(work, patience=COMMAND_PATIENCE)

    async def handle(self, request: CommandRequest) -> Reply:
        """Run one command; errors become replies, never exceptions."""
        words = tokens(request.text)
        if not words:
            return await self.help(request, [])
        name, args = words[0].lower(), words[1:]
        handler = self.handlers.get(name)
        if handler is None:
            return _error(f'"{words[0]}" is not a command. Commands: {", ".join(USAGE)}. Try "help".')
        changes = changes_channel(request.text)
        if changes and not request.can_manage:
            return _error(
                f"You are not allowed to change this channel's news ({name}); ask someone who manages the channel."
            )
        try:
            reply = await handler(request, args)
            if reply.ok and request.can_manage and changes:
                await self._remember_manager(request)
                reply = replace(reply, public=True)
            return reply
        except UserInputError as exc:
            return _error(str(exc), name)
        except FeedError as exc:
            return _error(feed_failure(exc), name)
        except StorageBusy:
            log.warning("command %r from %s: the database stayed busy", name, request.channel)
            return _error(
                f"The database is busy right now (another newsbot job is writing to it), so {name} did not "
                "finish; try again in a moment."
            )
        except NewsbotError as exc:
            return _error(str(exc), name)
        except Exception:  # a bug must not take the bot down, nor show its insides to the channel
            log.exception("command %r from %s failed", name, request.channel)
            return _error(f"Something went wrong running {name}; it has been logged.")

    async def _remember_manager(self, request: CommandRequest) -> None:
        """Whoever last ran a changing command here with success (even one with nothing left to change)
        is the one told by DM when the bot cannot post here, also after a restart."""
        try:
            await self._db(lambda s: s.set_manager(request.channel, request.user))
        except Exception:  # the change itself is made: failing to note who made it must not undo the reply
            log.exception("could not record who changed %s", request.channel)

    async def _sub(self, request: CommandRequest) -> SubscriptionRow:
        """The channel's subscription, made on first use by a command that changes something."""
        now = self.clock.now()
        return await self._db(lambda s: _ensure(s, request.channel, now))

    async def _existing(self, request: CommandRequest) -> SubscriptionRow:
        """The channel's subscription as it is, or an empty one that is not stored (for looking only)."""
        sub = await self._db(lambda s: s.subscription(request.channel))
        return sub or SubscriptionRow(
            id=0,
            channel=request.channel,
            schedule=(),
            timezone=self.config.timezone,
            weekdays=(),
            max_stories=None,
            from_config=False,
        )

    async def _update(self, sub: SubscriptionRow, **values: object) -> None:
        now = self.clock.now()
        await self._db(lambda s: s.upsert_subscription(sub.channel, now, **values))

    # --- lookups for adapters (ChannelLookup) ---------------------------------------------

    async def channel_feeds(self, channel: ChannelRef) -> list[FeedChoice]:
        """The channel's feeds, for command autocomplete."""

        def feeds(s: CommandStore) -> list[FeedRow]:
            sub = s.subscription(channel)
            return [] if sub is None else s.subscribed_feeds(sub.id)

        # a feed's own title can carry bidi and invisible characters: the choice list shows it made safe
        return [FeedChoice(f.id, safe_line(f.display_name), safe_line(f.url)) for f in await self._db(feeds)]

    async def channel_follows(self, channel: ChannelRef) -> list[str]:
        """The channel's followed topics, for command autocomplete."""
        sub = await self._db(lambda s: s.subscription(channel))
        return [] if sub is None else list(sub.follows)

    # --- subscriptions ------------------------------------------------------------------

    async def subscribe(self, request: CommandRequest, args: list[str]) -> Reply:
        if len(args) != 1:
            raise UserInputError("Give one feed or site URL." if not args else "Give only one URL at a time.")
        console = request.channel.platform == "console"
        url = feed_address(
            args[0],
            local_files=console and self.config.fetch.allow_local_files,
            local_refusal=None if console else "only the console (newsbot cmd) reads local files; give an http(s) URL",
        )
        url, parsed = await find_feed(self.ingest.fetcher, url, self.clock.now())
        now = self.clock.now()

        def subscribe(s: CommandStore) -> tuple[int, bool]:
            sub = _ensure(s, request.channel, now)
            feed_id = s.add_feed(url, now)
            return feed_id, bool(s.subscribe(sub.id, [feed_id], now))

        feed_id, added = await self._db(subscribe)
        if not added:
            return Reply((f"This channel already follows {parsed.title or url}.",))
        report = await self.ingest.poll([feed_id])
        lines = [
            f"Subscribed to {parsed.title or url} ({url}).",
            items_line(len(parsed.items), self.config.digest.first_items),
        ]
        if report.failed:
            lines.append("Its first fetch failed; it will be retried: " + "; ".join(report.errors))
        return Reply(tuple(lines))

    async def unsubscribe(self, request: CommandRequest, args: list[str]) -> Reply:
        if len(args) != 1:
            raise UserInputError("Give the feed's URL or id (see list).")
        value = args[0]

        def unsubscribe(s: CommandStore) -> FeedRow:
            sub = s.subscription(request.channel)
            feed = _find_linked([] if sub is None else s.subscribed_feeds(sub.id), value)
            assert sub is not None
            _, unused = s.unsubscribe(sub.id, feed.id)
            if unused:
                s.remove_feed(feed.id)
            return feed

        feed = await self._db(unsubscribe)
        return Reply((f"Unsubscribed from {feed.display_name} ({feed.url}).",))

    async def list_feeds(self, request: CommandRequest, args: list[str]) -> Reply:
        sub = await self._existing(request)
        feeds = await self._db(lambda s: s.subscribed_feeds(sub.id))
        if not feeds:
            return Reply(("This channel follows no feeds yet.", f"Usage: {USAGE['subscribe']}"))
        lines = [f"This channel follows {len(feeds)} feed{'s' if len(feeds) != 1 else ''}:"]
        for f in feeds:
            lines.append(f"{f.id}. {f.display_name} — {f.url} — {f.state}")
        lines.append(_schedule_line(sub))
        if sub.follows:
            lines.append(f"Following: {', '.join(sub.follows)}" + (" (only these)" if sub.follow_only else ""))
        return Reply(tuple(lines))

    # --- lookups and digests --------------------------------------------------------------

    async def search(self, request: CommandRequest, args: list[str]) -> Reply:
        if not args:
            raise UserInputError("Give the words to look for.")
        sub = await self._existing(request)
        now = self.clock.now()

        def search(s: CommandStore) -> list[SearchResult] | None:
            feed_ids = s.subscribed_feed_ids(sub.id)
            return top_stories(s, self.config, args, feed_ids, now) if feed_ids else None

        results = await self._db(search)
        if results is None:
            return Reply(("This channel follows no feeds yet, so there is nothing to search.",))
        if not results:
            return Reply((f"No stories match {' '.join(args)}.",))
        return Reply((f"Top {len(results)} for {' '.join(args)}:",), results=tuple(results))

    async def digest(self, request: CommandRequest, args: list[str]) -> Reply:
        if args and [a.lower() for a in args] != ["now"]:
            raise UserInputError(f"Unexpected {' '.join(args)!r}.")
        sub = await self._existing(request)
        feed_ids = await self._db(lambda s: s.subscribed_feed_ids(sub.id))
        if not feed_ids:
            return Reply(("This channel follows no feeds yet.", f"Usage: {USAGE['subscribe']}"))
        # only feeds that are due: anyone may ask for a digest, nobody may hammer the publishers
        await self.ingest.poll(feed_ids, due_only=True)
        try:
            outcomes = await self.delivery.digest_for(sub, "manual")
        except Stopping:
            # newsbot is shutting down (SIGTERM): the caller still gets an answer
            return Reply(("newsbot is stopping; this digest stays pending and is posted after the restart.",), ok=False)
        lines = []
        for o in outcomes:
            if o.status in ("posted", "resumed"):
                lines.append(
                    f"{'Posted' if o.status == 'posted' else 'Finished an earlier digest with'} "
                    f"{o.stories} stor{'y' if o.stories == 1 else 'ies'}."
                )
            elif o.status == "empty":
                lines.append(o.message[:1].upper() + o.message[1:] + ".")
            else:
                lines.append(f"Could not post the digest: {o.message}")
        ok = not any(o.status in ("failed", "no-adapter") for o in outcomes)
        return Reply(tuple(lines), ok=ok)

    # --- settings --------------------------------------------------------------------------

    async def schedule(self, request: CommandRequest, args: list[str]) -> Reply:
        if not args:
            return Reply((_schedule_line(await self._existing(request)),))
        sub = await self._sub(request)
        if [a.lower() for a in args] == ["off"]:
            await self._update(sub, schedule=[])
            await self.schedule_changed()
            return Reply(("Scheduled digests are off; digest now still works.",))
        times, zone, days = schedule_args(args)
        if not times:
            raise UserInputError("Give at least one time of day (HH:MM).")
        # the whole schedule: a zone or weekdays left out mean the default zone and every day, not the old ones
        await self._update(sub, schedule=sorted(set(times)), timezone=zone or self.config.timezone, weekdays=days or ())
        await self.schedule_changed()
        return Reply((_schedule_line(await self._sub(request)),))

    async def follow(self, request: CommandRequest, args: list[str]) -> Reply:
        sub = await (self._sub(request) if args else self._existing(request))
        if not args:
            if not sub.follows:
                return Reply(("This channel follows no topics. Usage: " + USAGE["follow"],))
            only = " Only stories about them are shown." if sub.follow_only else ""
            return Reply((f"Ranked first: {', '.join(sub.follows)}.{only}",))
        if args[0].lower() == "only":
            if len(args) != 2 or args[1].lower() not in ("on", "off"):
                raise UserInputError('After "only" give on or off: follow only on, or follow only off.')
            on = args[1].lower() == "on"
            if on and not sub.follows:
                raise UserInputError("Follow a topic first; then follow only on shows just those stories.")
            await self._update(sub, follow_only=on)
            return Reply(
                (
                    "Digests now show only followed topics."
                    if on
                    else "Digests show every story again, followed topics first.",
                )
            )
        topic = " ".join(args).strip()
        if not topic:
            raise UserInputError("Give a topic to follow: a name or a keyword.")
        if len(topic) > MAX_TOPIC_CHARS:
            raise UserInputError(f"That topic is too long ({MAX_TOPIC_CHARS} characters at most).")
        if any(f.casefold() == topic.casefold() for f in sub.follows):
            return Reply((f"Already following {topic}.",))
        if len(sub.follows) >= MAX_FOLLOWS:
            raise UserInputError(f"A channel can follow {MAX_FOLLOWS} topics at most; unfollow one first.")
        await self._update(sub, follows=[*sub.follows, topic])
        return Reply((f"Following {topic}: matching stories come first in digests.",))

    async def unfollow(self, request: CommandRequest, args: list[str]) -> Reply:
        if not args:
            raise UserInputError("Say which topic to stop following.")
        sub = await self._existing(request)
        topic = " ".join(args).strip()
        if not topic:
            raise UserInputError("Say which topic to stop following.")
        kept = [f for f in sub.follows if f.casefold() != topic.casefold()]
        if len(kept) == len(sub.follows):
            raise UserInputError(
                f"This channel does not follow {topic!r}. It follows: {', '.join(sub.follows) or 'nothing'}"
            )
        values: dict[str, object] = {"follows": kept}
        if not kept:
            values["follow_only"] = False
        await self._update(sub, **values)
        return Reply((f"No longer following {topic}.",))

    async def settings(self, request: CommandRequest, args: list[str]) -> Reply:
        sub = await (self._sub(request) if args else self._existing(request))
        if not args:
            d = self.config.digest
            return Reply(
                (
                    f"Stories per digest: {sub.max_stories or d.max_stories}",
                    f"Summary sentences: {sub.summary_sentences or d.summary_sentences}",
                    f"No-news line: {'on' if sub.no_news_line else 'off'}",
                    f"Updates of developing stories: {'on' if _updates_on(sub, d.updates) else 'off'}",
                    _schedule_line(sub),
                )
            )
        if len(args) % 2:
            raise UserInputError("Give settings as name and value pairs.")
        values: dict[str, object] = {}
        for name, value in zip(args[::2], args[1::2], strict=True):
            key = name.lower()
            if key in ("stories", "sentences"):
                top = MAX_STORIES if key == "stories" else MAX_SENTENCES
                if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= top:
                    raise UserInputError(f"{key} must be a whole number from 1 to {top}, not {value!r}.")
                values["max_stories" if key == "stories" else "summary_sentences"] = int(value)
            elif key in ("nonews", "updates"):
                if value.lower() not in ("on", "off"):
                    raise UserInputError(f"{key} must be on or off, not {value!r}.")
                values["no_news_line" if key == "nonews" else "updates"] = value.lower() == "on"
            else:
                raise UserInputError(f"{name!r} is not a setting (stories, sentences, nonews, updates).")
        await self._update(sub, **values)
        return await self.settings(request, [])

    async def help(self, request: CommandRequest, args: list[str]) -> Reply:
        if args:
            name = args[0].lower()
            if name not in USAGE:
                return _error(f'"{args[0]}" is not a command. Commands: {", ".join(USAGE)}.')
            return Reply((f"Usage: {USAGE[name]}", *DETAILS.get(name, ())))
        return Reply(("Commands:", *(f"  {usage}" for usage in USAGE.values())))


def _schedule_line(sub: SubscriptionRow) -> str:
    if not sub.schedule:
        return "No scheduled digest (only on demand)."
    days = "every day" if len(sub.weekdays) in (0, 7) else ", ".join(sub.weekdays)
    return f"Digest at {', '.join(sub.schedule)} {sub.timezone}, {days}."


def _ensure(store: CommandStore, channel: ChannelRef, now: datetime) -> SubscriptionRow:
    """The channel's subscription, made if it has none yet."""
    sub = store.subscription(channel)
    if sub is None:
        store.ensure_subscription(channel, now)
        sub = store.subscription(channel)
    assert sub is not None
    return sub


def _find_linked(feeds: list[FeedRow], value: str) -> FeedRow:
    for feed in feeds:
        if value == str(feed.id) or value in (feed.url, feed.url.rstrip("/")) or value.rstrip("/") == feed.url:
            return feed
    known = "; ".join(f"{f.id}: {f.url}" for f in feeds) or "none"
    raise UserInputError(f"This channel does not follow {value!r}. It follows: {known}")


def top_stories(
    store: CommandStore, settings: Settings, words: list[str], feed_ids: list[int], now: datetime, limit: int = 5
) -> list[SearchResult]:
    """The best matching stories, text relevance discounted by age (half of it every three days)."""
    hits = store.search_articles(words, feed_ids)
    best: dict[int, float] = {}
    for hit in hits:
        age_hours = max(0.0, (now - hit.when).total_seconds() / 3600) if hit.when else 0.0
        score = hit.relevance * math.pow(0.5, age_hours / RECENCY_HALF_LIFE_HOURS)
        best[hit.story_id] = max(best.get(hit.story_id, -math.inf), score)
    ranked = sorted(best, key=lambda sid: -best[sid])[:limit]
    by_story = store.story_articles(ranked)
    results = []
    for sid in ranked:
        if not by_story.get(sid):
            continue
        view = story_view(sid, by_story[sid], settings.digest, sentences=1)
        results.append(SearchResult(view.title, view.summary, view.source, view.url, view.published))
    return results


def _updates_on(sub: SubscriptionRow, default: bool) -> bool:
    """Whether the channel hears follow-ups of stories it was told: its own setting, else the config's."""
    return default if sub.updates is None else sub.updates
