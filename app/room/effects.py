"""What an action did: the hour before it against the hour after, in event time.

Counts come from the caller (the posts of the two windows and the incident's rumour spread), so the
arithmetic is tested without a database. ``complete`` stays false until the stream has passed the end of the
hour after: a half-measured hour is shown as such, not as a drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from app.room.analysis import is_question
from app.room.models import SPREAD_BUCKET, Effect, SpreadPoint
from streams.post import Post

WINDOW = timedelta(hours=1)


def _share(posts: Sequence[Post]) -> float | None:
    return round(sum(is_question(p) for p in posts) / len(posts), 3) if posts else None


def spread_between(spread: Iterable[SpreadPoint], start: datetime, end: datetime) -> int:
    """Rumour posts in [start, end), from the case's bucket counts (all that is kept of a large case's
    posts). A bucket that straddles ``start`` or ``end`` counts with the share of its width inside, as if its
    posts came evenly: counted whole on the side where it starts, an action at 20:05 had the posts of 20:05 to
    20:10 counted as before it, which flattered every action."""
    total = 0.0
    for point in spread:
        inside = min(end, point.start + SPREAD_BUCKET) - max(start, point.start)
        if inside > timedelta(0):
            total += point.count * (inside / SPREAD_BUCKET)
    return round(total)


def measure(
    action_at: datetime,
    before: tuple[int, Sequence[Post]],
    after: tuple[int, Sequence[Post]],
    rumour_spread: Iterable[SpreadPoint],
    clock: datetime,
    window: timedelta = WINDOW,
) -> Effect:
    """``before`` and ``after`` are the posts in [action - window, action) and [action, action + window): how
    many there are, and the (newest) ones read for the question share. Counting the posts read instead
    capped both counts at the sample size, and a big incident's action then seemed to change nothing."""
    spread = list(rumour_spread)
    (count_before, read_before), (count_after, read_after) = before, after
    return Effect(
        window_minutes=int(window / timedelta(minutes=1)),
        action_at=action_at,
        posts_before=count_before,
        posts_after=count_after,
        rumour_posts_before=spread_between(spread, action_at - window, action_at),
        rumour_posts_after=spread_between(spread, action_at, action_at + window),
        question_share_before=_share(read_before),
        question_share_after=_share(read_after),
        complete=clock >= action_at + window,
    )
