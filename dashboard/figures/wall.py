"""The wall display's figures and the short texts around them: pure functions, testable without a browser.

Everything here takes plain data (the LiveFeed's posts, alerts and cases, the API's status and briefing
answers) and returns figures or small tuples of strings; the page turns them into components. Status is
never told by colour alone: every severity and workflow state has a shape and a word too, so a colour-blind
viewer across the room reads the same as everyone else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from dashboard.display import clock, count, escape_plotly, naive_local, parse_time, plain, to_local
from dashboard.figures import map as mapfig
from dashboard.figures import volume as volfig
from dashboard.figures.geodata import Place

# -- marks: a shape and a word for every state ---------------------------------------------------------

SEVERITY_MARK = {
    "critical": ("◆", "CRITICAL"),
    "high": ("▲", "HIGH"),
    "medium": ("●", "MEDIUM"),
    "low": ("○", "LOW"),
}
SEVERITY_COLOUR = {"critical": "#ff4d6d", "high": "#ff9f1c", "medium": "#ffd23f", "low": "#9aa8b8"}
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITY_MARK)}  # 0 = most severe

KIND_LABEL = {"spike": "Piek", "mobilisation": "Oproep", "rumour": "Gerucht"}

# Workflow of a rumour case (app/room/models.py CaseStatus): the room's attention is needed most at "new".
CASE_MARK = {
    "new": ("✱", "NEW"),
    "checking": ("◔", "CHECKING"),
    "confirmed": ("✔", "CONFIRMED"),
    "denied": ("✖", "DENIED"),
    "unfounded": ("∅", "UNFOUNDED"),
    "answered": ("✉", "ANSWERED"),
    "closed": ("■", "CLOSED"),
}

ALERT_AREA_WINDOW = timedelta(hours=1)  # an alert updated this recently marks its area on the map
MAX_SPIKE_MARKS = 6
MARK_GROUP = timedelta(minutes=15)  # spikes starting this close together share one label
BASE_HEIGHT = 1080  # CSS pixels the wall's type sizes are designed for; larger screens scale up


def severity_mark(severity: str | None) -> tuple[str, str]:
    return SEVERITY_MARK.get(severity or "", ("·", "NO SEVERITY"))


def case_mark(status: str) -> tuple[str, str]:
    return CASE_MARK.get(status, ("?", plain(status, 20).upper()))


def font_scale(viewport_height: Any) -> float:
    """Type on the figures grows with the screen like the page's CSS does (sizes in vh)."""
    if isinstance(viewport_height, bool) or not isinstance(viewport_height, int | float):
        return 1.0
    return max(0.75, min(3.0, viewport_height / BASE_HEIGHT))


# -- the map ---------------------------------------------------------------------------------------------


def _active_alerts(alerts: Iterable[Mapping[str, Any]], now: datetime) -> list[Mapping[str, Any]]:
    out = []
    for alert in alerts:
        updated = parse_time(alert.get("updated_at"))
        if updated is not None and not alert.get("closed") and now - updated <= ALERT_AREA_WINDOW:
            out.append(alert)
    return out


def alert_areas(
    alerts: Iterable[Mapping[str, Any]], places: Sequence[Place], *, now: datetime
) -> list[tuple[Place, str, int]]:
    """Areas with an open alert updated in the last hour, at their municipality's main place:
    ``(place, worst severity, number of alerts)``, worst first. Alerts without a known area are left out."""
    by_name = {p.name.casefold(): p for p in places}
    found: dict[str, tuple[Place, str, int]] = {}
    for alert in _active_alerts(alerts, now):
        area = alert.get("area")
        place = by_name.get(area.casefold()) if isinstance(area, str) else None
        if place is None:
            continue
        severity = alert.get("severity") if alert.get("severity") in SEVERITY_RANK else "low"
        known = found.get(place.name)
        if known is None:
            found[place.name] = (place, severity, 1)
        else:
            worst = min(known[1], severity, key=SEVERITY_RANK.__getitem__)
            found[place.name] = (place, worst, known[2] + 1)
    return sorted(found.values(), key=lambda item: (SEVERITY_RANK[item[1]], -item[2], item[0].name))


def dark_map_theme(scale: float = 1.0) -> mapfig.MapTheme:
    dark = mapfig.DARK
    return dataclasses.replace(
        dark,
        active_font_px=round(dark.active_font_px * scale),
        context_font_px=round(dark.context_font_px * scale),
    )


