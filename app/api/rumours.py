"""Rumour cases: the detector's claim clusters and the ones flagged by hand, with their workflow.

Every change names the case version it was made on (a stale one gets 409), is traced in the audit log and
pushed to every dashboard as a ``case`` message, so two advisers see at once who is on which rumour.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import Handler, Reader, ServicesDep
from app.room.models import (
    AnswerIn,
    AuditEntry,
    CaseStatus,
    FlagIn,
    MergeIn,
    NoteIn,
    OwnerChange,
    RumourCase,
    RumourCaseDetail,
    RumourCasePage,
    SplitIn,
    StatusChange,
)
from app.room.similar import with_hints
from app.services import Services

router = APIRouter(prefix="/api/rumours", tags=["rumours"])


def _pushed(services: Services, case: RumourCase) -> RumourCase:
    services.hub.publish("case", case.model_dump(mode="json"))
    return case


@router.get("", response_model=RumourCasePage)
def list_cases(
    services: ServicesDep,
    user: Reader,
    active: Annotated[bool, Query(description="leave out closed cases")] = False,
    status: CaseStatus | None = None,
    include_merged: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RumourCasePage:
    """Rumour cases, most recent activity first. Each open case names the open cases of the page that seem
    to tell the same claim in other words (``similar``), so advisers can merge them."""
    total, items = services.room.room.list_cases(
        active=active, status=status, include_merged=include_merged, limit=limit, offset=offset
    )
    return RumourCasePage(total=total, items=with_hints(items))


@router.post("", response_model=RumourCase, status_code=201)
def flag_post(flag: FlagIn, services: ServicesDep, user: Handler) -> RumourCase:
    """Flag a post as a rumour by hand: opens a case, or adds the post to ``case_id``."""
    return _pushed(services, services.room.room.flag(flag, user.name))


@router.get("/{case_id:path}/history", response_model=list[AuditEntry])
def case_history(case_id: str, services: ServicesDep, user: Reader) -> list[AuditEntry]:
    # No "viewed" trace here: the board fetches every card's detail to draw it, which is not someone
    # looking at a case. Views are traced where a person opens something: an incident, an export, a reveal.
    return services.room.room.case_detail(case_id, services.room.clock()).history


@router.post("/{case_id:path}/status", response_model=RumourCase)
def change_status(case_id: str, change: StatusChange, services: ServicesDep, user: Handler) -> RumourCase:
    return _pushed(services, services.room.room.change_status(case_id, change, user.name))


@router.post("/{case_id:path}/owner", response_model=RumourCase)
def change_owner(case_id: str, change: OwnerChange, services: ServicesDep, user: Handler) -> RumourCase:
    """Take a case (``"me"``), hand it over (a name) or release it (null); taking another's needs force."""
    return _pushed(services, services.room.room.change_owner(case_id, change, user.name))


@router.post("/{case_id:path}/notes", response_model=RumourCase)
def add_note(case_id: str, note: NoteIn, services: ServicesDep, user: Handler) -> RumourCase:
    return _pushed(services, services.room.room.add_note(case_id, note.text, user.name))


@router.post("/{case_id:path}/merge", response_model=RumourCase)
def merge(case_id: str, merge: MergeIn, services: ServicesDep, user: Handler) -> RumourCase:
    """Merge the case ``other`` into this one (same claim, other wording)."""
    case = services.room.room.merge(case_id, merge, user.name)
    _pushed(services, services.room.room.get_case(merge.other))
    return _pushed(services, case)


@router.post("/{case_id:path}/split", response_model=RumourCase, status_code=201)
def split(case_id: str, split: SplitIn, services: ServicesDep, user: Handler) -> RumourCase:
    """Move posts out of this case into a new case; returns the new one."""
    new_case = services.room.room.split(case_id, split, user.name)
    _pushed(services, services.room.room.get_case(case_id))
    return _pushed(services, new_case)


@router.post("/{case_id:path}/answer", response_model=RumourCase)
def answer(case_id: str, answer: AnswerIn, services: ServicesDep, user: Handler) -> RumourCase:
    """Link the official answer; the case becomes answered and the board shows the spread before and after."""
    case = services.room.room.answer(case_id, answer, user.name, services.room.clock())
    if answer.incident_id is not None:
        services.hub.publish("incident", {"incident_id": answer.incident_id})
    return _pushed(services, case)


@router.get("/{case_id:path}", response_model=RumourCaseDetail)
def get_case(case_id: str, services: ServicesDep, user: Reader) -> RumourCaseDetail:
    # No "viewed" trace here: the board fetches every card's detail to draw it, which is not someone
    # looking at a case. Views are traced where a person opens something: an incident, an export, a reveal.
    return services.room.room.case_detail(case_id, services.room.clock())
