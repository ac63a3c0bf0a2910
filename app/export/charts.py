"""The dossier's two pictures, drawn offline with matplotlib: post volume with alerts marked, and a map.

The map is the shipped Netherlands outline (``dashboard/data/nl_outline.geojson``) with the posts' coordinates
and the alerts' areas placed by the offline gazetteer: no tiles, no network. Both render to PNG (the PDF)
or SVG with text as paths (the HTML page, so no font or script can come with it).
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Polygon, Rectangle

from app.export.timeline import LOCAL_TZ, latest_entries
from app.room.models import CycleStep, Dossier
from streams import gazetteer

# Figures are built with the object API (no pyplot: no global figure registry, no GUI backend), and one at
# a time: matplotlib is not thread-safe and the API serves exports from a thread pool.
_LOCK = threading.Lock()

SEVERITY_COLOURS = {"low": "#8797a6", "medium": "#f28e2b", "high": "#d62728", "critical": "#7b1fa2"}
ACTION_COLOUR = "#2e7d32"
SEA, LAND, NEIGHBOUR, BORDER = "#dfe7ee", "#ffffff", "#eeeeec", "#7d8a96"
NL_BOUNDS = (3.3, 50.72, 7.25, 53.58)  # min lon, min lat, max lon, max lat
AREA_RADIUS_KM = 5.0  # a circle that says "this municipality", not a measured boundary
KM_PER_DEG_LAT = 111.2


@dataclass(frozen=True)
class Marker:
    label: str  # "A1", "X2": the key under the chart says what it is
    at: datetime
    colour: str
    text: str


def markers(dossier: Dossier) -> list[Marker]:
    """Alerts (A1..) by the time they were raised, actions (X1..) by when they went out."""
    found: list[Marker] = []
    alerts = sorted(dossier.alerts, key=lambda a: a.detected_at or a.first_seen)
    for number, alert in enumerate(alerts, 1):
        found.append(
            Marker(
                f"A{number}",
                alert.detected_at or alert.first_seen,
                SEVERITY_COLOURS.get(alert.severity.value, "#d62728"),
                alert.title,
            )
        )
    actions = [e for e in latest_entries(dossier.entries) if e.step == CycleStep.ACT]
    for number, entry in enumerate(actions, 1):
        found.append(
            Marker(f"X{number}", entry.effective_at, ACTION_COLOUR, str(entry.body.get("message", "")))
        )
    return found


def volume_figure(dossier: Dossier, size: tuple[float, float] = (7.2, 2.8)) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    if dossier.volume:
        times = [p.start.astimezone(LOCAL_TZ) for p in dossier.volume]
        counts = [p.count for p in dossier.volume]
        width = dossier.volume_bucket_minutes / (24 * 60)
        ax.bar(times, counts, width=width, align="edge", color="#4e79a7", linewidth=0)
        top = max(counts) or 1
    else:
        ax.text(0.5, 0.5, "no volume recorded", transform=ax.transAxes, ha="center", color="#5b6670")
        top = 1
    marks = markers(dossier)
    for index, mark in enumerate(marks):
        at = mark.at.astimezone(LOCAL_TZ)
        ax.axvline(at, color=mark.colour, linewidth=1.2, linestyle="--" if mark.label[0] == "A" else "-")
        # Stagger the labels over three heights so marks close together stay readable.
        ax.text(
            at,
            top * (1.04 + 0.09 * (index % 3)),
            mark.label,
            color=mark.colour,
            fontsize=7.5,
            ha="center",
            va="bottom",
            fontweight="bold",
            parse_math=False,
        )
    ax.set_ylim(0, top * 1.35)
    ax.set_ylabel(f"posts per {dossier.volume_bucket_minutes} min")
    if dossier.volume or marks:
        locator = mdates.AutoDateLocator(tz=LOCAL_TZ)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=LOCAL_TZ))
    _plain(ax)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


@cache
def _outline() -> dict[str, Any]:
    path = resources.files("dashboard") / "data" / "nl_outline.geojson"
    return json.loads(path.read_text(encoding="utf-8"))


def _rings(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        yield from polygon[:1]  # the outer ring; the outline has no holes that matter at this scale


@dataclass(frozen=True)
class AreaMark:
    name: str
    lat: float
    lon: float
    colour: str


def alert_areas(dossier: Dossier) -> list[AreaMark]:
    """Each distinct alert/case area the offline gazetteer knows, in the colour of its worst alert."""
    worst: dict[str, tuple[int, str]] = {}
    for alert in dossier.alerts:
        if alert.area:
            rank = alert.severity.rank
            if alert.area not in worst or rank > worst[alert.area][0]:
                worst[alert.area] = (rank, SEVERITY_COLOURS.get(alert.severity.value, "#d62728"))
    for name in (dossier.incident.area, *(c.area for c in dossier.cases)):
        if name and name not in worst:
            worst[name] = (-1, "#4e79a7")
    found = []
    for name, (_, colour) in worst.items():
        place = gazetteer.find(name)
        if place is not None:
            found.append(AreaMark(name, place.lat, place.lon, colour))
    return found


def post_points(dossier: Dossier) -> list[tuple[float, float]]:
    seen: dict[str, tuple[float, float]] = {}
    for post in dossier.posts:
        if post.lat is not None and post.lon is not None:
            seen[post.key] = (post.lat, post.lon)
    for case in dossier.cases:
        for point in case.points:
            seen.setdefault(point.key, (point.lat, point.lon))
    return list(seen.values())


def _view(
    points: list[tuple[float, float]], areas: list[AreaMark], ratio: float
) -> tuple[float, float, float, float]:
    """The box to show: what the dossier touches inside the Netherlands, padded; the whole country if none."""
    inside = [
        (lat, lon)
        for lat, lon in [*points, *((a.lat, a.lon) for a in areas)]
        if NL_BOUNDS[1] <= lat <= NL_BOUNDS[3] and NL_BOUNDS[0] <= lon <= NL_BOUNDS[2]
    ]
    if not inside:
        return NL_BOUNDS
    lats, lons = [p[0] for p in inside], [p[1] for p in inside]
    mid_lat, mid_lon = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    # At least ~40 km across, so one town is shown with its surroundings.
    half_lat = max((max(lats) - min(lats)) / 2 * 1.25, 0.2)
    half_lon = max((max(lons) - min(lons)) / 2 * 1.25, 0.3)
    # Fill the frame: widen or heighten the box to the figure's width/height ratio (on the ground).
    aspect = 1 / math.cos(math.radians(mid_lat))
    if half_lon / aspect < half_lat * ratio:
        half_lon = half_lat * ratio * aspect
    else:
        half_lat = half_lon / aspect / ratio
    return (mid_lon - half_lon, mid_lat - half_lat, mid_lon + half_lon, mid_lat + half_lat)


def _plain(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def _draw_outline(ax: Axes) -> None:
    ax.set_facecolor(SEA)
    for feature in _outline()["features"]:
        country = feature["properties"].get("role") == "country"
        for ring in _rings(feature["geometry"]):
            ax.add_patch(
                Polygon(
                    ring,
                    closed=True,
                    facecolor=LAND if country else NEIGHBOUR,
                    edgecolor=BORDER,
                    linewidth=0.6 if country else 0.4,
                    zorder=2 if country else 1,
                )
            )


def _draw_places(
    ax: Axes,
    box: tuple[float, float, float, float],
    taken: list[tuple[float, float]],
    skip: set[str],
    limit: int = 10,
) -> None:
    """The biggest towns in view, small and grey: without them a zoomed-in map is a white page.

    One per municipality (its biggest place, not a city's neighbourhoods), none crowding another label.
    """
    west, south, east, north = box
    spacing_lat, spacing_lon = (north - south) / 14, (east - west) / 9
    municipalities: set[str] = set()
    shown = 0
    for place in gazetteer.places():  # most populous first
        if shown >= limit:
            break
        # Room for the label to the right, inside the frame.
        inside = west < place.lon < east - (east - west) * 0.15 and south < place.lat < north
        if not inside or place.municipality in municipalities or place.name.casefold() in skip:
            continue
        municipalities.add(place.municipality)
        if any(
            abs(place.lat - lat) < spacing_lat and abs(place.lon - lon) < spacing_lon for lat, lon in taken
        ):
            continue
        taken.append((place.lat, place.lon))
        ax.plot(place.lon, place.lat, marker="s", markersize=2.5, color="#5b6670", zorder=3)
        ax.text(
            place.lon,
            place.lat,
            f" {place.name}",
            fontsize=7,
            color="#5b6670",
            va="center",
            zorder=3,
            parse_math=False,
            clip_on=True,
        )
        shown += 1


def map_figure(dossier: Dossier, size: tuple[float, float] = (7.2, 6.0)) -> Figure:
    points = post_points(dossier)
    areas = alert_areas(dossier)
    west, south, east, north = _view(points, areas, ratio=size[0] / (size[1] - 0.3))
    aspect = 1 / math.cos(math.radians((south + north) / 2))  # degrees of longitude are shorter here
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    _draw_outline(ax)
    if points:
        ax.scatter(
            [p[1] for p in points],
            [p[0] for p in points],
            s=9,
            color="#1f77b4",
            alpha=0.55,
            linewidths=0,
            zorder=4,
            label=f"geotagged posts ({len(points)})",
        )
    if (west, south, east, north) != NL_BOUNDS:
        radius = AREA_RADIUS_KM / KM_PER_DEG_LAT
        # Keep clear of the area circles' centres and of their labels above them.
        taken = [spot for a in areas for spot in ((a.lat, a.lon), (a.lat + radius * 1.3, a.lon))]
        _draw_places(ax, (west, south, east, north), taken, {a.name.casefold() for a in areas})
    radius = AREA_RADIUS_KM / KM_PER_DEG_LAT
    for area in areas:
        # A circle on the ground: in degrees it is wider than tall by the same factor the axes stretch.
        ax.add_patch(
            Ellipse(
                (area.lon, area.lat),
                2 * radius * aspect,
                2 * radius,
                facecolor=area.colour,
                alpha=0.18,
                edgecolor=area.colour,
                linewidth=1.4,
                zorder=3,
            )
        )
        # parse_math off: area names come from posts, and a "$" must not switch on mathtext (which can raise).
        ax.text(
            area.lon,
            area.lat + radius * 1.15,
            area.name,
            ha="center",
            va="bottom",
            fontsize=8,
            parse_math=False,
            color="#1f2a33",
            fontweight="bold",
            zorder=5,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1},
        )
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(BORDER)
    if (west, south, east, north) != NL_BOUNDS:
        # Where in the country this is: a small whole-NL inset with the shown box.
        inset = ax.inset_axes((0.0, 0.0, 0.26, 0.32))
        _draw_outline(inset)
        inset.add_patch(
            Rectangle(
                (west, south),
                east - west,
                north - south,
                fill=False,
                edgecolor="#d62728",
                linewidth=1.2,
                zorder=5,
            )
        )
        inset.set_xlim(NL_BOUNDS[0], NL_BOUNDS[2])
        inset.set_ylim(NL_BOUNDS[1], NL_BOUNDS[3])
        inset.set_aspect(1 / math.cos(math.radians(52.2)))
        inset.set_xticks([])
        inset.set_yticks([])
    if points:
        ax.legend(loc="upper right", fontsize=7.5, framealpha=0.85)
    ax.set_title(f"Map: {len(points)} geotagged posts, {len(areas)} alert area(s)", fontsize=9, loc="left")
    return fig


def png(draw: Any, dossier: Dossier, dpi: int = 200) -> bytes:
    """``draw`` is :func:`volume_figure` or :func:`map_figure`."""
    buffer = io.BytesIO()
    with _LOCK:
        draw(dossier).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def svg(draw: Any, dossier: Dossier) -> str:
    """As SVG with text drawn as paths (matplotlib's default): no fonts or markup of ours to escape."""
    buffer = io.StringIO()
    with _LOCK:
        draw(dossier).savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline in HTML: drop the XML prolog and doctype, keep the <svg> element.
    return text[text.index("<svg") :]
