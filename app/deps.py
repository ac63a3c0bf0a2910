"""Dependencies every route goes through: the running services and who is asking.

A caller is a person with a bearer token (``POST /api/auth/token``), a producer with an ``X-API-Key``, or —
only when authentication is off, as in the development default — the one local operator. Routes declare
the capability they need (``Reader``, ``Handler``, ...); :data:`app.security.GRANTS` decides who has it.
A token is checked against the account on every request, so deactivating a user, changing roles or
changing the password (which ends the tokens issued before it) takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, WebSocket, status
from fastapi.security import OAuth2PasswordBearer

from app.security import Capability, capabilities, read_token
from app.services import Services


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities(self.roles)


LOCAL_OPERATOR = User(name="local", roles=frozenset({"admin"}))

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_ws_services(websocket: WebSocket) -> Services:
    return websocket.app.state.services


def identify(services: Services, token: str | None, api_key: str | None) -> User | None:
    """The caller named by a token or an API key, if valid and active."""
    if not services.settings.auth_required:
        return LOCAL_OPERATOR
    if token:
        claims = read_token(services.settings.jwt_secret.get_secret_value(), token)
        if claims is not None:
            account = services.accounts.active_account(claims.username)
            if account is not None and account.token_generation == claims.generation:
                return User(account.username, account.roles)
    if api_key:
        found = services.accounts.api_key(api_key)
        if found is not None:
            return User(f"apikey:{found[0]}", found[1])
    return None


def current_user(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> User:
    user = identify(get_services(request), token, api_key)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


def require(capability: Capability) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if capability not in user.capabilities:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"your role does not allow '{capability}'")
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
Reader = Annotated[User, Depends(require(Capability.READ))]
Handler = Annotated[User, Depends(require(Capability.HANDLE))]
Coordinator = Annotated[User, Depends(require(Capability.COORDINATE))]
Revealer = Annotated[User, Depends(require(Capability.REVEAL))]
Admin = Annotated[User, Depends(require(Capability.ADMINISTER))]
Producer = Annotated[User, Depends(require(Capability.INGEST))]
ServicesDep = Annotated[Services, Depends(get_services)]
