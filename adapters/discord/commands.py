"""The /news app command tree: one subcommand per core command, mapped back onto the router's text.

Each subcommand's options become the command line the core router parses (`schedule 08:00
Europe/Paris mon-fri`), with single values quoted; the adapter (`Runner`) defers, runs and answers.
"""

from __future__ import annotations

import re
import shlex
import zoneinfo
from functools import cache
from typing import Literal, Protocol

import discord
from discord import app_commands

from bot.commands.router import USAGE
from bot.limits import MAX_SENTENCES, MAX_STORIES, MAX_TOPIC_CHARS

Interaction = discord.Interaction[discord.Client]
Choice = app_commands.Choice
MAX_CHOICES = 25  # Discord's cap on autocomplete and fixed choices
WEEKDAY_HINTS = ("mon-fri", "weekends", "daily", "mon,wed,fri", "sat sun")


class Runner(Protocol):
    """What the command tree needs from the adapter."""

    async def run(self, interaction: Interaction, name: str, text: str) -> None: ...

    async def refuse(self, interaction: Interaction, name: str, message: str) -> None: ...

    async def feed_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]: ...

    async def follow_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]: ...


def quoted(value: str) -> str:
    """One option value as one word of the command line, whatever spaces or quotes it holds."""
    return shlex.quote(value.strip())


def weekday_words(value: str) -> list[str]:
    # "mon, wed" must reach the router as one spec ("mon,wed"), not as "mon," and "wed"
    return re.sub(r"\s*,\s*", ",", value.strip()).split()


def command_text(name: str, **options: str | int | bool | None) -> str:
    """The router's command line for subcommand `name` with the given option values (None: not given)."""
    given = {k: v for k, v in options.items() if v is not None and v != ""}
    words: list[str] = [name]
    if name == "follow" and "topic" in given:
        words.append(quoted(str(given["topic"])))  # a topic alone: "only" never joins it (refused before)
    elif name in ("subscribe", "unsubscribe", "unfollow"):
        words += [quoted(str(v)) for v in given.values()]
    elif name == "follow" and "only" in given:
        words += ["only", str(given["only"])]
    elif name == "search":
        words.append(str(given.get("query", "")).strip())  # the user's own "phrases" stay phrases
    elif name == "digest":
        words.append("now")
    elif name == "schedule":
        words += str(given.get("times", "")).split()
        if "timezone" in given:
            words.append(quoted(str(given["timezone"])))
        if "weekdays" in given:
            words += weekday_words(str(given["weekdays"]))
    elif name == "settings":
        for key in ("stories", "sentences"):
            if key in given:
                words += [key, str(given[key])]
        for key in ("nonews", "updates"):
            if key in given:
                words += [key, "on" if given[key] else "off"]
    elif name == "help" and "command" in given:
        words.append(quoted(str(given["command"])))
    return " ".join(w for w in words if w)


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_choices(current: str) -> list[Choice[str]]:
    needle = current.strip().casefold().replace(" ", "_")
    starts = [z for z in _zones() if z.casefold().startswith(needle)]
    inside = [z for z in _zones() if needle in z.casefold() and z not in starts]
    return [Choice(name=z, value=z) for z in (starts + inside)[:MAX_CHOICES]]


