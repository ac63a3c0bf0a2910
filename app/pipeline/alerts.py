"""What the detectors report: one :class:`Alert` per incident-in-the-making, updated as it grows.

An alert has a stable ``id``; when its spike, call or rumour grows the detector sends the same id again with
a higher ``revision``, so consumers replace instead of adding. Times are event times (when the posts were
written), so offline replays and live streams give the same alerts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from streams.post import Post

# Member post keys kept on an alert; beyond this only ``post_count`` grows (memory stays bounded).
MAX_MEMBERS = 500


class AlertKind(StrEnum):
    SPIKE = "spike"
    MOBILISATION = "mobilisation"
    RUMOUR = "rumour"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Example(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    created_at: datetime
    text: str
    area: str | None = None

    @classmethod
    def of(cls, post: Post) -> Example:
        return cls.quoting(post.key, post.created_at, post.text, post.area)

    @classmethod
    def quoting(cls, key: str, created_at: datetime, text: str, area: str | None) -> Example:
        """An example of a post known by these fields; long texts are cut to their first 500 characters."""
        return cls(key=key, created_at=created_at, text=text[:500], area=area)


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="stable across updates, e.g. 'spike:area:Haren:2012-09-21T18:40'")
    kind: AlertKind
    severity: Severity
    title: str = Field(description="one line for a ticker")
    explanation: str = Field(description="why this fired, in plain words with the figures")
    area: str | None = None
    first_seen: datetime
    updated_at: datetime
    post_count: int = Field(ge=0)
    member_ids: tuple[str, ...] = Field(default=(), description=f"post keys, at most {MAX_MEMBERS}")
    examples: tuple[Example, ...] = ()
    playbook: str | None = Field(default=None, description="id of the playbook this alert falls under")
    details: dict[str, Any] = Field(default_factory=dict, description="the detector's own figures")
    revision: int = Field(default=1, ge=1)
    detected_at: datetime | None = Field(
        default=None,
        description="event time at which the alert was first raised; set by the pipeline, not the detectors",
    )


class Detector(Protocol):
    """A streaming stage: sees every new post once, in (roughly) event-time order."""

    def observe(self, posts: list[Post]) -> list[Alert]:
        """Take a batch of new posts; return the alerts this batch created or changed (latest revision)."""
        ...
