"""Accounts from the command line: a user signs in with what `signaal users add` set, a producer pushes
with the key `signaal apikey add` printed, and `signaal token` mints a token the service accepts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import cli
from app.config import Settings, get_settings
from app.main import create_app

SECRET = "cli-test-secret-long-enough-for-signing-tokens"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    for name, value in {"DATABASE_URL": url, "SIGNAAL_AUTH": "true", "SIGNAAL_JWT_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def test_accounts_made_on_the_command_line_work_in_the_service(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "a long enough password\n"
    run(monkeypatch, capsys, "users", "add", "anna", "--role", "adviser", "--password-stdin", stdin=password)
    run(monkeypatch, capsys, "users", "add", "wand", "--role", "wall", "--password-stdin", stdin=password)
    assert "anna" in run(monkeypatch, capsys, "users", "list")
    key = run(monkeypatch, capsys, "apikey", "add", "feeder").strip().splitlines()[-1]
    wall_token = run(monkeypatch, capsys, "token", "wand", "--hours", "1").strip()
    with pytest.raises(SystemExit, match="exists"):
        run(monkeypatch, capsys, "users", "add", "anna", "--role", "wall", "--password-stdin", stdin=password)
    with pytest.raises(SystemExit, match="12 characters"):
        run(monkeypatch, capsys, "users", "add", "bob", "--role", "wall", "--password-stdin", stdin="short\n")

    settings = Settings(
        database_url=env, auth=True, jwt_secret=SECRET, kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        signed_in = client.post("/api/auth/token", data={"username": "anna", "password": password.strip()})
        assert signed_in.json()["roles"] == ["adviser"]
        line = json.dumps(
            {"platform": "x", "id": "1", "author": "@a", "created_at": "2026-01-01T00:00:00Z", "text": "a"}
        )
        assert client.post("/api/ingest", content=line, headers={"X-API-Key": key}).json()["accepted"] == 1
        wall = {"Authorization": f"Bearer {wall_token}"}
        assert client.get("/api/posts", headers=wall).status_code == 200
        assert client.post("/api/briefing", json={}, headers=wall).status_code == 403
        room = client.app.state.services.room.room  # type: ignore[attr-defined]
        [issued] = room.audit_for(["user:wand"], actions=["token issued"])
        assert issued.detail == {"hours": 1.0}

    run(monkeypatch, capsys, "users", "set", "wand", "--no-active")
    run(monkeypatch, capsys, "apikey", "revoke", "feeder")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/posts", headers=wall).status_code == 401
        assert client.post("/api/ingest", content=line, headers={"X-API-Key": key}).status_code == 401
