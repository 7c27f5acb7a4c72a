"""Argument parsing for commands: quotes, Slack's <url|label> link form, times, zones and weekdays."""

from __future__ import annotations

import difflib
import functools
import re
import shlex
import zoneinfo

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
        else:
            named = time_zone(word)
            if zone is not None and named != zone:
                raise UserInputError(f"Give one time zone, not two ({zone} and {named}).")
            zone = named
    return times, zone, days


def time_zone(word: str) -> str:
    """`word` if it is a time zone the config accepts too (any IANA name, e.g. "CET"), else UserInputError,
    with the zone it most likely means when there is one."""
    try:
        return check_timezone(word)
    except ValueError as exc:
        problem = str(exc)
    guess = likely_zone(word)
    if guess:
        raise UserInputError(f'"{word}" is not an IANA time zone; did you mean {guess}?')
    if "/" in word:
        raise UserInputError(problem)
    raise UserInputError(
        f'"{word}" is not a time (HH:MM), an IANA time zone (Europe/Paris) or weekdays (mon-fri, weekends, mon,wed)'
    )


@functools.cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


@functools.cache
def _zones_by_city() -> dict[str, str]:
    cities: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" in name and not name.startswith("Etc/"):
            cities.setdefault(name.rsplit("/", 1)[1].casefold(), name)
    return cities


def likely_zone(word: str) -> str | None:
    """The IANA zone `word` probably means: the same name in other case, a city's zone ("Paris"),
    or one a typo away ("Europe/Pari")."""
    zones = _zones_by_folded_name()
    folded = word.casefold()
    if folded in zones:
        return zones[folded]
    if "/" not in word:
        return _zones_by_city().get(folded)  # "someday" is no city, nor a misspelt zone
    close = difflib.get_close_matches(folded, list(zones), n=1, cutoff=0.85)
    return zones[close[0]] if close else None
