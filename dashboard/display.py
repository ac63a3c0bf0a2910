"""Making stranger-written text and UTC timestamps safe and readable for the wall.

Plotly renders a subset of HTML in hover text and labels (``<b>``, ``<a href>``, ``<br>`` ...), so any text
that came from a post must be escaped before it goes into a figure. Dash components escape on their own:
pass post text as ``children`` and never through markdown or ``dangerously_allow_html``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")  # the crisis room reads clock time, not UTC
_WHITESPACE = re.compile(r"\s+")


def plain(text: str | None, limit: int | None = None) -> str:
    """Collapse whitespace (newlines would break layout) and cut long text with an ellipsis."""
    flat = _WHITESPACE.sub(" ", text or "").strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def escape_plotly(text: str | None, *, limit: int | None = None, width: int | None = None) -> str:
    """Text that plotly shows literally: tags become entities. Line breaks we add ourselves come after
    escaping, so they are the only markup in the result."""
    flat = plain(text, limit)
    lines = _wrap(flat, width) if width and flat else [flat]
    return "<br>".join(html.escape(line, quote=False) for line in lines)


def _wrap(text: str, width: int) -> list[str]:
    # textwrap is general and slow; hover text is built for thousands of posts per refresh.
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while len(word) > width:  # a URL or a scream: cut it rather than let it widen the label
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def count(n: int | float) -> str:
    """A whole number with its thousands set apart by a narrow space: 1 888. The pages are in English, the
    alerts and the readers Dutch: "1,888" reads as one point eight to them, "1.888" as one point eight to
    English readers; a space reads the same to both (as ISO 80000 writes it)."""
    return f"{round(n):,}".replace(",", "\u202f")


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (or a datetime) to an aware UTC datetime; naive times are taken as UTC, garbage as None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ)


def naive_local(moment: datetime) -> datetime:
    """Plotly drops UTC offsets from dates, so axes get local wall-clock time without a zone."""
    return to_local(moment).replace(tzinfo=None)


def clock(moment: datetime | None, *, seconds: bool = False) -> str:
    if moment is None:
        return "–"
    return to_local(moment).strftime("%H:%M:%S" if seconds else "%H:%M")


def clock_or_day(moment: datetime | None, now: datetime) -> str:
    """The time alone on the day of ``now`` (the stream's clock), else with its date ("17 Sep 23:36"): a list
    of times from several days read as one evening otherwise."""
    if moment is None:
        return "–"
    local = to_local(moment)
    return local.strftime("%H:%M" if local.date() == to_local(now).date() else "%d %b %H:%M")


def day_time(value: object, *, seconds: bool = False) -> str:
    """A wall-clock or stream time as the crisis room reads it, local day and time ("Sun 15 Sep 21:04")."""
    moment = parse_time(value)
    if moment is None:
        return "–"
    return to_local(moment).strftime("%a %d %b %H:%M:%S" if seconds else "%a %d %b %H:%M")