def wall_map_figure(
    posts: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    *,
    outline: Mapping[str, Any] | None = None,
    places: Sequence[Place] = (),
    now: datetime | None = None,
    size: tuple[int, int] | None = None,
    scale: float = 1.0,
    style: str = "white-bg",
) -> go.Figure:
    """The live map in the dark theme, with the areas of open alerts ringed in their severity's colour and
    labelled with its word. Traces: three recency classes, the alert areas, then the two label traces."""
    now = now or datetime.now(UTC)
    theme = dark_map_theme(scale)
    fig = mapfig.map_figure(
        posts,
        style=style,
        outline=outline,
        places=places,
        now=now,
        size=size,
        uirevision="wall-map",
        theme=theme,
    )
    areas = alert_areas(alerts, places, now=now)
    ring = go.Scattermap(
        name="open alert",
        lat=[p.lat for p, _, _ in areas],
        lon=[p.lon for p, _, _ in areas],
        mode="markers+text",
        marker={
            "size": round(64 * scale),
            "color": [SEVERITY_COLOUR[s] for _, s, _ in areas],
            "opacity": 0.28,
        },
        # The word under the ring: the severity is never told by colour alone.
        text=[escape_plotly(" ".join(severity_mark(s))) for _, s, _ in areas],
        textposition="bottom center",
        textfont={"size": round(18 * scale), "color": "#ffffff", "family": "Open Sans Bold"},
        hovertext=[
            escape_plotly(f"{p.name}: {n} open alert{'s' if n != 1 else ''}, worst {s}") for p, s, n in areas
        ],
        hoverinfo="text",
        legendrank=500,
    )
    data = list(fig.data)
    fig = go.Figure(data=[*data[:3], ring, *data[3:]], layout=fig.layout)
    # More margin than the live page: a ring and its word at the edge of the view must not be cut off.
    fig.layout.map.zoom = max(4.0, fig.layout.map.zoom - 0.5)  # below the live page's 5: small panels
    fig.update_layout(
        legend={
            "font": {"size": round(18 * scale), "color": theme.legend_font},
            "title": {"text": "Newest post: "},
            "itemsizing": "constant",
        }
    )
    return fig


# -- the volume chart ------------------------------------------------------------------------------------


def spike_label(alert: Mapping[str, Any]) -> str:
    """What spiked, short: the key named in the spike detector's title ("Piek in #projectxharen: 77 ..."),
    else the area. Two spikes in one area (the town and its hashtag) must not both read "Haren"."""
    title = plain(str(alert.get("title") or ""))
    for prefix in ("Voorbij: piek in ", "Piek in "):
        if title.startswith(prefix) and ":" in title:
            return plain(title[len(prefix) :].split(":", 1)[0], 24)
    return plain(str(alert.get("area") or ""), 24) or "all posts"


def spike_marks(
    alerts: Iterable[Mapping[str, Any]], *, since: datetime, until: datetime, limit: int = MAX_SPIKE_MARKS
) -> list[tuple[datetime, datetime, str, str]]:
    """Spike alerts overlapping the chart's window as ``(start, end, severity, label)``, the most severe and
    then the most recent first, at most ``limit``; a still-growing spike ends at ``until``."""
    marks = []
    for alert in alerts:
        if alert.get("kind") != "spike":
            continue
        start = parse_time(alert.get("first_seen")) or parse_time(alert.get("updated_at"))
        end = parse_time(alert.get("updated_at"))
        if start is None or end is None:
            continue
        if not alert.get("closed"):
            end = max(end, until)
        if end < since or start > until:
            continue
        severity = alert.get("severity") if alert.get("severity") in SEVERITY_RANK else "low"
        label = spike_label(alert)
        marks.append((max(start, since), min(max(end, start + timedelta(minutes=1)), until), severity, label))
    marks.sort(key=lambda m: (SEVERITY_RANK[m[2]], -m[0].timestamp()))
    return marks[:limit]


def _grouped(marks: list[tuple[datetime, datetime, str, str]]) -> list[tuple[datetime, str, str]]:
    """Marks starting within ``MARK_GROUP`` of each other share one label: ``(start, worst, text)``."""
    groups: list[list[tuple[datetime, datetime, str, str]]] = []
    for mark in sorted(marks):
        if groups and mark[0] - groups[-1][0][0] <= MARK_GROUP:
            groups[-1].append(mark)
        else:
            groups.append([mark])
    out = []
    for group in groups:
        worst = min((m[2] for m in group), key=SEVERITY_RANK.__getitem__)
        names = list(dict.fromkeys(f"{severity_mark(m[2])[0]} {m[3]}" for m in group))
        out.append((group[0][0], worst, "  ".join(names)))
    return out


