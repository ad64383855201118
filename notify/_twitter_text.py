"""twitter-text-parser, importable with or without setuptools' pkg_resources.

The library reads its emoji table with `pkg_resources.resource_string`, and setuptools no longer
ships `pkg_resources` (nor is setuptools in every environment). When it is missing, a stand-in
module providing just that one function is registered before the import.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _resource_string(module_name: str, resource: str) -> bytes:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{module_name}: {resource}")
    return (Path(spec.origin).parent / resource).read_bytes()


def parse_tweet_function() -> Callable[[str], Any]:
    """twitter_text.parse_tweet, imported once."""
    try:
        import pkg_resources  # noqa: F401  (present: nothing to do)
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_string = _resource_string  # type: ignore[attr-defined]
        sys.modules.setdefault("pkg_resources", shim)
    from twitter_text import parse_tweet

    return parse_tweet
