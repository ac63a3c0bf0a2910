"""Helpers the browser tests share: catching the page's JavaScript errors, reading an element's text."""

from __future__ import annotations

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

# Installed before any page script runs, so errors thrown while plotly/MapLibre start up are caught too.
ERROR_TRAP = """
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('unhandledrejection', e => window.__errors.push(String(e.reason)));
"""


def trap_page_errors(driver: Chrome) -> None:
    """From the next page load on, collect the page's uncaught errors for :func:`page_errors`."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_TRAP})


def page_errors(driver: Chrome) -> list[str] | None:
    """The uncaught errors of the current page since it loaded (None when the trap was not installed)."""
    return driver.execute_script("return window.__errors")


def text_of(driver: Chrome, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text