def wall_volume_figure(
    points: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    since: datetime,
    scale: float = 1.0,
) -> go.Figure:
    """Posts per minute, dark. Each spike alert is a strip above the bars for as long as it lasts, in its
    severity's colour, and a dashed line where it started, named in the top margin (shape and area)."""
    dark = volfig.DARK
    theme = dataclasses.replace(dark, font_px=round(dark.font_px * scale))
    points_list = [p for p in points if isinstance(p.get("count"), int)]
    fig = volfig.volume_figure(points_list, now=now, uirevision="wall-volume", theme=theme)
    marks = spike_marks(alerts, since=since, until=now)
    strip = 0.05
    for index, (start, end, severity, _label) in enumerate(sorted(marks, key=lambda m: m[0])):
        top = 1 - index * strip
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=naive_local(start),
            x1=naive_local(end),
            y0=top - strip * 0.8,
            y1=top,
            fillcolor=SEVERITY_COLOUR[severity],
            opacity=0.85,
            line_width=0,
        )
    for start, severity, text in _grouped(marks):
        colour = SEVERITY_COLOUR[severity]
        fig.add_vline(x=naive_local(start), line={"color": colour, "width": 2, "dash": "dash"}, opacity=0.9)
        fig.add_annotation(
            x=naive_local(start),
            xanchor="left",
            y=1,
            yref="paper",
            yanchor="bottom",
            text=escape_plotly(text),
            showarrow=False,
            font={"size": round(15 * scale), "color": colour},
        )
    if marks:
        # Headroom above the highest bar for the strips, and a top margin for the names.
        highest = max((int(p.get("count") or 0) for p in points_list), default=0)
        room = 1 / (1 - strip * len(marks) - 0.03)
        fig.update_layout(margin={"t": round(26 * scale)}, yaxis={"range": [0, max(highest, 5) * room]})
    return fig


# -- the texts -------------------------------------------------------------------------------------------


def ticker(alerts: Iterable[Mapping[str, Any]], *, now: datetime, limit: int = 6) -> list[Mapping[str, Any]]:
    """Alerts for the ticker: open ones updated in the last hour first (most severe, then newest), then the
    rest newest first; ended spikes and calls ("Voorbij") last."""

    def key(alert: Mapping[str, Any]) -> tuple[int, int, float]:
        updated = parse_time(alert.get("updated_at"))
        stamp = updated.timestamp() if updated else 0.0
        fresh = updated is not None and now - updated <= ALERT_AREA_WINDOW and not alert.get("closed")
        rank = SEVERITY_RANK.get(str(alert.get("severity")), 4) if fresh else 4
        return (0 if fresh else 1 if not alert.get("closed") else 2), rank, -stamp

    return sorted(alerts, key=key)[:limit]


def top_rumours(cases: Iterable[Mapping[str, Any]], *, limit: int | None = 5) -> list[Mapping[str, Any]]:
    """Active cases (not closed, not merged into another), most severe first, then most recently active."""

    def key(case: Mapping[str, Any]) -> tuple[int, float]:
        updated = parse_time(case.get("updated_at")) or parse_time(case.get("first_seen"))
        return SEVERITY_RANK.get(str(case.get("severity")), 4), -(updated.timestamp() if updated else 0.0)

    active = [c for c in cases if c.get("status") != "closed" and not c.get("merged_into")]
    return sorted(active, key=key)[:limit]


@dataclass(frozen=True)
class StoryRow:
    """One line of the wall's rumour panel: a case, and the open cases it seems to share its claim with."""

    case: Mapping[str, Any]
    alike: int


