"""Small textual summaries of the live buffer, for places where a figure would be too much."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dashboard.display import parse_time


def busiest_areas(
    posts: Iterable[Mapping[str, Any]], *, since: datetime, top: int = 6
) -> list[tuple[str, int]]:
    """Areas (municipalities) with the most posts created at or after ``since``, busiest first."""
    counts: Counter[str] = Counter()
    for post in posts:
        created = parse_time(post.get("created_at"))
        area = post.get("area")
        if created is not None and created >= since and isinstance(area, str) and area:
            counts[area] += 1
    return counts.most_common(top)
