"""Logging set-up: newsbot's own lines at `bot.log_level` (default info), the libraries' at warning.

At info a start prints what newsbot will do (channels, feeds, next digests) and each poll one
line; the libraries' own info lines (every migration step, every scheduler job added) would
bury those, so they are shown only from warning up, or everything at `log_level = "debug"`.
"""

from __future__ import annotations

import logging
from typing import TextIO

# libraries whose info lines are about their own workings, not about the news
LIBRARY_LOGGERS = ("alembic", "apscheduler", "slack_bolt", "slack_sdk", "discord", "aiohttp", "asyncio", "sqlalchemy")
# at debug these write secrets: SQLAlchemy every statement's parameters (the Slack install store's
# bot tokens), slack_sdk whole request and response bodies (oauth.v2.access holds a token)
SECRET_BEARING = ("sqlalchemy", "slack_sdk")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str, stream: TextIO) -> None:
    """Send log lines to `stream`: newsbot's from `level` up, the libraries' from warning up (unless debugging)."""
    logging.basicConfig(level=level, stream=stream, format=FORMAT)
    numeric = logging.getLevelName(level.upper())
    library_level = numeric if numeric == logging.DEBUG else max(logging.WARNING, numeric)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    for name in SECRET_BEARING:  # never below warning, even when debugging: secrets must not reach a log
        logging.getLogger(name).setLevel(max(logging.WARNING, library_level))
