"""The playbooks the service runs with: triggers, advice checklists and message templates per crisis type."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import Reader, ServicesDep
from app.playbooks import Playbook

router = APIRouter(prefix="/api", tags=["playbooks"])


@router.get("/playbooks", response_model=list[Playbook])
def list_playbooks(services: ServicesDep, user: Reader) -> list[Playbook]:
    return list(services.room.playbooks.playbooks)
