"""The live dashboard in headless Chromium, fed by a real server speaking the Signaal API contract.

The dashboard runs as its own process (``signaal dashboard``, as a user starts it), so Dash's page registry
and the LiveFeed thread are exactly what a user gets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.contract_api import ContractApi, make_alert, make_post
from tests.integration.browser import page_errors, trap_page_errors
from tests.integration.service import running_dashboard

XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def api() -> Iterator[ContractApi]:
    server = ContractApi().start()
    yield server
    server.stop()


@pytest.fixture
def dashboard_url(api: ContractApi) -> Iterator[str]:
    with running_dashboard(api.url) as url:
        yield url + "/"


def newest_posts_text(driver: Chrome) -> str:
    return driver.find_element(By.ID, "live-posts").text


def alerts_text(driver: Chrome) -> str:
    return driver.find_element(By.ID, "live-alerts").text


def test_live_page_renders_and_shows_pushed_posts_as_text(
    chromium_driver: Chrome, api: ContractApi, dashboard_url: str
) -> None:
    api.store_only(make_post("Rook gezien boven Haren", lat=53.17, lon=6.61))
    trap_page_errors(chromium_driver)
    chromium_driver.get(dashboard_url)
    wait = WebDriverWait(chromium_driver, 20)

    # The map is a MapLibre WebGL canvas with the posts' traces; the volume chart has its bars.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#live-map canvas.maplibregl-canvas"))
    wait.until(
        lambda d: d.execute_script("""
        const gd = document.querySelector('#live-map .js-plotly-plot');
        const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
        return !!(sub && sub.map && sub.map.loaded() && gd.data.length === 5);
    """)
    )
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#live-volume g.trace.bars path"))
    wait.until(lambda d: "Rook gezien boven Haren" in newest_posts_text(d))  # caught up over REST
    status = chromium_driver.find_element(By.ID, "live-status").text
    assert "cannot see closed groups or messaging apps" in status

    # A post pushed over the WebSocket shows up in the list within ~3 s.
    api.wait_for_clients(1)
    marker = f"Brandweer rukt uit naar de Meerweg {uuid.uuid4().hex[:8]}"
    published = time.monotonic()
    api.publish(make_post(marker))
    WebDriverWait(chromium_driver, 3.5, poll_frequency=0.1).until(lambda d: marker in newest_posts_text(d))
    assert time.monotonic() - published < 3.5
    assert "Live" in chromium_driver.find_element(By.ID, "live-status").text

    # Hostile text is shown literally and never becomes markup.
    api.publish(make_post(XSS))
    WebDriverWait(chromium_driver, 3.5, poll_frequency=0.1).until(lambda d: XSS in newest_posts_text(d))
    assert not chromium_driver.find_elements(By.CSS_SELECTOR, "#live-posts img")
    time.sleep(0.5)  # give an onerror handler, had one been created, the chance to run
    assert chromium_driver.execute_script("return window.__xss") is None

    # An alert pushed over the WebSocket shows up in the alert panel, hostile title and all, as text.
    alert = make_alert(
        XSS,
        kind="rumour",
        severity="critical",
        explanation=f"12 accounts delen hetzelfde bericht {XSS}",
        playbook="PB-gerucht",
    )
    published = time.monotonic()
    api.publish_alert(alert)
    WebDriverWait(chromium_driver, 3.5, poll_frequency=0.1).until(lambda d: XSS in alerts_text(d))
    assert time.monotonic() - published < 3.5
    panel = alerts_text(chromium_driver)
    assert "CRITICAL" in panel and "Gerucht" in panel and "playbook: PB-gerucht" in panel
    assert f"12 accounts delen hetzelfde bericht {XSS}" in panel
    assert not chromium_driver.find_elements(By.CSS_SELECTOR, "#live-alerts img")
    # A newer revision of the same alert replaces it rather than adding a second one.
    api.publish_alert({**alert, "title": "Gerucht groeit", "revision": 2, "post_count": 30})
    WebDriverWait(chromium_driver, 3.5, poll_frequency=0.1).until(
        lambda d: "Gerucht groeit" in alerts_text(d)
    )
    assert len(chromium_driver.find_elements(By.CSS_SELECTOR, "#live-alerts li.alert")) == 1
    time.sleep(0.5)
    assert chromium_driver.execute_script("return window.__xss") is None

    errors = page_errors(chromium_driver)
    assert errors == [], errors
