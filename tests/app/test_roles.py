"""Every API route, for every role: allowed, 401 without credentials, 403 without the capability.

The expected capability of each route is written out here, by hand, apart from the code that enforces it;
a route the table does not know fails the test, so a new route cannot ship without a decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
PASSWORD = "correct horse battery"

OPEN = "open"
# (method, path) -> who may call it: OPEN, or the capability it needs.
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): OPEN,
    ("GET", "/readyz"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("POST", "/api/auth/token"): OPEN,
    ("GET", "/api/auth/me"): "any",
    ("GET", "/api/status"): "read",
    ("GET", "/api/posts"): "read",
    ("GET", "/api/posts/{key}"): "read",
    ("GET", "/api/stats/volume"): "read",
    ("POST", "/api/posts/{key}/reveal"): "reveal",
    ("GET", "/api/alerts"): "read",
    ("GET", "/api/alerts/{alert_id}"): "read",
    ("GET", "/api/alerts/{alert_id}/history"): "read",
    ("GET", "/api/rumours"): "read",
    ("GET", "/api/rumours/{case_id}"): "read",
    ("GET", "/api/rumours/{case_id}/history"): "read",
    ("POST", "/api/rumours"): "handle",
    ("POST", "/api/rumours/{case_id}/status"): "handle",
    ("POST", "/api/rumours/{case_id}/owner"): "handle",
    ("POST", "/api/rumours/{case_id}/notes"): "handle",
    ("POST", "/api/rumours/{case_id}/merge"): "handle",
    ("POST", "/api/rumours/{case_id}/split"): "handle",
    ("POST", "/api/rumours/{case_id}/answer"): "handle",
    ("GET", "/api/incidents"): "read",
    ("POST", "/api/incidents"): "coordinate",
    ("GET", "/api/incidents/{incident_id}"): "read",
    ("PATCH", "/api/incidents/{incident_id}"): "coordinate",
    ("GET", "/api/incidents/{incident_id}/drafts/analysis"): "read",
    ("GET", "/api/incidents/{incident_id}/drafts/advice"): "read",
    ("GET", "/api/incidents/{incident_id}/templates"): "read",
    ("GET", "/api/incidents/{incident_id}/entries"): "read",
    ("POST", "/api/incidents/{incident_id}/entries"): "handle",
    ("PUT", "/api/incidents/{incident_id}/entries/{entry_id}"): "handle",
    ("GET", "/api/incidents/{incident_id}/entries/{entry_id}/versions"): "read",
    ("GET", "/api/incidents/{incident_id}/effects"): "read",
    ("GET", "/api/incidents/{incident_id}/audit"): "read",
    ("GET", "/api/incidents/{incident_id}/export"): "handle",
    ("GET", "/api/playbooks"): "read",
    ("GET", "/api/briefing"): "read",
    ("POST", "/api/briefing"): "coordinate",
    ("GET", "/api/briefing/changes"): "read",
    ("GET", "/api/deadletter"): "administer",
    ("POST", "/api/ingest"): "ingest",
    ("GET", "/api/users"): "administer",
    ("POST", "/api/users"): "administer",
    ("PATCH", "/api/users/{username}"): "administer",
    ("GET", "/api/apikeys"): "administer",
    ("POST", "/api/apikeys"): "administer",
    ("DELETE", "/api/apikeys/{name}"): "administer",
}

# What each role may do, as the crisis room expects it (see the issue): written out, not imported.
ROLE_MAY = {
    "wall": {"read"},
    "adviser": {"read", "handle"},
    "coordinator": {"read", "handle", "coordinate", "reveal"},
    "admin": {"read", "handle", "coordinate", "reveal", "administer", "ingest"},
    "producer": {"ingest"},
}

EXAMPLE_PARAMS = {
    "alert_id": "spike:x",
    "case_id": "rumour:x",
    "incident_id": "1",
    "entry_id": "e1",
    "username": "nobody",
    "name": "nokey",
    "key": "scenario:1",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("roles") / "roles.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        kafka_bootstrap_servers=None,
        auth=True,
        jwt_secret=SECRET,
        sign_in_rate=0,  # these tests sign in dozens of times from one address; the limit has its own test
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def credentials(client: TestClient) -> dict[str, dict[str, str]]:
    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    headers: dict[str, dict[str, str]] = {}
    for role in ("wall", "adviser", "coordinator", "admin"):
        accounts.add_user(f"{role}-user", PASSWORD, [role], actor="test")
        response = client.post("/api/auth/token", data={"username": f"{role}-user", "password": PASSWORD})
        assert response.status_code == 200, response.text
        headers[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    headers["producer"] = {"X-API-Key": accounts.add_api_key("feeder", actor="test")}
    return headers


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """Every route the API documents, plus the scrape endpoint it keeps out of the documentation."""
    paths = client.get("/openapi.json").json()["paths"]
    found = [(method.upper(), path) for path, methods in paths.items() for method in methods]
    return [*found, ("GET", "/metrics")]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: EXAMPLE_PARAMS[m.group(1)], path)


def test_every_route_has_a_decision(client: TestClient) -> None:
    routes = set(_routes(client))
    assert routes - MATRIX.keys() == set(), "routes without an entry in the role matrix"
    assert MATRIX.keys() - routes == set(), "matrix entries for routes that do not exist"


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_route_for_every_role(
    client: TestClient, credentials: dict[str, dict[str, str]], method: str, path: str
) -> None:
    needed = MATRIX[method, path]
    url = _url(path)
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") and path != "/api/auth/token" else {}

    anonymous = client.request(method, url, **kwargs)
    if needed == OPEN:
        assert anonymous.status_code not in (401, 403), f"{method} {path} should be open"
    else:
        assert anonymous.status_code == 401, f"{method} {path} without credentials: {anonymous.status_code}"
        assert anonymous.headers.get("www-authenticate") == "Bearer"

    for role, headers in credentials.items():
        response = client.request(method, url, headers=headers, **kwargs)
        allowed = needed in (OPEN, "any") or needed in ROLE_MAY[role]
        if allowed:
            assert response.status_code not in (401, 403), f"{role} should be allowed {method} {path}"
        else:
            assert response.status_code == 403, f"{role} must not {method} {path}: {response.status_code}"


def test_a_bad_or_foreign_token_is_refused(
    client: TestClient, credentials: dict[str, dict[str, str]]
) -> None:
    from datetime import timedelta

    from app.security import issue_token

    forged = issue_token(
        "another-secret-of-sufficient-length-xx", "admin-user", frozenset({"admin"}), timedelta(hours=1)
    )
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = issue_token(SECRET, "admin-user", frozenset({"admin"}), timedelta(seconds=-1))
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert client.get("/api/posts", headers={"X-API-Key": "sgk_made-up"}).status_code == 401
    wrong = client.post("/api/auth/token", data={"username": "admin-user", "password": "not the password"})
    assert wrong.status_code == 401


def test_roles_come_from_the_account_not_the_token(
    client: TestClient, credentials: dict[str, dict[str, str]]
) -> None:
    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    accounts.add_user("temp-adviser", PASSWORD, ["adviser"], actor="test")
    token = client.post("/api/auth/token", data={"username": "temp-adviser", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/api/posts", headers=headers).status_code == 200
    accounts.change_user("temp-adviser", "test", roles=["wall"])
    assert client.post("/api/rumours/rumour:x/notes", json={"text": "x"}, headers=headers).status_code == 403
    assert client.get("/api/posts", headers=headers).status_code == 200
    accounts.change_user("temp-adviser", "test", active=False)
    assert client.get("/api/posts", headers=headers).status_code == 401


def test_a_password_change_ends_the_tokens_issued_before_it(
    client: TestClient, credentials: dict[str, dict[str, str]]
) -> None:
    from starlette.websockets import WebSocketDisconnect

    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    accounts.add_user("temp-changer", PASSWORD, ["adviser"], actor="test")

    def sign_in(password: str) -> dict[str, str]:
        response = client.post("/api/auth/token", data={"username": "temp-changer", "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    before = sign_in(PASSWORD)
    assert client.get("/api/posts", headers=before).status_code == 200
    new_password = "a different horse battery"
    changed = client.patch(
        "/api/users/temp-changer", json={"password": new_password}, headers=credentials["admin"]
    )
    assert changed.status_code == 200
    assert client.get("/api/posts", headers=before).status_code == 401  # e.g. a token taken with the password
    old_token = before["Authorization"].removeprefix("Bearer ")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"/ws/live?token={old_token}") as ws:
        ws.receive_json()
    after = sign_in(new_password)
    assert client.get("/api/posts", headers=after).status_code == 200
    # Changing roles keeps tokens (roles come from the account, see above); a reset by an admin from the
    # command line ends them (same path as here), and so does disabling: re-enabling the account does not
    # bring back a token that was stolen, which is what disabling was for.
    accounts.change_user("temp-changer", "test", roles=["wall"])
    assert client.get("/api/posts", headers=after).status_code == 200
    accounts.change_user("temp-changer", "test", password=PASSWORD)
    assert client.get("/api/posts", headers=after).status_code == 401
    again = sign_in(PASSWORD)
    accounts.change_user("temp-changer", "test", active=False)
    accounts.change_user("temp-changer", "test", active=True)
    assert client.get("/api/posts", headers=again).status_code == 401
    assert client.get("/api/posts", headers=sign_in(PASSWORD)).status_code == 200


def test_the_live_feed_needs_a_reader(client: TestClient, credentials: dict[str, dict[str, str]]) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/live") as websocket:
        websocket.receive_json()
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws/live", headers=credentials["producer"]) as websocket,
    ):
        websocket.receive_json()
    token = credentials["wall"]["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/ws/live?token={token}") as websocket:
        assert websocket.receive_json()["type"] == "hello"


def test_production_mode_refuses_development_secrets(tmp_path: Path) -> None:
    from app.config import UnsafeSettings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'prod.db'}", environment="production", _env_file=None
    )
    with (
        pytest.raises(UnsafeSettings, match="SIGNAAL_JWT_SECRET") as refused,
        TestClient(create_app(settings)),
    ):
        pass
    assert "SIGNAAL_PSEUDONYM_KEY" in str(refused.value)
    assert settings.auth_required


def test_sign_in_with_the_public_development_secret_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Outside production the checks are lowered by design; with sign-in on, a forgeable token is not.
    from app.config import check_for_production

    base = {"database_url": f"sqlite:///{tmp_path / 'dev.db'}", "_env_file": None}
    with caplog.at_level("WARNING"):
        check_for_production(Settings(**base, auth=True))
    assert "anyone can forge tokens" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        check_for_production(Settings(**base, auth=True, jwt_secret="a" * 40))
        check_for_production(Settings(**base, auth=False))
    assert "forge" not in caplog.text


def test_an_open_live_feed_ends_when_its_account_is_disabled(
    client: TestClient, credentials: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The socket checked the account only when it opened: a disabled wall screen kept receiving briefings.
    from starlette.websockets import WebSocketDisconnect

    from app.api import live

    monkeypatch.setattr(live, "RECHECK_S", 0.2)
    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    accounts.add_user("temp-wall", PASSWORD, ["wall"], actor="test")
    response = client.post("/api/auth/token", data={"username": "temp-wall", "password": PASSWORD})
    token = response.json()["access_token"]
    with client.websocket_connect(f"/ws/live?token={token}") as websocket:
        assert websocket.receive_json()["type"] == "hello"
        disabled = client.patch("/api/users/temp-wall", json={"active": False}, headers=credentials["admin"])
        assert disabled.status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
        assert closed.value.code == 1008


def test_sign_in_attempts_per_account_are_limited(tmp_path: Path) -> None:
    # Unlimited, password guessing was free, and each attempt costs argon2 64 MiB.
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'limit.db'}",
        kafka_bootstrap_servers=None,
        auth=True,
        jwt_secret=SECRET,
        sign_in_burst=3,
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
        accounts.add_user("guessed", PASSWORD, ["wall"], actor="test")
        for n in range(3):
            guess = {"username": "guessed", "password": f"guess {n}"}
            assert client.post("/api/auth/token", data=guess).status_code == 401
        refused = client.post("/api/auth/token", data={"username": "guessed", "password": PASSWORD})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # Per account: the dashboard signs everyone in from one address, and the others still get in.
        accounts.add_user("colleague", PASSWORD, ["wall"], actor="test")
        assert client.post("/api/auth/token", data={"username": "colleague", "password": PASSWORD}).is_success
