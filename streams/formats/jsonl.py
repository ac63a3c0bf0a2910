"""Signaal's native format: one JSON object per post with the Post's producer fields and a raw handle.

``{"platform": "x", "id": "1", "author": "handle", "created_at": "2024-05-01T12:00:00+02:00", "text": "..."}``
plus any of ``lang``, ``coordinates`` (``{"lat", "lon"}``), ``place``, ``reply_to``, ``repost_of``,
``quote_of``, ``url``, ``likes``, ``reposts``, ``replies``, ``quotes``. Other keys (labels such as stance or
veracity in research exports) are ignored; enrichment fields are the service's to set, never an input's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.formats.base import ParseError, Pseudonymiser
from streams.formats.fields import (
    as_id,
    as_str,
    build_post,
    count,
    iso_time,
    language,
    number,
    opt_dict,
    opt_id,
    opt_str,
    require,
)
from streams.post import Post

NAME = "jsonl"


# Optional fields and how each is read; absent ones are not visited (most posts lack most of them).
_OPTIONAL: tuple[tuple[str, Callable[[Any, str, str], Any]], ...] = (
    ("lang", language),
    ("place", opt_str),
    ("reply_to", opt_id),
    ("repost_of", opt_id),
    ("quote_of", opt_id),
    ("url", opt_str),
    ("likes", count),
    ("reposts", count),
    ("replies", count),
    ("quotes", count),
)


def parse(obj: dict[str, Any], pseudonymise: Pseudonymiser, fmt: str = NAME, time_hint: str = "") -> Post:
    platform = as_str(require(obj, "platform", fmt), "platform", fmt)
    handle = as_str(require(obj, "author", fmt), "author", fmt)
    if not handle.strip():
        raise ParseError(f"{fmt}: field 'author' is empty")
    fields: dict[str, Any] = {
        "platform": platform,
        "id": as_id(require(obj, "id", fmt), "id", fmt),
        "author": pseudonymise(platform, handle),
        "created_at": iso_time(require(obj, "created_at", fmt), "created_at", fmt, time_hint),
        "text": as_str(require(obj, "text", fmt), "text", fmt),
    }
    for name, read in _OPTIONAL:
        value = obj.get(name)
        if value is not None:
            fields[name] = read(value, name, fmt)
    coordinates = opt_dict(obj.get("coordinates"), "coordinates", fmt)
    if coordinates is not None:
        fields["coordinates"] = {
            "lat": number(require(coordinates, "lat", fmt, "coordinates."), "coordinates.lat", fmt),
            "lon": number(require(coordinates, "lon", fmt, "coordinates."), "coordinates.lon", fmt),
        }
    return build_post(fmt, **fields)
