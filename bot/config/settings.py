"""The settings, each declared once: TOML key, type, default, allowed values and a one-line doc.

`schema.read` walks these dataclasses over the TOML. What cannot be said declaratively (URLs,
zones, channels, rules between two keys) is a small hook defined just above the class whose
field names it; a hook raises ValueError with the message, which the walker prefixes with the key.
"""

# setting(), table() and entries() return dataclasses.field(...), which RUF009 cannot see through
# ruff: noqa: RUF009

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.schema import Invalid, Reading, above_zero, entries, setting, table, zero_to
from bot.config.values import WEEKDAYS, check_timezone, parse_time_of_day, resolve_feed_url, weekday
from bot.errors import ConfigError
from bot.limits import MAX_FIRST_ITEMS, MAX_SENTENCES, MAX_STORIES
from bot.models import ChannelRef

PLATFORMS = ("console", "slack", "discord")
STORIES = above_zero(MAX_STORIES)  # per digest: digest.max_stories and one channel's subscriptions[].max_stories
WEEK = 7 * 24 * 60  # minutes
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _zone(value: str, _: Reading) -> str:
    return check_timezone(value)


def _env_name(value: str, _: Reading) -> str:
    if not _ENV_NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name; put the variable's name here, never the secret itself"
        )
    return value


def _http_url(*, trailing_slash: bool) -> Any:
    def check(value: str, _: Reading) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        value = value.rstrip("/")
        return value + "/" if trailing_slash else value

    return check


# --- fetch ---------------------------------------------------------------------------------------


def _header_value(value: str, _: Reading) -> str:
    # sent as an HTTP header: a line break or other control character would be refused on every fetch
    if not value.strip() or len(value) > 500 or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{value[:60]!r} must be one line of at most 500 printable characters")
    return value


def _mib(value: float) -> int:
    return int(value * 1024 * 1024)


def _lowest(default: int, r: Reading) -> int:
    # Unset bounds widen to include poll_minutes, so an older config with poll_minutes = 5
    # keeps working; bounds that are set must agree with it.
    return min(default, int(r.done["poll_minutes"]))


def _highest(default: int, r: Reading) -> int:
    return max(default, int(r.done["poll_minutes"]))


def _poll_within_bounds(high: int, r: Reading) -> int:
    poll, low = r.done["poll_minutes"], r.done["min_poll_minutes"]
    if not low <= poll <= high:
        raise Invalid(
            f"{poll} must lie between {r.key('min_poll_minutes')} ({low}) and {r.key('max_poll_minutes')} ({high}); "
            "change one of the three",
            key="poll_minutes",
        )
    return high


def _per_host_default(default: int, r: Reading) -> int:
    return min(default, int(r.done["max_concurrency"]))


def _per_host_within_concurrency(value: int, r: Reading) -> int:
    if value > r.done["max_concurrency"]:
        raise ValueError(f"{value} is more than {r.key('max_concurrency')} ({r.done['max_concurrency']})")
    return value


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = setting(
        "newsbot/0.1 (+https://github.com/newsbot/newsbot)",
        "Sent with every request, so publishers can see who is reading.",
        check=_header_value,
    )
    timeout_seconds: float = setting(
        20.0, "Seconds for a whole fetch, redirects included.", range=above_zero(300, at_least=0.1)
    )
    max_body_bytes: int = setting(
        10.0,
        "Stop reading a body (or local file) larger than this many MiB.",
        key="max_body_mb",
        kind=float,
        range=above_zero(1024, at_least=0.01),
        convert=_mib,
    )
    poll_minutes: int = setting(30, "Interval for a feed whose posting rate is not known yet.", range=above_zero(WEEK))
    allow_local_files: bool = setting(
        True, "Allow feeds that are local files (the bundled demo feeds are always read)."
    )
    allow_private_networks: bool = setting(False, "Allow feeds on private, loopback or link-local addresses.")
    min_poll_minutes: int = setting(
        10, "The shortest adaptive interval (or poll_minutes if lower).", range=above_zero(WEEK), derive=_lowest
    )
    max_poll_minutes: int = setting(
        360,
        "The longest adaptive interval (or poll_minutes if higher); failures back off further.",
        range=above_zero(WEEK),
        derive=_highest,
        check=_poll_within_bounds,
    )
    max_concurrency: int = setting(20, "Requests in flight at once, all hosts together.", range=above_zero(1000))
    max_per_host: int = setting(
        2,
        "Requests in flight at once to one host; at most max_concurrency.",
        range=above_zero(100),
        derive=_per_host_default,
        check=_per_host_within_concurrency,
    )
    pause_after_failures: int = setting(
        10, "Consecutive failures before a feed is paused (its channels are told).", range=above_zero(1000)
    )


