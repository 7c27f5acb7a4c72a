"""Discord adapter: /news app commands and threaded digests through discord.py.

`DiscordAdapter.from_settings(settings)` is what bot.app builds when `[discord] enabled = true`.
"""

from adapters.discord import quiet
from adapters.discord.adapter import DiscordAdapter

quiet.install()

__all__ = ["DiscordAdapter"]
