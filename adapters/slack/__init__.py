"""The Slack adapter: threaded Block Kit digests and the /news slash command through slack-bolt.

bot.app builds it with `SlackAdapter.from_settings(settings)` when `[slack] enabled = true`.
"""

from adapters.slack.adapter import SlackAdapter, SlackSecrets

__all__ = ["SlackAdapter", "SlackSecrets"]
