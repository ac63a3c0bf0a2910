"""Fixtures for the real services the test suite can use: Apache Kafka, PostgreSQL and headless Chromium.

`make test` starts Kafka and PostgreSQL (scripts/kafka-local, scripts/postgres-local) and passes them in
``SIGNAAL_TEST_KAFKA`` and ``SIGNAAL_TEST_DATABASE_URL``. When a service is missing, a test that needs it
is skipped on a developer's machine, loudly (listed again at the end of the run), and fails under CI
(``CI=true``), so a green CI run always means the real services were exercised.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine has no network beyond package registries; without these Chromium keeps dialling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-unsafe-swiftshader",  # software WebGL, which Plotly's gl traces need without a GPU
    "--window-size=1920,1080",
)

_unavailable: dict[str, str] = {}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


# Property tests share a small machine: no per-example deadline (timing is noisy under load), and a
# moderate example count. CI runs twice as many; HYPOTHESIS_PROFILE picks a profile explicitly.
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _in_ci() else "dev"))


def _unavailable_service(service: str, reason: str) -> NoReturn:
    _unavailable[service] = reason
    message = f"{service} unavailable: {reason}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true: every service must be there)", pytrace=False)
    pytest.skip(f"{message} -- run `make test` to start it")


def pytest_sessionstart(session: pytest.Session) -> None:
    # make test runs the suite pure, then compiled: each pass checks that it runs the build it means to.
    expected = os.environ.get("SIGNAAL_EXPECT_BUILD")
    if expected:
        from streams.compiled import build

        if build() != expected:
            raise pytest.UsageError(f"SIGNAAL_EXPECT_BUILD={expected!r}, but this is the {build()} build")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark by fixture, so `-m "not kafka"` selects correctly without every test repeating the marker.
    markers = {"kafka_bootstrap": "kafka", "postgres_url": "postgres", "chromium_driver": "browser"}
    for item in items:
        for fixture, marker in markers.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _unavailable:
        terminalreporter.section("services unavailable: their tests did not run", sep="!", red=True)
        for service, reason in sorted(_unavailable.items()):
            terminalreporter.write_line(f"{service}: {reason}")


# -- Kafka -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of a live broker, from ``SIGNAAL_TEST_KAFKA``; checked with a real metadata request."""
    bootstrap = os.environ.get("SIGNAAL_TEST_KAFKA", "").strip()
    if not bootstrap:
        _unavailable_service("Kafka", "SIGNAAL_TEST_KAFKA is not set")
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), bootstrap_timeout_ms=10_000)
        try:
            admin.list_topics()
        finally:
            admin.close()
    except KafkaError as error:
        _unavailable_service("Kafka", f"no broker answers at {bootstrap}: {error}")
    return bootstrap


@pytest.fixture(scope="session")
def _run_id() -> str:
    # Broker state outlives a test run, so names carry the run's time and a random part.
    return f"t{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def unique_topic_prefix(_run_id: str, request: pytest.FixtureRequest) -> str:
    """A prefix for topic and group names that no other test or run uses: ``<run id>.<test name>``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.name)[:100]
    return f"{_run_id}.{name}"


@pytest.fixture
def unused_tcp_port() -> int:
    """A loopback port nothing listens on (bound, then released), for 'service is down' tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- PostgreSQL ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of a live PostgreSQL database, from ``SIGNAAL_TEST_DATABASE_URL``."""
    url = os.environ.get("SIGNAAL_TEST_DATABASE_URL", "").strip()
    if not url:
        _unavailable_service("PostgreSQL", "SIGNAAL_TEST_DATABASE_URL is not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        _unavailable_service("PostgreSQL", f"cannot connect to {url}: {error.__class__.__name__}: {error}")
    finally:
        engine.dispose()
    return url


# -- Chromium --------------------------------------------------------------------------------------------


@pytest.fixture
def chromium_driver() -> Iterator[Chrome]:
    """A fresh headless Chromium (Debian's, with its chromedriver) and an empty profile, 1920x1080."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        _unavailable_service("Chromium", f"{', '.join(missing)} missing (scripts/install-system-deps)")
    # Selenium Manager would try to download a browser and driver; the paths below are all it may use.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="signaal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    except WebDriverException as error:
        shutil.rmtree(profile, ignore_errors=True)
        _unavailable_service("Chromium", f"could not start: {error.msg}")
    try:
        driver.set_window_size(1920, 1080)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
