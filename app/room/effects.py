"""What an action did: the hour before it against the hour after, in event time.

Counts come from the caller (the posts of the two windows and the incident's rumour spread), so the
arithmetic is tested without a database. ``complete`` stays false until the stream has passed the end of the
hour after: a half-measured hour is shown as such, not as a drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from app.room.analysis import is_question
from app.room.models import Effect, SpreadPoint
from streams.post import Post

WINDOW = timedelta(hours=1)


def _share(posts: Sequence[Post]) -> float | None:
    return round(sum(is_question(p) for p in posts) / len(posts), 3) if posts else None


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
        rumour_posts_before=sum(p.count for p in spread if action_at - window <= p.start < action_at),
        rumour_posts_after=sum(p.count for p in spread if action_at <= p.start < action_at + window),
        question_share_before=_share(read_before),
        question_share_after=_share(read_after),
        complete=clock >= action_at + window,
    )
