"""Announced times in Dutch and English posts: "zaterdag 21 september vanaf 20:00" -> a local date and clock.

The mobilisation detector needs *when* an invitation says people should come, relative to when it was
written. ``dateparser`` is not available and costs milliseconds per call, so this is a compact rule set for
the forms invitations actually use:

* a day: an explicit date ("21 september", "sept 21st", "21/9", "21-09-2024", "21.09.2024"), else a weekday
  ("zaterdag", "zaterdagavond", "volgende week vrijdag", "next friday"), else a relative day ("vandaag",
  "vanavond", "morgen", "overmorgen", "tonight", "tomorrow");
* a clock time: "20:00", "20.00", "20u", "20u30", "20 uur", "20h", "8pm", "half 9" (Dutch: 8:30),
  "acht uur 's avonds", "om 8", "vanaf 8 uur".

All times are Europe/Amsterdam wall-clock times, since that is what the writer means.

Rules for ambiguous cases, and why:

* A weekday that is today's weekday means today while the announced time (or the default evening hour) is
  less than :data:`GRACE` ago, else the same weekday next week: on the day of a party people still write
  "zaterdag" for that evening.
* A bare hour from 1 to 11 ("om 8", "8 uur", "half 9") is what the text says it is ("'s ochtends",
  "'s avonds", "tonight", "pm"); without such a word it is evening when the caller passes ``evening=True``
  (an invitation to a party), and 1 to 6 are afternoon anyway (nobody means 3 a.m. with "om 3"), else
  morning. Times written with a colon or dot ("8:30", "10:00") or zero-padded ("08u") are taken as
  written: that is how 24-hour times are written.
* The end of a range ("van 13:00 tot 17:00", "until 17:00") is not the announced time.
* A dotted pair is a clock time ("20.00 uur"), unless a clock time follows it and no word like "om" or
  "vanaf" comes before it: then it is a date ("za 21.09 om 20.00" is 21 September at 20:00).
* A date without a year is this year, unless that is more than two months ago (then next year).
* "'s morgens" is "in the morning", not "tomorrow"; "goedemorgen" is neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Amsterdam")
# How long after an announced time a weekday or a bare clock still means "today": people post about a
# party that started an hour ago as "zaterdag" or "om 20:00".
GRACE = timedelta(hours=2)
# Default hour for a day named without a clock time ("zaterdag"), used only to settle today-or-next-week.
DEFAULT_HOUR = 20
# An explicit date this long ago is read as next year's ("2 januari" written in December).
PAST_DATE_LIMIT = timedelta(days=60)

WEEKDAYS = {
    "maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4, "zaterdag": 5, "zondag": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
MONTHS = {
    "januari": 1, "january": 1, "jan": 1, "februari": 2, "february": 2, "feb": 2, "maart": 3, "march": 3,
    "mrt": 3, "mar": 3, "april": 4, "apr": 4, "mei": 5, "may": 5, "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7, "augustus": 8, "august": 8, "aug": 8, "september": 9, "sept": 9,
    "sep": 9, "oktober": 10, "october": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
NUMBER_WORDS = {
    "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
    "negen": 9, "tien": 10, "elf": 11, "twaalf": 12,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
# Hour a day part stands for when no clock time is given; it only settles "today or next week".
PART_HOURS = {
    "ochtend": 9, "morgen": 9, "middag": 14, "avond": 20, "nacht": 23,
    "morning": 9, "afternoon": 14, "evening": 20, "night": 23,
}  # fmt: skip

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(WEEKDAYS)
_PART = "ochtend|morgen|middag|avond|nacht"
_NUMBER = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))

# "21 september", "21e september", "21st of september", "21 sept. 2024"
_DATE_DAY_MONTH = re.compile(
    rf"(?<![\w/.-])(\d{{1,2}})(?:e|ste|de|st|nd|rd|th)?(?:\s+of)?\s+({_MONTH})\.?(?!\w)(?:\s+(\d{{4}}))?"
)
# "september 21", "sept 21st, 2024"
_DATE_MONTH_DAY = re.compile(
    rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?![\w:.])(?:,?\s+(\d{{4}}))?"
)
# "21/9", "21/09/2024"; with dashes only with a year ("21-9-2024"), since "3-2" is a football score.
_DATE_NUMERIC = re.compile(
    r"(?<![\w/.:-])(\d{1,2})(?:/(\d{1,2})(?:/(\d{4}|\d{2}))?|-(\d{1,2})-(\d{4}))(?![\w/:-])"
)
# "21.09.2024" always; "21.09" only as :func:`_dotted_date` decides.
_DATE_DOTTED = re.compile(r"(?<![\w/.:-])(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?\.?(?![\w/:-]|\.?\d)")
# Words that make the dotted pair after them a clock time: "om 21.09", "vanaf 12.10", "tot 10.11".
_CLOCK_INTRO = re.compile(r"\b(?:om|vanaf|van|tot|rond|tussen|from|at|until|till|around|between)\s+$")
_WEEKDAY_RE = re.compile(
    rf"(?<!\w)(?:(volgende\s+week|next\s+week|volgende|next|aanstaande|komende|this|deze)\s+)?"
    rf"({_WEEKDAY})({_PART}|\s*(?:morning|afternoon|evening|night))?(?!\w)"
)
_RELATIVE = re.compile(
    r"(?<![\w'’])(overmorgen|day\s+after\s+tomorrow|morgen(?:ochtend|middag|avond|nacht)?|tomorrow"
    r"(?:\s+(?:morning|afternoon|evening|night))?|vandaag|today|vanochtend|vanmorgen|vanmiddag|vanavond"
    r"|vannacht|tonight|this\s+(?:morning|afternoon|evening))(?!\w)"
)
# Clock times. Group names say which form matched; "pre" is the word before, to skip range ends.
# Clock times written with digits; group names say which form matched.
_CLOCK_DIGITS = re.compile(
    r"(?<![\d.:/])(?P<h24>\d{1,2})[:.](?P<m24>\d{2})(?![\d/]|[.:]\d)(?:\s*(?P<ampm24>[ap]\.?m\b\.?))?"
    r"|(?<![\d.:/])(?P<hpm>\d{1,2})\s*(?P<ampm>[ap]\.?m)\b\.?"
    r"|(?<![\d.:/])(?P<hu>\d{1,2})\s*(?:u|uur|h)(?P<mu>\d{2})?(?!\w)"
    r"|\bhalf\s+(?P<half>\d{1,2})(?!\w)"
    r"|\b(?:om|at|vanaf|from)\s+(?P<bare>\d{1,2})(?![\w:/-]|[.,]\d)"
)
# ... and with number words ("acht uur", "half negen"), looked for only when "uur" or "half" occurs.
_CLOCK_WORDS = re.compile(rf"\bhalf\s+(?P<half>{_NUMBER})(?!\w)|\b(?P<word>{_NUMBER})\s+uur\b")
# What must precede a clock time that ends something: "tot 17:00", "until 5pm", "13:00-17:00".
_RANGE_END = re.compile(r"(?:\b(?:tot|until|till|t/m|to)\s+|[-–]\s*)$")
_DIGIT = re.compile(r"\d")
# Every day or time expression contains one of these; a text without any is rejected with one search.
_CUE = re.compile(
    r"\d|dag|daag|day|avond|morgen|middag|nacht|ochtend|tonight|tomorrow|evening|morning|afternoon|uur|half"
)
_EVENING = re.compile(r"avond|'s\s*avonds|’s\s*avonds|tonight|evening|\bpm\b|\bp\.m\.|nacht|\bnight\b")
_MORNING = re.compile(r"ochtend|vanmorgen|'s\s*morgens|’s\s*morgens|\bmorning\b|\d\s*a\.?m\b")
# "1 uur 's nachts", "vannacht om 2 uur": the small hours, not the afternoon.
_NIGHT = re.compile(r"nacht|\bnight\b")
# Before this hour a clock time on a night ("vannacht", "zaterdagnacht", "vanavond tot ...") is past midnight.
NIGHT_ENDS = 6


@dataclass(frozen=True, slots=True)
class TimeExpression:
    """What a text announces: a local day, and a clock time when one was written."""

    day: date
    clock: time | None
    # The hour a day part implies ("vanavond" -> 20) when no clock was written; None when nothing did.
    part_hour: int | None = None

    def at(self, default_hour: int = DEFAULT_HOUR) -> datetime:
        """The announced moment as an aware Europe/Amsterdam datetime; a missing clock uses the day part's
        hour, else ``default_hour``."""
        clock = self.clock or time(self.part_hour if self.part_hour is not None else default_hour)
        return datetime.combine(self.day, clock, tzinfo=LOCAL)


def _explicit_date(text: str, today: date) -> date | None:
    for pattern, day_group, month_group, year_group in (
        (_DATE_DAY_MONTH, 1, 2, 3),
        (_DATE_MONTH_DAY, 2, 1, 3),
    ):
        for match in pattern.finditer(text):
            found = _make_date(
                int(match.group(day_group)), MONTHS[match.group(month_group)], match.group(year_group), today
            )
            if found is not None:
                return found
    for match in _DATE_NUMERIC.finditer(text):
        day = int(match.group(1))
        month, year = (match.group(2), match.group(3)) if match.group(2) else (match.group(4), match.group(5))
        found = _make_date(day, int(month), year, today)
        if found is not None:
            return found
    return None


def _dotted_date(text: str, today: date) -> tuple[date, int, int] | None:
    """A date written with dots and where it stands in ``text``; None when there is none."""
    for match in _DATE_DOTTED.finditer(text):
        day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
        # Without a year only "dd.mm" with two month digits: "1.5 km" is a distance.
        if year is None and (
            len(match.group(2)) != 2
            or _CLOCK_INTRO.search(text, max(0, match.start() - 10), match.start()) is not None
            or _clock(text[match.end() :], evening=False, digits=True) is None
        ):
            continue
        found = _make_date(day, month, year, today)
        if found is not None:
            return found, match.start(), match.end()
    return None


def _make_date(day: int, month: int, year: str | None, today: date) -> date | None:
    try:
        if year is not None:
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, month, day)
        found = date(today.year, month, day)
        if found < today - PAST_DATE_LIMIT:
            found = date(today.year + 1, month, day)
        return found
    except ValueError:  # 31 februari, 45/13
        return None


def _hour_of(match: re.Match[str], text: str, evening: bool) -> tuple[int, int] | None:
    """(hour, minute) of a clock match, or None when it is no valid time."""
    groups = match.groupdict()
    if groups.get("h24") is not None:
        hour, minute = int(match.group("h24")), int(match.group("m24"))
        suffix = match.group("ampm24")
        if suffix and suffix[0] == "p" and hour < 12:
            hour += 12
        elif suffix and suffix[0] == "a" and hour == 12:
            hour = 0
        return (hour, minute) if hour <= 23 and minute <= 59 else None
    if groups.get("hpm") is not None:
        hour = int(match.group("hpm"))
        if not 1 <= hour <= 12:
            return None
        pm = match.group("ampm")[0] == "p"
        return (hour % 12 + (12 if pm else 0), 0)
    minute = 0
    raw = ""
    if groups.get("hu") is not None:
        raw = match.group("hu")
        hour, minute = int(raw), int(match.group("mu") or 0)
    elif groups.get("half") is not None:
        word = match.group("half")
        hour, minute = (int(word) if word.isdigit() else NUMBER_WORDS[word]) - 1, 30
        if hour == 0:
            hour = 12  # "half een" is 12:30
    elif groups.get("word") is not None:
        hour = NUMBER_WORDS[match.group("word")]
    else:
        raw = match.group("bare")
        hour = int(raw)
    if hour > 23 or minute > 59:
        return None
    # "08u" is written as a 24-hour time; "8 uur" and "om 8" could be either.
    if not raw.startswith("0") and 1 <= hour <= 11 and _afternoon(text, hour, evening):
        hour += 12
    return hour, minute


def _afternoon(text: str, hour: int, evening: bool) -> bool:
    """Whether an ambiguous hour from 1 to 11 is after noon: what the text says wins, then the caller's
    ``evening``, then 1-6 are afternoon."""
    if _MORNING.search(text) is not None:
        return False
    if hour <= NIGHT_ENDS and _NIGHT.search(text) is not None:
        return False
    return evening or hour <= 6 or _EVENING.search(text) is not None


def _clock(text: str, evening: bool, digits: bool) -> time | None:
    patterns = [_CLOCK_DIGITS] if digits else []
    if "uur" in text or "half" in text:
        patterns.append(_CLOCK_WORDS)
    best: tuple[int, time] | None = None
    for pattern in patterns:
        for match in pattern.finditer(text):
            # "tot 17:00" is when something ends, not when people are asked to come.
            if _RANGE_END.search(text, max(0, match.start() - 8), match.start()):
                continue
            found = _hour_of(match, text, evening)
            if found is not None:
                if best is None or match.start() < best[0]:
                    best = (match.start(), time(*found))
                break
    return None if best is None else best[1]


def _weekday_day(weekday: int, modifier: str | None, reference: datetime, hour: int) -> date:
    today = reference.date()
    if modifier and "week" in modifier:
        monday_next_week = today + timedelta(days=7 - today.weekday())
        return monday_next_week + timedelta(days=weekday)
    delta = (weekday - today.weekday()) % 7
    if delta == 0:
        announced = datetime.combine(today, time(hour), tzinfo=LOCAL)
        if modifier in ("volgende", "next") or announced < reference - GRACE:
            delta = 7
    return today + timedelta(days=delta)


def _part_hour(word: str | None) -> int | None:
    if not word:
        return None
    word = word.strip()
    for part, hour in PART_HOURS.items():
        if word.endswith(part):
            return hour
    return None


def parse(text: str, reference: datetime, *, evening: bool = False) -> TimeExpression | None:
    """The first announced day and clock time in ``text``, relative to ``reference`` (aware; converted to
    Europe/Amsterdam). ``evening=True`` reads a bare "8 uur" as 20:00, for invitations to parties.
    Returns None when the text names neither a day nor a clock time."""
    if reference.tzinfo is None:
        raise ValueError("reference needs a time zone")
    lowered = text.lower()
    cue = _CUE.search(lowered)
    if cue is None:
        return None
    digits = _DIGIT.search(lowered, cue.start()) is not None
    local = reference.astimezone(LOCAL)
    today = local.date()
    dotted = _dotted_date(lowered, today) if digits else None
    if dotted is not None:
        _, start, end = dotted
        clock = _clock(lowered[:start] + " " * (end - start) + lowered[end:], evening, digits)
    else:
        clock = _clock(lowered, evening, digits)

    day = _explicit_date(lowered, today) if digits else None
    if day is None and dotted is not None:
        day = dotted[0]
    part_hour: int | None = None
    if day is None:
        weekday = _WEEKDAY_RE.search(lowered)
        if weekday is not None:
            part_hour = _part_hour(weekday.group(3))
            hour = clock.hour if clock else (part_hour if part_hour is not None else DEFAULT_HOUR)
            day = _weekday_day(WEEKDAYS[weekday.group(2)], weekday.group(1), local, hour)
    if day is None:
        relative = _RELATIVE.search(lowered)
        if relative is not None:
            word = relative.group(1)
            offset = 0
            if word.startswith(("overmorgen", "day after")):
                offset = 2
            elif word.startswith(("morgen", "tomorrow")):
                offset = 1
            day = today + timedelta(days=offset)
            part_hour = _relative_part(word)
    if day is None:
        if clock is None:
            return None
        # Only a clock: today if it is still to come (or just passed), else tomorrow.
        announced = datetime.combine(today, clock, tzinfo=LOCAL)
        day = today if announced >= local - GRACE else today + timedelta(days=1)
    elif (
        clock is not None and clock.hour < NIGHT_ENDS and local.hour >= NIGHT_ENDS and _NIGHT.search(lowered)
    ):
        # A night named by its day ("vannacht", "zaterdagnacht") runs into the next date: "Feest vannacht
        # vanaf 01:00" posted in the afternoon is tonight's small hours, not the ones already past (said in
        # those hours themselves, "vannacht" is the night one is in).
        day += timedelta(days=1)
    return TimeExpression(day=day, clock=clock, part_hour=None if clock else part_hour)


def _relative_part(word: str) -> int | None:
    if word in ("vanavond", "tonight", "this evening"):
        return PART_HOURS["avond"]
    if word == "vannacht":
        return PART_HOURS["nacht"]
    if word in ("vanmiddag", "this afternoon"):
        return PART_HOURS["middag"]
    if word in ("vanochtend", "vanmorgen", "this morning"):
        return PART_HOURS["ochtend"]
    if word.startswith("morgen") and word != "morgen":
        return _part_hour(word[len("morgen") :])
    if word.startswith("tomorrow") and word != "tomorrow":
        return _part_hour(word.split()[-1])
    return None
