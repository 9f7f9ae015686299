"""Every path rsdeploy-tui uses comes from here.

Bundled checklists and styles ship inside the wheel under ``rsdeploy_tui/_data``; in a source
checkout (editable install, or ``PYTHONPATH=src``) they are found at the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_state_dir

APP_NAME = "rsdeploy-tui"
_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent.parent


def _data_dir(name: str) -> Path:
    """The bundled data folder ``name``: inside the installed package, else the repo root."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _REPO_ROOT / name


def checklists_dir() -> Path:
    """Folder holding the bundled checklists (YAML)."""
    return _data_dir("checklists")


def styles_dir() -> Path:
    """Folder holding the Textual CSS files."""
    return _data_dir("styles")


def style_path(name: str) -> Path:
    """Absolute path of one bundled ``.tcss`` file."""
    return styles_dir() / name


def bundled_checklist() -> Path:
    """The RS Systems production deployment checklist shipped with the app."""
    return checklists_dir() / "rs-systems.yaml"


def state_dir() -> Path:
    """Where sessions live: ``$RSDEPLOY_STATE_DIR`` when set, else the platform's state dir."""
    override = os.environ.get("RSDEPLOY_STATE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(user_state_dir(APP_NAME, appauthor=False))


def sessions_dir() -> Path:
    """One sub-folder per session."""
    return state_dir() / "sessions"


def config_dir() -> Path:
    """Operator configuration: ``$RSDEPLOY_CONFIG_DIR`` when set, else the platform's config dir."""
    override = os.environ.get("RSDEPLOY_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return Path(user_config_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The operator's config file (``vars:`` overrides, per checklist or for all)."""
    return config_dir() / "config.yaml"


def cache_dir() -> Path:
    """Things kept only to start faster (safe to delete): ``$RSDEPLOY_CACHE_DIR`` when set, else
    the platform's cache dir."""
    override = os.environ.get("RSDEPLOY_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(user_cache_dir(APP_NAME, appauthor=False))
