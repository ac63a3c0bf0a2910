"""Alerts from the detectors (latest revision each) and their history. Rumour cases: ``app.api.rumours``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from app.api.limits import MAX_OFFSET
from app.api.posts import no_nul, utc_time
from app.db.repository import AlertQuery
from app.deps import Reader, ServicesDep
from app.pipeline.alerts import Alert, AlertKind

router = APIRouter(prefix="/api", tags=["alerts"])


class AlertPage(BaseModel):
    total: int
    items: list[Alert]


def _page(services: ServicesDep, query: AlertQuery) -> AlertPage:
    no_nul(query.area, "area")
    total, alerts = services.store.find_alerts(replace(query, since=utc_time(query.since, "since")))
    return AlertPage(total=total, items=alerts)


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    services: ServicesDep,
    user: Reader,
    kind: AlertKind | None = None,
    since: Annotated[datetime | None, Query(description="updated at or after, ISO-8601")] = None,
    area: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AlertPage:
    return _page(services, AlertQuery(kind=kind, since=since, area=area, limit=limit, offset=offset))


@router.get("/alerts/{alert_id:path}/history", response_model=list[Alert])
def alert_history(alert_id: str, services: ServicesDep, user: Reader) -> list[Alert]:
    """Every revision of one alert: what Signaal knew, and when."""
    no_nul(alert_id, "alert_id")
    history = services.store.alert_history(alert_id)
    if not history:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return history


@router.get("/alerts/{alert_id:path}", response_model=Alert)
def get_alert(alert_id: str, services: ServicesDep, user: Reader) -> Alert:
    no_nul(alert_id, "alert_id")
    alert = services.store.get_alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return alert
