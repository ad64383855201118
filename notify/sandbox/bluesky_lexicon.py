"""The app.bsky.feed.post lexicon as a PDS checks a record, in the PDS's own error words.

The text's graphemes and UTF-8 bytes, its datetime, langs, and facets as UTF-8 byte ranges.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import regex

__all__ = ["POST", "RecordError", "check_post", "facets_ok"]

POST = "app.bsky.feed.post"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")


class RecordError(ValueError):
    """Why a record breaks the lexicon: the message of the PDS's InvalidRequest."""


def _record_error(path: str, problem: str) -> RecordError:
    return RecordError(f"Invalid {POST} record: Record/{path} {problem}")


def check_post(record: dict[str, Any]) -> None:
    """The app.bsky.feed.post lexicon's rules, with the PDS's error words."""
    for name in ("text", "createdAt"):
        if name not in record:
            raise RecordError(f'Invalid {POST} record: Record must have the property "{name}"')
    text = record["text"]
    if not isinstance(text, str):
        raise _record_error("text", "must be a string")
    if len(text.encode("utf-8")) > 3000:
        raise _record_error("text", "must not be longer than 3000 characters")
    if len(regex.findall(r"\X", text)) > 300:
        raise _record_error("text", "must not be longer than 300 graphemes")
    if not _is_datetime(record["createdAt"]):
        raise _record_error(
            "createdAt", "must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
        )
    langs = record.get("langs")
    if langs is not None:
        if not isinstance(langs, list):
            raise _record_error("langs", "must be an array")
        if len(langs) > 3:
            raise _record_error("langs", "must not have more than 3 elements")
        for i, lang in enumerate(langs):
            if not isinstance(lang, str) or not _LANG.match(lang):
                raise _record_error(f"langs/{i}", "must be a well-formed BCP 47 language tag")
    facets = record.get("facets")
    if facets is not None:
        if not isinstance(facets, list):
            raise _record_error("facets", "must be an array")
        size = len(text.encode("utf-8"))
        for i, facet in enumerate(facets):
            _check_facet(facet, i, size)


def _check_facet(facet: Any, i: int, size: int) -> None:
    where = f"facets/{i}"
    if not isinstance(facet, dict) or "index" not in facet or "features" not in facet:
        raise _record_error(where, 'must have the properties "index" and "features"')
    index = facet["index"]
    if not isinstance(index, dict):
        raise _record_error(f"{where}/index", "must be an object")
    for name in ("byteStart", "byteEnd"):
        value = index.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _record_error(f"{where}/index/{name}", "must be a non-negative integer")
    if index["byteStart"] >= index["byteEnd"] or index["byteEnd"] > size:
        raise _record_error(
            f"{where}/index",
            f"[{index['byteStart']}, {index['byteEnd']}) is not a byte range of the "
            f"{size}-byte text",
        )
    features = facet["features"]
    if not isinstance(features, list):
        raise _record_error(f"{where}/features", "must be an array")
    required = {"#link": "uri", "#mention": "did", "#tag": "tag"}
    for j, feature in enumerate(features):
        kind = feature.get("$type", "") if isinstance(feature, dict) else ""
        if not isinstance(kind, str) or not kind:
            raise _record_error(f"{where}/features/{j}", 'must have the property "$type"')
        suffix = kind.removeprefix("app.bsky.richtext.facet")
        if suffix in required and not isinstance(feature.get(required[suffix]), str):
            raise _record_error(
                f"{where}/features/{j}", f'must have the property "{required[suffix]}"'
            )
        if suffix == "#mention" and not _DID.match(feature["did"]):
            raise _record_error(f"{where}/features/{j}/did", "must be a valid did")


def facets_ok(record: dict[str, Any]) -> bool:
    """True when every facet's bytes are whole characters and each link's bytes are its uri."""
    text = record.get("text")
    if not isinstance(text, str):
        return False
    data = text.encode("utf-8")
    for facet in record.get("facets") or []:
        try:
            index = facet["index"]
            piece = data[index["byteStart"] : index["byteEnd"]].decode("utf-8")
        except (KeyError, TypeError, UnicodeDecodeError):
            return False
        for feature in facet.get("features") or []:
            kind = str(feature.get("$type", "")) if isinstance(feature, dict) else ""
            if kind.endswith("#link") and piece != feature.get("uri"):
                return False
            if kind.endswith("#tag") and piece.lstrip("#") != feature.get("tag"):
                return False
    return True


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _DATETIME.match(value) or value.endswith("-00:00"):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