# --- digest --------------------------------------------------------------------------------------


def _entities_available(value: str, _: Reading) -> str:
    if value == "spacy":
        from bot.nlp.entities_spacy import check_available

        check_available()  # a missing extra fails at start-up (exit 2), not on the first article
    return value


@dataclass(frozen=True)
class DigestSettings:
    title: str = setting("News digest", "The title of each digest's parent message.")
    max_stories: int = setting(10, "At most this many stories per digest.", range=STORIES)
    summary_sentences: int = setting(3, "At most this many sentences per summary.", range=above_zero(MAX_SENTENCES))
    summary_chars: int = setting(600, "At most this many characters per summary.", range=above_zero(3000))
    key_entities: int = setting(5, "Key entities highlighted in bold per story.", range=above_zero(5))
    cluster_hours: int = setting(48, "Articles this many hours apart can join one story.", range=above_zero(24 * 14))
    first_items: int = setting(
        3, "Newest items of a newly followed feed that reach the next digest.", range=zero_to(MAX_FIRST_ITEMS)
    )
    grace_minutes: int = setting(
        360, "A digest missed while down is still posted this long after its time.", range=zero_to(24 * 60)
    )
    prefer_sources: tuple[str, ...] = setting([], "Feed names whose article represents a story when they carry it.")
    entities: str = setting(
        "heuristic",
        "Entity extractor: heuristic, or spacy (the spacy extra and its model).",
        choices=("heuristic", "spacy"),
        check=_entities_available,
    )
    updates: bool = setting(True, "Follow up told stories that moved (a channel's `settings updates` overrides).")


@dataclass(frozen=True)
class ConsoleSettings:
    enabled: bool = setting(True, "Print digests to the terminal.")
    color: str = setting("auto", "Styling: auto, always or never.", choices=("auto", "always", "never"))


# --- slack ---------------------------------------------------------------------------------------


def _oauth_needs_http(value: bool, r: Reading) -> bool:
    if value and r.done["mode"] != "http":
        raise ValueError('the multi-workspace install needs mode = "http"')
    return value


def _slash_command(value: str, _: Reading) -> str:
    if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
        raise ValueError(f'{value!r} is not a slash command name like "/news"')
    return value


def _slack_managers(value: Any, _: Reading) -> tuple[str, ...]:
    managers = [value] if isinstance(value, str) else value
    if (
        not isinstance(managers, list)
        or not managers
        or not all(
            isinstance(m, str) and (m in ("everyone", "admins") or re.fullmatch(r"[UW][A-Z0-9]{2,}", m))
            for m in managers
        )
    ):
        raise ValueError('must be "everyone", "admins" or a list of Slack user ids (U0123ABCD)')
    return tuple(managers)


@dataclass(frozen=True)
class SlackSettings:
    enabled: bool = setting(False, "Post digests to Slack and answer the slash command.")
    mode: str = setting("socket", "socket (Socket Mode) or http (Request URL).", choices=("socket", "http"))
    bot_token_env: str = setting("SLACK_BOT_TOKEN", "Variable holding the bot token (xoxb-).", check=_env_name)
    app_token_env: str = setting("SLACK_APP_TOKEN", "Variable holding the app token (Socket Mode).", check=_env_name)
    signing_secret_env: str = setting(
        "SLACK_SIGNING_SECRET", "Variable holding the signing secret (HTTP mode).", check=_env_name
    )
    oauth: bool = setting(False, "Multi-workspace install through OAuth (HTTP mode only).", check=_oauth_needs_http)
    client_id_env: str = setting("SLACK_CLIENT_ID", "Variable holding the OAuth client id.", check=_env_name)
    client_secret_env: str = setting(
        "SLACK_CLIENT_SECRET", "Variable holding the OAuth client secret.", check=_env_name
    )
    command: str = setting("/news", "The slash command.", check=_slash_command)
    api_base_url: str = setting(
        "https://slack.com/api/", "Slack's Web API (a proxy or test double).", check=_http_url(trailing_slash=True)
    )
    http_host: str = setting("0.0.0.0", "Where HTTP mode listens.")
    http_port: int = setting(3000, "The port HTTP mode listens on.", range=above_zero(65535))
    managers: tuple[str, ...] = setting(
        ["admins"], 'Who may change subscriptions: "everyone", "admins" or user ids.', parse=_slack_managers
    )
    post_interval_seconds: float = setting(1.0, "Pause between posts to one channel.", range=zero_to(60))


