"""The user's workbench settings: key remaps and theme, in one TOML file.

The file is ``config.toml`` in the platformdirs user config dir for
``segscope`` (``$XDG_CONFIG_HOME/segscope/config.toml`` on Linux), for example::

    theme = "textual-light"

    [keymap]
    "screen.accounts" = "2,a"     # binding id = comma-separated keys
    "app.help" = "f1"

Binding ids are listed on the help screen. A file that cannot be read gives a
message naming the file and the problem; the workbench then starts with the
defaults and never overwrites the broken file.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "segscope"


def config_path() -> Path:
    """Where the settings file lives (``SEGSCOPE_CONFIG`` overrides, for tests and scripts)."""
    override = os.environ.get("SEGSCOPE_CONFIG")
    if override:
        return Path(override)
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


@dataclass
class UserConfig:
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    path: Path = field(default_factory=config_path)
    error: str | None = None  # why the file could not be used, if it could not


def load_config(path: Path | None = None) -> UserConfig:
    """Read the settings; a missing file is the defaults, a broken one sets ``.error``."""
    path = path or config_path()
    config = UserConfig(path=path)
    if not path.exists():
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        config.error = f"cannot read settings file {path}: {exc}"
        return config
    except tomllib.TOMLDecodeError as exc:
        config.error = f"settings file {path} is not valid TOML: {exc}"
        return config
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        config.error = f"settings file {path}: 'theme' must be a string"
    else:
        config.theme = theme
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        config.error = f"settings file {path}: [keymap] must be a table of id = \"keys\""
        return config
    for binding_id, keys in keymap.items():
        if not isinstance(keys, str) or not keys.strip():
            config.error = (
                f"settings file {path}: keymap entry {binding_id!r} must be a non-empty "
                "string of comma-separated keys"
            )
            continue
        config.keymap[str(binding_id)] = keys
    return config


def _toml_string(value: str) -> str:
    # JSON string escaping is valid TOML basic-string escaping for these values.
    return json.dumps(value, ensure_ascii=False)


def dump_config(config: UserConfig) -> str:
    lines = ["# segscope workbench settings (see the help screen for binding ids)"]
    if config.theme:
        lines.append(f"theme = {_toml_string(config.theme)}")
    if config.keymap:
        lines.append("")
        lines.append("[keymap]")
        for binding_id, keys in sorted(config.keymap.items()):
            lines.append(f"{_toml_string(binding_id)} = {_toml_string(keys)}")
    return "\n".join(lines) + "\n"


def save_theme(theme: str, path: Path | None = None) -> str | None:
    """Persist the theme choice, keeping the keymap; returns an error message or None."""
    config = load_config(path)
    if config.error:
        return f"theme not saved: {config.error}"
    config.theme = theme
    try:
        config.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = config.path.with_suffix(".toml.tmp")
        tmp.write_text(dump_config(config), encoding="utf-8")
        tmp.replace(config.path)
    except OSError as exc:
        return f"theme not saved to {config.path}: {exc}"
    return None
