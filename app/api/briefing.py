"""The room's briefing mark: the wall shows what is new or changed since the last briefing."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict

from app.api.posts import utc_time
from app.deps import Coordinator, Reader, ServicesDep
from app.pipeline.alerts import Alert
from app.room.models import AuditEntry, CycleEntry

router = APIRouter(prefix="/api/briefing", tags=["briefing"])


class Briefing(BaseModel):
    at: datetime | None
    by: str | None


class BriefingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: AwareDatetime | None = None


class Changes(BaseModel):
    since: datetime | None
    new_alerts: list[Alert]
    updated_alerts: list[Alert]
    case_changes: list[AuditEntry]
    entries: list[CycleEntry]


@router.get("", response_model=Briefing)
def get_briefing(services: ServicesDep, user: Reader) -> Briefing:
    mark = services.room.room.briefing()
    if mark is None:
        return Briefing(at=None, by=None)
    return Briefing(at=datetime.fromisoformat(str(mark.detail["at"])), by=mark.actor)


@router.post("", response_model=Briefing)
def set_briefing(briefing: BriefingIn, services: ServicesDep, user: Coordinator) -> Briefing:
    """Mark a briefing (wall-clock time; now if none is given)."""
    at = utc_time(briefing.at, "at") or datetime.now(UTC)
    services.room.room.record(user.name, "briefing", "room", {"at": at.astimezone(UTC).isoformat()})
    services.hub.publish("briefing", {"at": at.isoformat(), "by": user.name})
    return Briefing(at=at, by=user.name)


@router.get("/changes", response_model=Changes)
def changes(services: ServicesDep, user: Reader, since: datetime | None = None) -> Changes:
    """New and changed alerts, rumour-case changes and cycle entries since ``since`` or the last briefing."""
    if since is None:
        mark = services.room.room.briefing()
        since = datetime.fromisoformat(str(mark.detail["at"])) if mark else None
    if since is None:
        return Changes(since=None, new_alerts=[], updated_alerts=[], case_changes=[], entries=[])
    since = utc_time(since, "since")
    assert since is not None
    new, updated = services.room.room.alerts_since(since)
    changes = services.room.room.audit_for(since=since, leave_out=("viewed",))
    case_changes = [e for e in changes if e.subject.startswith("rumour:")]
    return Changes(
        since=since,
        new_alerts=new,
        updated_alerts=updated,
        case_changes=case_changes,
        entries=services.room.room.entries_since(since),
    )
