"""Announced days and clock times in Dutch and English, relative to when the post was written."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.pipeline.time_expressions import LOCAL, TimeExpression, parse

# Monday 16 September 2024, 14:00 in Amsterdam.
MONDAY = datetime(2024, 9, 16, 14, 0, tzinfo=LOCAL)
SATURDAY = date(2024, 9, 21)


def day_and_clock(text: str, reference: datetime = MONDAY, **kw: bool) -> tuple[date, time | None]:
    found = parse(text, reference, **kw)
    assert found is not None, text
    return found.day, found.clock


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Feest zaterdag!", SATURDAY),
        ("party this saturday", SATURDAY),
        ("Zaterdagavond bij mij", SATURDAY),
        ("komende zaterdag", SATURDAY),
        ("woensdag", date(2024, 9, 18)),
        ("Sunday", date(2024, 9, 22)),
        ("volgende week zaterdag", date(2024, 9, 28)),
        ("next week friday", date(2024, 9, 27)),
        ("vandaag", date(2024, 9, 16)),
        ("morgen", date(2024, 9, 17)),
        ("morgenavond", date(2024, 9, 17)),
        ("tomorrow night", date(2024, 9, 17)),
        ("overmorgen", date(2024, 9, 18)),
        ("the day after tomorrow", date(2024, 9, 18)),
    ],
)
def test_days_relative_to_the_reference(text: str, day: date) -> None:
    assert day_and_clock(text)[0] == day


def test_todays_weekday_means_today_until_its_time_has_passed() -> None:
    saturday_noon = datetime(2024, 9, 21, 12, 0, tzinfo=LOCAL)
    assert day_and_clock("zaterdag", saturday_noon)[0] == SATURDAY
    # An hour after the party began people still mean tonight (within the grace of two hours) ...
    assert day_and_clock("zaterdag om 20:00", datetime(2024, 9, 21, 21, 0, tzinfo=LOCAL))[0] == SATURDAY
    # ... but late at night "zaterdag om 20:00" is next week's.
    assert day_and_clock("zaterdag om 20:00", datetime(2024, 9, 21, 23, 30, tzinfo=LOCAL))[0] == date(
        2024, 9, 28
    )
    assert day_and_clock("zaterdagochtend", saturday_noon)[0] == date(2024, 9, 28)
    assert day_and_clock("volgende zaterdag", saturday_noon)[0] == date(2024, 9, 28)


def test_vanavond_is_this_evening_also_after_six() -> None:
    evening = datetime(2024, 9, 16, 21, 30, tzinfo=LOCAL)
    found = parse("vanavond feest", evening)
    assert found == TimeExpression(day=date(2024, 9, 16), clock=None, part_hour=20)
    assert found.at() == datetime(2024, 9, 16, 20, 0, tzinfo=LOCAL)
    assert day_and_clock("tonight!!", evening)[0] == date(2024, 9, 16)
    assert parse("vannacht", evening) == TimeExpression(day=date(2024, 9, 16), clock=None, part_hour=23)


def test_reference_is_read_in_amsterdam_time() -> None:
    # 22:30 UTC on Friday is 00:30 on Saturday in Amsterdam (summer time): "vanavond" is Saturday evening.
    late_friday_utc = datetime(2024, 9, 20, 22, 30, tzinfo=UTC)
    assert day_and_clock("vanavond", late_friday_utc)[0] == SATURDAY


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("zaterdag 21 september vanaf 20:00", SATURDAY),
        ("op 21 sept.", SATURDAY),
        ("21e september", SATURDAY),
        ("on the 21st of September", SATURDAY),
        ("September 21st, 2024", SATURDAY),
        ("21 september 2025", date(2025, 9, 21)),
        ("21/9", SATURDAY),
        ("21/09/2024", SATURDAY),
        ("21-09-2024", SATURDAY),
        ("feest op 5 oktober", date(2024, 10, 5)),
    ],
)
def test_explicit_dates(text: str, day: date) -> None:
    assert day_and_clock(text)[0] == day


def test_a_date_long_past_is_next_years() -> None:
    december = datetime(2024, 12, 28, 12, 0, tzinfo=LOCAL)
    assert day_and_clock("feest op 2 januari", december)[0] == date(2025, 1, 2)
    # A few weeks ago is still this year: people talk about what happened.
    assert day_and_clock("het feest van 1 december", december)[0] == date(2024, 12, 1)


def test_an_explicit_date_wins_over_the_weekday_and_impossible_dates_are_skipped() -> None:
    assert day_and_clock("zaterdag 5 oktober")[0] == date(2024, 10, 5)
    assert day_and_clock("31 februari of zaterdag")[0] == SATURDAY


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("om 20:00", time(20, 0)),
        ("vanaf 20.00 uur", time(20, 0)),
        ("20u", time(20, 0)),
        ("20u30", time(20, 30)),
        ("om 20 uur", time(20, 0)),
        ("20h", time(20, 0)),
        ("8pm", time(20, 0)),
        ("8:30 p.m.", time(20, 30)),
        ("12am", time(0, 0)),
        ("8 uur 's avonds", time(20, 0)),
        ("acht uur 's avonds", time(20, 0)),
        ("half negen 's avonds", time(20, 30)),
        ("om 08u", time(8, 0)),
        ("10:00", time(10, 0)),
        ("om 3 uur", time(15, 0)),  # nobody invites for 3 in the morning with "om 3"
    ],
)
def test_clock_times(text: str, clock: time) -> None:
    assert day_and_clock(f"zaterdag {text}")[1] == clock


def test_bare_small_hours_are_morning_unless_evening() -> None:
    assert day_and_clock("zaterdag vanaf 8 uur")[1] == time(8, 0)
    assert day_and_clock("zaterdag vanaf 8 uur", evening=True)[1] == time(20, 0)
    assert day_and_clock("zaterdagavond vanaf 8 uur")[1] == time(20, 0)
    assert day_and_clock("zaterdag half 9")[1] == time(8, 30)
    assert day_and_clock("zaterdag half 9", evening=True)[1] == time(20, 30)
    # What the text says wins over the caller's guess.
    assert day_and_clock("zaterdag om 9 uur 's ochtends", evening=True)[1] == time(9, 0)
    assert day_and_clock("zaterdag om half zeven 's morgens")[1] == time(6, 30)
    assert day_and_clock("saturday at 9 in the morning")[1] == time(9, 0)
    # Written as a 24-hour time, a morning hour stays a morning hour even for a party.
    assert day_and_clock("zaterdag 10:00 tot 17:00", evening=True)[1] == time(10, 0)


def test_night_hours_are_the_small_hours_after_the_day_named() -> None:
    # Read as afternoon, "1 uur 's nachts" was 13:00, and a call for Saturday night stopped 12 h early.
    monday = MONDAY.date()
    assert day_and_clock("feest om 1 uur 's nachts", evening=True) == (monday + timedelta(days=1), time(1, 0))
    assert day_and_clock("vannacht om 2 uur", evening=True) == (monday + timedelta(days=1), time(2, 0))
    assert day_and_clock("zaterdagnacht om 1 uur", evening=True) == (SATURDAY + timedelta(days=1), time(1, 0))
    # Posted in the afternoon, "vannacht vanaf 01:00" is tonight's small hours, not this morning's...
    assert day_and_clock("Feest vannacht vanaf 01:00", evening=True) == (monday + timedelta(days=1), time(1))
    # ... and posted in the small hours themselves, the night one is in.
    small_hours = MONDAY.replace(hour=0, minute=30)
    assert day_and_clock("vannacht om 2 uur", small_hours, evening=True) == (monday, time(2, 0))
    assert day_and_clock("om 11 uur 's nachts", evening=True)[1] == time(23, 0)


def test_vanmorgen_is_the_morning() -> None:
    assert day_and_clock("vanmorgen om 10 uur", MONDAY.replace(hour=7), evening=True)[1] == time(10, 0)


def test_the_end_of_a_range_is_not_the_announced_time() -> None:
    assert day_and_clock("zaterdag van 13:00 tot 17:00")[1] == time(13, 0)
    assert day_and_clock("zaterdag 13:00-17:00")[1] == time(13, 0)
    assert day_and_clock("vandaag is de braderie, tot 17:00")[1] is None
    assert day_and_clock("open until 5pm today")[1] is None


def test_a_clock_alone_is_today_while_it_is_still_to_come() -> None:
    assert day_and_clock("feest om 20:00", datetime(2024, 9, 16, 19, 0, tzinfo=LOCAL))[0] == date(2024, 9, 16)
    assert day_and_clock("feest om 20:00", datetime(2024, 9, 16, 23, 0, tzinfo=LOCAL))[0] == date(2024, 9, 17)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Kinderen gevoetbald, 3-2 gewonnen",  # a score, not a date
        "Al 12.000 aanmeldingen voor het feest",
        "Ik word 16 🎉",
        "Wij komen met 10 man uit Zwolle",
        "Bus 12 rijdt weer niet",
        "Goedemorgen Haren!",
        "'s morgens altijd file",  # "in the morning", not "tomorrow"
        "Iedereen welkom",
        "24 mensen",
    ],
)
def test_no_day_and_no_clock_is_none(text: str) -> None:
    assert parse(text, MONDAY) is None


def test_a_day_part_names_today_without_inventing_a_clock() -> None:
    assert parse("Kinderen vanochtend gevoetbald, 3-2 gewonnen", MONDAY) == TimeExpression(
        day=date(2024, 9, 16), clock=None, part_hour=9
    )


def test_at_uses_the_clock_then_the_day_part_then_the_default() -> None:
    assert parse("zaterdag 21:30", MONDAY).at() == datetime(2024, 9, 21, 21, 30, tzinfo=LOCAL)
    assert parse("zaterdagmiddag", MONDAY).at() == datetime(2024, 9, 21, 14, 0, tzinfo=LOCAL)
    assert parse("zaterdag", MONDAY).at(default_hour=19) == datetime(2024, 9, 21, 19, 0, tzinfo=LOCAL)
    # Across the switch to winter time the wall clock is kept: 20:00 is 19:00 UTC on 27 October.
    late_october = parse("zondag 27 oktober om 20:00", MONDAY).at()
    assert late_october.astimezone(UTC) == datetime(2024, 10, 27, 19, 0, tzinfo=UTC)


def test_naive_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse("zaterdag", datetime(2024, 9, 16, 14, 0))


def test_a_dotted_pair_is_a_date_when_a_clock_time_follows_it() -> None:
    assert day_and_clock("za 21.09 om 20.00") == (SATURDAY, time(20, 0))
    assert day_and_clock("Feest zaterdag 21.09. vanaf 20.00 uur") == (SATURDAY, time(20, 0))
    assert day_and_clock("feest 21.09.2024 om 22u") == (SATURDAY, time(22, 0))
    assert day_and_clock("21.9.2024") == (SATURDAY, None)
    # Otherwise a dotted pair is how Dutch writes a clock time.
    assert day_and_clock("om 21.09") == (date(2024, 9, 16), time(21, 9))
    assert day_and_clock("van 16.11 tot 17.00") == (date(2024, 9, 16), time(16, 11))
    assert day_and_clock("om 12.30 of 14.00") == (date(2024, 9, 16), time(12, 30))
    assert day_and_clock("zaterdag 21.09") == (SATURDAY, time(21, 9))
    # A decimal is no date: "1.5 km" is a distance.
    assert day_and_clock("feest 1.5 km verderop om 20.00") == (date(2024, 9, 16), time(20, 0))
