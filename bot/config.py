"""Settings: read a TOML file, validate every key, and hand out typed settings.

The only module that reads os.environ (for the secrets whose variable names the
config gives). Every problem raises ConfigError naming the key, e.g.
`subscriptions[2].schedule: "25:00" is not a time of day (HH:MM)`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError
from bot.models import ChannelRef

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLATFORMS = ("console", "slack", "discord")


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"
    timeout_seconds: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    poll_minutes: int = 30
    allow_local_files: bool = True
    allow_private_networks: bool = False
    min_poll_minutes: int = 10  # the adaptive interval never goes below this...
    max_poll_minutes: int = 360  # ...nor above this (backoff after failures may go further)
    max_concurrency: int = 20  # requests in flight at once, all hosts together
    max_per_host: int = 2  # requests in flight at once to one host
    pause_after_failures: int = 10  # consecutive failures before a feed is paused


@dataclass(frozen=True)
class DigestSettings:
    title: str = "News digest"
    max_stories: int = 10
    summary_sentences: int = 3
    summary_chars: int = 600
    key_entities: int = 5
    cluster_hours: int = 48
    first_items: int = 3  # newest items of a newly followed feed that reach the first digest
    grace_minutes: int = 360  # a digest missed while down is still posted this long after its time
    prefer_sources: tuple[str, ...] = ()  # feed names whose article represents a story when they carry it
    entities: str = "heuristic"  # heuristic | spacy (the spacy extra and its model)
    updates: bool = True  # follow up told stories that moved (a channel's `settings updates` overrides)


@dataclass(frozen=True)
class ConsoleSettings:
    enabled: bool = True
    color: str = "auto"  # auto | always | never


@dataclass(frozen=True)
class SlackSettings:
    enabled: bool = False
    mode: str = "socket"  # socket | http
    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    oauth: bool = False  # multi-workspace install (HTTP mode only)
    client_id_env: str = "SLACK_CLIENT_ID"
    client_secret_env: str = "SLACK_CLIENT_SECRET"
    command: str = "/news"
    api_base_url: str = "https://slack.com/api/"
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    managers: tuple[str, ...] = ("admins",)  # ("everyone",), ("admins",) or user ids
    post_interval_seconds: float = 1.0


@dataclass(frozen=True)
class DiscordSettings:
    enabled: bool = False
    token_env: str = "DISCORD_TOKEN"
    api_base_url: str = "https://discord.com/api/v10"
    command: str = "news"
    guild_ids: tuple[int, ...] = ()  # sync commands instantly to these guilds; empty: globally
    managers: str = "manage_channels"  # manage_channels | administrator | everyone
    style: str = "embeds"  # embeds | markdown


@dataclass(frozen=True)
class FeedConfig:
    url: str  # http(s) URL, or an absolute local path when local files are allowed
    name: str | None = None
    full_text: bool = False  # fetch each new item's page: for feeds that carry only teasers


@dataclass(frozen=True)
class SubscriptionConfig:
    channel: ChannelRef
    feeds: tuple[str, ...]  # feed urls, resolved like FeedConfig.url
    schedule: tuple[str, ...] = ()  # "HH:MM" local times; empty: only on demand
    timezone: str = "UTC"
    weekdays: tuple[str, ...] = WEEKDAYS
    max_stories: int | None = None


@dataclass(frozen=True)
class Settings:
    path: Path
    database_url: str
    timezone: str = "UTC"
    log_level: str = "INFO"
    retention_days: int = 30
    fetch: FetchSettings = field(default_factory=FetchSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    feeds: tuple[FeedConfig, ...] = ()
    subscriptions: tuple[SubscriptionConfig, ...] = ()

    def secret(self, key: str, env_name: str) -> str:
        """The value of the environment variable `env_name`, which the config names at `key`."""
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(key, f"environment variable {env_name} is not set; export it before starting newsbot")
        return value


class _Section:
    """Typed reads from one TOML table, with the dotted key path for messages."""

    def __init__(self, data: Mapping[str, Any], path: str, known: set[str]) -> None:
        self.data = data
        self.path = path
        for key in data:
            if key not in known:
                hint = ", ".join(sorted(known))
                raise ConfigError(self.key(key), f"unknown setting (known here: {hint})")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type, default: Any) -> Any:
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python; a bool where a number is wanted is a typo, not a number
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(self.key(name), f"{value!r} is not {_kind_name(kind)}")
        if kind is float and not math.isfinite(value):  # TOML allows nan and inf; no setting means them
            raise ConfigError(self.key(name), f"{value!r} is not a finite number")
        return value

    def positive(
        self, name: str, kind: type, default: Any, maximum: float | None = None, minimum: float | None = None
    ) -> Any:
        value = self.get(name, kind, default)
        if value <= 0:
            raise ConfigError(self.key(name), f"{value!r} must be greater than 0")
        if minimum is not None and value < minimum:
            raise ConfigError(self.key(name), f"{value!r} is too small; use at least {minimum:g}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.key(name), f"{value!r} must be at most {maximum:g}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value: str = self.get(name, str, default)
        if value.lower() not in choices:
            raise ConfigError(self.key(name), f"{value!r} is not one of {', '.join(choices)}")
        return value.lower()

    def env_name(self, name: str, default: str) -> str:
        value: str = self.get(name, str, default)
        if not _ENV_NAME_RE.match(value):
            raise ConfigError(
                self.key(name),
                f"{value!r} is not an environment variable name; put the variable's name here, never the secret itself",
            )
        return value

    def table(self, name: str, known: set[str]) -> _Section:
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(self.key(name), "must be a table ([" + self.key(name) + "])")
        return _Section(value, self.key(name), known)


def _weekday(value: str) -> str | None:
    """ "mon" or "monday" (any case) -> "mon"; None for anything else ("month" is not a day)."""
    v = value.strip().lower()
    return v[:3] if v[:3] in WEEKDAYS and v in (v[:3], _LONG_WEEKDAYS[WEEKDAYS.index(v[:3])]) else None


def _strings(sec: _Section, name: str) -> tuple[str, ...]:
    value = sec.data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(sec.key(name), "must be a list of names")
    return tuple(v.strip() for v in value)


def _non_negative(sec: _Section, name: str, default: int, maximum: int) -> int:
    value: int = sec.get(name, int, default)
    if not 0 <= value <= maximum:
        raise ConfigError(sec.key(name), f"{value!r} must be from 0 to {maximum}")
    return value


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}.get(
        kind, kind.__name__
    )


def parse_time_of_day(value: str) -> tuple[int, int]:
    """ "08:30" -> (8, 30); raises ValueError with a message fit for users."""
    m = _TIME_RE.match(value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f'"{value}" is not a time of day (HH:MM)')
    return int(m.group(1)), int(m.group(2))


def check_timezone(value: str) -> str:
    """The IANA zone name if it exists, else ValueError naming an example."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{value}" is not an IANA time zone (for example "Europe/Brussels" or "UTC")') from None
    return value


