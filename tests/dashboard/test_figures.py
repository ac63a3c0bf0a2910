"""Figure builders, checked as data: no browser, no Dash server."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard.display import count, escape_plotly, naive_local, plain
from dashboard.figures import map_figure, volume_figure
from dashboard.figures.geodata import Place, load_outline, load_places
from dashboard.figures.map import NL_BOUNDS, OFFLINE_STYLES, bin_posts, bubble_size, choose_labels, fit_view
from dashboard.figures.volume import LIGHT
from dashboard.summary import busiest_areas

NOW = datetime(2024, 11, 5, 13, 0, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="window.__xss=1">',
    "<a href='javascript:alert(1)'>klik</a> & <b>vet</b>",
    "%{customdata} <br> &lt;not-an-entity&gt;",
]
OUR_TAGS = re.compile(r"<(?!/?b>|br>)")  # any tag but the <b>, </b> and <br> the figure code adds itself


def post(
    text: str = "rook",
    lat: Any = 53.1721,
    lon: Any = 6.6093,
    minutes_ago: float = 1,
    area: str | None = "Haren",
    key: str | None = None,
) -> dict[str, Any]:
    created = NOW - timedelta(minutes=minutes_ago)
    return {
        "key": key or f"k{id(text)}{minutes_ago}{lat}{lon}",
        "created_at": created.isoformat(),
        "text": text,
        "lat": lat,
        "lon": lon,
        "area": area,
        "lang": "nl",
        "platform": "test",
    }


def traces(fig: go.Figure) -> dict[str, go.Scattermap]:
    return {t.name: t for t in fig.data}


def bubbles(fig: go.Figure) -> list[go.Scattermap]:
    return [t for t in fig.data if t.mode == "markers"]


def is_valid(fig: go.Figure) -> bool:
    # Round-trip through plotly's own validation, as Dash does when it serialises the figure.
    return isinstance(pio.from_json(pio.to_json(fig)), go.Figure)


# -- map -----------------------------------------------------------------------------------------------------
def test_empty_map_is_valid_and_shows_the_netherlands() -> None:
    fig = map_figure([], outline=load_outline(), places=load_places(), now=NOW)
    assert is_valid(fig)
    assert [t.name for t in fig.data] == ["older", "last hour", "last 10 min", "places", "active places"]
    assert all(len(t.lat) == 0 for t in bubbles(fig))
    centre = fig.layout.map.center
    assert NL_BOUNDS[1] < centre.lat < NL_BOUNDS[3]
    assert NL_BOUNDS[0] < centre.lon < NL_BOUNDS[2]
    assert 5 <= fig.layout.map.zoom <= 8
    # With nothing happening, the orientation labels are the largest municipalities.
    labels = traces(fig)["places"].text
    assert 20 <= len(labels) <= 40
    assert "Amsterdam" in labels and "Rotterdam" in labels
    assert len(traces(fig)["active places"].text) == 0


def _country_box(outline: dict[str, Any]) -> tuple[float, float, float, float]:
    points: list[list[float]] = []

    def walk(coords: Any) -> None:
        if isinstance(coords[0], int | float):
            points.append(coords)
        else:
            for part in coords:
                walk(part)

    for feature in outline["features"]:
        if feature["properties"].get("role") == "country":
            walk(feature["geometry"]["coordinates"])
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def _shown_box(fig: go.Figure, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Lon/lat box a MapLibre map of ``size`` px shows at the figure's centre and zoom (512 px tiles)."""
    world = 512 * 2**fig.layout.map.zoom
    half_lon = size[0] / 2 / world * 360
    mid_y = math.log(math.tan(math.pi / 4 + math.radians(fig.layout.map.center.lat) / 2))
    half_y = size[1] / 2 / world * 2 * math.pi

    def lat(y: float) -> float:
        return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)

    lon = fig.layout.map.center.lon
    return lon - half_lon, lat(mid_y - half_y), lon + half_lon, lat(mid_y + half_y)


# Map sizes (px) the browser reports for the live page and the wall at 1920x1080 and 3840x2160.
PANEL_SIZES = ((1444, 737), (3364, 1817), (1128, 658), (2258, 1318))


