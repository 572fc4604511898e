"""Configuration loading for the notes app.

Settings live in a TOML file (``settings.toml`` at the repository root). The file is
split into ``[storage]``, ``[auth]`` and ``[site]`` tables; anything missing falls back
to the defaults on :class:`Settings`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_SETTINGS_PATH = Path(__file__).resolve().parent.parent / "settings.toml"

# Smallest log ceiling we accept; anything lower would rotate on every single write.
MIN_LOG_BYTES = 1024


@dataclass
class Settings:
    """Runtime options for storage, logging, authentication and the published site."""

    notes_dir: str = "data/notes"
    log_path: str = "data/notes.log"
    max_log_bytes: int = 1_048_576
    log_backups: int = 3
    secret_key: str = "change-me"
    token_ttl_seconds: int = 3600
    title: str = "My Notes"
    base_url: str = "http://localhost:8000"


def _flatten(tables: dict) -> dict:
    """Merge the per-section tables of the TOML document into one flat mapping.

    Top-level scalars are kept as they are; keys inside a section lose the section name.
    """
    flat: dict = {}
    for key, value in tables.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read the configuration file and return a populated Settings object.

    A missing file is not an error: the defaults are used. Unknown keys are ignored so
    that old binaries keep working with newer files. The environment variable
    ``NOTES_MAX_LOG_BYTES`` overrides the log ceiling from the file.
    """
    settings_path = Path(path) if path is not None else DEFAULT_SETTINGS_PATH
    raw: dict = {}
    if settings_path.exists():
        with settings_path.open("rb") as handle:
            raw = _flatten(tomllib.load(handle))

    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in raw.items() if k in known})

    override = os.environ.get("NOTES_MAX_LOG_BYTES")
    if override and override.isdigit():
        settings.max_log_bytes = int(override)
    return settings


def max_log_bytes(settings: Settings | None = None) -> int:
    """How large the activity log may get before it is rotated, in bytes.

    The configured value is clamped so it can never drop below ``MIN_LOG_BYTES``.
    """
    current = settings if settings is not None else load_settings()
    return max(MIN_LOG_BYTES, int(current.max_log_bytes))