# The demo feeds shipped with newsbot: read even with fetch.allow_local_files off, so that the
# example config (which turns local files off) still prints the demo digest.
BUNDLED_FEEDS = Path(__file__).resolve().parents[1] / "examples" / "feeds"


def is_bundled_feed(path: str | Path) -> bool:
    """True for a file inside the bundled demo feeds folder (symlinks and ".." resolved first)."""
    try:
        return Path(path).resolve().is_relative_to(BUNDLED_FEEDS)
    except (OSError, ValueError):
        return False


def resolve_feed_url(value: str, base_dir: Path, allow_local: bool) -> str:
    """An http(s) URL unchanged, or a local path made absolute against the config's folder.

    Local paths need `allow_local`, except the bundled demo feeds.
    """
    text = value.strip()
    if not text:
        raise ValueError("is empty; give an http(s) URL or a local file path")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return text
    if "://" in text and not lowered.startswith("file://"):
        raise ValueError(f'"{text}" has an unsupported scheme; only http and https feeds are fetched')
    path = Path(text.removeprefix("file://")).expanduser()
    resolved = str(path if path.is_absolute() else (base_dir / path).resolve())
    if not allow_local and not is_bundled_feed(resolved):
        raise ValueError(f'"{text}" is a local path; set fetch.allow_local_files = true to read feeds from files')
    return resolved


