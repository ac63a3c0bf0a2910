"""Build dashboard/data/nl_outline.geojson, the offline outline layer of the live map.

Run once by a maintainer (the GeoJSON is committed; the dashboard fetches no tiles or shapes at run time):

    python scripts/build_nl_outline.py                    # runs `npm pack world-atlas@2.0.2` in a temp dir
    python scripts/build_nl_outline.py --atlas DIR        # or use an unpacked world-atlas package

Source: the npm package ``world-atlas`` 2.0.2 (ISC licence, Mike Bostock), a TopoJSON redistribution of
Natural Earth 4.1.0 Admin 0 country boundaries at 1:10m, which Natural Earth puts in the public domain
(https://www.naturalearthdata.com/about/terms-of-use/). Output: the European Netherlands (id 528; the
Caribbean parts are dropped) plus its neighbours (BE, DE, LU, FR, GB, DK) clipped to a wide box and
simplified more coarsely, so the country is framed by land and sea in every view the dashboard fits to.
Geometry is simplified (Douglas-Peucker) and rounded to keep the file small enough to send to every
browser. Natural Earth has no Dutch provinces at this scale that a registry package ships, so there are none.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "dashboard" / "data" / "nl_outline.geojson"
PACKAGE = "world-atlas@2.0.2"
NETHERLANDS = "528"
NEIGHBOURS = {
    "056": "Belgium",
    "276": "Germany",
    "442": "Luxembourg",
    "250": "France",
    "826": "United Kingdom",
    "208": "Denmark",
}
# The European Netherlands and enough of its neighbours to frame it; Bonaire & co. fall outside.
NL_BOX = (3.0, 50.5, 7.5, 53.9)
# Wide enough that no clipped edge shows in any view the dashboard fits to Dutch activity.
CONTEXT_BOX = (-5.0, 46.0, 16.0, 58.0)
TOLERANCE_DEG = 0.0015  # ~100-170 m: invisible at province zoom, halves the vertex count
NEIGHBOUR_TOLERANCE_DEG = 0.006  # neighbours are only backdrop; coarser keeps the file small
DECIMALS = 4

Ring = list[tuple[float, float]]


def _fetch_atlas(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, capture_output=True)
    tarball = next(workdir.glob("world-atlas-*.tgz"))
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def _decode_arcs(topology: dict) -> list[Ring]:
    """Undo TopoJSON quantisation: positions are deltas from the previous one, then scaled and shifted."""
    transform = topology.get("transform")
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(x), float(y)) for x, y, *_ in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        ring: Ring = []
        for dx, dy, *_ in arc:
            x += dx
            y += dy
            ring.append((x * sx + tx, y * sy + ty))
        arcs.append(ring)
    return arcs


def _ring(indexes: list[int], arcs: list[Ring]) -> Ring:
    # A negative index ~i means arc i walked backwards; consecutive arcs share their joining point.
    out: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        out.extend(arc if not out else arc[1:])
    return out


def _polygons(geometry: dict, arcs: list[Ring]) -> list[list[Ring]]:
    if geometry["type"] == "Polygon":
        return [[_ring(r, arcs) for r in geometry["arcs"]]]
    if geometry["type"] == "MultiPolygon":
        return [[_ring(r, arcs) for r in poly] for poly in geometry["arcs"]]
    return []


def _simplify(points: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker, iterative so long coastlines don't hit the recursion limit."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        worst, worst_dist = -1, tolerance
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                dist = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            else:
                dist = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if dist > worst_dist:
                worst, worst_dist = i, dist
        if worst > 0:
            keep[worst] = True
            stack.extend([(first, worst), (worst, last)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def _clip(ring: Ring, box: tuple[float, float, float, float]) -> Ring:
    """Sutherland-Hodgman against an axis-aligned box; enough for a fill that only frames the map."""
    min_x, min_y, max_x, max_y = box
    edges = [
        (lambda p: p[0] >= min_x, lambda a, b: _cross_x(a, b, min_x)),
        (lambda p: p[0] <= max_x, lambda a, b: _cross_x(a, b, max_x)),
        (lambda p: p[1] >= min_y, lambda a, b: _cross_y(a, b, min_y)),
        (lambda p: p[1] <= max_y, lambda a, b: _cross_y(a, b, max_y)),
    ]
    out = ring
    for inside, cross in edges:
        if not out:
            break
        src, out = out, []
        prev = src[-1]
        for cur in src:
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
            prev = cur
    return out


def _cross_x(a: tuple[float, float], b: tuple[float, float], x: float) -> tuple[float, float]:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def _in_box(ring: Ring, box: tuple[float, float, float, float]) -> bool:
    return any(box[0] <= x <= box[2] and box[1] <= y <= box[3] for x, y in ring)


def _finish(ring: Ring, tolerance: float = TOLERANCE_DEG) -> list[list[float]] | None:
    ring = _simplify(ring, tolerance)
    coords = [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring]
    deduped = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
    if deduped and deduped[0] != deduped[-1]:
        deduped.append(deduped[0])
    return deduped if len(deduped) >= 4 else None


def _feature(name: str, role: str, polygons: list[list[Ring]]) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, "role": role},
        "geometry": {"type": "MultiPolygon", "coordinates": polygons},
    }


def build(atlas_dir: Path) -> dict:
    topology = json.loads((atlas_dir / "countries-10m.json").read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)
    geometries = {str(g.get("id")): g for g in topology["objects"]["countries"]["geometries"]}

    nl: list[list[Ring]] = []
    for polygon in _polygons(geometries[NETHERLANDS], arcs):
        if not _in_box(polygon[0], NL_BOX):
            continue
        rings = [r for r in (_finish(ring) for ring in polygon) if r]
        if rings and rings[0]:
            nl.append(rings)
    features = [_feature("Nederland", "country", nl)]

    for code, name in NEIGHBOURS.items():
        polygons = []
        for polygon in _polygons(geometries[code], arcs):
            outer = _clip(polygon[0], CONTEXT_BOX)
            finished = _finish(outer, NEIGHBOUR_TOLERANCE_DEG) if outer else None
            if finished:
                polygons.append([finished])
        features.append(_feature(name, "neighbour", polygons))
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", type=Path, help="unpacked world-atlas package directory")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        atlas = args.atlas or _fetch_atlas(Path(tmp))
        collection = build(atlas)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    points = sum(len(r) for f in collection["features"] for p in f["geometry"]["coordinates"] for r in p)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, {points} points)")


if __name__ == "__main__":
    main()
