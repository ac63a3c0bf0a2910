"""The Dash app and the live page's callback, in-process against the contract server (no browser)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import dash
import pytest
from dash import no_update

from dashboard.app import create_app
from dashboard.client import FeedStatus, live_feed, normalise_alert
from tests.dashboard.contract_api import ContractApi, make_alert, make_post

XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def api() -> Iterator[ContractApi]:
    server = ContractApi().start()
    yield server
    server.stop()


@pytest.fixture
def app(api: ContractApi) -> Iterator[dash.Dash]:
    application = create_app(api.url, refresh_ms=500)
    yield application
    live_feed(api.url).stop()


def live_page() -> ModuleType:
    # Dash imports pages by file path under its own module name; this is the module it registered.
    [module] = [m for name, m in sys.modules.items() if name.endswith("pages.live") and m is not None]
    return module


def texts(component: Any) -> list[str]:
    """All string children in a Dash component tree."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [t for c in component for t in texts(c)]
    children = getattr(component, "children", None)
    return texts(children) if children is not None else []


def ids(component: Any) -> set[str]:
    found = {component.id} if isinstance(getattr(component, "id", None), str) else set()
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found |= ids(child)
    return found


def test_serves_the_live_page_and_its_callbacks(app: dash.Dash) -> None:
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    deps = client.get("/_dash-dependencies").get_data(as_text=True)
    assert "live-map.figure" in deps and "live-posts.children" in deps
    assert dash.page_registry["pages.live"]["path"] == "/"
    # No CDN: the wall may have no internet.
    index = client.get("/").get_data(as_text=True)
    assert "cdn." not in index and "unpkg" not in index


def test_refresh_shows_posts_as_plain_text_and_skips_idle_ticks(app: dash.Dash, api: ContractApi) -> None:
    page = live_page()
    api.store_only(make_post(XSS, author="should_never_show"))
    with app.server.test_request_context("/"):
        layout = page.layout()
    assert {
        "live-tick",
        "live-map",
        "live-volume",
        "live-posts",
        "live-alerts",
        "live-status",
        "live-areas",
    } <= ids(layout)
    feed = live_feed(api.url)
    deadline = time.monotonic() + 10
    while not feed.snapshot() and time.monotonic() < deadline:
        time.sleep(0.05)

    with app.server.test_request_context("/"):
        figure, volume, posts, alerts, status, areas, seen = page.refresh(1, None)
    assert XSS in texts(posts)  # a plain string child: React renders it as text, never as markup
    assert texts(alerts) == ["No alerts."]
    assert "should_never_show" not in repr(posts) + repr(figure)
    assert any("closed groups or messaging apps" in t for t in texts(status))
    assert volume.data[0].type == "bar"
    assert "Haren" in texts(areas)
    assert seen

    # Once the feed has caught up, ticks without news send nothing but the status line.
    for tick in range(2, 100):
        with app.server.test_request_context("/"):
            figure2, volume2, posts2, alerts2, status2, areas2, seen2 = page.refresh(tick, seen)
        if seen2 is no_update:
            break
        seen = seen2
        time.sleep(0.05)
    assert figure2 is no_update and volume2 is no_update and posts2 is no_update and areas2 is no_update
    assert alerts2 is no_update
    assert status2  # the status line always refreshes: it is how the room sees a dead feed


def test_rejects_a_refresh_that_would_melt_the_server() -> None:
    with pytest.raises(ValueError):
        create_app("http://127.0.0.1:1", refresh_ms=10)


def test_status_line_tells_the_room_when_the_feed_is_down(app: dash.Dash) -> None:
    down = FeedStatus(
        state="reconnecting",
        connected=False,
        last_message_at=None,
        last_post_at=datetime(2024, 11, 5, 12, 0, tzinfo=UTC),
        reconnects=4,
        posts_per_minute=0.0,
        buffered=12,
        last_error="websocket: ConnectionRefusedError",
    )
    line = " ".join(texts(live_page().status_line(down)))
    assert "Reconnecting… (attempt 4)" in line
    assert "last post 13:00:00" in line  # Amsterdam time
    assert "showing data up to the last post received" in line
    assert "closed groups or messaging apps" in line


def test_alert_panel_shows_alerts_as_plain_text(app: dash.Dash, api: ContractApi) -> None:
    page = live_page()
    long_why = "Veel berichten over <b>gif</b> in het water; " * 10
    api.store_alert(
        make_alert(
            XSS,
            kind="rumour",
            severity="critical",
            explanation="Bericht *gedeeld* door [12 accounts](javascript:alert(1)) <script>x()</script>",
            area="Groningen",
            post_count=12,
            playbook="PB-gerucht",
            updated_at=datetime(2024, 11, 5, 12, 30, tzinfo=UTC),
        ),
        make_alert(
            "Oproep tot verzamelen",
            kind="mobilisation",
            severity="medium",
            explanation=long_why,
            playbook="projectx",
        ),
    )
    feed = live_feed(api.url)
    deadline = time.monotonic() + 10
    while len(feed.alerts()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    with app.server.test_request_context("/"):
        _, _, _, alerts, *_ = page.refresh(1, None)
    rumour, call = alerts
    words = texts(rumour)
    assert XSS in words  # the hostile title is one plain string child, shown literally
    assert "Bericht *gedeeld* door [12 accounts](javascript:alert(1)) <script>x()</script>" in words
    assert {"CRITICAL", " Gerucht", "Groningen", "12 posts", "playbook: PB-gerucht", "13:30"} <= set(words)
    assert "sev-critical" in rumour.className
    # A long explanation opens on a click and is never markup either.
    assert " Oproep" in texts(call) and long_why.strip() in texts(call)
    assert "playbook: Project X (party call)" in texts(call)  # a shipped playbook by its name, not its id
    assert "closed" not in call.className
    ended = page.alert_item(
        normalise_alert(make_alert("Voorbij: oproep", kind="mobilisation", state="closed"))
    )
    assert "closed" in ended.className.split()
    assert not any(isinstance(c, dash.dcc.Markdown) for c in _walk(alerts))


def _walk(component: Any) -> list[Any]:
    found = [component]
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found += _walk(child)
    return found
