"""channels.yaml: finding it, and validating it into a typed Config (notify.config.model).

The loader (and PyYAML, the channel registry) is imported on first use, so modules that only
need `notify.config.model` for its types do not pay for it, and `notify --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notify.config.loader import load_config, load_config_text, resolve_config_path
    from notify.config.problems import InvalidConfig

__all__ = ["InvalidConfig", "load_config", "load_config_text", "resolve_config_path"]

_HOMES = {
    "InvalidConfig": "notify.config.problems",
    "load_config": "notify.config.loader",
    "load_config_text": "notify.config.loader",
    "resolve_config_path": "notify.config.loader",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'notify.config' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
