"""How the room's refusals reach a client: unknown -> 404, stale or colliding -> 409, not allowed -> 422."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.db.room import Conflict, Invalid, NotFound


def install(app: FastAPI) -> None:
    for error, status in ((NotFound, 404), (Conflict, 409)):

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        app.add_exception_handler(error, handler)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        # The shape FastAPI documents for every 422, so clients parse one kind of refusal.
        return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]}, 422)

    app.add_exception_handler(Invalid, invalid)
