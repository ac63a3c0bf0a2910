"""The rumour board's figures: how a claim spread (sparkline, answer marked), its support/deny/query mix
and where it was posted.

Pure: API data in (``RumourCaseDetail.spread`` points, ``stance`` and ``points``), ``go.Figure`` out. No
stranger-written text goes into these figures except area names, which are escaped.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from dashboard.display import clock, escape_plotly, naive_local, parse_time
from dashboard.figures.geodata import Place
from dashboard.figures.map import bin_posts, bubble_size, map_figure
from dashboard.figures.notes import empty_note

BUCKET = timedelta(minutes=10)  # the API's spread grid (app.room.models.SPREAD_BUCKET)
LINE = "#3c6e91"
FILL = "rgba(60,110,145,0.18)"
ANSWER = "#2e8b57"
MUTED = "#8797a6"
GRID = "#e3e8ec"
# Stance order and colours: what spreads the claim first (red), doubts, denials, then mere comments.
STANCES: tuple[tuple[str, str, str], ...] = (
    ("support", "spreads it", "#c0392b"),
    ("query", "asks", "#d9a400"),
    ("deny", "denies", "#2e8b57"),
    ("comment", "other", "#a9b3bb"),
)
BUBBLE = "#c0392b"
MAX_ZOOM = 8.5
# plotly's default template is ~10 kB per figure; a board of sparklines would send it with every card.
TEMPLATE = "none"


def spread_series(
    points: Iterable[Mapping[str, Any]],
    *,
    bucket: timedelta = BUCKET,
    until: datetime | None = None,
    max_buckets: int = 2000,
) -> list[tuple[datetime, int]]:
    """The API's spread points on a regular grid: the buckets it leaves out (no posts) filled with zero,
    from the first bucket to the last one (or ``until``). Unreadable points are skipped; a very long
    series keeps its newest ``max_buckets`` buckets."""
    counts: Counter[datetime] = Counter()
    for point in points:
        start, count = parse_time(point.get("start")), point.get("count")
        if start is None or not isinstance(count, int) or isinstance(count, bool):
            continue
        counts[start] += max(count, 0)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    if until is not None and until > last:
        last = until
    steps = int((last - first) / bucket)
    if steps >= max_buckets:
        first = first + bucket * (steps - max_buckets + 1)
        steps = max_buckets - 1
    series = [(first + bucket * i, 0) for i in range(steps + 1)]
    index = {start: i for i, (start, _) in enumerate(series)}
    for start, count in counts.items():
        if start in index:
            series[index[start]] = (start, count)
        elif start > first:  # off the grid (another bucket size): fold onto the bucket it falls in
            i = min(int((start - first) / bucket), len(series) - 1)
            series[i] = (series[i][0], series[i][1] + count)
    return series


def sparkline_svg(
    points: Iterable[Mapping[str, Any]],
    *,
    answered_at: datetime | str | None = None,
    width: int = 300,
    height: int = 48,
    bucket: timedelta = BUCKET,
) -> str:
    """The card's sparkline as a small SVG document (numbers only, no text from posts): an area of posts
    per bucket, the answer as a dotted green line. One ``<img>`` per card instead of a plotly graph keeps a
    board of dozens of cards quick to draw; the opened case gets the interactive :func:`spread_figure`."""
    answer = parse_time(answered_at)
    series = spread_series(points, bucket=bucket)
    if series and answer is not None and answer >= series[-1][0] + bucket:
        series = spread_series(points, bucket=bucket, until=answer)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="none">'
    ]
    top, bottom = 3.0, height - 1.0
    if series and any(count for _, count in series):
        start, end = series[0][0], series[-1][0] + bucket
        span = (end - start).total_seconds()
        peak = max(count for _, count in series)

        def x(moment: datetime) -> float:
            return max(0.0, min(width, (moment - start).total_seconds() / span * width))

        def y(count: int) -> float:
            return bottom - (bottom - top) * count / peak

        steps = [f"M0,{bottom:.1f}"]
        for moment, count in series:  # a step line: each bucket flat across its ten minutes
            steps.append(f"L{x(moment):.1f},{y(count):.1f}L{x(moment + bucket):.1f},{y(count):.1f}")
        path = "".join(steps)
        parts.append(f'<path d="{path}L{width},{bottom:.1f}Z" fill="{FILL}" stroke="none"/>')
        parts.append(f'<path d="{path[len(f"M0,{bottom:.1f}") :].replace("L", "M", 1)}" fill="none" '
                     f'stroke="{LINE}" stroke-width="1.5" vector-effect="non-scaling-stroke"/>')  # fmt: skip
        if answer is not None and start <= answer <= end:
            ax = x(answer)
            parts.append(
                f'<line x1="{ax:.1f}" y1="0" x2="{ax:.1f}" y2="{height}" stroke="{ANSWER}" stroke-width="2" '
                'stroke-dasharray="3 2" vector-effect="non-scaling-stroke"/>'
            )
    else:
        parts.append(
            f'<line x1="0" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline_uri(points: Iterable[Mapping[str, Any]], **kwargs: Any) -> str:
    """:func:`sparkline_svg` as a data URI for an ``<img>`` (an SVG shown as an image runs no scripts)."""
    return "data:image/svg+xml;base64," + base64.b64encode(sparkline_svg(points, **kwargs).encode()).decode()


def spread_figure(
    points: Iterable[Mapping[str, Any]],
    *,
    answered_at: datetime | str | None = None,
    compact: bool = False,
    bucket: timedelta = BUCKET,
) -> go.Figure:
    """Posts per bucket over the case's life; a vertical line marks the official answer.

    ``compact`` is the card's sparkline: no axes or grid, a tiny margin, the answer only as a line. The full
    chart has time and count axes and labels the answer with its clock time (Amsterdam).
    """
    answer = parse_time(answered_at)
    series = spread_series(points, bucket=bucket)
    if series and answer is not None:
        # Keep the answer on the chart even when it came after the last post: the flat tail is the point.
        if answer >= series[-1][0] + bucket:
            series = spread_series(points, bucket=bucket, until=answer)
        elif answer < series[0][0]:
            series = [(series[0][0] - bucket, 0), *series]
    xs = [naive_local(start + bucket / 2) for start, _ in series]
    ys = [count for _, count in series]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": LINE, "width": 1.6 if compact else 2, "shape": "hvh" if not compact else "spline"},
            fill="tozeroy",
            fillcolor=FILL,
            hovertemplate="%{x|%d %b %H:%M}  <b>%{y}</b> posts / 10 min<extra></extra>",
            name="posts per 10 min",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        margin={"l": 2, "r": 2, "t": 2, "b": 2} if compact else {"l": 44, "r": 12, "t": 22, "b": 40},
        plot_bgcolor="#ffffff",
        paper_bgcolor="rgba(0,0,0,0)" if compact else "#ffffff",
        showlegend=False,
        font={"size": 11 if compact else 12, "color": "#33414e"},
        xaxis={"type": "date", "fixedrange": True, "showgrid": False},
        yaxis={"rangemode": "tozero", "fixedrange": True, "gridcolor": GRID, "tickformat": "d"},
        hovermode="x",
    )
    if compact:
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    else:
        fig.update_xaxes(tickformat="%H:%M\n%d %b")
        fig.update_yaxes(title={"text": "posts/10 min", "standoff": 4})
    if answer is not None:
        fig.add_vline(x=naive_local(answer), line={"color": ANSWER, "width": 2, "dash": "dot"})
        if not compact:
            fig.add_annotation(
                x=naive_local(answer),
                y=1,
                yref="paper",
                yanchor="bottom",
                text=f"answer {clock(answer)}",
                showarrow=False,
                font={"color": ANSWER, "size": 12},
            )
    if not any(ys):
        empty_note(fig, "No spread measured yet", size=11 if compact else 13, color=MUTED)
        fig.update_yaxes(range=[0, 1])
    return fig


def stance_counts(stance: Mapping[str, Any] | None) -> list[tuple[str, str, str, int]]:
    """(key, label, colour, count) in board order; missing or unreadable counts are zero."""
    stance = stance or {}
    out = []
    for key, label, colour in STANCES:
        value = stance.get(key, 0)
        count = value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
        out.append((key, label, colour, count))
    return out


def stance_figure(stance: Mapping[str, Any] | None) -> go.Figure:
    """One horizontal bar split into spreads / asks / denies / other, each labelled with its count."""
    parts = stance_counts(stance)
    total = sum(count for *_, count in parts)
    fig = go.Figure()
    for _key, label, colour, count in parts:
        share = count / total if total else 0
        fig.add_trace(
            go.Bar(
                x=[count],
                y=["mix"],
                orientation="h",
                name=f"{label} {count}",
                showlegend=count > 0,
                marker={"color": colour, "line": {"width": 0}},
                text=[f"{count}" if share >= 0.06 else ""],
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": "#ffffff" if colour != STANCES[3][2] else "#1f2a33", "size": 12},
                hovertemplate=f"{label}: <b>{count}</b> ({share:.0%})<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        height=None,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        showlegend=True,
        legend={
            "orientation": "h",
            "x": 0,
            "y": -0.1,
            "yanchor": "top",
            "font": {"size": 12},
            "traceorder": "normal",
        },
        xaxis={"visible": False, "fixedrange": True, "range": [0, max(total, 1)]},
        yaxis={"visible": False, "fixedrange": True},
        font={"color": "#33414e"},
    )
    if not total:
        empty_note(fig, "No stance counted", size=12, color=MUTED)
    return fig


def case_map_figure(
    points: Iterable[Mapping[str, Any]],
    *,
    style: str = "white-bg",
    outline: Mapping[str, Any] | None = None,
    places: Sequence[Place] = (),
    size: tuple[int, int] | None = None,
    uirevision: str = "rumour-map",
) -> go.Figure:
    """Where a case's geotagged posts were written: the live map's offline outline, view fitting and place
    names, with one bubble colour (the points carry no time, so the live map's age colours mean nothing).

    ``points`` are ``RumourCaseDetail.points``: ``{"key", "lat", "lon", "area"}``.
    """
    moment = datetime(2000, 1, 1, tzinfo=UTC)  # any time will do: only positions and counts are drawn
    posts = [
        {
            "key": p.get("key"),
            "lat": p.get("lat"),
            "lon": p.get("lon"),
            "area": p.get("area"),
            "created_at": moment,
            "text": "",
        }
        for p in points
    ]
    base = map_figure(
        posts, style=style, outline=outline, places=places, now=moment, size=size, uirevision=uirevision
    )
    cells = bin_posts(posts, keep_texts=0)
    hover = []
    for cell in cells:
        area = cell.areas.most_common(1)[0][0] if cell.areas else "unknown area"
        noun = "post" if cell.count == 1 else "posts"
        hover.append(f"<b>{cell.count} {noun}</b> · {escape_plotly(area, limit=40)}")
    bubbles = go.Scattermap(
        name="posts",
        lat=[c.lat for c in cells],
        lon=[c.lon for c in cells],
        mode="markers",
        marker={"size": [bubble_size(c.count) for c in cells], "color": BUBBLE, "opacity": 0.7},
        hovertext=hover,
        hoverinfo="text",
        hoverlabel={"align": "left"},
        showlegend=False,
    )
    # map_figure's trace list is fixed: three age classes, then the two label traces. Keep the labels.
    fig = go.Figure(data=[bubbles, *base.data[3:]], layout=base.layout)
    # A rumour in one town would be framed street by street; keep the towns around it in view.
    fig.update_layout(showlegend=False, template=TEMPLATE, map_zoom=min(base.layout.map.zoom, MAX_ZOOM))
    return fig