# --- discord -------------------------------------------------------------------------------------


def _app_command(value: str, _: Reading) -> str:
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", value):
        raise ValueError(f'{value!r} is not an application command name like "news"')
    return value


def _guild_ids(value: Any, _: Reading) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in value):
        raise ValueError("must be a list of guild ids (whole numbers)")
    return tuple(value)


@dataclass(frozen=True)
class DiscordSettings:
    enabled: bool = setting(False, "Post digests to Discord and answer the app commands.")
    token_env: str = setting("DISCORD_TOKEN", "Variable holding the bot token.", check=_env_name)
    api_base_url: str = setting(
        "https://discord.com/api/v10",
        "Discord's REST API (a proxy or test double).",
        check=_http_url(trailing_slash=False),
    )
    command: str = setting("news", "The app command group.", check=_app_command)
    guild_ids: tuple[int, ...] = setting(
        [], "Guilds to sync the commands to instantly; empty: globally.", parse=_guild_ids
    )
    managers: str = setting(
        "manage_channels",
        "Who may change subscriptions.",
        choices=("manage_channels", "administrator", "everyone"),
    )
    style: str = setting("embeds", "How stories look: embeds or markdown.", choices=("embeds", "markdown"))


# --- [[feeds]] -----------------------------------------------------------------------------------


def _feed_url(value: str, r: Reading) -> str:
    url = resolve_feed_url(value, r.base_dir, r.root.done["fetch"].allow_local_files)
    if url in {feed.url for feed in r.earlier}:
        raise ValueError(f'"{url}" is listed twice')
    return url


@dataclass(frozen=True)
class FeedConfig:
    url: str = setting(
        None,
        "An http(s) URL, or a local path (relative to the config) when local files are allowed.",
        required="is missing; every [[feeds]] entry needs a url",
        check=_feed_url,
    )
    name: str | None = setting(None, "Shown as the source in digests (default: the feed's own title).")
    full_text: bool = setting(False, "Fetch each new item's page: for feeds that carry only teasers.")


# --- [[subscriptions]] ---------------------------------------------------------------------------


def _channel(value: str, r: Reading) -> ChannelRef:
    channel = ChannelRef.parse(value)
    if channel.platform not in PLATFORMS:
        raise ValueError(f'platform "{channel.platform}" is not one of {", ".join(PLATFORMS)}')
    if channel in {sub.channel for sub in r.earlier}:
        raise ValueError(f'"{channel}" has two [[subscriptions]] entries; merge them')
    return channel


def _subscription_feeds(value: Any, r: Reading) -> tuple[str, ...]:
    if value == "all":
        return tuple(sorted({feed.url for feed in r.root.done["feeds"]}))
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError('must be "all" or a list of feed URLs or paths')
    allow_local = r.root.done["fetch"].allow_local_files
    resolved = []
    for j, item in enumerate(value):
        try:
            resolved.append(resolve_feed_url(item, r.base_dir, allow_local))
        except ValueError as exc:
            raise Invalid(str(exc), key=f"feeds[{j}]") from None
    return tuple(dict.fromkeys(resolved))


def _schedule(value: Any, _: Reading) -> tuple[str, ...]:
    times = [value] if isinstance(value, str) else value
    if not isinstance(times, list) or not all(isinstance(x, str) for x in times):
        raise ValueError('must be a time "HH:MM" or a list of them')
    return tuple(f"{h:02d}:{m:02d}" for h, m in map(parse_time_of_day, times))


def _bot_timezone(_: str, r: Reading) -> str:
    return str(r.root.done["timezone"])


