"""Settings: read a TOML file, validate every key, and hand out typed settings.

Each setting is declared once, on its dataclass field in `settings` (key, type, default, allowed
values, doc); `schema` walks those declarations over the TOML, `load` reads the file, `values`
holds the parsers the commands share (times, weekdays, zones, feed paths). The only package
that reads os.environ (for the secrets whose variable names the config gives). Every problem
raises ConfigError naming the key, e.g. `subscriptions[2].schedule: "25:00" is not a time of day (HH:MM)`.
"""

from bot.config.load import load_settings, settings_from_dict
from bot.config.settings import (
    PLATFORMS,
    ConsoleSettings,
    DigestSettings,
    DiscordSettings,
    FeedConfig,
    FetchSettings,
    Settings,
    SlackSettings,
    SubscriptionConfig,
)
from bot.config.values import (
    BUNDLED_FEEDS,
    WEEKDAYS,
    check_timezone,
    is_bundled_feed,
    parse_time_of_day,
    resolve_feed_url,
)

__all__ = [
    "BUNDLED_FEEDS",
    "PLATFORMS",
    "WEEKDAYS",
    "ConsoleSettings",
    "DigestSettings",
    "DiscordSettings",
    "FeedConfig",
    "FetchSettings",
    "Settings",
    "SlackSettings",
    "SubscriptionConfig",
    "check_timezone",
    "is_bundled_feed",
    "load_settings",
    "parse_time_of_day",
    "resolve_feed_url",
    "settings_from_dict",
]
