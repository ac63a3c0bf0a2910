"""The rumour board in headless Chromium, against a real `signaal serve` fed a Project X scenario.

The detector makes real rumour cases from the scenario; `signaal dashboard` runs as its own process, as a
user starts it. Two browser sessions stand for two advisers: what one does, the other sees within ~3 s.

Set ``SIGNAAL_UPDATE_SCREENSHOTS=1`` to also write the board's screenshot to docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.display import parse_time, to_local
from tests.conftest import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
from tests.integration.browser import page_errors, trap_page_errors
from tests.integration.service import REPO, RunningService, running_dashboard, running_service

XSS = "<img src=x onerror=window.__x=1>"
SCREENSHOT = REPO / "docs" / "screenshots" / "rumours-1920x1080.png"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningService, str]]:
    """A service with the Project X scenario's rumour cases (and one hostile claim), and the dashboard."""
    from streams.scenarios import projectx

    workdir = tmp_path_factory.mktemp("board")
    with running_service(DATABASE_URL=f"sqlite:///{workdir / 'board.db'}") as service:
        scenario = projectx.generate(town="Haren", seed=4, days_before=1)
        lines = [json.dumps(record) for record in scenario.records]
        for start in range(0, len(lines), 2000):
            chunk = "\n".join(lines[start : start + 2000])
            httpx.post(service.url + "/api/ingest", content=chunk, params={"source": "px"}, timeout=60)
        service.wait_until_processed(len(lines))
        assert service.get("/api/rumours")["total"] >= 5, "the detector made too few rumour cases"

        with running_dashboard(service.url, service.env, ready_path="/rumours") as url:
            yield service, url + "/rumours"


