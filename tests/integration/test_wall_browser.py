"""The wall display (/wall) in headless Chromium against a real `signaal serve` (SQLite, in-process bus).

Posts go in as a user's tools send them (POST /api/ingest, NDJSON); the detectors raise a real spike alert;
a rumour is flagged and taken through the real API. The service is then restarted on the same port: the wall
must say it is reconnecting, and carry on by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser import page_errors, text_of, trap_page_errors
from tests.integration.service import (
    REPO,
    free_port,
    running_dashboard,
    service_env,
    stop_process,
    wait_until_answering,
)
from tests.integration.test_dashboard_browser import XSS

HAREN = (53.1721, 6.6093)
GRONINGEN = (53.2192, 6.5667)


class Service:
    """`signaal serve` on a fixed port and database, so it can be stopped and started again as the same
    service."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = service_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'wall.db'}",
            SIGNAAL_PORT=str(self.port),
            SIGNAAL_API_URL=self.url,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--no-access-log"], env=self.env, cwd=REPO
        )
        wait_until_answering(self.process, self.url + "/readyz", "signaal serve", timeout_s=60)

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None

    def ingest(self, records: list[dict]) -> None:
        body = "\n".join(json.dumps(r) for r in records)
        response = httpx.post(
            self.url + "/api/ingest", content=body, params={"source": "wall-test"}, timeout=10
        )
        response.raise_for_status()
        assert response.json()["accepted"] == len(records), response.json()

    def post(self, path: str, body: dict) -> dict:
        response = httpx.post(self.url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()


_ids = iter(range(1, 10**6))


def record(text: str, created: datetime, where: tuple[float, float] = HAREN, author: int = 0) -> dict:
    n = next(_ids)
    return {
        "platform": "test",
        "id": f"w{n}",
        "author": f"@bewoner{author or n}",
        "created_at": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "text": text,
        "coordinates": {"lat": where[0], "lon": where[1]},
    }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def wall_url(service: Service) -> Iterator[str]:
    with running_dashboard(service.url, ready_path="/wall") as url:
        yield url + "/wall"


MAP_POSTS = """
const gd = document.querySelector('#wall-map .js-plotly-plot');
if (!gd || !gd.data) { return -1; }
let n = 0;
for (const trace of gd.data.slice(0, 3)) {
    for (const hover of trace.hovertext || []) { n += parseInt(hover.match(/<b>(\\d+) posts?<\\/b>/)[1]); }
}
return n;
"""
VOLUME_POSTS = """
const gd = document.querySelector('#wall-volume .js-plotly-plot');
return gd && gd.data && gd.data[0].y ? gd.data[0].y.reduce((a, b) => a + b, 0) : -1;
"""


def test_wall_shows_live_posts_alerts_and_rumours_and_recovers_from_a_restart(
    chromium_driver: Chrome, service: Service, wall_url: str
) -> None:
    driver = chromium_driver
    trap_page_errors(driver)
    driver.get(wall_url)
    wait = WebDriverWait(driver, 20, poll_frequency=0.1)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#wall-map canvas.maplibregl-canvas"))
    wait.until(
        lambda d: d.execute_script("""
        const gd = document.querySelector('#wall-map .js-plotly-plot');
        const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
        return !!(sub && sub.map && sub.map.loaded() && gd.data.length === 6);
    """)
    )
    wait.until(lambda d: "LIVE" in text_of(d, "wall-conn"))
    assert "messaging apps" in text_of(driver, "wall-status")
    assert "No briefing held yet" in text_of(driver, "wall-briefing")

    # An ordinary hour in Groningen, then a burst in Haren: on the map and the chart within seconds, and the
    # spike detector's alert in the ticker.
    now = datetime.now(UTC)
    calm = [
        record("Gewoon een dag in Groningen", now - timedelta(minutes=90 - 4 * i), GRONINGEN)
        for i in range(20)
    ]
    burst = [
        record(
            f"Brand bij het station in Haren, veel rook #brandharen {i}",
            now - timedelta(seconds=90 - i),
            author=i,
        )
        for i in range(60)
    ]
    sent = time.monotonic()
    service.ingest(calm + burst)
    WebDriverWait(driver, 6, poll_frequency=0.1).until(lambda d: d.execute_script(MAP_POSTS) == 80)
    WebDriverWait(driver, 6, poll_frequency=0.1).until(lambda d: d.execute_script(VOLUME_POSTS) == 80)
    assert time.monotonic() - sent < 6
    WebDriverWait(driver, 8, poll_frequency=0.1).until(lambda d: "Piek in Haren" in text_of(d, "wall-ticker"))
    ticker = text_of(driver, "wall-ticker")
    assert any(
        word in ticker for word in ("LOW", "MEDIUM", "HIGH", "CRITICAL")
    )  # the word, not only a colour
    assert "test" in text_of(driver, "wall-status")  # posts per minute of the source

    # Hostile text in a post and in a rumour's claim is shown as text, never run.
    hostile = record(XSS, datetime.now(UTC))
    service.ingest([hostile])
    WebDriverWait(driver, 6, poll_frequency=0.1).until(lambda d: d.execute_script(MAP_POSTS) == 81)
    case = service.post("/api/rumours", {"post_key": f"test:{hostile['id']}", "claim": XSS})
    WebDriverWait(driver, 4, poll_frequency=0.1).until(lambda d: XSS in text_of(d, "wall-rumours"))
    rumours = text_of(driver, "wall-rumours")
    assert "NEW" in rumours and "no owner" in rumours
    assert not driver.find_elements(By.CSS_SELECTOR, "#wall-rumours img, #wall-map img, #wall-ticker img")
    time.sleep(0.5)  # give an onerror handler, had one been created, the chance to run
    assert driver.execute_script("return window.__xss") is None

    # After a briefing, taking the rumour shows on the board at once and under "since the last briefing".
    service.post("/api/briefing", {})
    owner = f"/api/rumours/{quote(case['case_id'], safe=':')}/owner"
    service.post(owner, {"owner": "me", "version": case["version"]})
    WebDriverWait(driver, 4, poll_frequency=0.1).until(lambda d: "local" in text_of(d, "wall-rumours"))
    WebDriverWait(driver, 6, poll_frequency=0.1).until(lambda d: "owner local" in text_of(d, "wall-briefing"))
    assert "1 rumour changes" in text_of(driver, "wall-briefing")

    # The service goes away: the wall says so, keeps what it has, and comes back by itself.
    service.stop()
    WebDriverWait(driver, 20, poll_frequency=0.2).until(lambda d: "RECONNECTING" in text_of(d, "wall-conn"))
    assert "frame down" in driver.find_element(By.ID, "wall-frame").get_attribute("class")
    assert driver.execute_script(MAP_POSTS) == 81  # the last picture stays up
    service.start()
    service.ingest([record(f"Na de herstart {i}", datetime.now(UTC)) for i in range(3)])
    WebDriverWait(driver, 40, poll_frequency=0.2).until(lambda d: "LIVE" in text_of(d, "wall-conn"))
    WebDriverWait(driver, 10, poll_frequency=0.2).until(lambda d: d.execute_script(VOLUME_POSTS) == 84)
    assert "frame ok" in driver.find_element(By.ID, "wall-frame").get_attribute("class")
    assert driver.execute_script("return window.__xss") is None
    errors = page_errors(driver)
    assert errors == [], errors
