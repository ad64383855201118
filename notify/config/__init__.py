"""channels.yaml: finding it, and validating it into a typed Config (notify.config.model)."""

from __future__ import annotations

from notify.config.loader import load_config, load_config_text, resolve_config_path
from notify.config.problems import InvalidConfig

__all__ = ["InvalidConfig", "load_config", "load_config_text", "resolve_config_path"]
