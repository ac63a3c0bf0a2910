"""The live map: recent geotagged posts as bubbles over an offline outline of the Netherlands.

Pure: posts in, ``go.Figure`` out; no Dash, no I/O beyond the cached static geodata. Posts are binned into
~1 km cells so a burst of 2,000 posts from one town is one big bubble, not an unreadable blot, and so the
figure sent to the browser every refresh stays small however busy the feed is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboard.display import clock, escape_plotly, parse_time
from dashboard.figures.geodata import Place

# Lat/lon box of the European Netherlands: the empty map shows it, and only posts inside steer the auto-zoom,
# so one stray geotag from abroad can't zoom the wall out to a view of Europe.
NL_BOUNDS = (3.3, 50.72, 7.25, 53.58)  # min lon, min lat, max lon, max lat
CELL_DEG_LAT = 0.01  # ~1.1 km
CELL_DEG_LON = 0.015  # ~1.0 km at Dutch latitudes
MAX_CELLS = 1500
DEFAULT_MAP_SIZE = (1000, 600)
RICH_CELLS = 200

# Newest post's age in a cell -> how loud the bubble is. Drawn oldest first so fresh activity is on top.
RECENCY = (
    ("older", None, "#8797a6"),
    ("last hour", timedelta(hours=1), "#f28e2b"),
    ("last 10 min", timedelta(minutes=10), "#d62728"),
)
SEA = "#dfe7ee"
LAND = "#ffffff"
NEIGHBOUR = "#eeeeec"
BORDER = "#7d8a96"
COAST = "#c3cad0"
LABEL = "#1f2a33"
LABEL_MUTED = "#5b6670"
ACTIVE_FONT_PX = 13
CONTEXT_FONT_PX = 12


@dataclass(frozen=True)
class MapTheme:
    """Colours and label sizes of the map; ``LIGHT`` is the live page's, ``DARK`` the wall display's."""

    sea: str = SEA
    land: str = LAND
    neighbour: str = NEIGHBOUR
    border: str = BORDER
    coast: str = COAST
    label: str = LABEL
    label_muted: str = LABEL_MUTED
    recency: tuple[str, str, str] = tuple(colour for *_, colour in RECENCY)  # type: ignore[assignment]
    legend_bg: str = "rgba(255,255,255,0.85)"
    legend_font: str = LABEL
    active_font_px: float = ACTIVE_FONT_PX
    context_font_px: float = CONTEXT_FONT_PX
    opacity: float = 0.72


LIGHT = MapTheme()
# Dark and high-contrast for a room with the lights on: bright fills on near-black, names in near-white.
# The recency colours also differ in lightness (grey < amber < light red), not only in hue.
DARK = MapTheme(
    sea="#0b1118",
    land="#1b2430",
    neighbour="#121922",
    border="#8a9bb0",
    coast="#2a3542",
    label="#f4f7fa",
    label_muted="#a9b6c4",
    recency=("#6c7b8b", "#ffb000", "#ff5c5c"),
    legend_bg="rgba(11,17,24,0.85)",
    legend_font="#e8edf2",
    active_font_px=22,
    context_font_px=17,
    opacity=0.8,
)

OFFLINE_STYLES: dict[str, dict[str, Any]] = {
    # plotly's own "white-bg" points MapLibre at a font server for label glyphs; with no "glyphs" URL MapLibre
    # draws them from the browser's local fonts instead, so the map works with no network at all.
    "white-bg": {
        "id": "signaal-offline",
        "version": 8,
        # Never empty: plotly prunes empty objects on update, then MapLibre rejects a style without "sources".
        "sources": {"none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}},
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": SEA}}],
    },
}


def offline_style(style: str, theme: MapTheme = LIGHT) -> Any:
    """The MapLibre style for ``style``: ours, with the theme's sea, when it is an offline one."""
    if style not in OFFLINE_STYLES:
        return style
    if theme.sea == SEA:
        return OFFLINE_STYLES[style]
    base = OFFLINE_STYLES[style]
    layers = [{**layer, "paint": {"background-color": theme.sea}} if layer["type"] == "background" else layer
              for layer in base["layers"]]  # fmt: skip
    return {**base, "id": f"{base['id']}-{theme.sea.lstrip('#')}", "layers": layers}


EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class Cell:
    lat: float
    lon: float
    count: int = 0
    newest: datetime = EPOCH
    areas: Counter[str] = field(default_factory=Counter)
    latest: list[tuple[datetime, str]] = field(default_factory=list)  # (time, text) of the newest few


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _located(posts: Iterable[Mapping[str, Any]]) -> list[tuple[float, float, datetime, str, str]]:
    out = []
    for post in posts:
        lat, lon = post.get("lat"), post.get("lon")
        created = parse_time(post.get("created_at"))
        if _is_number(lat) and _is_number(lon) and created is not None:
            out.append(
                (float(lat), float(lon), created, str(post.get("area") or ""), str(post.get("text") or ""))
            )
    return out


def bin_posts(
    posts: Iterable[Mapping[str, Any]],
    *,
    keep_texts: int = 3,
    max_cells: int = MAX_CELLS,
    rich_cells: int = RICH_CELLS,
) -> list[Cell]:
    """Group geotagged posts into ~1 km cells; the bubble sits at the mean position of its posts.

    Posts spread thinly over the whole country would give thousands of cells, too many to send every
    second and too small to see at that zoom anyway, so cells double in size until at most ``max_cells``
    remain. Only the ``rich_cells`` freshest cells carry ``keep_texts`` sample texts in their hover; the
    rest carry one, which bounds the figure's size whatever the feed does.
    """
    located = _located(posts)

    def key(lat: float, lon: float, scale: int) -> tuple[int, int]:
        return math.floor(lat / (CELL_DEG_LAT * scale)), math.floor(lon / (CELL_DEG_LON * scale))

    scale = 1
    while len({key(lat, lon, scale) for lat, lon, *_ in located}) > max_cells:
        scale *= 2
    cells: dict[tuple[int, int], Cell] = {}
    for lat, lon, created, area, text in located:
        cell = cells.get(k := key(lat, lon, scale))
        if cell is None:
            cell = cells[k] = Cell(0.0, 0.0)
        cell.lat += lat  # a sum until the end of the loop, then the mean
        cell.lon += lon
        cell.count += 1
        cell.newest = max(cell.newest, created)
        if area:
            cell.areas[area] += 1
        cell.latest.append((created, text))
    by_freshness = sorted(cells.values(), key=lambda c: c.newest, reverse=True)
    for rank, cell in enumerate(by_freshness):
        cell.lat, cell.lon = cell.lat / cell.count, cell.lon / cell.count
        keep = keep_texts if rank < rich_cells else min(keep_texts, 1)
        cell.latest = sorted(cell.latest, key=lambda item: item[0], reverse=True)[:keep]
    return by_freshness


def _hover(cell: Cell) -> str:
    area = cell.areas.most_common(1)[0][0] if cell.areas else "unknown area"
    noun = "post" if cell.count == 1 else "posts"
    lines = [f"<b>{cell.count} {noun}</b> · {escape_plotly(area, limit=40)} · newest {clock(cell.newest)}"]
    lines += [f"{clock(t)}  {escape_plotly(text, limit=140, width=60)}" for t, text in cell.latest]
    return "<br>".join(lines)


def bubble_size(count: int) -> float:
    # Area, not radius, tracks the count, capped so one hotspot can't cover a province.
    return min(8.0 + 4.0 * math.sqrt(count - 1), 44.0)


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def fit_view(cells: Sequence[Cell], size: tuple[int, int] | None = None) -> tuple[dict, float]:
    """Centre and zoom that frame the posts (or the whole country when there are none) in a map of
    ``size`` (width, height) pixels; without it, a conservative guess that fits most screens."""
    width_px, height_px = size if size and min(size) >= 100 else DEFAULT_MAP_SIZE
    min_lon, min_lat, max_lon, max_lat = NL_BOUNDS
    inside = [c for c in cells if min_lon - 1 <= c.lon <= max_lon + 1 and min_lat - 1 <= c.lat <= max_lat + 1]
    if inside:
        lats = np.array([c.lat for c in inside])
        lons = np.array([c.lon for c in inside])
        weights = np.array([c.count for c in inside])
        if weights.sum() >= 50:
            # Weighted 1st-99th percentile: the bulk of the activity, not the odd far-away post.
            lo_lat, hi_lat = _weighted_quantiles(lats, weights, (0.01, 0.99))
            lo_lon, hi_lon = _weighted_quantiles(lons, weights, (0.01, 0.99))
        else:
            lo_lat, hi_lat, lo_lon, hi_lon = lats.min(), lats.max(), lons.min(), lons.max()
    else:
        lo_lon, lo_lat, hi_lon, hi_lat = NL_BOUNDS
    # Web Mercator at MapLibre's 512 px tiles: degrees of longitude per pixel halve with each zoom level.
    lon_span = max(float(hi_lon - lo_lon), 0.02)
    merc_span = max(_mercator_y(float(hi_lat)) - _mercator_y(float(lo_lat)), math.radians(0.02))
    zoom_x = math.log2(width_px * 360 / (512 * lon_span))
    zoom_y = math.log2(height_px * 2 * math.pi / (512 * merc_span))
    zoom = max(5.0, min(10.0, min(zoom_x, zoom_y) - 0.2))  # margin so edge bubbles aren't cut in half
    mid_y = (_mercator_y(float(lo_lat)) + _mercator_y(float(hi_lat))) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2)
    # Coarse steps: a new post at the edge shouldn't nudge the wall's view every second.
    centre = {"lat": round(centre_lat, 2), "lon": round(float(lo_lon + hi_lon) / 2, 2)}
    return centre, math.floor(zoom * 4) / 4


