"""Alert wording: Dutch numbers and Amsterdam clock times."""

from __future__ import annotations

from datetime import UTC, datetime

from app.pipeline import wording


def test_numbers_are_written_the_dutch_way() -> None:
    assert wording.count(7) == "7"
    assert wording.count(1888) == "1.888"
    assert wording.count(1_234_567) == "1.234.567"
    assert wording.decimal(4.84) == "4,8"
    assert wording.decimal(1234.5) == "1.234,5"
    assert wording.decimal(0.5, 2) == "0,50"
    assert wording.percent(0.114) == "11%"


def test_moments_are_amsterdam_clock_times_with_dutch_names() -> None:
    summer = datetime(2024, 9, 21, 19, 37, tzinfo=UTC)  # CEST, UTC+2
    winter = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)  # CET, UTC+1: already New Year's Day
    assert wording.day_and_time(summer) == "za 21 sep 21:37"
    assert wording.day_and_time(winter) == "wo 1 jan 00:30"
    assert wording.day(summer) == "za 21 sep"
