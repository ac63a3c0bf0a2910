"""What an operator must fix is said in one line naming it, not in a traceback (that comes with -v)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli, config
from app.config import UnsafeSettings, get_settings
from tests.app.test_api import native
from tests.scripted_http import Answer, scripted_server


@pytest.fixture(autouse=True)
def settings_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    get_settings.cache_clear()
    monkeypatch.delenv("SIGNAAL_PSEUDONYM_KEY", raising=False)
    config._warned_dev_key.clear()
    # cli.main points logging at the captured stderr of the test that calls it, closed once that test ends:
    # start without those handlers and put back what was there.
    handlers = logging.getLogger().handlers[:]
    logging.getLogger().handlers[:] = []
    yield
    get_settings.cache_clear()
    logging.getLogger().handlers[:] = handlers


def test_production_mode_with_development_secrets_is_refused_in_one_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNAAL_ENV", "production")
    assert cli.main(["serve"]) == 2  # before the service starts: nothing listens
    err = capsys.readouterr().err
    assert "signaal serve: refusing to start in production mode" in err
    assert "SIGNAAL_JWT_SECRET" in err and "Traceback" not in err
    get_settings.cache_clear()
    with pytest.raises(UnsafeSettings):
        cli.main(["-v", "serve"])


def test_a_broken_playbook_names_its_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "fire.yaml").write_text(
        "id: fire\ntitle: {nl: Brand, en: Fire}\ntriggers: [{detector: quake}]\n"
    )
    monkeypatch.setenv("SIGNAAL_PLAYBOOK_DIR", str(playbooks))
    posts = tmp_path / "posts.jsonl"
    posts.write_text(native("1") + "\n")
    assert cli.main(["detect", str(posts), "--out", str(tmp_path / "alerts.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"signaal detect: {playbooks / 'fire.yaml'}" in err and "triggers.0.detector" in err
    assert "Traceback" not in err


def test_a_replay_with_a_key_the_service_refuses_says_which_setting_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(native("1") + "\n")
    refused = Answer(
        401, "application/json", json.dumps({"detail": "a producer API key is required"}).encode()
    )
    with scripted_server(refused) as service:
        assert cli.main(["replay", str(posts), "--max", "--api-url", service.url]) == 2
        assert service.requests == ["POST /api/ingest?format=jsonl&source=posts.jsonl%3A1"]
    err = capsys.readouterr().err
    assert "signaal replay: the service refused the key (HTTP 401: a producer API key is required)" in err
    assert "SIGNAAL_API_KEY" in err and "Traceback" not in err


def test_only_commands_that_pseudonymise_warn_about_the_development_key_and_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "px.jsonl"
    small = ["--days-before", "2", "--scale", "0.1"]
    assert cli.main(["scenario", "projectx", *small, "--out", str(scenario)]) == 0
    assert "SIGNAAL_PSEUDONYM_KEY" not in capsys.readouterr().err  # its handles are made up, never hashed
    assert cli.main(["detect", str(scenario), "--out", str(tmp_path / "alerts.jsonl")]) == 0
    assert capsys.readouterr().err.count("SIGNAAL_PSEUDONYM_KEY is not set") == 1
