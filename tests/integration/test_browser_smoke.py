"""Headless Chromium runs here: it loads a page from a local HTTP server and runs its script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Signaal rooktest</title></head>
<body><p id="out">waiting</p>
<script>document.getElementById("out").textContent = "script ran: " + (6 * 7);</script>
</body></html>
"""


@pytest.fixture
def local_site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_renders_a_local_page(chromium_driver: Chrome, local_site: str) -> None:
    chromium_driver.get(local_site)
    assert chromium_driver.title == "Signaal rooktest"
    out = chromium_driver.find_element(By.ID, "out")
    WebDriverWait(chromium_driver, 10).until(lambda _: out.text != "waiting")
    assert out.text == "script ran: 42"
    size = chromium_driver.get_window_size()
    assert (size["width"], size["height"]) == (1920, 1080)
