"""How a setting is declared once, on its dataclass field, and the walker that reads TOML by it.

A field made with `setting(...)` carries its TOML default, a one-line doc, and the rules a value
must meet (range, choices, or a hook for what cannot be said declaratively); its Python type is
the field's annotation. `read()` walks a settings dataclass over a parsed TOML table: unknown
keys are refused, each value is type-checked, range-checked and handed to the field's hooks,
and every problem becomes a ConfigError naming the dotted key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

# The TOML types a value is checked against, and how a message names them.
_KIND_NAMES: dict[Any, str] = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
NAMES = "list of names"  # a `tuple[str, ...]` field: a list of non-empty strings, stripped
_META = "newsbot.setting"


class Invalid(ValueError):
    """A hook's refusal that belongs to a sibling key (`key`, relative to the table) rather than its own."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Range:
    """Inclusive bounds for a number; `from_zero` allows 0, otherwise the value must be above 0."""

    high: float
    low: float | None = None  # for values above 0: the smallest one that makes sense
    from_zero: bool = False

    def problem(self, value: float) -> str | None:
        if self.from_zero:
            return None if 0 <= value <= self.high else f"{value!r} must be from 0 to {self.high:g}"
        if value <= 0:
            return f"{value!r} must be greater than 0"
        if self.low is not None and value < self.low:
            return f"{value!r} is too small; use at least {self.low:g}"
        if value > self.high:
            return f"{value!r} must be at most {self.high:g}"
        return None


def above_zero(high: float, at_least: float | None = None) -> Range:
    return Range(high, low=at_least)


def zero_to(high: float) -> Range:
    return Range(high, from_zero=True)


Hook = Callable[[Any, "Reading"], Any]


@dataclass(frozen=True)
class Setting:
    """One config key, as declared on its field with `setting(default, doc, **rules)`.

    A value is type-checked against the annotation (or `kind`), then meets `range` or `choices`,
    then `check`, then `convert`; a hook raises ValueError (or Invalid) with the message.
    """

    default: Any  # what a config without the key gets, as TOML writes it
    doc: str  # one line
    key: str | None = None  # the TOML key, when it is not the field's name
    table: str | None = None  # a subtable the key lives in (Settings' own keys are in [bot])
    kind: Any = None  # the TOML type, when not the annotation's (a float read into an int field)
    range: Range | None = None
    choices: tuple[str, ...] = ()  # matched case-blind, kept lowercase
    parse: Hook | None = None  # (raw, reading): for values TOML can write several ways; replaces the type check
    check: Hook | None = None  # (value, reading) -> value: what cannot be said declaratively
    convert: Callable[[Any], Any] | None = None  # to the field's unit (MiB -> bytes), also for the default
    derive: Hook | None = None  # (default, reading): a default that follows keys read before
    required: str | None = None  # the message for a key every entry must give
    nested: type | None = None  # a settings dataclass read from a table ...
    many: bool = False  # ... or from an array of tables


def setting(default: Any, doc: str, *, python_default: bool = True, **rules: Any) -> Any:
    """A dataclass field that is also a config key (`rules`: the fields of Setting).

    The field's own default is `default` made Python: lists become tuples, then `convert`.
    `python_default=False` (and `required`) leave the field without one: it depends on the file.
    """
    spec = Setting(default, doc, **rules)
    metadata = {_META: spec}
    if spec.required is not None or not python_default:
        return dataclasses.field(metadata=metadata)
    value = tuple(default) if isinstance(default, list) else default
    if spec.convert is not None and value is not None:
        value = spec.convert(value)
    return dataclasses.field(default=value, metadata=metadata)


def table(cls: type, doc: str) -> Any:
    """A field read from the TOML table of the same name, by `cls`'s own declarations."""
    return dataclasses.field(default_factory=cls, metadata={_META: Setting({}, doc, nested=cls)})


def entries(cls: type, doc: str) -> Any:
    """A field read from an array of tables ([[name]]), each entry by `cls`'s declarations."""
    return dataclasses.field(default=(), metadata={_META: Setting([], doc, nested=cls, many=True)})


def spec_of(field: dataclasses.Field[Any]) -> Setting | None:
    spec = field.metadata.get(_META)
    return spec if isinstance(spec, Setting) else None