def _weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, qs: tuple[float, float]
) -> tuple[float, float]:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    lo, hi = (values[order][min(np.searchsorted(cum, q), len(values) - 1)] for q in qs)
    return float(lo), float(hi)


def choose_labels(
    places: Sequence[Place],
    cells: Sequence[Cell],
    *,
    zoom: float | None = None,
    radius_km: float = 8.0,
    active_max: int = 25,
    top: int = 40,
    font_px: tuple[float, float] = (ACTIVE_FONT_PX, CONTEXT_FONT_PX),
) -> tuple[list[tuple[Place, int]], list[Place]]:
    """Which municipalities to name: ``(active, context)``.

    Active: those with posts within ``radius_km`` of their main place, busiest first, with that count.
    Context: the largest municipalities for orientation, all ``top`` of them on an empty map but only a
    handful once there is activity, so names never drown out the bubbles. At ``zoom``, names that would
    overlap a more important one are dropped here rather than left to MapLibre, which may hide both.
    """
    activity: Counter[int] = Counter()
    if cells and places:
        plat = np.radians([p.lat for p in places])
        plon = np.radians([p.lon for p in places])
        clat = np.radians([c.lat for c in cells])[:, None]
        clon = np.radians([c.lon for c in cells])[:, None]
        # Equirectangular distance: plenty within a country, and vectorised for thousands of cells.
        dx = (plon - clon) * np.cos((plat + clat) / 2)
        dist_km = 6371.0 * np.hypot(dx, plat - clat)
        nearest = dist_km.argmin(axis=1)
        close = dist_km[np.arange(len(cells)), nearest] <= radius_km
        counts = np.array([c.count for c in cells])
        per_place = np.bincount(nearest[close], weights=counts[close], minlength=len(places))
        activity.update({int(i): int(per_place[i]) for i in np.flatnonzero(per_place)})
    active = [(places[idx], n) for idx, n in activity.most_common(active_max)]
    named = {p.name for p, _ in active}
    context = [p for p in places[: top if not active else max(8, top // 4)] if p.name not in named]
    if zoom is None:
        return active, context
    boxes: list[tuple[float, float, float, float]] = []
    active = [(p, n) for p, n in active if _fits(p, p.name, font_px[0], zoom, boxes)]
    context = [p for p in context if _fits(p, p.name, font_px[1], zoom, boxes)]
    return active, context


def _fits(place: Place, text: str, font_px: float, zoom: float, taken: list[tuple[float, ...]]) -> bool:
    """Claim a label's rough screen box (world pixels at ``zoom``) unless it overlaps one already taken."""
    scale = 512 * 2**zoom
    x = (place.lon + 180) / 360 * scale
    y = (1 - _mercator_y(place.lat) / math.pi) / 2 * scale
    half_w, half_h = len(text) * font_px * 0.3 + 4, font_px * 0.75
    if any(abs(x - ox) < half_w + ow and abs(y - oy) < half_h + oh for ox, oy, ow, oh in taken):
        return False
    taken.append((x, y, half_w, half_h))
    return True


def _label_offset_size(cells: Sequence[Cell], font_px: float) -> float:
    """plotly.js puts a "top center" label (1.5 + size/100) em above the point, size being the trace's marker
    size. Pick the size that lifts the label's bottom edge clear of the biggest bubble on the map."""
    radius = max((bubble_size(c.count) for c in cells), default=0.0) / 2
    return max(4.0, (radius / font_px - 0.5) * 100 + 10)


def _layers(outline: Mapping[str, Any] | None, theme: MapTheme = LIGHT) -> list[dict[str, Any]]:
    if not outline:
        return []
    features = outline.get("features", [])
    nl = [f for f in features if f["properties"].get("role") == "country"]
    country = {"type": "FeatureCollection", "features": nl}
    others = {"type": "FeatureCollection", "features": [f for f in features if f not in nl]}

    def layer(source: dict[str, Any], kind: str, colour: str, **extra: Any) -> dict[str, Any]:
        return {"sourcetype": "geojson", "source": source, "type": kind, "color": colour, **extra}

    return [
        # A fill's outline defaults to black in plotly; neighbours get a faint coast, NL its own line layer.
        layer(others, "fill", theme.neighbour, below="traces", fill={"outlinecolor": theme.coast}),
        layer(country, "fill", theme.land, below="traces", fill={"outlinecolor": theme.land}),
        layer(country, "line", theme.border, line={"width": 1.2}),
    ]


def map_figure(
    posts: Iterable[Mapping[str, Any]],
    *,
    style: str = "white-bg",
    outline: Mapping[str, Any] | None = None,
    places: Sequence[Place] = (),
    now: datetime | None = None,
    size: tuple[int, int] | None = None,
    uirevision: str = "live-map",
    theme: MapTheme = LIGHT,
) -> go.Figure:
    """Bubbles per ~1 km cell, coloured by the age of the cell's newest post, with municipality labels.

    The trace list is fixed (one trace per recency class, oldest first and possibly empty, then the
    orientation labels, then the labels of places with posts), so callers can rely on indices.
    ``size`` is the map's (width, height) in pixels, used to fit the view. ``uirevision`` keeps a user's
    pan and zoom across refreshes; until they touch the map it follows the posts. ``theme`` sets colours
    and label sizes (:data:`LIGHT`, :data:`DARK`).
    """
    now = now or datetime.now(UTC)
    cells = bin_posts(posts)
    traces: list[go.Scattermap] = []
    for rank, ((name, max_age, _), colour) in enumerate(zip(RECENCY, theme.recency, strict=True)):
        younger = [a for _, a, _ in RECENCY[rank + 1 :] if a is not None]
        mine = [
            c
            for c in cells
            if (max_age is None or now - c.newest <= max_age) and all(now - c.newest > a for a in younger)
        ]
        traces.append(
            go.Scattermap(
                name=name,
                legendrank=1000 - rank,  # legend reads freshest first
                lat=[c.lat for c in mine],
                lon=[c.lon for c in mine],
                mode="markers",
                marker={
                    "size": [bubble_size(c.count) for c in mine],
                    "color": colour,
                    "opacity": theme.opacity,
                },
                hovertext=[_hover(c) for c in mine],
                hoverinfo="text",
                hoverlabel={"align": "left"},
            )
        )
    centre, zoom = fit_view(cells, size)
    fonts = (theme.active_font_px, theme.context_font_px)
    active, context = choose_labels(places, cells, zoom=zoom, font_px=fonts)
    # Names go last, so they are drawn on top of the bubbles. Not mode="text": plotly.js then derives the
    # label offset from an unset marker size, MapLibre rejects the NaN and the whole map errors out.
    traces.append(
        go.Scattermap(
            name="places",
            lat=[p.lat for p in context],
            lon=[p.lon for p in context],
            mode="markers+text",
            marker={"size": 4, "color": theme.label},
            text=[escape_plotly(p.name) for p in context],
            textposition="top center",
            textfont={
                "size": theme.context_font_px,
                "color": theme.label_muted,
                "family": "Open Sans Regular",
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    traces.append(
        go.Scattermap(
            name="active places",
            lat=[p.lat for p, _ in active],
            lon=[p.lon for p, _ in active],
            mode="markers+text",
            # Invisible marker whose size only serves to push the name above the bubbles (see helper).
            marker={"size": _label_offset_size(cells, theme.active_font_px), "opacity": 0},
            # Names only: MapLibre fades a label out and in whenever its text changes, so a live count in
            # it would make the busiest place's name blink with every post. Counts live in the hover.
            text=[escape_plotly(p.name) for p, _ in active],
            textposition="top center",
            textfont={"size": theme.active_font_px, "color": theme.label, "family": "Open Sans Bold"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig = go.Figure(data=traces)
    fig.update_layout(
        map={
            "style": offline_style(style, theme),
            "center": centre,
            "zoom": zoom,
            "layers": _layers(outline, theme),
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={
            "orientation": "h",
            "x": 0.01,
            "y": 0.99,
            "xanchor": "left",
            "yanchor": "top",
            "bgcolor": theme.legend_bg,
            "font": {"color": theme.legend_font},
            "title": {"text": "Newest post in area: "},
        },
        uirevision=uirevision,
        paper_bgcolor=theme.sea,
    )
    return fig
