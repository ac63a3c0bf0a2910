"""Signing in, who am I, and the accounts and API keys an admin manages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from app.api.limits import check_sign_in_rate
from app.deps import Admin, CurrentUser, ServicesDep
from app.security import issue_token

router = APIRouter(prefix="/api", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    username: str
    roles: list[str]


class Me(BaseModel):
    name: str
    roles: list[str]
    capabilities: list[str]
    auth_required: bool


class UserOut(BaseModel):
    username: str
    roles: list[str]
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{2,64}$")]
    password: Annotated[str, Field(min_length=12, max_length=200)]
    roles: list[str]


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] | None = None
    active: bool | None = None
    password: Annotated[str | None, Field(min_length=12, max_length=200)] = None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{2,64}$")]


class ApiKeyOut(BaseModel):
    name: str
    key: str | None = Field(default=None, description="shown once, when the key is made")
    roles: list[str]
    active: bool = True


@router.post("/auth/token", response_model=Token)
async def sign_in(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep
) -> Token:
    """OAuth2 password flow: username and password in, a bearer token out. Attempts per account are limited
    (``SIGNAAL_SIGN_IN_RATE``, ``SIGNAAL_SIGN_IN_BURST``: 10 at once, then 12 a minute)."""
    if not services.settings.auth_required:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "authentication is off (development mode)")
    check_sign_in_rate(
        request, form.username, services.settings.sign_in_rate, services.settings.sign_in_burst
    )
    account = await run_in_threadpool(services.accounts.authenticate, form.username, form.password)
    if account is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password, or account inactive")
    lifetime = timedelta(hours=services.settings.token_hours)
    token = issue_token(
        services.settings.jwt_secret.get_secret_value(),
        account.username,
        account.roles,
        lifetime,
        account.token_generation,
    )
    return Token(
        access_token=token,
        expires_in=int(lifetime.total_seconds()),
        username=account.username,
        roles=sorted(account.roles),
    )


@router.get("/auth/me", response_model=Me)
def me(user: CurrentUser, services: ServicesDep) -> Me:
    return Me(
        name=user.name,
        roles=sorted(user.roles),
        capabilities=sorted(user.capabilities),
        auth_required=services.settings.auth_required,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(user: Admin, services: ServicesDep) -> list[UserOut]:
    return [
        UserOut(username=a.username, roles=sorted(a.roles), active=a.active)
        for a in services.accounts.users()
    ]


@router.post("/users", response_model=UserOut, status_code=201)
async def add_user(new: UserIn, user: Admin, services: ServicesDep) -> UserOut:
    account = await run_in_threadpool(
        services.accounts.add_user, new.username, new.password, new.roles, user.name
    )
    return UserOut(username=account.username, roles=sorted(account.roles), active=account.active)


@router.patch("/users/{username}", response_model=UserOut)
async def change_user(username: str, change: UserChange, user: Admin, services: ServicesDep) -> UserOut:
    account = await run_in_threadpool(
        lambda: services.accounts.change_user(
            username, user.name, roles=change.roles, active=change.active, password=change.password
        )
    )
    return UserOut(username=account.username, roles=sorted(account.roles), active=account.active)


@router.get("/apikeys", response_model=list[ApiKeyOut])
def list_api_keys(user: Admin, services: ServicesDep) -> list[ApiKeyOut]:
    return [ApiKeyOut(name=n, roles=r, active=a) for n, r, a in services.accounts.api_keys()]


@router.post("/apikeys", response_model=ApiKeyOut, status_code=201)
def add_api_key(new: ApiKeyIn, user: Admin, services: ServicesDep) -> ApiKeyOut:
    """A key for a producer (role producer: may only push posts). The key is shown in this answer only."""
    key = services.accounts.add_api_key(new.name, user.name)
    return ApiKeyOut(name=new.name, key=key, roles=["producer"])


@router.delete("/apikeys/{name}", status_code=204)
def revoke_api_key(name: str, user: Admin, services: ServicesDep) -> None:
    services.accounts.revoke_api_key(name, user.name)
