"""`signaal export` reads the service's database directly and writes each format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import cli
from app.config import Settings, get_settings
from app.export import read_json_export
from app.main import create_app


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    settings = Settings(database_url=url, kafka_bootstrap_servers=None, _env_file=None)
    with TestClient(create_app(settings)) as client:
        client.post("/api/incidents", json={"title": "Storm", "area": "Haren"})
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_export_writes_every_format(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("json", "csv", "html", "pdf"):
        assert cli.main(["export", "1", "--format", fmt, "--out", str(out)]) == 0
    written = sorted(p.suffix for p in out.iterdir())
    assert written == [".html", ".json", ".pdf", ".zip"]
    dossier = read_json_export(next(out.glob("*.json")))
    assert dossier.incident.title == "Storm"
    assert dossier.generated_by.startswith("cli:")
    assert "incident 1 'Storm'" in capsys.readouterr().out
    assert next(out.glob("*.pdf")).read_bytes().startswith(b"%PDF")


def test_export_of_an_unknown_incident_says_so(database: str) -> None:
    with pytest.raises(SystemExit, match="no incident 7"):
        cli.main(["export", "7", "--format", "json"])
