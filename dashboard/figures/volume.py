"""Posts per minute over the last hours: the shape a crisis room reads a spike from.

Pure: ``[{"start": datetime | ISO str, "count": n}]`` in (the shape of both ``LiveFeed.volume()`` and the
API's ``/api/stats/volume`` points), ``go.Figure`` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from dashboard.display import naive_local, parse_time
from dashboard.figures.notes import empty_note

BAR = "#3c6e91"
PARTIAL = "#a9c1d3"
GRID = "#e3e8ec"


@dataclass(frozen=True)
class VolumeTheme:
    """Colours and type of the chart; ``LIGHT`` is the live page's, ``DARK`` the wall display's."""

    bar: str = BAR
    partial: str = PARTIAL
    grid: str = GRID
    background: str = "#ffffff"
    ink: str = "#33414e"
    muted: str = "#8797a6"
    font_px: float = 12


LIGHT = VolumeTheme()
DARK = VolumeTheme(
    bar="#5fb3f0", partial="#2d5573", grid="#2a3542", background="#121922", ink="#dfe6ee", muted="#9aa8b8",
    font_px=17,
)  # fmt: skip


def volume_figure(
    points: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    bucket: timedelta = timedelta(minutes=1),
    uirevision: str = "live-volume",
    theme: VolumeTheme = LIGHT,
) -> go.Figure:
    """Bars per bucket in local (Amsterdam) clock time; an empty series gives an empty chart that says so.

    The bucket still running at ``now`` is drawn paler: it is only partly counted, and a full-colour short
    bar at the end would read as the crisis dying down.
    """
    now = now or datetime.now(UTC)
    rows = []
    for point in points:
        start, count = parse_time(point.get("start")), point.get("count")
        if start is None or not isinstance(count, int) or isinstance(count, bool):
            continue
        rows.append((start, count))
    rows.sort()
    counts = [count for _, count in rows]
    colours = [theme.partial if start + bucket > now else theme.bar for start, _ in rows]

    fig = go.Figure(
        go.Bar(
            x=[naive_local(start) for start, _ in rows],
            y=counts,
            marker={"color": colours, "line": {"width": 0}},
            hovertemplate="%{x|%H:%M}  <b>%{y}</b> posts<extra></extra>",
            name="posts per minute",
        )
    )
    scale = theme.font_px / LIGHT.font_px
    fig.update_layout(
        margin={"l": round(44 * scale), "r": 12, "t": 8, "b": round(28 * scale)},
        bargap=0.08,
        plot_bgcolor=theme.background,
        paper_bgcolor=theme.background,
        showlegend=False,
        uirevision=uirevision,
        font={"size": theme.font_px, "color": theme.ink},
        xaxis={"type": "date", "tickformat": "%H:%M", "showgrid": False, "fixedrange": True},
        yaxis={
            "title": {"text": "posts/min", "standoff": 6},
            "gridcolor": theme.grid,
            "rangemode": "tozero",
            "fixedrange": True,
            "tickformat": "d",
        },
    )
    if not any(counts):
        empty_note(fig, "No posts in this period", size=round(theme.font_px * 7 / 6), color=theme.muted)
        fig.update_yaxes(range=[0, 5])
    elif max(counts) < 5:
        # Plotly would step a low axis by 0.5, and whole-number labels then read 0, 1, 1, 2, 2.
        fig.update_yaxes(tick0=0, dtick=1)
    return fig
