"""Typed field access for the adapters: every wrong or missing value becomes a ParseError naming the field."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from time import monotonic
from typing import Any

from pydantic import ValidationError

from streams.formats.base import ParseError
from streams.formats.decode import clean, kind
from streams.post import MAX_CLOCK_SKEW, Post, latest_plausible_time

# Codes Twitter puts in `lang` that name no language (undetermined, media/hashtags/mentions/cashtags only,
# no linguistic content). Passing them on would stop the service's own language detection from filling in.
_NOT_LANGUAGES = frozenset({"und", "qam", "qct", "qht", "qme", "qst", "zxx"})

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_ZONES: dict[str, timezone] = {"+0000": UTC}
# Times a post can have: well before the first social networks, and well after now.
EARLIEST_POST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_POST = datetime(2100, 1, 1, tzinfo=UTC)
# Largest like/repost/reply/quote count: the storage columns are 32-bit integers.
MAX_COUNT = 2**31 - 1


def shown(value: Any, limit: int = 40) -> str:
    """A short printable rendering of an input value for error messages."""
    if isinstance(value, int) and value.bit_length() > 128:
        # repr() of an int over 4300 digits raises ValueError (CVE-2020-10735 limit), and none is readable.
        return f"a number of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require(obj: dict[str, Any], key: str, fmt: str, where: str = "") -> Any:
    value = obj.get(key)
    if value is None:
        raise ParseError(f"{fmt}: missing field '{where}{key}'")
    return value


def as_str(value: Any, field: str, fmt: str) -> str:
    if not isinstance(value, str):
        raise ParseError(f"{fmt}: field '{field}' should be a string, got {kind(value)}")
    return clean(value)


def opt_str(value: Any, field: str, fmt: str) -> str | None:
    return None if value is None else as_str(value, field, fmt)


def as_id(value: Any, field: str, fmt: str) -> str:
    """Ids arrive as strings or as JSON numbers (older exports); both become the same string."""
    if isinstance(value, str):
        if not value:
            raise ParseError(f"{fmt}: field '{field}' is empty")
        return clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ParseError(f"{fmt}: field '{field}' should be a string or integer id, got {kind(value)}")


def opt_id(value: Any, field: str, fmt: str) -> str | None:
    return None if value is None else as_id(value, field, fmt)


def as_dict(value: Any, field: str, fmt: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{fmt}: field '{field}' should be an object, got {kind(value)}")
    return value


def opt_dict(value: Any, field: str, fmt: str) -> dict[str, Any] | None:
    return None if value is None else as_dict(value, field, fmt)


def count(value: Any, field: str, fmt: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParseError(f"{fmt}: field '{field}' should be an integer, got {kind(value)}")
    if value < 0:
        raise ParseError(f"{fmt}: field '{field}' is negative ({value})")
    if value > MAX_COUNT:
        # Counts are stored in 32-bit columns (PostgreSQL INTEGER); a larger one would fail the whole batch
        # at storage, long after the record was accepted. No post has two billion likes.
        raise ParseError(f"{fmt}: field '{field}' is too large ({shown(value)})")
    return value


def number(value: Any, field: str, fmt: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ParseError(f"{fmt}: field '{field}' should be a number, got {kind(value)}")
    try:
        return float(value)
    except OverflowError:  # a JSON integer of 309 digits or more is exact in Python but no float
        raise ParseError(f"{fmt}: field '{field}' is out of range ({shown(value)})") from None


def point(value: Any, field: str, fmt: str, *, lon_first: bool) -> dict[str, float] | None:
    """A GeoJSON-style point object ``{"coordinates": [a, b]}`` as ``{"lat", "lon"}``."""
    if value is None:
        return None
    pair = as_dict(value, field, fmt).get("coordinates")
    if not isinstance(pair, list) or len(pair) != 2:
        raise ParseError(f"{fmt}: field '{field}.coordinates' should be a pair of numbers, got {shown(pair)}")
    first = number(pair[0], f"{field}.coordinates[0]", fmt)
    second = number(pair[1], f"{field}.coordinates[1]", fmt)
    return {"lat": second, "lon": first} if lon_first else {"lat": first, "lon": second}


def language(value: Any, field: str, fmt: str) -> str | None:
    code = opt_str(value, field, fmt)
    if not code or code in _NOT_LANGUAGES:
        return None
    return code


def unescape(text: str) -> str:
    """Twitter escapes &, < and > in post text; we store plain text and escape where it is shown."""
    return html.unescape(text) if "&" in text else text


def twitter_time(value: Any, field: str, fmt: str) -> datetime:
    """Parse 'Wed Aug 27 13:08:45 +0000 2014' without strptime, which is slow and follows the C locale."""
    text = as_str(value, field, fmt)
    parts = text.split(" ")
    try:
        if len(parts) != 6:
            raise ValueError
        _weekday, month, day, clock, offset, year = parts
        hour, minute, second = clock.split(":")
        zone = _ZONES.get(offset)
        if zone is None:
            if len(offset) != 5 or offset[0] not in "+-":
                raise ValueError
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
            zone = _ZONES[offset] = timezone(-delta if offset[0] == "-" else delta)
        moment = datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
        return plausible(moment, text, field, fmt)
    except (ValueError, KeyError, OverflowError):
        pass
    # Some tools re-export v1.1 tweets with ISO times; those are just as unambiguous.
    try:
        iso: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        iso = None
    if iso is None or iso.tzinfo is None:
        raise ParseError(
            f"{fmt}: field '{field}' is not a Twitter time like 'Wed Aug 27 13:08:45 +0000 2014':"
            f" {shown(text)}"
        )
    return plausible(iso, text, field, fmt)


def iso_time(value: Any, field: str, fmt: str, hint: str = "") -> datetime:
    text = as_str(value, field, fmt)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"{fmt}: field '{field}' is not an ISO-8601 time: {shown(text)}{hint}") from None
    if moment.tzinfo is None:
        raise ParseError(f"{fmt}: field '{field}' has no time zone: {shown(text)}{hint}")
    return plausible(moment, text, field, fmt)


# The last latest_plausible_time() and when it was read (monotonic clock), see _latest_plausible.
_bound: tuple[datetime, float] = (EARLIEST_POST, -math.inf)
# How long a bound is trusted: if the wall clock is set back (NTP, a restored VM), a post at most this
# long is judged against the old clock.
BOUND_SECONDS = 1.0


def _latest_plausible(utc: datetime) -> datetime:
    """latest_plausible_time(), asked of the wall clock only for a post later than its last answer or when
    that answer is a second old: a third of this check's cost was the clock."""
    global _bound
    latest, read_at = _bound
    now = monotonic()
    if utc > latest or now - read_at > BOUND_SECONDS:
        latest = latest_plausible_time()
        _bound = (latest, now)
    return latest