@contextmanager
def second_browser() -> Iterator[Chrome]:
    """Another adviser: a second Chromium with its own empty profile (so its own name in local storage)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="signaal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.set_window_size(1920, 1080)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_board(driver: Chrome, url: str) -> None:
    trap_page_errors(driver)
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rb-cards article.rb-card"))


def card_of(driver: Chrome, case_id: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#rb-cards article[data-case="{case_id}"]')


def card_text(driver: Chrome, case_id: str) -> str:
    try:
        return card_of(driver, case_id).text
    except (WebDriverException, StaleElementReferenceException):
        return ""


def click(driver: Chrome, find: Callable[[Chrome], WebElement], timeout: float = 10) -> None:
    """Click what ``find`` returns, again if the board re-rendered it under our hand."""

    def attempt(d: Chrome) -> bool:
        try:
            element = find(d)
            d.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()
            return True
        except (StaleElementReferenceException, WebDriverException):
            return False

    WebDriverWait(driver, timeout, poll_frequency=0.2).until(attempt)


def card_button(case_id: str, label: str) -> Callable[[Chrome], WebElement]:
    def find(driver: Chrome) -> WebElement:
        [button] = [
            b for b in card_of(driver, case_id).find_elements(By.TAG_NAME, "button") if b.text == label
        ]
        return button

    return find


def set_name(driver: Chrome, name: str) -> None:
    field = driver.find_element(By.ID, "rb-name")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.ID, "rb-name-save").click()
    WebDriverWait(driver, 5).until(lambda d: name in d.find_element(By.ID, "rb-me").text)


def flash(driver: Chrome) -> str:
    return driver.find_element(By.ID, "rb-flash").text


def test_two_advisers_work_a_rumour_and_see_each_other(
    chromium_driver: Chrome, board: tuple[RunningService, str]
) -> None:
    service, url = board
    cases = service.get("/api/rumours", limit=100)["items"]
    target = next(c for c in cases if c["status"] == "new" and c["owner"] is None)["case_id"]
    # A claim written by a stranger, flagged by hand: it must show as text and never run.
    newest = service.get("/api/posts", limit=1)["items"][0]["key"]
    response = httpx.post(service.url + "/api/rumours", json={"post_key": newest, "claim": XSS}, timeout=10)
    hostile = response.json()["case_id"]

    anna = chromium_driver
    open_board(anna, url)
    assert "Enter your name once" in anna.find_element(By.ID, "rb-me").text
    set_name(anna, "Anna de Vries")

    with second_browser() as bram:
        open_board(bram, url)
        WebDriverWait(bram, 10).until(lambda d: "Nobody on it" in card_text(d, target))

        # Anna takes the case; Bram's board shows her as the owner within ~3 s, without reloading.
        click(anna, card_button(target, "Take"))
        WebDriverWait(anna, 10).until(lambda d: "You (Anna de Vries) are on this case now." in flash(d))
        taken = time.monotonic()
        WebDriverWait(bram, 3.5, poll_frequency=0.1).until(lambda d: "Anna de Vries" in card_text(d, target))
        assert time.monotonic() - taken < 3.5
        assert "(you)" in card_text(anna, target) and "(you)" not in card_text(bram, target)

        # Checking, then denied: only the steps the workflow allows have buttons.
        click(anna, card_button(target, "Check"))
        WebDriverWait(anna, 10).until(lambda d: "CHECKING" in card_text(d, target))
        labels = [b.text for b in card_of(anna, target).find_elements(By.TAG_NAME, "button")]
        assert "Check" not in labels and {"Confirmed", "Denied", "Unfounded", "Close"} <= set(labels)
        click(anna, card_button(target, "Denied"))
        WebDriverWait(anna, 10).until(lambda d: "DENIED" in card_text(d, target))

        # Open the case and link the official answer.
        click(anna, lambda d: card_of(d, target).find_element(By.CSS_SELECTOR, "button.rb-open"))
        WebDriverWait(anna, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#rb-d-head .rb-status").text == "DENIED"
        )
        anna.find_element(By.CSS_SELECTOR, "#rb-answer-form summary").click()
        anna.find_element(By.ID, "rb-answer-text").send_keys("Er is niemand neergestoken in Haren.")
        anna.find_element(By.ID, "rb-answer-url").send_keys("https://www.groningen.nl/nieuws")
        # Published while the rumour peaked (Amsterdam time, as the adviser reads the clock).
        peak = max(service.get(f"/api/rumours/{target}")["spread"], key=lambda p: p["count"])["start"]
        published = parse_time(_at(peak, 20))
        assert published is not None
        anna.find_element(By.ID, "rb-answer-at").send_keys(to_local(published).strftime("%Y-%m-%d %H:%M"))
        anna.find_element(By.ID, "rb-answer-do").click()
        WebDriverWait(anna, 10).until(lambda d: "Answer linked" in flash(d))
        WebDriverWait(anna, 10).until(
            lambda d: "Er is niemand neergestoken in Haren." in card_text(d, target)
        )
        WebDriverWait(anna, 5).until(lambda d: "ANSWERED" in d.find_element(By.ID, "rb-d-head").text)
        assert "before → after" in anna.find_element(By.ID, "rb-d-answer").text

        # Bram sees it answered, by Anna, without reloading.
        WebDriverWait(bram, 3.5, poll_frequency=0.1).until(lambda d: "ANSWERED" in card_text(d, target))
        assert "Anna de Vries" in card_text(bram, target)
        case = service.get(f"/api/rumours/{target}")
        assert (case["status"], case["owner"], case["answer"]["channel"]) == (
            "answered",
            "Anna de Vries",
            "social",
        )
        assert [h["action"] for h in case["history"]] == ["owner", "status", "status", "answer"]

        # The hostile claim is text on both boards, and nothing ran.
        for driver in (anna, bram):
            WebDriverWait(driver, 5).until(lambda d: XSS in card_text(d, hostile))
            assert not driver.find_elements(By.CSS_SELECTOR, "#rb-cards article img:not(.rb-spark)")
        time.sleep(0.5)
        for driver in (anna, bram):
            assert driver.execute_script("return window.__x") is None
            errors = page_errors(driver)
            assert errors == [], errors


def _at(moment: str | None, minutes: int) -> str | None:
    start = parse_time(moment)
    return (start + timedelta(minutes=minutes)).isoformat() if start else None


def _prepare_realistic_board(service: RunningService) -> str:
    """Owners, statuses, notes and answers as a busy evening would leave them; returns the case to open."""
    post = service.url + "/api/rumours/"

    def send(case: dict[str, Any], what: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(post + case["case_id"] + "/" + what, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    cases = [c for c in service.get("/api/rumours", limit=100)["items"] if c["owner"] is None]
    details = {c["case_id"]: service.get(f"/api/rumours/{c['case_id']}") for c in cases}
    # The stabbing rumours (not the party invitation, a 'rumour' of a thousand shares), mapped ones first.
    claims = [c for c in cases if c["post_count"] < 300 and c["stance"]["support"] > c["stance"]["deny"]]
    by_points = sorted(
        claims, key=lambda c: (len(details[c["case_id"]]["points"]), c["post_count"]), reverse=True
    )
    opened = by_points[0]
    peak = max(details[opened["case_id"]]["spread"], key=lambda p: p["count"])["start"]
    people = ["Fatima El Amrani", "Pieter Bakker", "Sanne de Jong"]
    case = send(opened, "owner", {"owner": people[0]})
    case = send(case, "status", {"status": "denied", "reason": "politie: geen steekpartij"})
    httpx.post(
        post + opened["case_id"] + "/notes", json={"text": "Politie Groningen bevestigt: niemand gewond."}
    )
    send(
        case,
        "answer",
        {
            "text": "Er is in Haren niemand neergestoken. Deel geen berichten die niet kloppen.",
            "channel": "social",
            "url": "https://www.groningen.nl/nieuws/project-x-haren",
            "published_at": _at(peak, 20),  # answered while it peaked
        },
    )
    for case, owner, steps in zip(
        by_points[1:4],
        [*people[1:], people[0]],
        (["checking"], ["checking", "unfounded"], ["checking"]),
        strict=False,
    ):
        current = send(case, "owner", {"owner": owner})
        for step in steps:
            current = send(current, "status", {"status": step})
    return opened["case_id"]


def test_screenshot_of_a_realistic_board(
    chromium_driver: Chrome, board: tuple[RunningService, str], tmp_path: Path
) -> None:
    service, url = board
    opened = _prepare_realistic_board(service)
    driver = chromium_driver
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False},
    )
    trap_page_errors(driver)
    driver.get(url)
    driver.execute_script("window.localStorage.setItem('rb-adviser', JSON.stringify('Pieter Bakker'));")
    open_board(driver, url)
    click(driver, lambda d: card_of(d, opened).find_element(By.CSS_SELECTOR, "button.rb-open"))
    wait = WebDriverWait(driver, 20)
    wait.until(lambda d: "Fatima El Amrani" in d.find_element(By.ID, "rb-d-head").text)
    wait.until(lambda d: "before → after" in d.find_element(By.ID, "rb-d-answer").text)
    wait.until(
        lambda d: d.execute_script("""
        const gd = document.querySelector('#rb-d-map .js-plotly-plot');
        const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
        return !!(sub && sub.map && sub.map.loaded() && gd.data[0].lat.length > 0);
    """)
    )
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rb-d-spread .shapelayer path"))  # the answer line
    assert "Pieter Bakker" in driver.find_element(By.ID, "rb-me").text
    driver.execute_script("document.querySelector('.rb-list').scrollTop = 0;")
    driver.execute_script("document.querySelector('#rb-detail').scrollTop = 0;")
    time.sleep(1.0)  # let the map's labels fade in
    shot = tmp_path / "rumours-1920x1080.png"
    driver.save_screenshot(str(shot))
    assert page_errors(driver) == []
    if os.environ.get("SIGNAAL_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
