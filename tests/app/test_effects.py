"""An action's measured effect: the hour before against the hour after, from counts the caller reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.room.effects import measure, spread_between
from app.room.models import SPREAD_BUCKET, SpreadPoint

ACTION = datetime(2012, 9, 21, 20, 5, tzinfo=UTC)


def spread(*points: tuple[str, int]) -> list[SpreadPoint]:
    return [SpreadPoint(start=datetime.fromisoformat(f"2012-09-21T{t}:00+00:00"), count=n) for t, n in points]


def test_a_bucket_across_the_action_counts_on_both_sides_by_the_time_it_spends_there() -> None:
    # 10-minute buckets: 20:00-20:10 straddles the action at 20:05, 19:00-19:10 the start of the hour before.
    assert timedelta(minutes=10) == SPREAD_BUCKET
    points = spread(("19:00", 12), ("19:30", 7), ("20:00", 10), ("20:30", 3), ("21:00", 6))
    effect = measure(ACTION, (0, []), (0, []), points, clock=ACTION + timedelta(hours=2))
    # before: half of 19:00 (6) + 19:30 (7) + half of 20:00 (5); after: half of 20:00 (5) + 20:30 (3) +
    # half of 21:00 (3). Counted whole where they start, the 20:00 bucket made the spread seem to fall.
    assert (effect.rumour_posts_before, effect.rumour_posts_after) == (18, 11)


def test_counts_between_whole_buckets_are_exact_and_nothing_outside_counts() -> None:
    points = spread(("18:50", 100), ("19:00", 4), ("19:50", 5), ("20:00", 100))
    assert (
        spread_between(
            points, datetime(2012, 9, 21, 19, 0, tzinfo=UTC), datetime(2012, 9, 21, 20, 0, tzinfo=UTC)
        )
        == 9
    )
    assert spread_between([], ACTION - timedelta(hours=1), ACTION) == 0
