"""discord.py's start-up warnings about voice support, dropped: newsbot never joins a voice channel.

discord.py warns on every start that PyNaCl and davey (its voice libraries) are missing. They are
missing on purpose, so the warning would only teach operators to skim past warnings.
"""

from __future__ import annotations

import logging

_VOICE = " is not installed, voice will NOT be supported"


class _NoVoiceWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().endswith(_VOICE)


def install() -> None:
    """Idempotent: one filter on discord.py's client logger."""
    client_log = logging.getLogger("discord.client")
    if not any(isinstance(f, _NoVoiceWarnings) for f in client_log.filters):
        client_log.addFilter(_NoVoiceWarnings())