@pytest.mark.parametrize("size", PANEL_SIZES)
def test_map_fills_its_panel_and_the_empty_view_shows_the_whole_country(size: tuple[int, int]) -> None:
    from dashboard.figures.wall import wall_map_figure

    outline = load_outline()
    west, south, east, north = _country_box(outline)
    for fig in (
        map_figure([], outline=outline, now=NOW, size=size),
        wall_map_figure([], [], outline=outline, now=NOW, size=size),
    ):
        # No size of its own: plotly takes the panel's (CSS) size and follows it when the window changes.
        assert fig.layout.height is None and fig.layout.width is None
        assert fig.layout.autosize is not False
        shown = _shown_box(fig, size)
        assert shown[0] < west and shown[1] < south and shown[2] > east and shown[3] > north


def test_map_without_outline_or_places_still_renders() -> None:
    fig = map_figure([], now=NOW)
    assert is_valid(fig)
    assert not fig.layout.map.layers


def test_coordinates_keep_lat_and_lon_apart() -> None:
    fig = map_figure([post(lat=53.1721, lon=6.6093)], now=NOW)
    [trace] = [t for t in bubbles(fig) if len(t.lat)]
    assert trace.lat == (pytest.approx(53.1721),)
    assert trace.lon == (pytest.approx(6.6093),)
    assert fig.layout.map.center.lat == pytest.approx(53.17, abs=0.01)
    assert fig.layout.map.center.lon == pytest.approx(6.61, abs=0.01)


@pytest.mark.parametrize("text", HOSTILE)
def test_hover_text_is_escaped(text: str) -> None:
    fig = map_figure([post(text=text, area=text)], places=load_places(), now=NOW)
    hovers = [h for t in bubbles(fig) for h in (t.hovertext or ())]
    assert hovers
    for hover in hovers:
        assert not OUR_TAGS.search(hover), hover
        assert "&lt;" in hover
    assert "&amp;" in hovers[0] or "&" not in text
    # Label texts come from the gazetteer, but go through the same escaping.
    for trace in fig.data:
        for label in trace.text or ():
            assert not OUR_TAGS.search(label)


