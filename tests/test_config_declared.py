"""Each setting is written once: its field declares it, config.example.toml shows it, the walker reads it.

The declarations (bot/config/settings.py) are the only list of keys: the example config must
name every one and nothing else, show each default, and the dataclasses' own defaults must be
what a config without the key gets.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    ConsoleSettings,
    DigestSettings,
    DiscordSettings,
    FeedConfig,
    FetchSettings,
    Settings,
    SlackSettings,
    SubscriptionConfig,
    settings_from_dict,
)
from bot.config.schema import declared
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_TEXT = (ROOT / "config.example.toml").read_text(encoding="utf-8")
EXAMPLE = tomllib.loads(EXAMPLE_TEXT)
CONFIG = Path("/tmp/newsbot/config.toml")

# [table] -> the dataclass that declares its keys; [bot] holds Settings' own keys
TABLES: dict[str, type] = {
    "bot": Settings,
    "fetch": FetchSettings,
    "digest": DigestSettings,
    "console": ConsoleSettings,
    "slack": SlackSettings,
    "discord": DiscordSettings,
}
ARRAYS: dict[str, type] = {"feeds": FeedConfig, "subscriptions": SubscriptionConfig}
# The one default the example does not show (its comment says so): a config without the key
# allows local files, the example turns them off.
NOT_THE_DEFAULT = {("fetch", "allow_local_files")}


def keys(table: str) -> dict[str, Any]:
    """The declared keys of a table (or of one array entry), with their declarations."""
    cls = TABLES.get(table) or ARRAYS[table]
    want = "bot" if table == "bot" else None
    return {key: spec for key, _, spec in declared(cls) if spec.table == want and spec.nested is None}


def section(table: str) -> str:
    """The example's text from `[table]` or `[[table]]` up to the next table of another name."""
    start = re.search(rf"(?m)^\[\[?{table}\]\]?$", EXAMPLE_TEXT)
    assert start, f"config.example.toml has no [{table}]"
    rest = EXAMPLE_TEXT[start.end() :]
    end = re.search(rf"(?m)^\[\[?(?!{table}\]).*\]\]?$", rest)
    return rest[: end.start()] if end else rest


def test_the_top_level_tables_are_the_declared_ones() -> None:
    top = {key for key, _, spec in declared(Settings) if spec.nested is not None} | {"bot"}
    assert top == set(TABLES) | set(ARRAYS) == set(EXAMPLE)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_example_sets_every_declared_key_of_a_table_and_nothing_else(table: str) -> None:
    declared_keys = keys(table)
    set_keys = set(EXAMPLE[table])
    assert set_keys <= set(declared_keys), f"[{table}] sets undeclared keys"
    for key, spec in declared_keys.items():
        if spec.default is None:  # an optional key with no value: the example names it in a comment
            assert re.search(rf"(?m)^#.*\b{key}\b", section(table)), f"{table}.{key} is not mentioned"
        else:
            assert key in set_keys, f"config.example.toml does not show {table}.{key}"


@pytest.mark.parametrize("table", sorted(ARRAYS))
def test_the_example_entries_use_only_declared_keys_and_mention_every_one(table: str) -> None:
    declared_keys = keys(table)
    for entry in EXAMPLE[table]:
        assert set(entry) <= set(declared_keys), f"[[{table}]] sets undeclared keys"
    # the comments above and among the entries explain the rest (e.g. max_stories, full_text)
    text = EXAMPLE_TEXT[EXAMPLE_TEXT.index(f"# {table.capitalize()}:") :]
    for key in declared_keys:
        assert re.search(rf"\b{key}\b", text), f"[[{table}]].{key} is not mentioned in config.example.toml"


def _values(settings: Settings, table: str) -> dict[str, Any]:
    if table == "bot":
        return {f.name: getattr(settings, f.name) for _, f, spec in declared(Settings) if spec.table == "bot"}
    return dataclasses.asdict(getattr(settings, table))


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_example_shows_each_default(table: str) -> None:
    # read through the loader, so "info" and "INFO", 10 and 10.0, "admins" and ["admins"] agree
    defaults = _values(settings_from_dict({}, CONFIG), table)
    shown = _values(settings_from_dict({table: EXAMPLE[table]}, CONFIG), table)
    fields = {key: f.name for key, f, _ in declared(TABLES[table])}
    differ = {key for key in EXAMPLE[table] if shown[fields[key]] != defaults[fields[key]]}
    assert differ == {key for t, key in NOT_THE_DEFAULT if t == table}


@pytest.mark.parametrize("cls", [FetchSettings, DigestSettings, ConsoleSettings, SlackSettings, DiscordSettings])
def test_the_dataclass_defaults_are_the_declared_defaults(cls: type) -> None:
    # the field's Python default comes from its declaration: building the class bare equals
    # reading a config that does not have the table
    loaded = settings_from_dict({}, CONFIG)
    table = next(f.name for f in dataclasses.fields(Settings) if f.type == cls.__name__)
    assert getattr(loaded, table) == cls()


