"""How alerts say numbers and moments: in Dutch, for the crisis room that reads them.

Alert titles and explanations are written once, when the detector raises or updates an alert, and are then
shown on every page and in every export. They are Dutch throughout (the spike detector's always were), with
Dutch numbers ("1.888 berichten", "4,8 per uur") and Amsterdam clock times: a crisis room reading "1,888" as
one point eight, or "19:37 UTC" an hour or two off, misreads the one line it has time for.
"""

from __future__ import annotations

from datetime import datetime

from app.pipeline.time_expressions import LOCAL

WEEKDAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def count(n: int) -> str:
    """A whole number with Dutch thousands points: 1.888."""
    return f"{n:,}".replace(",", ".")


def decimal(x: float, places: int = 1) -> str:
    """A number with a Dutch decimal comma and thousands points: 4,8 or 1.234,5."""
    text = f"{x:,.{places}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def day(moment: datetime) -> str:
    """'za 21 sep' in Amsterdam: weekday and month spelled out here, since strftime follows the locale."""
    local = moment.astimezone(LOCAL)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"


def day_and_time(moment: datetime) -> str:
    """'za 21 sep 19:37' in Amsterdam."""
    return f"{day(moment)} {moment.astimezone(LOCAL):%H:%M}"