def load_settings(path: Path) -> Settings:
    """Read and validate the config file at `path`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file {path} does not exist; copy config.example.toml to start") from None
    except IsADirectoryError:
        raise ConfigError("", f"{path} is a folder, not a config file; pass --config PATH/config.toml") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError("", f"cannot read the config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    return settings_from_dict(raw, path)


def settings_from_dict(raw: Mapping[str, Any], path: Path) -> Settings:
    """Validate an already-parsed config; `path` anchors relative paths."""
    top = _Section(raw, "", {"bot", "fetch", "digest", "console", "slack", "discord", "feeds", "subscriptions"})
    base_dir = path.resolve().parent

    b = top.table("bot", {"database", "database_env", "timezone", "log_level", "retention_days"})
    database = _database_url(b.get("database", str, "sqlite:///newsbot.db"), base_dir, b.key("database"))
    if "database_env" in b.data:
        # a URL with a password is a secret: it comes from the environment, like the tokens
        env = b.env_name("database_env", "NEWSBOT_DATABASE_URL")
        from_env = os.environ.get(env, "").strip()
        if not from_env:
            raise ConfigError(b.key("database_env"), f"environment variable {env} is not set; export the database URL")
        try:
            database = _database_url(from_env, base_dir, b.key("database_env"))
        except ConfigError:
            raise ConfigError(
                b.key("database_env"),
                f"{env} does not hold a supported database URL "
                '(use "sqlite:///file.db" or "postgresql+psycopg://user:password@host/db")',
            ) from None
    tz = b.get("timezone", str, "UTC")
    try:
        check_timezone(tz)
    except ValueError as exc:
        raise ConfigError(b.key("timezone"), str(exc)) from None
    log_level = b.choice("log_level", ("debug", "info", "warning", "error"), "info").upper()
    retention_days = b.positive("retention_days", int, 30, 3650)

    f = top.table(
        "fetch",
        {
            "user_agent",
            "timeout_seconds",
            "max_body_mb",
            "poll_minutes",
            "allow_local_files",
            "allow_private_networks",
            "min_poll_minutes",
            "max_poll_minutes",
            "max_concurrency",
            "max_per_host",
            "pause_after_failures",
        },
    )
    fetch = _fetch_settings(f)

    d = top.table(
        "digest",
        {
            "title",
            "max_stories",
            "summary_sentences",
            "summary_chars",
            "key_entities",
            "cluster_hours",
            "first_items",
            "grace_minutes",
            "prefer_sources",
            "entities",
            "updates",
        },
    )
    digest = DigestSettings(
        title=d.get("title", str, DigestSettings.title),
        max_stories=d.positive("max_stories", int, DigestSettings.max_stories, 50),
        summary_sentences=d.positive("summary_sentences", int, DigestSettings.summary_sentences, 3),
        summary_chars=d.positive("summary_chars", int, DigestSettings.summary_chars, 3000),
        key_entities=d.positive("key_entities", int, DigestSettings.key_entities, 5),
        cluster_hours=d.positive("cluster_hours", int, DigestSettings.cluster_hours, 24 * 14),
        first_items=_non_negative(d, "first_items", DigestSettings.first_items, 50),
        grace_minutes=_non_negative(d, "grace_minutes", DigestSettings.grace_minutes, 24 * 60),
        prefer_sources=_strings(d, "prefer_sources"),
        entities=d.choice("entities", ("heuristic", "spacy"), DigestSettings.entities),
        updates=d.get("updates", bool, DigestSettings.updates),
    )

    if digest.entities == "spacy":
        from bot.nlp.entities_spacy import check_available

        check_available()  # a missing extra fails at start-up (exit 2), not on the first article
    c = top.table("console", {"enabled", "color"})
    console = ConsoleSettings(c.get("enabled", bool, True), c.choice("color", ("auto", "always", "never"), "auto"))
    slack = _slack(top)
    discord = _discord(top)

    feeds = _feeds(top, base_dir, fetch.allow_local_files)
    subs = _subscriptions(top, base_dir, fetch.allow_local_files, tz, {fc.url for fc in feeds})
    return Settings(
        path=path,
        database_url=database,
        timezone=tz,
        log_level=log_level,
        retention_days=retention_days,
        fetch=fetch,
        digest=digest,
        console=console,
        slack=slack,
        discord=discord,
        feeds=feeds,
        subscriptions=subs,
    )


def _fetch_settings(f: _Section) -> FetchSettings:
    week = 7 * 24 * 60
    poll_minutes = f.positive("poll_minutes", int, FetchSettings.poll_minutes, week)
    # Unset bounds widen to include poll_minutes, so an older config with poll_minutes = 5
    # keeps working; bounds that are set must agree with it.
    low = f.positive("min_poll_minutes", int, min(FetchSettings.min_poll_minutes, poll_minutes), week)
    high = f.positive("max_poll_minutes", int, max(FetchSettings.max_poll_minutes, poll_minutes), week)
    if not low <= poll_minutes <= high:
        raise ConfigError(
            f.key("poll_minutes"),
            f"{poll_minutes} must lie between fetch.min_poll_minutes ({low}) and fetch.max_poll_minutes ({high}); "
            "change one of the three",
        )
    max_concurrency = f.positive("max_concurrency", int, FetchSettings.max_concurrency, 1000)
    max_per_host = f.positive("max_per_host", int, min(FetchSettings.max_per_host, max_concurrency), 100)
    if max_per_host > max_concurrency:
        raise ConfigError(
            f.key("max_per_host"), f"{max_per_host} is more than fetch.max_concurrency ({max_concurrency})"
        )
    return FetchSettings(
        user_agent=_header_value(f, "user_agent", FetchSettings.user_agent),
        timeout_seconds=f.positive("timeout_seconds", float, FetchSettings.timeout_seconds, 300, minimum=0.1),
        max_body_bytes=int(f.positive("max_body_mb", float, 10.0, 1024, minimum=0.01) * 1024 * 1024),
        poll_minutes=poll_minutes,
        allow_local_files=f.get("allow_local_files", bool, FetchSettings.allow_local_files),
        allow_private_networks=f.get("allow_private_networks", bool, FetchSettings.allow_private_networks),
        min_poll_minutes=low,
        max_poll_minutes=high,
        max_concurrency=max_concurrency,
        max_per_host=max_per_host,
        pause_after_failures=f.positive("pause_after_failures", int, FetchSettings.pause_after_failures, 1000),
    )


def _header_value(sec: _Section, name: str, default: str) -> str:
    value: str = sec.get(name, str, default)
    # sent as an HTTP header: a line break or other control character would be refused on every fetch
    if not value.strip() or len(value) > 500 or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConfigError(sec.key(name), f"{value[:60]!r} must be one line of at most 500 printable characters")
    return value


def _slack(top: _Section) -> SlackSettings:
    d = SlackSettings()
    s = top.table(
        "slack",
        {
            "enabled",
            "mode",
            "bot_token_env",
            "app_token_env",
            "signing_secret_env",
            "oauth",
            "client_id_env",
            "client_secret_env",
            "command",
            "api_base_url",
            "http_host",
            "http_port",
            "managers",
            "post_interval_seconds",
        },
    )
    command = s.get("command", str, d.command)
    if not re.fullmatch(r"/[a-z0-9_-]{1,31}", command):
        raise ConfigError(s.key("command"), f'{command!r} is not a slash command name like "/news"')
    managers = s.data.get("managers", list(d.managers))
    if isinstance(managers, str):
        managers = [managers]
    if (
        not isinstance(managers, list)
        or not managers
        or not all(
            isinstance(m, str) and (m in ("everyone", "admins") or re.fullmatch(r"[UW][A-Z0-9]{2,}", m))
            for m in managers
        )
    ):
        raise ConfigError(s.key("managers"), 'must be "everyone", "admins" or a list of Slack user ids (U0123ABCD)')
    mode = s.choice("mode", ("socket", "http"), d.mode)
    oauth = s.get("oauth", bool, d.oauth)
    if oauth and mode != "http":
        raise ConfigError(s.key("oauth"), 'the multi-workspace install needs mode = "http"')
    return SlackSettings(
        enabled=s.get("enabled", bool, d.enabled),
        mode=mode,
        bot_token_env=s.env_name("bot_token_env", d.bot_token_env),
        app_token_env=s.env_name("app_token_env", d.app_token_env),
        signing_secret_env=s.env_name("signing_secret_env", d.signing_secret_env),
        oauth=oauth,
        client_id_env=s.env_name("client_id_env", d.client_id_env),
        client_secret_env=s.env_name("client_secret_env", d.client_secret_env),
        command=command,
        api_base_url=_http_url(s, "api_base_url", d.api_base_url, trailing_slash=True),
        http_host=s.get("http_host", str, d.http_host),
        http_port=s.positive("http_port", int, d.http_port, 65535),
        managers=tuple(managers),
        post_interval_seconds=_non_negative_float(s, "post_interval_seconds", d.post_interval_seconds, 60),
    )


def _discord(top: _Section) -> DiscordSettings:
    d = DiscordSettings()
    s = top.table("discord", {"enabled", "token_env", "api_base_url", "command", "guild_ids", "managers", "style"})
    command = s.get("command", str, d.command)
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", command):
        raise ConfigError(s.key("command"), f'{command!r} is not an application command name like "news"')
    guilds = s.data.get("guild_ids", [])
    if not isinstance(guilds, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in guilds
    ):
        raise ConfigError(s.key("guild_ids"), "must be a list of guild ids (whole numbers)")
    return DiscordSettings(
        enabled=s.get("enabled", bool, d.enabled),
        token_env=s.env_name("token_env", d.token_env),
        api_base_url=_http_url(s, "api_base_url", d.api_base_url, trailing_slash=False),
        command=command,
        guild_ids=tuple(guilds),
        managers=s.choice("managers", ("manage_channels", "administrator", "everyone"), d.managers),
        style=s.choice("style", ("embeds", "markdown"), d.style),
    )


def _http_url(sec: _Section, name: str, default: str, *, trailing_slash: bool) -> str:
    value: str = sec.get(name, str, default)
    if not re.match(r"https?://[^/\s]+", value):
        raise ConfigError(sec.key(name), f"{value!r} is not an http(s) URL")
    value = value.rstrip("/")
    return value + "/" if trailing_slash else value


def _non_negative_float(sec: _Section, name: str, default: float, maximum: float) -> float:
    value: float = sec.get(name, float, default)
    if not 0 <= value <= maximum:
        raise ConfigError(sec.key(name), f"{value!r} must be from 0 to {maximum:g}")
    return value


def _database_url(value: str, base_dir: Path, key: str) -> str:
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        rest = value.removeprefix("sqlite:///")
        if rest and rest != ":memory:":
            return "sqlite:///" + str((base_dir / rest).resolve())
        return value
    if value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        return value
    raise ConfigError(
        key,
        f'"{value}" is not a supported database URL (use "sqlite:///file.db" or "postgresql+psycopg://user@host/db")',
    )


def _array_of_tables(top: _Section, name: str) -> list[tuple[str, Mapping[str, Any]]]:
    value = top.data.get(name, [])
    if not isinstance(value, list):
        raise ConfigError(name, f"must be an array of tables ([[{name}]])")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{name}[{i}]", f"must be a table ([[{name}]])")
        out.append((f"{name}[{i}]", item))
    return out


def _feeds(top: _Section, base_dir: Path, allow_local: bool) -> tuple[FeedConfig, ...]:
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for path, item in _array_of_tables(top, "feeds"):
        sec = _Section(item, path, {"url", "name", "full_text"})
        if "url" not in item:
            raise ConfigError(sec.key("url"), "is missing; every [[feeds]] entry needs a url")
        try:
            url = resolve_feed_url(sec.get("url", str, ""), base_dir, allow_local)
        except ValueError as exc:
            raise ConfigError(sec.key("url"), str(exc)) from None
        if url in seen:
            raise ConfigError(sec.key("url"), f'"{url}" is listed twice')
        seen.add(url)
        feeds.append(FeedConfig(url=url, name=sec.get("name", str, None), full_text=sec.get("full_text", bool, False)))
    return tuple(feeds)


def _subscriptions(
    top: _Section, base_dir: Path, allow_local: bool, default_tz: str, known_feeds: set[str]
) -> tuple[SubscriptionConfig, ...]:
    subs: list[SubscriptionConfig] = []
    channels: set[ChannelRef] = set()
    for path, item in _array_of_tables(top, "subscriptions"):
        sec = _Section(item, path, {"channel", "feeds", "schedule", "timezone", "weekdays", "max_stories"})
        if "channel" not in item:
            raise ConfigError(sec.key("channel"), 'is missing; name the channel, e.g. "console:#news"')
        try:
            channel = ChannelRef.parse(sec.get("channel", str, ""))
        except ValueError as exc:
            raise ConfigError(sec.key("channel"), str(exc)) from None
        if channel.platform not in PLATFORMS:
            raise ConfigError(sec.key("channel"), f'platform "{channel.platform}" is not one of {", ".join(PLATFORMS)}')
        if channel in channels:
            raise ConfigError(sec.key("channel"), f'"{channel}" has two [[subscriptions]] entries; merge them')
        channels.add(channel)

        raw_feeds = item.get("feeds", "all")
        if raw_feeds == "all":
            feeds = tuple(sorted(known_feeds))
        elif isinstance(raw_feeds, list) and all(isinstance(x, str) for x in raw_feeds):
            resolved = []
            for j, value in enumerate(raw_feeds):
                try:
                    resolved.append(resolve_feed_url(value, base_dir, allow_local))
                except ValueError as exc:
                    raise ConfigError(f"{sec.key('feeds')}[{j}]", str(exc)) from None
            feeds = tuple(dict.fromkeys(resolved))
        else:
            raise ConfigError(sec.key("feeds"), 'must be "all" or a list of feed URLs or paths')

        raw_schedule = item.get("schedule", [])
        schedule_list = [raw_schedule] if isinstance(raw_schedule, str) else raw_schedule
        if not isinstance(schedule_list, list) or not all(isinstance(x, str) for x in schedule_list):
            raise ConfigError(sec.key("schedule"), 'must be a time "HH:MM" or a list of them')
        for value in schedule_list:
            try:
                parse_time_of_day(value)
            except ValueError as exc:
                raise ConfigError(sec.key("schedule"), str(exc)) from None
        tz = sec.get("timezone", str, default_tz)
        try:
            check_timezone(tz)
        except ValueError as exc:
            raise ConfigError(sec.key("timezone"), str(exc)) from None
        raw_days = item.get("weekdays", list(WEEKDAYS))
        if not isinstance(raw_days, list) or not raw_days:
            raise ConfigError(sec.key("weekdays"), f"must be a non-empty list of {', '.join(WEEKDAYS)}")
        days = []
        for value in raw_days:
            if not isinstance(value, str) or _weekday(value) is None:
                raise ConfigError(sec.key("weekdays"), f"{value!r} is not a weekday ({', '.join(WEEKDAYS)})")
            days.append(_weekday(value) or "")
        max_stories = sec.positive("max_stories", int, None, 50) if "max_stories" in item else None
        times = tuple(f"{h:02d}:{m:02d}" for h, m in map(parse_time_of_day, schedule_list))
        subs.append(
            SubscriptionConfig(
                channel=channel,
                feeds=feeds,
                schedule=times,
                timezone=tz,
                weekdays=tuple(dict.fromkeys(days)),
                max_stories=max_stories,
            )
        )
    return tuple(subs)
