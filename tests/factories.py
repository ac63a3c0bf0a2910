"""Small builders for test posts; every field has a plain default so a test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from streams.post import Coordinates, Post

T0 = datetime(2012, 9, 21, 18, 0, tzinfo=UTC)
_ids = count(1)


def make_post(**fields: Any) -> Post:
    number = next(_ids)
    defaults: dict[str, Any] = {
        "platform": "test",
        "id": f"t{number}",
        "author": f"p_author{number % 7}",
        "created_at": T0 + timedelta(seconds=number),
        "text": f"post number {number}",
    }
    if "lat" in fields:
        fields["coordinates"] = Coordinates(lat=fields.pop("lat"), lon=fields.pop("lon"))
    return Post(**{**defaults, **fields})
