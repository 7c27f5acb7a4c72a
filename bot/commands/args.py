"""Argument parsing for commands: quotes, Slack's <url|label> link form, times, zones and weekdays."""

from __future__ import annotations

import re
import shlex

from bot.config import WEEKDAYS, check_timezone, parse_time_of_day
from bot.errors import UserInputError

_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|[^>]*)?>")
_DAY_ALIASES = {
    "daily": WEEKDAYS,
    "everyday": WEEKDAYS,
    "weekdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
    "weekend": WEEKDAYS[5:],
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUOTES = str.maketrans("“”‘’", "\"\"''")
_LONG_DAYS = {d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


def tokens(text: str) -> list[str]:
    """Words, with "quoted phrases" kept whole and Slack's <https://x|x> turned back into the URL."""
    text = _CONTROL.sub(" ", _SLACK_LINK.sub(lambda m: m.group(1), text))
    # chat clients turn straight quotes into curly ones
    text = text.translate(_QUOTES)
    try:
        return shlex.split(text)
    except ValueError:
        # an unbalanced quote: treat it as text rather than refuse the whole command
        return text.replace('"', " ").split()


def weekdays(value: str) -> tuple[str, ...] | None:
    """ "mon-fri", "mon,wed,fri", "weekdays", "sat sun" -> day codes; None if it is not a weekday spec."""
    spec = value.lower().strip()
    if spec in _DAY_ALIASES:
        return _DAY_ALIASES[spec]
    days: list[str] = []
    for part in re.split(r"[,\s]+", spec):
        part = _LONG_DAYS.get(part, part)
        if "-" in part:
            start, _, end = part.partition("-")
            start, end = _LONG_DAYS.get(start, start), _LONG_DAYS.get(end, end)
            if start not in WEEKDAYS or end not in WEEKDAYS:
                return None
            i, j = WEEKDAYS.index(start), WEEKDAYS.index(end)
            days += WEEKDAYS[i : j + 1] if i <= j else WEEKDAYS[i:] + WEEKDAYS[: j + 1]
        elif part in WEEKDAYS:
            days.append(part)
        else:
            return None
    return tuple(d for d in WEEKDAYS if d in days) or None


def schedule_args(words: list[str]) -> tuple[list[str], str | None, tuple[str, ...] | None]:
    """Times, an optional IANA zone and optional weekdays, in any order; UserInputError says which word is wrong."""
    times: list[str] = []
    zone: str | None = None
    days: tuple[str, ...] | None = None
    for word in words:
        if re.fullmatch(r"\d{1,2}:\d{2}", word):
            try:
                hour, minute = parse_time_of_day(word)
            except ValueError as exc:
                raise UserInputError(str(exc)) from None
            times.append(f"{hour:02d}:{minute:02d}")
        elif (found := weekdays(word)) is not None:
            days = tuple(d for d in WEEKDAYS if d in set(days or ()) | set(found))
        elif "/" in word or word.upper() in ("UTC", "GMT"):
            try:
                zone = check_timezone("UTC" if word.upper() in ("UTC", "GMT") else word)
            except ValueError as exc:
                raise UserInputError(str(exc)) from None
        else:
            raise UserInputError(
                f'"{word}" is not a time (HH:MM), an IANA time zone (Europe/Paris) or weekdays '
                "(mon-fri, weekends, mon,wed)"
            )
    return times, zone, days
