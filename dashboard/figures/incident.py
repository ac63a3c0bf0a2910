"""Figures of the incident page: the incident area's volume with its alerts and actions marked, and what an
action did (the hour before it against the hour after).

Pure: API-shaped dicts in, ``go.Figure`` out. Alert titles come from strangers' posts, so every text that
goes into hover labels or annotations is escaped with :func:`dashboard.display.escape_plotly`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.display import clock, escape_plotly, naive_local, parse_time
from dashboard.figures.notes import empty_note

BAR = "#3c6e91"
BEFORE = "#9aa8b4"
MEASURING = "#c4d5e2"
GRID = "#e3e8ec"
MUTED = "#8797a6"
ACTION = "#2e8b57"
# Marker per detector: shape and colour, readable in grey print too.
ALERT_MARKS = {
    "mobilisation": ("diamond", "#8e1b10", "call to gather"),
    "spike": ("triangle-up", "#d4521f", "volume spike"),
    "rumour": ("circle", "#d9a400", "rumour"),
}
CHANNELS = {"website": "website", "social": "social media", "nl-alert": "NL-Alert", "press": "press"}
BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)  # minutes
MAX_BARS = 200


def pick_bucket(span: timedelta, max_bars: int = MAX_BARS) -> int:
    """The shortest bucket (in minutes) that shows ``span`` in at most ``max_bars`` bars."""
    minutes = span / timedelta(minutes=1)
    return next((b for b in BUCKETS if minutes / b <= max_bars), BUCKETS[-1])


def incident_volume_figure(
    points: Iterable[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]] = (),
    actions: Sequence[Mapping[str, Any]] = (),
    *,
    bucket_minutes: int = 10,
    area: str | None = None,
) -> go.Figure:
    """Posts per bucket (local clock time) with each alert marked where it was first seen and each action
    (an ``act`` entry) as a vertical line where it was published."""
    rows = []
    for point in points:
        start, count = parse_time(point.get("start")), point.get("count")
        if start is not None and isinstance(count, int) and not isinstance(count, bool):
            rows.append((start, count))
    rows.sort()
    top = max((c for _, c in rows), default=0)
    where = escape_plotly(area, limit=60) if area else "all areas"
    fig = go.Figure(
        go.Bar(
            x=[naive_local(s) for s, _ in rows],
            y=[c for _, c in rows],
            marker={"color": BAR, "line": {"width": 0}},
            name=f"posts per {bucket_minutes} min",
            hovertemplate=f"%{{x|%a %d %b %H:%M}}  <b>%{{y}}</b> posts ({where})<extra></extra>",
            showlegend=False,
        )
    )
    marker_y = top * 1.12 if top else 1
    for kind, (symbol, colour, label) in ALERT_MARKS.items():
        mine = [a for a in alerts if a.get("kind") == kind and parse_time(a.get("first_seen")) is not None]
        if not mine:
            continue
        fig.add_trace(
            go.Scatter(
                x=[naive_local(parse_time(a["first_seen"])) for a in mine],  # type: ignore[arg-type]
                y=[marker_y] * len(mine),
                mode="markers",
                marker={"symbol": symbol, "size": 11, "color": colour, "line": {"width": 1, "color": "#fff"}},
                name=f"{label} ({len(mine)})",
                hovertext=[_alert_hover(a) for a in mine],
                hoverinfo="text",
            )
        )
    for action in actions:
        at = parse_time(action.get("effective_at"))
        if at is None:
            continue
        body = action.get("body") or {}
        channel = CHANNELS.get(str(body.get("channel")), str(body.get("channel") or "action"))
        x = naive_local(at)
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": ACTION, "width": 2, "dash": "dot"},
        )
        fig.add_annotation(
            x=x,
            y=1,
            xref="x",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=escape_plotly(f"{channel} {clock(at)}", limit=40),
            font={"size": 11, "color": ACTION},
        )
    fig.update_layout(
        margin={"l": 44, "r": 12, "t": 24, "b": 28},
        bargap=0.05,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        font={"size": 12, "color": "#33414e"},
        legend={"orientation": "h", "x": 0, "y": -0.16, "font": {"size": 11}},
        hovermode="closest",
        xaxis={"type": "date", "showgrid": False, "tickformat": "%a %H:%M"},
        yaxis={
            "title": {"text": f"posts/{bucket_minutes} min", "standoff": 6},
            "gridcolor": GRID,
            "rangemode": "tozero",
            "tickformat": "d",
        },
    )
    if not any(c for _, c in rows):
        empty_note(fig, "No posts in this period", size=14, color=MUTED)
    return fig


def _alert_hover(alert: Mapping[str, Any]) -> str:
    first = parse_time(alert.get("first_seen"))
    head = f"{alert.get('severity', '')} {alert.get('kind', '')} · {clock(first)}"
    head += f" · {alert.get('post_count', 0)} posts"
    return (
        escape_plotly(head, limit=80)
        + "<br>"
        + escape_plotly(str(alert.get("title") or ""), limit=160, width=60)
    )


def _pct(share: Any) -> float | None:
    return round(share * 100, 1) if isinstance(share, int | float) and not isinstance(share, bool) else None


def effect_rows(effect: Mapping[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(measure, before, after) as shown: posts, rumour posts, and the share of questions in percent."""
    return [
        ("posts", effect.get("posts_before"), effect.get("posts_after")),
        ("rumour posts", effect.get("rumour_posts_before"), effect.get("rumour_posts_after")),
        ("questions %", _pct(effect.get("question_share_before")), _pct(effect.get("question_share_after"))),
    ]


def effect_figure(effect: Mapping[str, Any]) -> go.Figure:
    """Three small before/after bar pairs. While the hour after is still running (``complete`` false) the
    'after' bars are pale and the figure says so: a half-counted hour is not a drop."""
    complete = bool(effect.get("complete"))
    minutes = int(effect.get("window_minutes") or 60)
    rows = effect_rows(effect)
    fig = make_subplots(rows=1, cols=3, subplot_titles=[name for name, _, _ in rows], horizontal_spacing=0.09)
    after_label = "after" if complete else "so far"
    for col, (name, before, after) in enumerate(rows, start=1):
        values = [before, after]
        fig.add_trace(
            go.Bar(
                x=["before", after_label],
                y=[v if v is not None else 0 for v in values],
                marker={"color": [BEFORE, BAR if complete else MEASURING], "line": {"width": 0}},
                text=["–" if v is None else f"{v:g}" for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"{name}, %{{x}} (window {minutes} min): %{{text}}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        top = max((v for v in values if v is not None), default=0)
        fig.update_yaxes(range=[0, (top or 1) * 1.3], row=1, col=col)
    fig.update_xaxes(showticklabels=True, tickfont={"size": 10, "color": "#66727d"}, fixedrange=True)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=True, zerolinecolor=GRID, fixedrange=True)
    fig.update_annotations(font={"size": 12, "color": "#33414e"})
    fig.update_layout(
        height=150,
        margin={"l": 6, "r": 6, "t": 22, "b": 18},
        bargap=0.25,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        font={"size": 11, "color": "#33414e"},
    )
    return fig


def effect_summary(effect: Mapping[str, Any]) -> list[str]:
    """The same numbers as text lines, for the entry and for readers of the page without the chart."""
    lines = []
    for name, before, after in effect_rows(effect):
        shown = ["–" if v is None else f"{v:g}" for v in (before, after)]
        lines.append(f"{name}: {shown[0]} → {shown[1]}")
    return lines
