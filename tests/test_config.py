"""Config validation: every problem names its key; the CLI exits with code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings, settings_from_dict
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def problem(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, Path("/tmp/newsbot/config.toml"))
    return str(info.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {
                "subscriptions": [
                    {"channel": "console:a"},
                    {"channel": "console:b"},
                    {"channel": "console:c", "schedule": "25:00"},
                ]
            },
            'subscriptions[2].schedule: "25:00" is not a time of day (HH:MM)',
        ),
        (
            {"subscriptions": [{"channel": "console:a", "timezone": "Mars/Olympus"}]},
            'subscriptions[0].timezone: "Mars/Olympus" is not an IANA time zone',
        ),
        (
            {"subscriptions": [{"channel": "console:a", "weekdays": ["mon", "funday"]}]},
            "subscriptions[0].weekdays: 'funday' is not a weekday",
        ),
        ({"subscriptions": [{"channel": "irc:#x"}]}, 'subscriptions[0].channel: platform "irc" is not one of'),
        ({"subscriptions": [{"channel": "news"}]}, 'subscriptions[0].channel: "news" is not a channel'),
        ({"subscriptions": [{"feeds": "all"}]}, "subscriptions[0].channel: is missing"),
        ({"digest": {"max_stories": 0}}, "digest.max_stories: 0 must be greater than 0"),
        ({"digest": {"max_stories": "ten"}}, "digest.max_stories: 'ten' is not a whole number"),
        ({"digest": {"max_stories": True}}, "digest.max_stories: True is not a whole number"),
        ({"digest": {"summary_sentences": 9}}, "digest.summary_sentences: 9 must be at most 3"),
        ({"digest": {"colour": "red"}}, "digest.colour: unknown setting"),
        ({"bot": {"timezone": "Nowhere"}}, 'bot.timezone: "Nowhere" is not an IANA time zone'),
        ({"digest": {"entities": "bert"}}, "digest.entities: 'bert' is not one of heuristic, spacy"),
        ({"digest": {"prefer_sources": "Wire"}}, "digest.prefer_sources: must be a list of names"),
        ({"bot": {"database": "mysql://x"}}, 'bot.database: "mysql://x" is not a supported database URL'),
        ({"bot": {"log_level": "loud"}}, "bot.log_level: 'loud' is not one of"),
        ({"console": {"color": "pink"}}, "console.color: 'pink' is not one of auto, always, never"),
        (
            {"slack": {"bot_token_env": "xoxb-123-secret"}},
            "slack.bot_token_env: 'xoxb-123-secret' is not an environment",
        ),
        ({"feeds": [{"name": "x"}]}, "feeds[0].url: is missing"),
        (
            {"feeds": [{"url": "ftp://example.org/feed"}]},
            'feeds[0].url: "ftp://example.org/feed" has an unsupported scheme',
        ),
        ({"feeds": [{"url": "https://a.example/f"}, {"url": "https://a.example/f"}]}, "feeds[1].url: "),
        (
            {"fetch": {"allow_local_files": False}, "feeds": [{"url": "feeds/a.xml"}]},
            'feeds[0].url: "feeds/a.xml" is a local path; set fetch.allow_local_files = true',
        ),
        ({"feeds": {"url": "x"}}, "feeds: must be an array of tables"),
        ({"subscriptions": [{"channel": "console:a", "feeds": 3}]}, 'subscriptions[0].feeds: must be "all" or a list'),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, Any], expected: str) -> None:
    assert problem(raw).startswith(expected)


def test_defaults_and_relative_paths() -> None:
    s = settings_from_dict(
        {
            "feeds": [{"url": "feeds/a.xml"}],
            "subscriptions": [{"channel": "console:#n", "schedule": ["7:05", "18:30"]}],
        },
        Path("/srv/bot/config.toml"),
    )
    assert s.database_url == "sqlite:////srv/bot/newsbot.db"
    assert s.feeds[0].url == "/srv/bot/feeds/a.xml"
    assert s.subscriptions[0].feeds == ("/srv/bot/feeds/a.xml",)  # "all" by default
    assert s.subscriptions[0].schedule == ("07:05", "18:30")
    assert s.subscriptions[0].weekdays == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert s.digest.max_stories == 10 and s.fetch.allow_private_networks is False


def test_secrets_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings_from_dict({"slack": {"bot_token_env": "NB_TEST_TOKEN"}}, Path("/tmp/c.toml"))
    monkeypatch.delenv("NB_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="slack.bot_token_env: environment variable NB_TEST_TOKEN is not set"):
        s.secret("slack.bot_token_env", s.slack.bot_token_env)
    monkeypatch.setenv("NB_TEST_TOKEN", "xoxb-very-secret")
    assert s.secret("slack.bot_token_env", s.slack.bot_token_env) == "xoxb-very-secret"
    assert "xoxb-very-secret" not in repr(s)


def test_the_example_config_is_valid() -> None:
    s = load_settings(ROOT / "config.example.toml")
    assert s.subscriptions and s.feeds
    assert all(Path(f.url).exists() for f in s.feeds), "the bundled demo feeds must exist"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[bot\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_cli_exits_2_and_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[subscriptions]]\nchannel = "console:#a"\n[[subscriptions]]\nchannel = "console:#b"\n'
        '[[subscriptions]]\nchannel = "console:#c"\nschedule = "25:00"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "digest", "--once", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert 'subscriptions[2].schedule: "25:00" is not a time of day (HH:MM)' in proc.stderr
    assert proc.stdout == ""


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_DB", "postgresql+psycopg://bot:s3cret@db.example/news")
    s = settings_from_dict({"bot": {"database_env": "NB_DB"}}, Path("/tmp/c.toml"))
    assert s.database_url == "postgresql+psycopg://bot:s3cret@db.example/news"
    monkeypatch.delenv("NB_DB")
    assert problem({"bot": {"database_env": "NB_DB"}}).startswith("bot.database_env: environment variable NB_DB")
    monkeypatch.setenv("NB_DB", "mysql://x")
    assert "does not hold a supported database URL" in problem({"bot": {"database_env": "NB_DB"}})
    assert "s3cret" not in problem({"bot": {"database_env": "NB_DB"}})