def _weekdays(value: Any, _: Reading) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of {', '.join(WEEKDAYS)}")
    days = []
    for item in value:
        day = weekday(item) if isinstance(item, str) else None
        if day is None:
            raise ValueError(f"{item!r} is not a weekday ({', '.join(WEEKDAYS)})")
        days.append(day)
    return tuple(dict.fromkeys(days))


@dataclass(frozen=True)
class SubscriptionConfig:
    channel: ChannelRef = setting(
        None,
        'Where digests go: "platform:channel", e.g. "console:#news".',
        kind=str,
        required='is missing; name the channel, e.g. "console:#news"',
        check=_channel,
    )
    feeds: tuple[str, ...] = setting(
        "all", '"all" or a list of feed URLs/paths.', parse=_subscription_feeds, python_default=False
    )
    schedule: tuple[str, ...] = setting(
        [], '"HH:MM" local times, one or a list; none: only on demand.', parse=_schedule
    )
    timezone: str = setting("UTC", "An IANA zone (default: bot.timezone).", derive=_bot_timezone, check=_zone)
    weekdays: tuple[str, ...] = setting(list(WEEKDAYS), "The days to post on.", parse=_weekdays)
    max_stories: int | None = setting(None, "Overrides digest.max_stories for this channel.", range=STORIES)


# --- the whole file ([bot] and the tables above) -------------------------------------------------


def _database_url(value: str, base_dir: Path) -> str:
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        rest = value.removeprefix("sqlite:///")
        if rest and rest != ":memory:":
            return "sqlite:///" + str((base_dir / rest).resolve())
        return value
    if value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        return value
    raise ValueError(
        f'"{value}" is not a supported database URL (use "sqlite:///file.db" or "postgresql+psycopg://user@host/db")'
    )


def _database(value: str, r: Reading) -> str:
    return _database_url(value, r.base_dir)


def _database_from_env(env: str, r: Reading) -> str:
    # a URL with a password is a secret: it comes from the environment, like the tokens
    _env_name(env, r)
    from_env = os.environ.get(env, "").strip()
    if not from_env:
        raise ValueError(f"environment variable {env} is not set; export the database URL")
    try:
        r.done["database_url"] = _database_url(from_env, r.base_dir)  # it wins over `database`
    except ValueError:
        raise ValueError(
            f"{env} does not hold a supported database URL "
            '(use "sqlite:///file.db" or "postgresql+psycopg://user:password@host/db")'
        ) from None
    return env


@dataclass(frozen=True)
class Settings:
    path: Path  # the config file; not a setting
    database_url: str = setting(
        "sqlite:///newsbot.db",
        "sqlite:///file (relative to the config file) or postgresql+psycopg://...",
        key="database",
        table="bot",
        check=_database,
        python_default=False,
    )
    database_env: str | None = setting(
        None, "A variable holding the database URL; it wins over database.", table="bot", check=_database_from_env
    )
    timezone: str = setting("UTC", "Default IANA zone for schedules that name none.", table="bot", check=_zone)
    log_level: str = setting(
        "info",
        "debug, info, warning or error (logs go to stderr).",
        table="bot",
        choices=("debug", "info", "warning", "error"),
        convert=str.upper,
    )
    retention_days: int = setting(
        30, "Article bodies older than this many days are dropped.", table="bot", range=above_zero(3650)
    )
    fetch: FetchSettings = table(FetchSettings, "How feeds are fetched and how often.")
    digest: DigestSettings = table(DigestSettings, "What a digest holds.")
    console: ConsoleSettings = table(ConsoleSettings, "The terminal as a channel platform.")
    slack: SlackSettings = table(SlackSettings, "Slack.")
    discord: DiscordSettings = table(DiscordSettings, "Discord.")
    feeds: tuple[FeedConfig, ...] = entries(FeedConfig, "The feeds newsbot reads.")
    subscriptions: tuple[SubscriptionConfig, ...] = entries(
        SubscriptionConfig, "Which channel gets which feeds, and when."
    )

    def secret(self, key: str, env_name: str) -> str:
        """The value of the environment variable `env_name`, which the config names at `key`."""
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(key, f"environment variable {env_name} is not set; export it before starting newsbot")
        return value
