"""Liveness, readiness and a status summary for dashboards and operators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import Reader, ServicesDep
from streams.compiled import build

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready: the database answers, the bus is reachable, the consumer runs and is not failing."""
    checks = {
        "database": services.database_ok(),
        "bus": services.bus.reachable(1.0),
        "consumer": services.worker.is_alive() and services.worker.healthy,
    }
    body = {"status": "ready" if all(checks.values()) else "not ready", "checks": checks}
    if services.worker.last_error:
        body["consumer_error"] = services.worker.last_error
    return JSONResponse(body, status_code=200 if all(checks.values()) else 503)


@router.get("/api/status")
def status(services: ServicesDep, user: Reader) -> dict[str, object]:
    """Counts and lag since start, posts per minute per source, and what Signaal cannot see."""
    clock = services.room.clock()
    return {
        "stream_clock": clock.isoformat(),
        "sources": services.room.room.source_rates(clock),
        "bus": "kafka" if services.settings.uses_kafka else "in-process",
        "build": build(),
        "pipeline": services.pipeline.stats.snapshot(),
        "live_clients": services.hub.client_count,
        "blind_spots": "closed groups, private accounts and messaging apps (WhatsApp, Telegram) are not seen",
    }