def declared(cls: type) -> list[tuple[str, dataclasses.Field[Any], Setting]]:
    """(TOML key, field, declaration) for each config key of `cls`, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        spec = spec_of(f)
        if spec is not None:
            out.append((spec.key or f.name, f, spec))
    return out


@dataclass
class Reading:
    """Where the walker is: the table being read, and the values read so far (for hooks)."""

    path: str  # the table's dotted key: "" at the top, "fetch", "feeds[2]"
    data: Mapping[str, Any]
    base_dir: Path  # the config file's folder, which relative paths are read against
    done: dict[str, Any]  # this table's values read so far, by field name
    parent: Reading | None = None
    earlier: tuple[Any, ...] = ()  # in an array of tables: the entries read before this one

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    @property
    def root(self) -> Reading:
        return self if self.parent is None else self.parent.root


def read(cls: type, data: Any, path: str, base_dir: Path, given: Mapping[str, Any] | None = None) -> Any:
    """An instance of settings dataclass `cls` from the TOML table `data` at key `path`.

    `given` supplies the fields that are not config keys (e.g. the config file's path).
    """
    return _read(cls, Reading(path, _table(data, path), base_dir, {}), given or {})


def _read(cls: type, here: Reading, given: Mapping[str, Any]) -> Any:
    fields = declared(cls)
    groups = {spec.table for _, _, spec in fields if spec.table}
    _refuse_unknown(here, {key for key, _, spec in fields if not spec.table} | groups)
    hints = _hints(cls)
    subtables: dict[str, Reading] = {}
    for key, f, spec in fields:
        at = here
        if spec.table:  # e.g. Settings' own fields, which live in [bot]; they share `done`
            if spec.table not in subtables:
                sub = Reading(
                    here.key(spec.table),
                    _table(here.data.get(spec.table, {}), here.key(spec.table)),
                    here.base_dir,
                    here.done,
                    here,
                )
                _refuse_unknown(sub, {k for k, _, s in fields if s.table == spec.table})
                subtables[spec.table] = sub
            at = subtables[spec.table]
        here.done[f.name] = _value(at, key, spec, hints[f.name])
    return cls(**given, **here.done)


def _value(at: Reading, key: str, spec: Setting, hint: Any) -> Any:
    if spec.nested is not None:
        raw = at.data.get(key, spec.default)
        if not spec.many:
            return _read(spec.nested, Reading(at.key(key), _table(raw, at.key(key)), at.base_dir, {}, at), {})
        if not isinstance(raw, list):
            raise ConfigError(at.key(key), f"must be an array of tables ([[{key}]])")
        items: list[Any] = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ConfigError(f"{at.key(key)}[{i}]", f"must be a table ([[{key}]])")
            entry = Reading(f"{at.key(key)}[{i}]", item, at.base_dir, {}, at, tuple(items))
            items.append(_read(spec.nested, entry, {}))
        return tuple(items)

    if key in at.data:
        value = at.data[key]
    elif spec.required is not None:
        raise ConfigError(at.key(key), spec.required)
    else:
        value = spec.default if spec.derive is None else spec.derive(spec.default, at)
        if value is None:
            return None
    try:
        if spec.parse is not None:
            value = spec.parse(value, at)
        else:
            value = _typed(value, spec.kind or _kind(hint), at.key(key))
        if spec.range is not None:
            problem = spec.range.problem(value)
            if problem:
                raise ValueError(problem)
        if spec.choices:
            if value.lower() not in spec.choices:
                raise ValueError(f"{value!r} is not one of {', '.join(spec.choices)}")
            value = value.lower()
        if spec.check is not None:
            value = spec.check(value, at)
    except Invalid as exc:
        raise ConfigError(at.key(exc.key), str(exc)) from None
    except ValueError as exc:
        raise ConfigError(at.key(key), str(exc)) from None
    return spec.convert(value) if spec.convert is not None else value


def _typed(value: Any, kind: Any, key: str) -> Any:
    if kind == NAMES:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(key, "must be a list of names")
        return tuple(v.strip() for v in value)
    # bool is an int in Python; a bool where a number is wanted is a typo, not a number
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(key, f"{value!r} is not {_KIND_NAMES[kind]}")
    if kind is float and not math.isfinite(value):  # TOML allows nan and inf; no setting means them
        raise ConfigError(key, f"{value!r} is not a finite number")
    return value


def _kind(hint: Any) -> Any:
    """The TOML type for a field's annotation: str, int, float, bool, `X | None`, `tuple[str, ...]`."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        (hint,) = (a for a in args if a is not type(None))
        return _kind(hint)
    if typing.get_origin(hint) is tuple and args == (str, ...):
        return NAMES
    if hint in _KIND_NAMES:
        return hint
    raise TypeError(f"{hint!r} is not a TOML type; give the setting a kind or a parse hook")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _table(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table ([" + path + "])")
    return value


def _refuse_unknown(here: Reading, known: set[str]) -> None:
    for key in here.data:
        if key not in known:
            raise ConfigError(here.key(key), f"unknown setting (known here: {', '.join(sorted(known))})")