def plausible(moment: datetime, text: str, field: str, fmt: str) -> datetime:
    """The time, if a social post can have it. At the ends of the calendar converting to UTC raised
    OverflowError out of the adapter (9999-12-31T23:59:59-23:59), and a year-9999 post that did get in made
    the spike detector fail every batch holding it."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_POST <= utc < LATEST_POST:
        raise ParseError(
            f"{fmt}: field '{field}' is out of range ({shown(text)}); posts are from"
            f" {EARLIEST_POST.year} to {LATEST_POST.year - 1}"
        )
    if utc > _latest_plausible(utc):
        raise ParseError(
            f"{fmt}: field '{field}' is in the future ({shown(text)}); a post can be at most"
            f" {MAX_CLOCK_SKEW.total_seconds() / 60:.0f} minutes ahead of this machine's clock"
        )
    return moment


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "record"
    context = error.get("ctx") or {}
    kind_ = error["type"]
    if kind_ == "string_too_long":
        what = f"longer than {context['max_length']} characters"
    elif kind_ == "string_too_short":
        minimum = context.get("min_length", 1)
        what = "empty" if minimum == 1 else f"shorter than {minimum} characters"
    elif kind_ == "string_pattern_mismatch":
        what = f"{shown(error['input'])} does not match {context['pattern']}"
    elif kind_ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        what = f"{shown(error['input'])} is out of range ({error['msg'].lower()})"
    else:
        message = error["msg"]
        what = message[:1].lower() + message[1:]
    return f"{where}: {what}"


def build_post(fmt: str, **fields: Any) -> Post:
    """Validate into a Post; pydantic's report becomes one short line naming the first bad field."""
    try:
        # model_validate takes the dict as it is; Post(**fields) would unpack and re-pack it (a µs a post).
        return Post.model_validate(fields)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ParseError(f"{fmt}: {_describe(problems[0])}{more}") from None
