"""Incidents and their analyse -> advise -> act -> evaluate cycle, drafts from the data and the playbooks,
measured effects, the audit trail and the evaluation dossier.

Entries are never changed in place: an edit adds a version (naming the version it edits; a stale one gets
409) and every write is traced in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from app.db.room import NotFound, incident_subject
from app.deps import Coordinator, Handler, Reader, ServicesDep
from app.export import MEDIA_TYPES, default_filename, render_dossier
from app.playbooks import Template
from app.room.models import (
    AdviseBody,
    AnalyseBody,
    AuditEntry,
    CycleEntry,
    Effect,
    EntryEdit,
    EntryIn,
    Incident,
    IncidentDetail,
    IncidentIn,
    IncidentPatch,
)
from app.services import Services

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**53, description="the incident's number")]


def _changed(services: Services, incident_id: int) -> None:
    services.hub.publish("incident", {"incident_id": incident_id})


@router.get("", response_model=list[Incident])
def list_incidents(services: ServicesDep, user: Reader) -> list[Incident]:
    return services.room.room.incidents()


@router.post("", response_model=Incident, status_code=201)
def open_incident(new: IncidentIn, services: ServicesDep, user: Coordinator) -> Incident:
    incident = services.room.room.open_incident(new, user.name)
    _changed(services, incident.incident_id)
    return incident


@router.get("/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: IncidentId, services: ServicesDep, user: Reader) -> IncidentDetail:
    detail = services.room.detail(incident_id)
    services.room.room.record_view(user.name, incident_subject(incident_id))
    return detail


@router.patch("/{incident_id}", response_model=Incident)
def patch_incident(
    incident_id: IncidentId, patch: IncidentPatch, services: ServicesDep, user: Coordinator
) -> Incident:
    """Rename, close or reopen, link and unlink alerts and rumour cases."""
    incident = services.room.room.patch_incident(incident_id, patch, user.name)
    _changed(services, incident_id)
    return incident


@router.get("/{incident_id}/drafts/analysis", response_model=AnalyseBody)
def analysis_draft(
    incident_id: IncidentId,
    services: ServicesDep,
    user: Reader,
    hours: Annotated[float, Query(gt=0, le=48)] = 2.0,
) -> AnalyseBody:
    """An automatic omgevingsanalyse of the last ``hours`` (stream time): edit it, then save it."""
    return services.room.analysis_draft(incident_id, hours)


@router.get("/{incident_id}/drafts/advice", response_model=AdviseBody)
def advice_draft(
    incident_id: IncidentId, services: ServicesDep, user: Reader, lang: Literal["nl", "en"] = "nl"
) -> AdviseBody:
    """Advice to the mayor and crisis team, pre-filled from the matching playbook's checklist."""
    return services.room.advice_draft(incident_id, lang)


@router.get("/{incident_id}/templates", response_model=list[Template])
def templates(incident_id: IncidentId, services: ServicesDep, user: Reader) -> list[Template]:
    """Message templates (Dutch and English): the incident's playbook first, then the others."""
    return services.room.templates(incident_id)


@router.get("/{incident_id}/entries", response_model=list[CycleEntry])
def entries(
    incident_id: IncidentId, services: ServicesDep, user: Reader, all_versions: bool = False
) -> list[CycleEntry]:
    services.room.room.incident(incident_id)
    return services.room.room.entries(incident_id, all_versions=all_versions)


@router.post("/{incident_id}/entries", response_model=CycleEntry, status_code=201)
def add_entry(incident_id: IncidentId, entry: EntryIn, services: ServicesDep, user: Handler) -> CycleEntry:
    """Save an analysis, advice, action or evaluation. An evaluation's effect is measured here."""
    saved = services.room.add_entry(incident_id, entry, user.name)
    _changed(services, incident_id)
    return saved


@router.put("/{incident_id}/entries/{entry_id}", response_model=CycleEntry)
def edit_entry(
    incident_id: IncidentId, entry_id: str, edit: EntryEdit, services: ServicesDep, user: Handler
) -> CycleEntry:
    """A new version of an entry; the old ones stay (``/versions``)."""
    current = services.room.room.entry(entry_id)
    if current.incident_id != incident_id:
        raise NotFound(f"no entry {entry_id!r} in incident {incident_id}")
    saved = services.room.room.edit_entry(entry_id, edit, user.name)
    _changed(services, incident_id)
    return saved


@router.get("/{incident_id}/entries/{entry_id}/versions", response_model=list[CycleEntry])
def entry_versions(
    incident_id: IncidentId, entry_id: str, services: ServicesDep, user: Reader
) -> list[CycleEntry]:
    return [v for v in services.room.room.entry_versions(entry_id) if v.incident_id == incident_id]


@router.get("/{incident_id}/effects", response_model=dict[str, Effect])
def effects(incident_id: IncidentId, services: ServicesDep, user: Reader) -> dict[str, Effect]:
    """For each action: the hour before against the hour after (volume, rumour spread, share of questions)."""
    return services.room.effects(incident_id)


@router.get("/{incident_id}/audit", response_model=list[AuditEntry])
def incident_audit(incident_id: IncidentId, services: ServicesDep, user: Reader) -> list[AuditEntry]:
    detail = services.room.detail(incident_id)
    subjects = [incident_subject(incident_id)] + [f"rumour:{c.case_id}" for c in detail.cases]
    return services.room.room.audit_for(subjects)


@router.get("/{incident_id}/export")
async def export(
    incident_id: IncidentId,
    services: ServicesDep,
    user: Handler,
    format: Literal["pdf", "html", "json", "csv"] = "pdf",
) -> Response:
    """The evaluation dossier as a file (posts pseudonymised; csv is a zip of tables). Exporting is recorded
    in the audit trail."""
    dossier = await run_in_threadpool(services.room.dossier, incident_id, user.name)
    content = await run_in_threadpool(render_dossier, dossier, format)
    name = default_filename(dossier, format)
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
