"""Dependencies every route goes through: the running services and the current user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, WebSocket

from app.services import Services


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]


# Until accounts exist every caller is the same local operator. Routes already depend on `current_user`,
# so authentication and roles slot in here without touching them.
LOCAL_OPERATOR = User(name="local", roles=frozenset({"admin"}))


def current_user() -> User:
    return LOCAL_OPERATOR


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_ws_services(websocket: WebSocket) -> Services:
    return websocket.app.state.services


CurrentUser = Annotated[User, Depends(current_user)]
ServicesDep = Annotated[Services, Depends(get_services)]