def rumour_stories(cases: Iterable[Mapping[str, Any]], *, limit: int = 5) -> list[StoryRow]:
    """:func:`top_rumours`, with the cases that the service hints tell the same claim as a case already on
    a line folded into that line's count: one rumour in five wordings takes one line, so a second rumour
    still reaches the wall. Only direct hints fold (no chains), and the board still lists every case."""
    lines: list[Mapping[str, Any]] = []
    alike: list[int] = []
    shown: dict[str, int] = {}  # case on a line -> its line
    hinted: dict[str, int] = {}  # case a shown case hints at -> that line
    for case in top_rumours(cases, limit=None):
        case_id = str(case.get("case_id"))
        similar = [str(other) for other in case.get("similar") or ()]
        line = hinted.get(case_id)
        if line is None:
            line = next((shown[other] for other in similar if other in shown), None)
        if line is not None:
            alike[line] += 1
        elif len(lines) < limit:
            shown[case_id] = len(lines)
            for other in similar:
                hinted.setdefault(other, len(lines))
            lines.append(case)
            alike.append(0)
    return [StoryRow(case, n) for case, n in zip(lines, alike, strict=True)]


def source_rates(status: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    """``/api/status`` "sources" as (platform, posts per minute), busiest first; junk entries are skipped."""
    sources = status.get("sources") if isinstance(status, Mapping) else None
    if not isinstance(sources, Mapping):
        return []
    rates = [
        (plain(str(name), 30), float(rate))
        for name, rate in sources.items()
        if isinstance(rate, int | float) and not isinstance(rate, bool) and rate >= 0
    ]
    return sorted(rates, key=lambda item: (-item[1], item[0]))


def platform_rates(
    posts: Iterable[Mapping[str, Any]], *, now: datetime, minutes: int = 10
) -> list[tuple[str, float]]:
    """Posts per minute per platform over the last ``minutes`` of ``now`` (the stream's clock), busiest
    first: the wall's own count, for a service that does not report its sources."""
    since = now - timedelta(minutes=minutes)
    counts: dict[str, int] = {}
    for post in posts:
        created = parse_time(post.get("created_at"))
        if created is not None and since <= created <= now:
            name = plain(str(post.get("platform") or "unknown"), 30)
            counts[name] = counts.get(name, 0) + 1
    return sorted(((name, n / minutes) for name, n in counts.items()), key=lambda item: (-item[1], item[0]))


def ingest_lag(status: Mapping[str, Any] | None) -> float | None:
    pipeline = status.get("pipeline") if isinstance(status, Mapping) else None
    lag = pipeline.get("ingest_lag_seconds") if isinstance(pipeline, Mapping) else None
    return float(lag) if isinstance(lag, int | float) and not isinstance(lag, bool) else None


def lag_level(lag: float | None) -> str:
    """ok under half a minute, warn under five, bad beyond (or unknown)."""
    if lag is None:
        return "unknown"
    return "ok" if lag < 30 else "warn" if lag < 300 else "bad"


def format_lag(lag: float | None) -> str:
    if lag is None:
        return "unknown"
    if lag < 10:
        return f"{lag:.1f} s"
    if lag < 120:
        return f"{lag:.0f} s"
    if lag < 7200:
        return f"{lag / 60:.0f} min"
    return f"{lag / 3600:.1f} h"


def format_rate(rate: float) -> str:
    return f"{rate:.1f}" if rate < 10 else count(rate)


@dataclass(frozen=True)
class ChangeLine:
    """One line of the "since the briefing" panel."""

    at: datetime | None
    kind: str  # "new alert", "alert", "rumour", "log"
    mark: str  # a shape, as everywhere on the wall
    text: str  # plain text: the page shows it as a Dash child, never as markup


@dataclass(frozen=True)
class BriefingDigest:
    since: datetime | None
    new_alerts: int
    updated_alerts: int
    case_changes: int
    entries: int
    lines: list[ChangeLine]

    @property
    def empty(self) -> bool:
        return not (self.new_alerts or self.updated_alerts or self.case_changes or self.entries)


BRIEFING_FIRST = {"new alert": 2, "rumour": 2, "log": 1, "alert": 1}  # lines of each kind shown first
STEP_LABEL = {"analyse": "Analysis", "advise": "Advice", "act": "Action", "evaluate": "Evaluation"}
ENTRY_TEXT = {"analyse": "summary", "advise": "advice", "act": "message", "evaluate": "comment"}


def _items(changes: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = changes.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


ACTION_WORDS = {
    "note": ("✎", "note"),
    "merge": ("⇉", "merged with another"),
    "merged": ("⇉", "merged into another"),
    "split": ("⑂", "split"),
    "flag": ("⚐", "post flagged"),
    "answer": ("✉", "answer recorded"),
}


def _case_change_text(entry: Mapping[str, Any], claims: Mapping[str, str]) -> tuple[str, str]:
    """An audit entry about a case (actions of ``app.db.room``: status, owner, note, merge, split, flag,
    answer) as a shape and a line naming the claim."""
    subject = str(entry.get("subject") or "")
    case_id = subject.split(":", 1)[1] if subject.startswith("rumour:") else subject
    claim = claims.get(case_id) or plain(case_id, 40) or "a rumour"
    action = str(entry.get("action") or "")
    detail = entry.get("detail") if isinstance(entry.get("detail"), Mapping) else {}
    actor = plain(str(entry.get("actor") or ""), 30)
    target = detail.get("to")
    if action == "status" and isinstance(target, str):
        mark, word = case_mark(target)
        text = f"{word}: {claim}"
    elif action == "owner":
        mark = "☛"
        text = f"owner {plain(str(target), 30) if target else 'none'}: {claim}"
    else:
        mark, word = ACTION_WORDS.get(action, ("✎", plain(action, 30).replace("_", " ") or "changed"))
        text = f"{word}: {claim}"
    return mark, f"{text} ({actor})" if actor else text


def briefing_digest(
    changes: Mapping[str, Any] | None, *, claims: Mapping[str, str] | None = None, limit: int = 8
) -> BriefingDigest:
    """``/api/briefing/changes`` as counts and the newest ``limit`` lines, newest first. ``claims`` maps case
    ids to claims, so an audit entry about ``rumour:<id>`` reads as the rumour, not as an id."""
    changes = changes if isinstance(changes, Mapping) else {}
    claims = claims or {}
    new, updated = _items(changes, "new_alerts"), _items(changes, "updated_alerts")
    audit, entries = _items(changes, "case_changes"), _items(changes, "entries")
    lines: list[ChangeLine] = []
    for kind, alerts in (("new alert", new), ("alert", updated)):
        for alert in alerts:
            severity = str(alert.get("severity") or "")
            mark, word = severity_mark(severity)
            prefix = "NEW " if kind == "new alert" else "UPDATED "
            title = plain(str(alert.get("title") or ""), 140)
            lines.append(
                ChangeLine(parse_time(alert.get("updated_at")), kind, mark, f"{prefix}{word}: {title}")
            )
    for entry in audit:
        if entry.get("action") == "merged":
            continue  # the other half of a merge: the "merge" entry on the kept case says it
        mark, text = _case_change_text(entry, claims)
        lines.append(ChangeLine(parse_time(entry.get("at")), "rumour", mark, text))
    for entry in entries:
        step = str(entry.get("step") or "")
        body = entry.get("body") if isinstance(entry.get("body"), Mapping) else {}
        said = body.get(ENTRY_TEXT.get(step, ""), "")
        label = STEP_LABEL.get(step, plain(step, 20).capitalize() or "Entry")
        author = plain(str(entry.get("author") or ""), 30)
        text = f"{label} by {author}" if author else label
        if isinstance(said, str) and said.strip():
            text += f": {plain(said, 140)}"
        at = parse_time(entry.get("effective_at")) or parse_time(entry.get("written_at"))
        lines.append(ChangeLine(at, "log", "✎", text))
    # Alerts carry stream time, the room's actions wall-clock time: in a replay those don't sort together.
    # So by kind (what the room needs first), newest first within a kind, a few of each before the rest.
    epoch = datetime.min.replace(tzinfo=UTC)
    by_kind: dict[str, list[ChangeLine]] = {}
    for line in lines:
        by_kind.setdefault(line.kind, []).append(line)
    for kind_lines in by_kind.values():
        kind_lines.sort(key=lambda line: line.at or epoch, reverse=True)
    order = ("new alert", "rumour", "log", "alert")
    first = [line for kind in order for line in by_kind.get(kind, [])[: BRIEFING_FIRST[kind]]]
    rest = [line for kind in order for line in by_kind.get(kind, [])[BRIEFING_FIRST[kind] :]]
    lines = first + rest
    return BriefingDigest(
        since=parse_time(changes.get("since")),
        new_alerts=len(new),
        updated_alerts=len(updated),
        case_changes=len(audit),
        entries=len(entries),
        lines=lines[:limit],
    )


def stream_note(stream_clock: datetime, now: datetime | None = None) -> str | None:
    """Says so when the wall keeps time by a replayed stream rather than the clock on the wall."""
    now = now or datetime.now(UTC)
    if now - stream_clock < timedelta(minutes=30):
        return None
    return f"REPLAY · stream time {clock(stream_clock)} on {to_local(stream_clock):%d %b %Y}"
