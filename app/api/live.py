"""WebSocket /ws/live: what the service stores, pushed to dashboards as it happens.

Messages are JSON objects ``{"type": ..., "data": ...}``: ``hello`` first, then ``posts`` (a list of post
summaries, one message per stored batch), ``alert`` (one alert revision), ``case`` and ``incident``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, status
from starlette.concurrency import run_in_threadpool

from app.deps import User, get_ws_services, identify
from app.security import Capability
from app.services import Services

router = APIRouter(tags=["live"])

# How often an open feed looks at its account again: REST checks it on every request, a socket only when it
# opens, so an account disabled (or a password changed, or a token expired) would keep the feed for good.
RECHECK_S = 15.0


@router.websocket("/ws/live")
async def live(
    websocket: WebSocket,
    services: Services = Depends(get_ws_services),  # noqa: B008
) -> None:
    """Browsers cannot set headers on a WebSocket, so the token may come as ``?token=``."""
    header = websocket.headers.get("authorization", "")
    token = websocket.query_params.get("token") or (
        header[7:] if header.lower().startswith("bearer ") else None
    )
    api_key = websocket.headers.get("x-api-key")
    if not _may_read(identify(services, token, api_key)):
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION, reason="sign in with a role that may read"
        )
        return
    await websocket.accept()
    queue = services.hub.subscribe()
    loop = asyncio.get_running_loop()
    try:
        hello = {"type": "hello", "server_time": datetime.now(UTC).isoformat()}
        await websocket.send_text(json.dumps(hello))
        receiver = asyncio.create_task(_drain_client(websocket))
        next_check = loop.time() + RECHECK_S
        while True:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver},
                timeout=max(0.0, next_check - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if receiver in done:
                getter.cancel()
                break
            if getter not in done:  # time to look at the account again (a cancelled get takes nothing)
                getter.cancel()
                if not _may_read(await run_in_threadpool(identify, services, token, api_key)):
                    await websocket.close(
                        code=status.WS_1008_POLICY_VIOLATION,
                        reason="signed out: the account, its password or its token changed or expired",
                    )
                    break
                next_check = loop.time() + RECHECK_S
                continue
            message = getter.result()
            if message is None:  # too slow: the client reconnects and catches up over REST
                await websocket.close(code=1013, reason="too slow; reconnect and catch up")
                break
            await websocket.send_text(message)
    except WebSocketDisconnect:
        pass
    finally:
        services.hub.unsubscribe(queue)


def _may_read(user: User | None) -> bool:
    return user is not None and Capability.READ in user.capabilities


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so we notice when it goes away."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