def build_group(name: str, default_permissions: discord.Permissions | None, runner: Runner) -> app_commands.Group:
    """The /<name> command group, guild-only; `default_permissions` hides it from members without them."""
    group = app_commands.Group(
        name=name,
        description="News digests for this channel: feeds, search, schedule and topics",
        guild_only=True,
        # servers only: a channel's news is managed by the server's people, not from DMs or user installs
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
        default_permissions=default_permissions,
    )

    @group.command(name="subscribe", description="Follow a feed in this channel (a site's page works too)")
    @app_commands.describe(url="The feed's URL, or a web page that announces its feed (https://…)")
    async def subscribe(interaction: Interaction, url: str) -> None:
        await runner.run(interaction, "subscribe", command_text("subscribe", url=url))

    @group.command(name="unsubscribe", description="Stop following one of this channel's feeds")
    @app_commands.describe(feed="The feed: pick one, or give its URL or its number from /news list")
    async def unsubscribe(interaction: Interaction, feed: str) -> None:
        await runner.run(interaction, "unsubscribe", command_text("unsubscribe", feed=feed))

    @unsubscribe.autocomplete("feed")
    async def _feeds(interaction: Interaction, current: str) -> list[Choice[str]]:
        return await runner.feed_choices(interaction, current)

    @group.command(name="list", description="This channel's feeds with their state, its schedule and topics")
    async def list_(interaction: Interaction) -> None:
        await runner.run(interaction, "list", command_text("list"))

    @group.command(name="search", description="The top 5 stored stories from this channel's feeds")
    @app_commands.describe(query='Words to look for; put "a phrase" in double quotes')
    async def search(interaction: Interaction, query: app_commands.Range[str, 1, 200]) -> None:
        await runner.run(interaction, "search", command_text("search", query=query))

    @group.command(name="digest", description="Build and post this channel's digest now (nothing is posted twice)")
    async def digest(interaction: Interaction) -> None:
        await runner.run(interaction, "digest", command_text("digest"))

    @group.command(
        name="schedule", description="Daily digests at local times (replaces the whole schedule); no options shows it"
    )
    @app_commands.describe(
        times='One or more times of day, HH:MM (e.g. "08:00 18:30"), or "off" to stop scheduled digests',
        timezone="IANA time zone of those times, e.g. Europe/Paris (default: the bot's default zone)",
        weekdays='Days to post on, e.g. "mon-fri", "weekends", "mon,wed,fri" (default: every day)',
    )
    async def schedule(
        interaction: Interaction,
        times: app_commands.Range[str, 1, 100] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        weekdays: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        text = command_text("schedule", times=times, timezone=timezone, weekdays=weekdays)
        await runner.run(interaction, "schedule", text)

    @schedule.autocomplete("timezone")
    async def _zone(interaction: Interaction, current: str) -> list[Choice[str]]:
        return zone_choices(current)

    @schedule.autocomplete("weekdays")
    async def _days(interaction: Interaction, current: str) -> list[Choice[str]]:
        hints = [h for h in WEEKDAY_HINTS if current.strip().casefold() in h]
        return [Choice(name=h, value=h) for h in hints]

    @group.command(name="follow", description="Rank stories about a topic first; no options shows the topics")
    @app_commands.describe(
        topic='An entity or keyword, e.g. "South Korea" or NATO',
        only="on: digests show only stories about followed topics; off: every story, followed ones first",
    )
    async def follow(
        interaction: Interaction,
        topic: app_commands.Range[str, 1, MAX_TOPIC_CHARS] | None = None,
        only: Literal["on", "off"] | None = None,
    ) -> None:
        if topic and only:
            await runner.refuse(interaction, "follow", "Give either a topic or only, not both.")
            return
        await runner.run(interaction, "follow", command_text("follow", topic=topic, only=only))

    @group.command(name="unfollow", description="Stop ranking a topic first")
    @app_commands.describe(topic="One of this channel's followed topics")
    async def unfollow(interaction: Interaction, topic: app_commands.Range[str, 1, MAX_TOPIC_CHARS]) -> None:
        await runner.run(interaction, "unfollow", command_text("unfollow", topic=topic))

    @unfollow.autocomplete("topic")
    async def _follows(interaction: Interaction, current: str) -> list[Choice[str]]:
        return await runner.follow_choices(interaction, current)

    @group.command(name="settings", description="Stories per digest, summary length, the no-news line")
    @app_commands.describe(
        stories=f"Stories per digest (1-{MAX_STORIES}); the rest lead the next digest",
        sentences=f"Sentences per summary (1-{MAX_SENTENCES})",
        nonews='Post a "no new stories" line when a digest is empty',
        updates="Follow up stories already posted when they develop (a reply in their thread)",
    )
    async def settings(
        interaction: Interaction,
        stories: app_commands.Range[int, 1, MAX_STORIES] | None = None,
        sentences: app_commands.Range[int, 1, MAX_SENTENCES] | None = None,
        nonews: bool | None = None,
        updates: bool | None = None,
    ) -> None:
        text = command_text("settings", stories=stories, sentences=sentences, nonews=nonews, updates=updates)
        await runner.run(interaction, "settings", text)

    @group.command(name="help", description="How to use the news commands")
    @app_commands.describe(command="One command to explain (default: all of them)")
    @app_commands.choices(command=[Choice(name=n, value=n) for n in USAGE][:MAX_CHOICES])
    async def help_(interaction: Interaction, command: str | None = None) -> None:
        await runner.run(interaction, "help", command_text("help", command=command))

    return group
