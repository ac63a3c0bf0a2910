"""Records that were rejected, with the reason, for the operator to inspect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.limits import MAX_OFFSET
from app.api.schemas import DeadLetterOut, DeadLetterPage
from app.deps import Admin, ServicesDep

router = APIRouter(prefix="/api", tags=["dead letters"])


@router.get("/deadletter", response_model=DeadLetterPage)
def list_dead_letters(
    services: ServicesDep,
    user: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeadLetterPage:
    total, rows = services.store.dead_letters(limit, offset)
    items = [
        DeadLetterOut(
            id=row.pk,
            source=row.source,
            reason=row.reason,
            raw=row.raw,
            raw_bytes=row.raw_bytes,
            raw_sha256=row.raw_sha256,
            received_at=row.received_at,
        )
        for row in rows
    ]
    return DeadLetterPage(total=total, items=items)