def test_escape_plotly_rules() -> None:
    assert escape_plotly("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert escape_plotly("line\nbreak\r\n  spaces") == "line break spaces"
    assert escape_plotly("a" * 300, limit=10) == "a" * 9 + "…"
    wrapped = escape_plotly("een twee drie vier vijf zes", width=10)
    assert wrapped.split("<br>") == ["een twee", "drie vier", "vijf zes"]
    assert escape_plotly("x" * 25, width=10).split("<br>") == ["x" * 10, "x" * 10, "x" * 5]
    assert escape_plotly(None) == ""
    assert plain("  a \t b ") == "a b"


def test_posts_are_binned_and_sized_by_count() -> None:
    burst = [
        post(text=f"p{i}", lat=52.3731 + i * 1e-5, lon=4.8922, minutes_ago=i, key=f"b{i}") for i in range(30)
    ]
    fig = map_figure([*burst, post(lat=53.1721, lon=6.6093, key="h")], now=NOW)
    fresh = traces(fig)["last 10 min"]
    assert len(fresh.lat) == 2
    sizes = sorted(fresh.marker.size)
    assert sizes == [bubble_size(1), bubble_size(30)]
    big_hover = next(h for h in fresh.hovertext if "30 posts" in h)
    assert big_hover.count("<br>") == 3  # header + the three newest texts, not all thirty
    assert bubble_size(10_000) == 44.0  # one hotspot can't swallow the map


def test_thinly_spread_posts_get_coarser_cells_and_fewer_texts() -> None:
    spread = [post(lat=51 + i * 0.02, lon=4 + (i % 7) * 0.3, key=f"s{i}", minutes_ago=i) for i in range(120)]
    cells = bin_posts(spread, max_cells=20, rich_cells=5)
    assert len(cells) <= 20
    assert sum(c.count for c in cells) == 120  # coarser, never lossy
    assert cells[0].newest >= cells[-1].newest  # freshest first
    assert all(len(c.latest) <= 1 for c in cells[5:])
    assert len(bin_posts(spread)) == 120  # within the cap, every ~1 km cell stays its own bubble


def test_recency_classes() -> None:
    posts = [
        post(lat=52.0, lon=5.0, minutes_ago=3),
        post(lat=52.5, lon=5.5, minutes_ago=30),
        post(lat=53.0, lon=6.0, minutes_ago=180),
    ]
    t = traces(map_figure(posts, now=NOW))
    assert list(t["last 10 min"].lat) == [pytest.approx(52.0)]
    assert list(t["last hour"].lat) == [pytest.approx(52.5)]
    assert list(t["older"].lat) == [pytest.approx(53.0)]


def test_unlocated_and_broken_posts_are_left_off_the_map() -> None:
    posts = [
        post(lat=None, lon=None),
        post(lat=True, lon=5.0),
        post(lat=float("nan"), lon=5.0),
        {"key": "no-time", "lat": 52.0, "lon": 5.0, "text": "x"},
        post(lat=52.0, lon=5.0),
    ]
    assert sum(c.count for c in bin_posts(posts)) == 1
    assert is_valid(map_figure(posts, now=NOW))


def test_authors_never_reach_the_figure() -> None:
    hostile = {**post(text="hallo"), "author": "echte_naam_123"}
    assert "echte_naam_123" not in map_figure([hostile], now=NOW).to_json()


def test_active_places_are_labelled_and_do_not_overlap() -> None:
    places = load_places()
    haren = [post(lat=53.1721, lon=6.6093, key=f"h{i}") for i in range(12)]
    groningen = [post(lat=53.2192, lon=6.5667, key=f"g{i}") for i in range(3)]  # 6 km away: same label spot
    maastricht = [post(lat=50.8514, lon=5.6910, key=f"m{i}") for i in range(5)]
    # The whole country in view: Groningen's name would sit on top of busier Haren's, so it is dropped.
    fig = map_figure([*haren, *groningen, *maastricht], places=places, now=NOW)
    assert fig.layout.map.zoom <= 7.5
    active = list(traces(fig)["active places"].text)
    assert "Haren" in active
    assert "Maastricht" in active
    assert not any(label.startswith("Groningen") for label in active)
    # Active places aren't repeated as plain orientation labels.
    assert "Haren" not in traces(fig)["places"].text
    assert "Maastricht" not in traces(fig)["places"].text
    # Zoomed in on the two of them there is room for both names.
    close = map_figure([*haren, *groningen], places=places, now=NOW)
    assert close.layout.map.zoom >= 9
    assert {"Haren", "Groningen"} <= set(traces(close)["active places"].text)


def test_choose_labels_without_zoom_keeps_everything() -> None:
    places = (Place("A", 52.0, 5.0, 10), Place("B", 52.03, 5.0, 5))  # 3 km apart
    cells = bin_posts([post(lat=52.0, lon=5.0), post(lat=52.03, lon=5.0, key="b")])
    active, _ = choose_labels(places, cells)
    assert {p.name for p, _ in active} == {"A", "B"}
    active, _ = choose_labels(places, cells, zoom=7)
    assert len(active) == 1


def test_fit_view_zooms_to_activity_and_ignores_far_away_strays() -> None:
    cells = bin_posts(
        [post(lat=52.37, lon=4.89, key=f"a{i}") for i in range(60)] + [post(lat=40.4, lon=-3.7)]
    )
    centre, zoom = fit_view(cells)
    assert centre["lat"] == pytest.approx(52.37, abs=0.02)
    assert zoom == 10.0  # one town: as close as the wall goes, never street level
    wide, wide_zoom = fit_view(bin_posts([post(lat=53.17, lon=6.61), post(lat=51.44, lon=5.48, key="e")]))
    assert 6 <= wide_zoom < 9
    assert 51.44 < wide["lat"] < 53.17


def test_offline_style_needs_no_network_and_other_styles_pass_through() -> None:
    style = map_figure([], style="white-bg", now=NOW).layout.map.style
    assert style == OFFLINE_STYLES["white-bg"]
    dumped = json.dumps(style)
    assert "http" not in dumped and "glyphs" not in dumped
    assert style["sources"]  # plotly prunes empty objects on update and MapLibre then rejects the style
    assert map_figure([], style="carto-positron", now=NOW).layout.map.style == "carto-positron"


def test_outline_layers_are_drawn_under_the_posts() -> None:
    fig = map_figure([], outline=load_outline(), now=NOW)
    layers = fig.layout.map.layers
    assert {layer.type for layer in layers} == {"fill", "line"}
    assert all(layer.sourcetype == "geojson" for layer in layers)
    assert all(layer.below == "traces" for layer in layers if layer.type == "fill")


# -- shipped data --------------------------------------------------------------------------------------------
def test_outline_geojson_is_small_and_in_lon_lat_order() -> None:
    path = resources.files("dashboard") / "data" / "nl_outline.geojson"
    assert len(path.read_bytes()) < 300 * 1024
    outline = load_outline()
    assert outline["type"] == "FeatureCollection"
    [nl] = [f for f in outline["features"] if f["properties"]["role"] == "country"]
    points = [pt for poly in nl["geometry"]["coordinates"] for ring in poly for pt in ring]
    assert len(points) > 200
    assert all(3.0 < lon < 7.5 and 50.5 < lat < 54.0 for lon, lat in points)
    for feature in outline["features"]:
        for poly in feature["geometry"]["coordinates"]:
            for ring in poly:
                assert ring[0] == ring[-1] and len(ring) >= 4


def test_places_are_municipalities_largest_first() -> None:
    places = load_places()
    names = [p.name for p in places]
    assert names[:2] == ["Rotterdam", "Amsterdam"]
    assert "Den Haag" in names[:5]  # the municipality's name, not GeoNames' "The Hague"
    assert len(names) == len(set(names))
    assert all(math.isfinite(p.lat) and math.isfinite(p.lon) for p in places)


# -- volume --------------------------------------------------------------------------------------------------
def test_volume_figure_bars_in_local_time() -> None:
    points = [
        {"start": "2024-11-05T12:01:00Z", "count": 4},
        {"start": datetime(2024, 11, 5, 12, 0, tzinfo=UTC), "count": 2},
        {"start": "garbage", "count": 9},
        {"start": "2024-11-05T12:02:00Z", "count": "7"},
    ]
    fig = volume_figure(points)
    assert is_valid(fig)
    [bar] = fig.data
    assert isinstance(bar, go.Bar)
    # Sorted, and in Amsterdam clock time (UTC+1 in November) as naive datetimes plotly won't shift.
    assert list(bar.x) == [datetime(2024, 11, 5, 13, 0), datetime(2024, 11, 5, 13, 1)]
    assert list(bar.y) == [2, 4]
    assert not fig.layout.annotations


def test_volume_figure_marks_the_running_minute() -> None:
    points = [{"start": "2024-11-05T12:00:00Z", "count": 9}, {"start": "2024-11-05T12:01:00Z", "count": 2}]
    fig = volume_figure(points, now=datetime(2024, 11, 5, 12, 1, 20, tzinfo=UTC))
    assert list(fig.data[0].marker.color) == [LIGHT.bar, LIGHT.partial]  # the minute still running is pale
    assert LIGHT.bar != LIGHT.partial
    later = volume_figure(points, now=datetime(2024, 11, 5, 12, 2, 0, tzinfo=UTC))
    assert list(later.data[0].marker.color) == [LIGHT.bar, LIGHT.bar]


def test_a_quiet_volume_axis_steps_by_whole_posts() -> None:
    # Left to itself plotly steps an axis up to 2 by 0.5, and the whole-number labels read 0, 1, 1, 2, 2.
    quiet = volume_figure([{"start": "2024-11-05T12:00:00Z", "count": 2}])
    assert (quiet.layout.yaxis.tick0, quiet.layout.yaxis.dtick) == (0, 1)
    busy = volume_figure([{"start": "2024-11-05T12:00:00Z", "count": 40}])
    assert busy.layout.yaxis.dtick is None  # plotly's own steps for larger counts


def test_volume_figure_empty_is_valid_and_says_so() -> None:
    for points in ([], [{"start": "2024-11-05T12:00:00Z", "count": 0}]):
        fig = volume_figure(points)
        assert is_valid(fig)
        assert fig.layout.annotations[0].text == "No posts in this period"


def test_counts_set_thousands_apart_with_a_narrow_space() -> None:
    # Neither "1,888" (one point eight to a Dutch reader) nor "1.888" (to an English one).
    assert [count(n) for n in (7, 1888, 1_234_567, 20.6)] == ["7", "1\u202f888", "1\u202f234\u202f567", "21"]


def test_naive_local_handles_summer_time() -> None:
    assert naive_local(datetime(2024, 7, 1, 12, 0, tzinfo=UTC)) == datetime(2024, 7, 1, 14, 0)
    assert naive_local(datetime(2024, 7, 1, 12, 0)) == datetime(2024, 7, 1, 14, 0)


def test_busiest_areas_counts_recent_posts_only() -> None:
    posts = [post(area="Haren", key=f"h{i}") for i in range(3)]
    posts += [
        post(area="Amsterdam", key="a"),
        post(area=None, key="n"),
        post(area="Oud", minutes_ago=90, key="o"),
    ]
    assert busiest_areas(posts, since=NOW - timedelta(hours=1)) == [("Haren", 3), ("Amsterdam", 1)]
    assert busiest_areas([], since=NOW) == []
