"""Posts as stored, filtered by time, place and text, and their volume over time and areas."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.limits import MAX_OFFSET
from app.api.schemas import AreaCount, PostOut, PostPage, Volume, VolumePoint
from app.db.repository import PostQuery
from app.deps import Reader, Revealer, ServicesDep

router = APIRouter(prefix="/api", tags=["posts"])

Since = Annotated[datetime | None, Query(description="from this time (inclusive), ISO-8601")]
Until = Annotated[datetime | None, Query(description="until this time (exclusive), ISO-8601")]
Bbox = Annotated[
    str | None, Query(description="min_lon,min_lat,max_lon,max_lat", examples=["6.5,53.1,6.7,53.2"])
]
Text = Annotated[str | None, Query(max_length=200, description="case-insensitive substring of the text")]
Area = Annotated[str | None, Query(max_length=200, description="municipality")]


def invalid(where: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, which is what the OpenAPI schema documents for
    422 (schemathesis found the plain-string detail violating it)."""
    return HTTPException(422, [{"loc": ["query", where], "msg": message, "type": "value_error"}])


def utc_time(moment: datetime | None, name: str) -> datetime | None:
    """A query time in UTC, or 422: it needs a zone, and must stay within the calendar once in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise invalid(name, "times need a zone, e.g. 2012-09-21T20:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC: the store raised it, a 500
        raise invalid(name, "time out of range") from None


def no_nul(value: str | None, name: str) -> None:
    # PostgreSQL refuses NUL in a text parameter (a 500); no stored text contains one (see streams.post).
    if value is not None and "\x00" in value:
        raise invalid(name, "NUL is not allowed")


def post_filters(
    since: Since = None, until: Until = None, bbox: Bbox = None, q: Text = None, area: Area = None
) -> PostQuery:
    """The filters every post route shares, checked once."""
    since, until = utc_time(since, "since"), utc_time(until, "until")
    no_nul(q, "q")
    no_nul(area, "area")
    box: tuple[float, ...] | None = None
    if bbox:
        try:
            box = tuple(float(part) for part in bbox.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
            raise invalid("bbox", "bbox must be min_lon,min_lat,max_lon,max_lat")
    return PostQuery(since=since, until=until, bbox=box, text=q, area=area)  # type: ignore[arg-type]


Filters = Annotated[PostQuery, Depends(post_filters)]


@router.get("/posts", response_model=PostPage)
def list_posts(
    services: ServicesDep,
    user: Reader,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PostPage:
    total, posts = services.store.find_posts(replace(filters, limit=limit, offset=offset))
    return PostPage(total=total, items=[PostOut.of(p) for p in posts])


@router.get("/posts/{key:path}", response_model=PostOut, responses={404: {"description": "no such post"}})
def get_post(key: str, services: ServicesDep, user: Reader) -> PostOut:
    """One stored post by its key, ``platform:id`` (e.g. ``twitter:500272350906957824``): to find what a data
    subject request names."""
    no_nul(key, "key")
    post = services.store.get_post(key)
    if post is None:
        raise HTTPException(404, f"no post {key!r}")
    return PostOut.of(post)


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


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=10, max_length=2000, description="why, for the audit trail")]


class Revealed(BaseModel):
    key: str
    handle: str
    revealed_by: str


@router.post("/posts/{key:path}/reveal", response_model=Revealed)
def reveal_author(key: str, body: RevealIn, services: ServicesDep, user: Revealer) -> Revealed:
    """Who wrote this post: needs the reveal role, a reason, and SIGNAAL_REVEAL_KEY; written to the audit
    trail (the reason, not the handle)."""
    no_nul(key, "key")
    if services.sealer is None:
        raise HTTPException(409, "revealing is off: no SIGNAAL_REVEAL_KEY, so no handles were kept")
    post = services.store.get_post(key)
    if post is None:
        raise HTTPException(404, f"no post {key!r}")
    if post.author_sealed is None:
        raise HTTPException(
            409, "this post was stored without a sealed handle (before revealing was enabled)"
        )
    try:
        handle = services.sealer.open(post.author_sealed)
    except Exception as error:  # a different key than the one that sealed it
        raise HTTPException(
            409, "the sealed handle does not open with the current SIGNAAL_REVEAL_KEY"
        ) from error
    services.room.room.record(user.name, "revealed", f"post:{key}", {"reason": body.reason})
    return Revealed(key=key, handle=handle, revealed_by=user.name)
