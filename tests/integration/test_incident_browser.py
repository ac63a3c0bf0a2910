"""The incident pages in headless Chromium against a real `signaal serve` (SQLite, in-process bus) and a real
`signaal dashboard`: open an incident, feed it a Project X scenario, go round the crisis-communication cycle
(analyse, edit the analysis, advise, act, evaluate) and export the dossier.

Set ``SIGNAAL_SCREENSHOTS=docs/screenshots`` to also write the pages' 1920x1080 screenshots at the end.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser import page_errors, text_of, trap_page_errors
from tests.integration.service import RunningService, running_dashboard, running_service

WHO_AND_WHEN = re.compile(r"by local at \w{3} \d\d \w{3} \d\d:\d\d")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    with running_service(DATABASE_URL=f"sqlite:///{tmp_path / 'incident.db'}") as running:
        yield running


@pytest.fixture
def dashboard(service: RunningService) -> Iterator[str]:
    """`signaal dashboard` as its own process, reading from the service."""
    with running_dashboard(service.url, service.env, ready_path="/incidents") as url:
        yield url


def ingest_scenario(service: RunningService) -> int:
    from streams.scenarios import projectx

    scenario = projectx.generate(town="Haren", seed=4, days_before=1)
    lines = [json.dumps(record) for record in scenario.records]
    before = service.pipeline()["received"]
    for start in range(0, len(lines), 2000):
        response = httpx.post(
            service.url + "/api/ingest",
            content="\n".join(lines[start : start + 2000]),
            params={"source": "px"},
            timeout=60,
        )
        response.raise_for_status()
    service.wait_until_processed(before + len(lines), timeout_s=120)
    return len(lines)


# --- browser helpers -------------------------------------------------------------------------------------


def until(driver: Chrome, check: Callable[[Chrome], Any], timeout: float = 20) -> Any:
    return WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
    ).until(check)


def click(driver: Chrome, element: WebElement, timeout: float = 10) -> None:
    """Click once the element can take it: a form that just opened may still be rendering (CI saw a
    dropdown clicked a moment before it was interactable)."""

    def attempt(d: Chrome) -> bool:
        try:
            d.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()
            return True
        except (ElementNotInteractableException, ElementClickInterceptedException):
            return False

    WebDriverWait(driver, timeout, poll_frequency=0.2).until(attempt)


def choose(driver: Chrome, dropdown_id: str, value: str) -> None:
    """Pick an option of a Dash dropdown by its value."""
    click(driver, driver.find_element(By.ID, dropdown_id))

    def option(d: Chrome) -> WebElement | None:
        for candidate in d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content [role=option]"):
            radio = candidate.find_elements(By.CSS_SELECTOR, "input")
            if radio and radio[0].get_attribute("value") == value:
                return candidate
        return None

    until(driver, option).click()
    until(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content"))


def type_into(driver: Chrome, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def entries_text(driver: Chrome, step: str) -> str:
    return text_of(driver, f"inc-{step}-entries")


def fill_placeholders(message: str) -> str:
    values = {
        "{town}": "Haren",
        "{date}": "zondag 15 september",
        "{hashtag}": "projectxharen",
        "{place}": "Stationsweg",
    }
    for placeholder, value in values.items():
        message = message.replace(placeholder, value)
    return message


def screenshot(driver: Chrome, path: Path) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(1.5)  # plotly redraws at the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


def allow_downloads(driver: Chrome, folder: Path) -> None:
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def downloaded(folder: Path, suffix: str) -> Path | None:
    done = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
    return done[0] if done else None


# --- the cycle -------------------------------------------------------------------------------------------


def test_an_incident_goes_round_the_cycle_in_the_browser(
    chromium_driver: Chrome, service: RunningService, dashboard: str, tmp_path: Path
) -> None:
    driver = chromium_driver
    trap_page_errors(driver)

    # Open the incident from the list page; the form takes us to its page.
    driver.get(dashboard + "/incidents")
    until(driver, lambda d: "No incidents yet" in text_of(d, "incidents-rows"))
    type_into(driver, "incidents-title", "Project X Haren")
    type_into(driver, "incidents-area", "Haren")
    choose(driver, "incidents-playbook", "projectx")
    click(driver, driver.find_element(By.ID, "incidents-open"))
    until(driver, lambda d: re.search(r"/incidents/\d+$", d.current_url))
    incident_id = int(driver.current_url.rsplit("/", 1)[1])
    until(driver, lambda d: "Project X Haren" in text_of(d, "inc-head"))
    assert "opened by local" in text_of(driver, "inc-head")

    # The posts arrive after the incident is open: its alerts and rumour cases link themselves by area.
    ingest_scenario(service)
    until(driver, lambda d: "Oproep verspreidt zich" in text_of(d, "inc-alerts"), timeout=30)
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-cases li.case a[href^='/rumours?case=']"))
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-volume g.trace.bars path"))

    # Analyse: a snapshot of the last 48 hours (the party and the day after) under the three goals with its
    # evidence, edited and saved.
    choose(driver, "inc-snap-hours", "48")
    click(driver, driver.find_element(By.ID, "inc-snap"))
    until(driver, lambda d: d.find_element(By.ID, "inc-analysis-summary").get_attribute("value"))
    goals = text_of(driver, "inc-analysis-goals")
    assert "Information need" in goals and "Damage limitation" in goals and "Sense-making" in goals
    assert driver.find_elements(By.CSS_SELECTOR, "#inc-analysis-goals a[href^='/rumours?case=']")
    type_into(driver, "inc-analysis-summary", "Onrust rond de Stationsweg; veel vragen over een steekpartij.")
    click(driver, driver.find_element(By.ID, "inc-analysis-save"))
    until(driver, lambda d: "Onrust rond de Stationsweg" in entries_text(d, "analyse"))
    assert WHO_AND_WHEN.search(entries_text(driver, "analyse"))

    # Editing the saved analysis adds version 2; version 1 stays readable.
    click(driver, driver.find_element(By.CSS_SELECTOR, "#inc-analyse-entries .entry-head button"))
    until(driver, lambda d: "Editing analysis (version 1)" in text_of(d, "inc-analysis-mode"))
    type_into(driver, "inc-analysis-summary", "Geen steekpartij bevestigd; de oproep blijft rondgaan.")
    click(driver, driver.find_element(By.ID, "inc-analysis-save"))
    until(driver, lambda d: "version 2" in entries_text(d, "analyse"))
    analysis = entries_text(driver, "analyse")
    assert "Geen steekpartij bevestigd" in analysis
    assert re.search(r"edited by local at \w{3} \d\d \w{3} \d\d:\d\d", analysis)
    assert "first written by local" in analysis
    assert "Findings: " in analysis and "Oproep verspreidt zich" not in analysis  # folded until opened
    click(driver, driver.find_element(By.CSS_SELECTOR, "#inc-analyse-entries .findings-fold summary"))
    until(driver, lambda d: "Oproep verspreidt zich" in entries_text(d, "analyse"))
    click(driver, driver.find_element(By.CSS_SELECTOR, "#inc-analyse-entries details.versions summary"))
    until(driver, lambda d: "Onrust rond de Stationsweg" in entries_text(d, "analyse"))

    # Advise: the projectx checklist, one item ticked with a note, and the advice itself.
    click(driver, driver.find_element(By.ID, "inc-advice-load"))
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-advice-checklist input[type=checkbox]"))
    assert "Informatiebehoefte" in text_of(driver, "inc-advice-checklist")
    click(driver, driver.find_elements(By.CSS_SELECTOR, "#inc-advice-checklist input[type=checkbox]")[0])
    driver.find_elements(By.CSS_SELECTOR, "#inc-advice-checklist .check-note input")[0].send_keys(
        "website 19:00"
    )
    type_into(
        driver, "inc-advice-text", "Adviseer een NL-Alert voor de Stationsweg en een bericht op de website."
    )
    click(driver, driver.find_element(By.ID, "inc-advice-save"))
    until(driver, lambda d: "Adviseer een NL-Alert" in entries_text(d, "advise"))
    assert "Checklist (playbook projectx): 1 of 5 done" in entries_text(driver, "advise")
    click(driver, driver.find_element(By.CSS_SELECTOR, "#inc-advise-entries .checklist-fold summary"))
    until(driver, lambda d: "☑" in entries_text(d, "advise"))
    advice = entries_text(driver, "advise")
    assert "☑" in advice and "website 19:00" in advice and WHO_AND_WHEN.search(advice)

    # Act: a template from the playbook, its {placeholders} filled in, published at 19:00 local.
    click(driver, driver.find_element(By.ID, "inc-act-open"))
    choose(driver, "inc-act-template", "no-party-social")
    click(driver, driver.find_element(By.ID, "inc-act-insert"))
    until(
        driver, lambda d: "{town}" in (d.find_element(By.ID, "inc-act-message").get_attribute("value") or "")
    )
    click(driver, driver.find_element(By.ID, "inc-act-save"))
    until(driver, lambda d: "Fill in" in text_of(d, "inc-act-message-out"))  # not with placeholders left
    template = driver.find_element(By.ID, "inc-act-message").get_attribute("value") or ""
    message = fill_placeholders(template)
    assert "{" not in message
    type_into(driver, "inc-act-message", message)
    type_into(driver, "inc-act-url", "https://www.haren.nl/nieuws/geen-feest")
    type_into(driver, "inc-act-at", "2024-09-15 19:00")
    click(driver, driver.find_element(By.ID, "inc-act-save"))
    until(driver, lambda d: "GEEN feest in Haren" in entries_text(d, "act"))
    action = entries_text(driver, "act")
    assert "social media" in action and "template no-party-social" in action and WHO_AND_WHEN.search(action)
    assert "stream time Sun 15 Sep 19:00" in action

    # Evaluate: the measured effect is shown live; the evaluation stores it with the comment.
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-effects .effect-card g.trace.bars path"))
    effects = text_of(driver, "inc-effects")
    assert "posts:" in effects and "measured" in effects
    entry_id = next(
        e["entry_id"] for e in service.get(f"/api/incidents/{incident_id}/entries") if e["step"] == "act"
    )
    choose(driver, "inc-eval-action", entry_id)
    type_into(driver, "inc-eval-comment", "De oproep werd minder gedeeld na het bericht.")
    click(driver, driver.find_element(By.ID, "inc-eval-save"))
    until(driver, lambda d: "De oproep werd minder gedeeld" in entries_text(d, "evaluate"))
    evaluation = entries_text(driver, "evaluate")
    measured = service.get(f"/api/incidents/{incident_id}/effects")[entry_id]
    assert f"posts: {measured['posts_before']} → {measured['posts_after']}" in evaluation
    assert measured["posts_before"] > 0 and measured["complete"] is True
    assert WHO_AND_WHEN.search(evaluation)

    # The audit trail has every write, with who and a short hash.
    until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#inc-audit tr")) >= 6)
    audit = text_of(driver, "inc-audit")
    assert "local" in audit and "opened" in audit
    hashes = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#inc-audit td.hash")]
    assert hashes and all(len(h) == 12 for h in hashes)

    # The dossier of the whole cycle exports as a multi-page PDF with the timeline in it.
    allow_downloads(driver, tmp_path)
    click(driver, driver.find_element(By.ID, "inc-export-pdf"))
    pdf = until(driver, lambda _: downloaded(tmp_path, ".pdf"), timeout=90)
    reader = PdfReader(pdf)
    assert len(reader.pages) > 1
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Project X Haren" in text and "Timeline" in text

    assert page_errors(driver) == []

    shots = os.environ.get("SIGNAAL_SCREENSHOTS")
    if shots:
        driver.get(f"{dashboard}/incidents/{incident_id}")  # as an adviser arriving finds it
        until(
            driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-effects .effect-card g.trace.bars path")
        )
        until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#inc-volume g.trace.bars path"))
        screenshot(driver, Path(shots) / "incident-1920x1080.png")
        # A room's list holds more than one incident: an earlier one, closed, and a second open one.
        for title, area, playbook in (
            ("Brand Zernike Haren", "Haren", "fire"),
            ("Gerucht: leger in Haren", None, "rumour"),
        ):
            opened = httpx.post(
                service.url + "/api/incidents", json={"title": title, "area": area, "playbook": playbook}
            )
            if playbook == "fire":
                httpx.patch(
                    f"{service.url}/api/incidents/{opened.json()['incident_id']}", json={"status": "closed"}
                )
        driver.get(dashboard + "/incidents")
        until(driver, lambda d: "Project X Haren" in text_of(d, "incidents-rows"))
        screenshot(driver, Path(shots) / "incidents-1920x1080.png")


def test_the_pdf_export_downloads_through_the_dashboard(
    chromium_driver: Chrome, service: RunningService, dashboard: str, tmp_path: Path
) -> None:
    incident = httpx.post(
        service.url + "/api/incidents", json={"title": "Brand Haren", "area": "Haren"}
    ).json()
    driver = chromium_driver
    allow_downloads(driver, tmp_path)
    driver.get(f"{dashboard}/incidents/{incident['incident_id']}")
    until(driver, lambda d: "Brand Haren" in text_of(d, "inc-head"))
    click(driver, driver.find_element(By.ID, "inc-export-pdf"))
    pdf = until(driver, lambda _: downloaded(tmp_path, ".pdf"), timeout=60)
    assert pdf.name.startswith(f"signaal-incident-{incident['incident_id']}-")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "downloaded" in text_of(driver, "inc-export-message")
