"""Posts as stored, filtered by time, place and text, and their volume over time and areas."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from app.api.schemas import AreaCount, PostOut, PostPage, Volume, VolumePoint
from app.db.repository import PostQuery
from app.deps import Reader, ServicesDep

router = APIRouter(prefix="/api", tags=["posts"])

Since = Annotated[datetime | None, Query(description="from this time (inclusive), ISO-8601")]
Until = Annotated[datetime | None, Query(description="until this time (exclusive), ISO-8601")]
Bbox = Annotated[
    str | None, Query(description="min_lon,min_lat,max_lon,max_lat", examples=["6.5,53.1,6.7,53.2"])
]
Text = Annotated[str | None, Query(max_length=200, description="case-insensitive substring of the text")]
Area = Annotated[str | None, Query(max_length=200, description="municipality")]


def post_filters(
    since: Since = None, until: Until = None, bbox: Bbox = None, q: Text = None, area: Area = None
) -> PostQuery:
    """The filters every post route shares, checked once."""
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, "times need a zone, e.g. 2012-09-21T20:00:00Z")
    box: tuple[float, ...] | None = None
    if bbox:
        try:
            box = tuple(float(part) for part in bbox.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
            raise HTTPException(422, "bbox must be min_lon,min_lat,max_lon,max_lat")
    return PostQuery(since=since, until=until, bbox=box, text=q, area=area)  # type: ignore[arg-type]


Filters = Annotated[PostQuery, Depends(post_filters)]


@router.get("/posts", response_model=PostPage)
def list_posts(
    services: ServicesDep,
    user: Reader,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PostPage:
    total, posts = services.store.find_posts(replace(filters, limit=limit, offset=offset))
    return PostPage(total=total, items=[PostOut.of(p) for p in posts])


@router.get("/stats/volume", response_model=Volume)
def volume(
    services: ServicesDep,
    user: Reader,
    filters: Filters,
    bucket: Annotated[int, Query(ge=1, le=86_400, description="bucket length in seconds")] = 60,
) -> Volume:
    points, areas = services.store.volume(filters, bucket)
    return Volume(
        bucket_seconds=bucket,
        points=[VolumePoint(start=start, count=count) for start, count in points],
        areas=[AreaCount(area=name, count=count) for name, count in areas],
    )
