"""Sign-in in a real browser: with accounts required, pages send people to /login, an adviser's actions carry
her own name into the audit trail, a wall display opens with its display token, and a wrong password fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.integration.service import REPO, RunningService, running_dashboard, running_service
from tests.integration.test_rumour_board_browser import card_button, card_text, click, open_board

SECRET = "browser-test-secret-long-enough-for-signing"
PASSWORD = "correct horse battery staple"
POST = (
    '{"platform": "scenario", "id": "77", "author": "@x", "created_at": "2012-09-21T20:00:00Z", '
    '"text": "Er zou een bom liggen bij het station van Haren"}'
)


def _signaal(service: RunningService, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=service.env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningService, str, str, str]]:
    """A service that requires sign-in, two accounts, a flagged rumour, and a dashboard reading with a
    wall token. Yields the service, the dashboard URL, the wall token and the case id."""
    workdir: Path = tmp_path_factory.mktemp("signin")
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'signin.db'}",
        "SIGNAAL_AUTH": "true",
        "SIGNAAL_JWT_SECRET": SECRET,
    }
    with running_service(**env) as service:
        _signaal(
            service, "users", "add", "anna", "--role", "adviser", "--password-stdin", stdin=PASSWORD + "\n"
        )
        _signaal(service, "users", "add", "wand", "--role", "wall", "--password-stdin", stdin=PASSWORD + "\n")
        key = _signaal(service, "apikey", "add", "feeder").splitlines()[-1]
        wall_token = _signaal(service, "token", "wand", "--hours", "2")
        assert (
            httpx.post(service.url + "/api/ingest", content=POST, headers={"X-API-Key": key}).status_code
            == 200
        )
        anna = httpx.post(
            service.url + "/api/auth/token", data={"username": "anna", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {anna['access_token']}"}
        deadline = time.monotonic() + 30
        while True:
            flagged = httpx.post(
                service.url + "/api/rumours", json={"post_key": "scenario:77"}, headers=headers
            )
            if flagged.status_code == 201:
                break
            assert time.monotonic() < deadline, flagged.text
            time.sleep(0.3)
        dashboard_env = {**service.env, "SIGNAAL_DASHBOARD_TOKEN": wall_token}
        with running_dashboard(service.url, dashboard_env, ready_path="/login") as url:
            yield service, url, wall_token, flagged.json()["case_id"]


def _sign_in(driver: Chrome, url: str, username: str, password: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: "/login" in d.current_url)
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()


def test_an_adviser_signs_in_and_her_name_is_on_what_she_does(
    chromium_driver: Chrome, signed: tuple[RunningService, str, str, str]
) -> None:
    service, url, _, case_id = signed
    driver = chromium_driver
    _sign_in(driver, url + "/rumours", "anna", "not her password")
    WebDriverWait(driver, 10).until(lambda d: "Wrong user name or password" in d.page_source)

    driver.find_element(By.NAME, "username").send_keys("anna")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/rumours"))
    open_board(driver, url + "/rumours")
    WebDriverWait(driver, 10).until(lambda d: "anna" in d.find_element(By.ID, "rb-me").text)

    click(driver, card_button(case_id, "Take"))
    WebDriverWait(driver, 10).until(lambda d: "anna" in card_text(d, case_id))
    anna = httpx.post(service.url + "/api/auth/token", data={"username": "anna", "password": PASSWORD}).json()
    history = httpx.get(
        f"{service.url}/api/rumours/{case_id}/history",
        headers={"Authorization": f"Bearer {anna['access_token']}"},
    ).json()
    assert [(h["action"], h["actor"], h["detail"]["to"]) for h in history if h["action"] == "owner"] == [
        ("owner", "anna", "anna")
    ]


def test_a_wall_display_opens_with_its_token_and_cannot_act(
    chromium_driver: Chrome, signed: tuple[RunningService, str, str, str]
) -> None:
    service, url, wall_token, case_id = signed
    driver = chromium_driver
    driver.get(f"{url}/login?token=not-a-token&next=/wall")
    WebDriverWait(driver, 10).until(lambda d: "display token is not valid" in d.page_source)
    driver.get(f"{url}/login?token={wall_token}&next=/wall")
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/wall"))
    WebDriverWait(driver, 30).until(lambda d: "LIVE" in d.find_element(By.TAG_NAME, "body").text)
    refused = httpx.post(
        f"{service.url}/api/rumours/{case_id}/notes",
        json={"text": "from the wall"},
        headers={"Authorization": f"Bearer {wall_token}"},
    )
    assert refused.status_code == 403