def test_settings_and_entry_defaults_are_the_declared_defaults() -> None:
    loaded = settings_from_dict(
        {"feeds": [{"url": "https://a.example/feed"}], "subscriptions": [{"channel": "console:#n"}]}, CONFIG
    )
    bare = Settings(path=CONFIG, database_url=loaded.database_url)
    assert loaded == dataclasses.replace(bare, feeds=loaded.feeds, subscriptions=loaded.subscriptions)
    assert loaded.feeds[0] == FeedConfig(url="https://a.example/feed")
    sub = loaded.subscriptions[0]
    assert sub == SubscriptionConfig(channel=sub.channel, feeds=("https://a.example/feed",))


@pytest.mark.parametrize("table", [*sorted(TABLES), *sorted(ARRAYS)])
def test_unknown_keys_are_refused_naming_the_known_ones(table: str) -> None:
    known = ", ".join(sorted(keys(table)))
    if table in ARRAYS:
        entry = {"url": "https://a.example/feed"} if table == "feeds" else {"channel": "console:#n"}
        raw: dict[str, Any] = {table: [entry, {**entry, "colour": "red"}]}
        where = f"{table}[1]"
    else:
        raw, where = {table: {"colour": "red"}}, table
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, CONFIG)
    assert str(info.value) == f"{where}.colour: unknown setting (known here: {known})"


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"digests": {}}, CONFIG)
    assert str(info.value) == (
        "digests: unknown setting (known here: bot, console, digest, discord, feeds, fetch, slack, subscriptions)"
    )


@pytest.mark.parametrize(("table", "key"), [(t, k) for t in sorted(TABLES) for k in keys(t)])
def test_every_declared_key_is_read_and_checked(table: str, key: str) -> None:
    # a table where a value belongs is wrong for every setting: the walker reaches each key and names it
    with pytest.raises(ConfigError) as info:
        settings_from_dict({table: {key: {"x": 1}}}, CONFIG)
    assert info.value.key == f"{table}.{key}"


@pytest.mark.parametrize("table", [*sorted(TABLES), *sorted(ARRAYS)])
def test_every_setting_has_a_one_line_doc(table: str) -> None:
    for key, spec in keys(table).items():
        assert spec.doc.strip() and "\n" not in spec.doc, f"{table}.{key} has no one-line doc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"digest": {"max_stories": 51}}, "digest.max_stories: 51 must be at most 50"),
        (
            {"subscriptions": [{"channel": "console:a", "max_stories": 51}]},
            "subscriptions[0].max_stories: 51 must be at most 50",
        ),
        ({"subscriptions": [{"channel": "console:a", "max_stories": 0}]}, "subscriptions[0].max_stories: 0 must be"),
        ({"digest": {"summary_sentences": 4}}, "digest.summary_sentences: 4 must be at most 3"),
        ({"digest": {"summary_sentences": 0}}, "digest.summary_sentences: 0 must be greater than 0"),
        ({"digest": {"first_items": -1}}, "digest.first_items: -1 must be from 0 to 50"),
        ({"fetch": {"max_body_mb": 0.001}}, "fetch.max_body_mb: 0.001 is too small; use at least 0.01"),
        ({"fetch": {"max_body_mb": float("nan")}}, "fetch.max_body_mb: nan is not a finite number"),
        (
            {"fetch": {"poll_minutes": 5, "min_poll_minutes": 10}},
            "fetch.poll_minutes: 5 must lie between fetch.min_poll_minutes (10) and fetch.max_poll_minutes (360)",
        ),
        (
            {"fetch": {"max_concurrency": 1, "max_per_host": 2}},
            "fetch.max_per_host: 2 is more than fetch.max_concurrency",
        ),
        ({"slack": {"oauth": True}}, 'slack.oauth: the multi-workspace install needs mode = "http"'),
        (
            {"subscriptions": [{"channel": "console:a", "feeds": ["https://a.example/f", "ftp://b"]}]},
            'subscriptions[0].feeds[1]: "ftp://b" has an unsupported scheme',
        ),
        (
            {"subscriptions": [{"channel": "console:a"}, {"channel": "Console:a"}]},
            'subscriptions[1].channel: "console:a" has two [[subscriptions]] entries',
        ),
    ],
)
def test_ranges_and_rules_between_keys(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, CONFIG)
    assert str(info.value).startswith(expected)


def test_derived_defaults_follow_the_keys_they_depend_on() -> None:
    s = settings_from_dict(
        {
            "bot": {"timezone": "Asia/Tokyo"},
            "fetch": {"poll_minutes": 5, "max_concurrency": 1},
            "feeds": [{"url": "https://b.example/f"}, {"url": "https://a.example/f"}],
            "subscriptions": [{"channel": "console:a"}],
        },
        CONFIG,
    )
    assert (s.fetch.min_poll_minutes, s.fetch.max_poll_minutes, s.fetch.max_per_host) == (5, 360, 1)
    assert s.subscriptions[0].timezone == "Asia/Tokyo"
    assert s.subscriptions[0].feeds == ("https://a.example/f", "https://b.example/f")
    assert settings_from_dict({"fetch": {"max_body_mb": 0.5}}, CONFIG).fetch.max_body_bytes == 512 * 1024
