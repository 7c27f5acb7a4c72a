"""Read the config file and validate it by the declarations in bot.config.settings."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.schema import read
from bot.config.settings import Settings
from bot.errors import ConfigError


def load_settings(path: Path) -> Settings:
    """Read and validate the config file at `path`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file {path} does not exist; copy config.example.toml to start") from None
    except IsADirectoryError:
        raise ConfigError("", f"{path} is a folder, not a config file; pass --config PATH/config.toml") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError("", f"cannot read the config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    return settings_from_dict(raw, path)


def settings_from_dict(raw: Mapping[str, Any], path: Path) -> Settings:
    """Validate an already-parsed config; `path` anchors relative paths."""
    settings: Settings = read(Settings, raw, "", path.resolve().parent, given={"path": path})
    return settings
