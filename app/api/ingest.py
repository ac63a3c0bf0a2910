"""HTTP push: outside tools and `signaal replay` send posts here as NDJSON, one raw record per line.

This is an edge of the system: records are parsed and authors pseudonymised here, then put on the bus like
any other producer's. Lines that cannot be accepted go to the dead-letter topic with the reason.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from app.api.limits import check_ingest_rate
from app.api.posts import invalid
from app.api.schemas import IngestError, IngestResult
from app.deps import Producer, ServicesDep
from app.services import Services
from streams.deadletter import DeadLetter
from streams.formats import FORMATS, ParseError, parse_record

router = APIRouter(prefix="/api", tags=["ingest"])

MAX_ERRORS_SHOWN = 50


@router.post(
    "/ingest",
    response_model=IngestResult,
    responses={
        413: {"description": "body larger than SIGNAAL_MAX_INGEST_BYTES; nothing was accepted"},
        429: {"description": "over SIGNAAL_INGEST_RATE; nothing was accepted, retry after Retry-After"},
        503: {"description": "the bus refused; nothing is confirmed, retry later"},
    },
    openapi_extra={
        "requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def ingest(
    request: Request,
    services: ServicesDep,
    user: Producer,
    format: Annotated[str, Query(description=f"one of {', '.join(FORMATS)}")] = "auto",
    source: Annotated[str | None, Query(max_length=200, pattern=r"^[\w.:/@-]+$")] = None,
) -> IngestResult:
    if format not in FORMATS:
        raise invalid("format", f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    # Before the body is read: a refused request is refused whole and the producer sends it again.
    check_ingest_rate(request, user, services.settings.ingest_rate, services.settings.ingest_burst)
    declared = request.headers.get("content-length")
    limit = services.settings.max_ingest_bytes
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes; send smaller batches")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes; send smaller batches")
    # Without a source name, the body names the request: a sender retrying after a 503 sends the same body,
    # and its rejected lines must come out as the same dead letters, not as new ones.
    origin = f"ingest:{source or 'request-' + hashlib.sha256(body).hexdigest()[:16]}"
    try:
        return await run_in_threadpool(_publish_lines, services, bytes(body), format, origin)
    except Exception as error:  # the bus refused: nothing is confirmed, the sender must retry
        raise HTTPException(503, f"could not hand the posts to the bus, retry later: {error}") from error


def _publish_lines(services: Services, body: bytes, fmt: str, origin: str) -> IngestResult:
    settings = services.settings
    seal = services.sealer.seal if services.sealer is not None else None
    accepted = 0
    errors: list[IngestError] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            reason = f"not valid UTF-8 at byte {error.start}"
        else:
            try:
                post = parse_record(text, fmt, services.pseudonymiser, seal)
            except ParseError as error:
                reason = str(error)
            else:
                services.bus.publish(settings.topic_posts, post.model_dump_json().encode(), post.key.encode())
                accepted += 1
                continue
        letter = DeadLetter.of(line, reason, where)
        services.bus.publish(
            settings.topic_deadletter, letter.model_dump_json().encode(), letter.key.encode()
        )
        errors.append(IngestError(line=number, reason=reason))
    services.bus.flush(30)
    return IngestResult(accepted=accepted, rejected=len(errors), errors=errors[:MAX_ERRORS_SHOWN])
