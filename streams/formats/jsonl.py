"""Signaal's native format: one JSON object per post with the Post's producer fields and a raw handle.

``{"platform": "x", "id": "1", "author": "handle", "created_at": "2024-05-01T12:00:00+02:00", "text": "..."}``
plus any of ``lang``, ``coordinates`` (``{"lat", "lon"}``), ``place``, ``reply_to``, ``repost_of``,
``quote_of``, ``url``, ``likes``, ``reposts``, ``replies``, ``quotes``. Other keys (labels such as stance or
veracity in research exports) are ignored; enrichment fields are the service's to set, never an input's.
"""

from __future__ import annotations

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


def parse(obj: dict[str, Any], pseudonymise: Pseudonymiser, fmt: str = NAME, time_hint: str = "") -> Post:
    platform = as_str(require(obj, "platform", fmt), "platform", fmt)
    handle = as_str(require(obj, "author", fmt), "author", fmt)
    if not handle.strip():
        raise ParseError(f"{fmt}: field 'author' is empty")
    coordinates = opt_dict(obj.get("coordinates"), "coordinates", fmt)
    if coordinates is not None:
        coordinates = {
            "lat": number(require(coordinates, "lat", fmt, "coordinates."), "coordinates.lat", fmt),
            "lon": number(require(coordinates, "lon", fmt, "coordinates."), "coordinates.lon", fmt),
        }
    return build_post(
        fmt,
        platform=platform,
        id=as_id(require(obj, "id", fmt), "id", fmt),
        author=pseudonymise(platform, handle),
        created_at=iso_time(require(obj, "created_at", fmt), "created_at", fmt, time_hint),
        text=as_str(require(obj, "text", fmt), "text", fmt),
        lang=language(obj.get("lang"), "lang", fmt),
        coordinates=coordinates,
        place=opt_str(obj.get("place"), "place", fmt),
        reply_to=opt_id(obj.get("reply_to"), "reply_to", fmt),
        repost_of=opt_id(obj.get("repost_of"), "repost_of", fmt),
        quote_of=opt_id(obj.get("quote_of"), "quote_of", fmt),
        url=opt_str(obj.get("url"), "url", fmt),
        likes=count(obj.get("likes"), "likes", fmt),
        reposts=count(obj.get("reposts"), "reposts", fmt),
        replies=count(obj.get("replies"), "replies", fmt),
        quotes=count(obj.get("quotes"), "quotes", fmt),
    )
