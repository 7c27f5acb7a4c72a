"""The limits a channel's settings and commands live within, defined once.

The config validation, the chat commands, their help text and the Discord command tree all read
these, so `settings stories 51` and `max_stories = 51` are refused by the same rule.
"""

from __future__ import annotations

MAX_STORIES = 50  # stories in one digest (a Slack message shows at most 50 blocks)
MAX_SENTENCES = 3  # summary sentences per story: a digest stays short
MAX_FIRST_ITEMS = 50  # newest items of a newly followed feed that the next digest brings
MAX_FOLLOWS = 25  # followed topics per channel
MAX_TOPIC_CHARS = 100  # one followed topic (also Discord's longest choice value)
