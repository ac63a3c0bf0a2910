"""What the API sends and takes. Separate from the storage tables and from the bus's Post."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from streams.post import Post


class PostOut(BaseModel):
    key: str
    platform: str
    id: str
    author: str
    created_at: datetime
    text: str
    lang: str | None
    lat: float | None
    lon: float | None
    place: str | None
    places: list[str]
    area: str | None
    cell: str | None
    url: str | None
    reply_to: str | None
    repost_of: str | None
    quote_of: str | None
    likes: int
    reposts: int
    replies: int
    quotes: int

    @classmethod
    def of(cls, post: Post) -> PostOut:
        data = post.model_dump(exclude={"coordinates", "places", "author_sealed"})
        return cls(
            key=post.key,
            lat=post.coordinates.lat if post.coordinates else None,
            lon=post.coordinates.lon if post.coordinates else None,
            places=list(post.places),
            **data,
        )


class PostPage(BaseModel):
    total: int
    items: list[PostOut]


class VolumePoint(BaseModel):
    start: datetime
    count: int


class AreaCount(BaseModel):
    area: str
    count: int


class Volume(BaseModel):
    bucket_seconds: int
    points: list[VolumePoint]
    areas: list[AreaCount]


class DeadLetterOut(BaseModel):
    id: int
    source: str
    reason: str
    raw: str
    raw_bytes: int
    raw_sha256: str
    received_at: datetime


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetterOut]


class IngestError(BaseModel):
    line: int
    reason: str


class IngestResult(BaseModel):
    accepted: int
    rejected: int
    errors: list[IngestError]
