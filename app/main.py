"""The FastAPI application; its lifespan starts and stops the services (storage, bus, consumer thread)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.api import (
    alerts,
    auth,
    briefing,
    deadletter,
    errors,
    health,
    incidents,
    ingest,
    live,
    playbooks,
    posts,
    rumours,
)
from app.config import Settings, get_settings
from app.observability import install_metrics
from app.services import Services


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await asyncio.to_thread(Services.start, settings, asyncio.get_running_loop())
        app.state.services = services
        try:
            yield
        finally:
            await asyncio.to_thread(services.stop)

    # FastAPI's /docs and /redoc load their scripts from a CDN, which a crisis room on a closed network cannot
    # reach (the pages stayed blank); FastAPIOffline serves the same pages with the scripts from this package.
    app = FastAPIOffline(
        title="Signaal",
        summary="Situational awareness for municipal crisis communication",
        version="0.1.0",
        lifespan=lifespan,
    )
    for module in (
        health,
        auth,
        posts,
        alerts,
        rumours,
        incidents,
        briefing,
        playbooks,
        deadletter,
        ingest,
        live,
    ):
        app.include_router(module.router)
    errors.install(app)
    install_metrics(app, settings.metrics_token)
    return app
