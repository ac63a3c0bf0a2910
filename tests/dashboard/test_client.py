"""LiveFeed and ApiClient against a real (tiny) server speaking the API contract: no HTTP or WS mocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.client import ApiClient, LiveFeed, live_feed, normalise_alert, normalise_post, ws_url_for
from tests.dashboard.contract_api import ContractApi, make_alert, make_post


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def keys(feed: LiveFeed) -> set[str]:
    return {p["key"] for p in feed.snapshot()}


@pytest.fixture
def api() -> Iterator[ContractApi]:
    server = ContractApi().start()
    yield server
    server.stop()


@pytest.fixture
def make_feed() -> Iterator[Callable[..., LiveFeed]]:
    feeds: list[LiveFeed] = []

    def factory(url: str, **kwargs: object) -> LiveFeed:
        kwargs.setdefault("backoff_initial", 0.1)
        kwargs.setdefault("backoff_max", 0.5)
        feed = LiveFeed(url, **kwargs)  # type: ignore[arg-type]
        feeds.append(feed)
        return feed.start()

    yield factory
    for feed in feeds:
        feed.stop()


def test_ws_url_follows_the_api_scheme() -> None:
    assert ws_url_for("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/live"
    assert ws_url_for("https://signaal.example.nl/base/") == "wss://signaal.example.nl/base/ws/live"


def test_api_client_speaks_the_contract(api: ContractApi) -> None:
    old = make_post("oud", created_at=datetime.now(UTC) - timedelta(hours=2))
    new = make_post("nieuw")
    api.store_only(old, new)
    with ApiClient(api.url) as client:
        assert client.healthz()
        page = client.posts(since=datetime.now(UTC) - timedelta(hours=1))
        assert [p["key"] for p in page["items"]] == [new["key"]]
        assert client.posts(q="OUD")["items"][0]["key"] == old["key"]
        volume = client.volume(since=datetime.now(UTC) - timedelta(hours=3))
        assert sum(p["count"] for p in volume["points"]) == 2
    assert not ApiClient("http://127.0.0.1:9", timeout=0.5).healthz()


def test_iter_posts_pages_through_everything(api: ContractApi) -> None:
    now = datetime.now(UTC)
    api.store_only(*(make_post(f"p{i}", created_at=now - timedelta(seconds=i)) for i in range(450)))
    with ApiClient(api.url) as client:
        items = list(client.iter_posts(since=now - timedelta(hours=1)))
    assert len(items) == 450
    assert len({p["key"] for p in items}) == 450
    assert sum(1 for kind, _ in api.requests if kind == "posts") == 3


def test_receives_posts_pushed_over_the_websocket(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    feed = make_feed(api.url)
    api.wait_for_clients(1)
    wait_until(lambda: feed.status().connected, what="connected")
    post = make_post("<img src=x onerror=alert(1)> rook boven Haren", author="someone_real")
    api.publish(post)
    wait_until(lambda: post["key"] in keys(feed), timeout=3, what="pushed post")

    [seen] = feed.snapshot()
    assert seen["text"] == post["text"]  # kept verbatim: escaping is the renderer's job
    assert (seen["lat"], seen["lon"]) == (post["lat"], post["lon"])
    assert "author" not in seen  # pseudonyms never reach the wall
    status = feed.status()
    assert status.buffered == 1
    assert status.last_post_at is not None
    assert status.last_message_at is not None


def test_catches_up_on_posts_stored_before_it_connected(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    now = datetime.now(UTC)
    recent = [make_post(f"eerder {i}", created_at=now - timedelta(minutes=i)) for i in range(5)]
    ancient = make_post("gisteren", created_at=now - timedelta(days=1))
    api.store_only(*recent, ancient)
    feed = make_feed(api.url, history=timedelta(hours=3))
    wait_until(lambda: len(feed.snapshot()) == 5, what="catch-up")
    assert keys(feed) == {p["key"] for p in recent}
    assert [p["key"] for p in feed.snapshot()] == [p["key"] for p in recent]  # newest first


def test_reconnects_after_server_restart_and_catches_up_missed_posts(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    feed = make_feed(api.url, catchup_margin=timedelta(minutes=10))
    api.wait_for_clients(1)
    before = make_post("voor de herstart")
    api.publish(before)
    wait_until(lambda: before["key"] in keys(feed), what="first post")

    api.stop()
    wait_until(lambda: not feed.status().connected, what="disconnect noticed")
    assert feed.status().state == "reconnecting"
    missed = make_post("terwijl de dashboard weg was")
    api.store_only(missed)  # stored while nobody listened: only the REST catch-up can deliver it
    requests_before = len(api.requests)
    api.start()

    wait_until(lambda: feed.status().connected, what="reconnected")
    wait_until(lambda: missed["key"] in keys(feed), what="missed post caught up")
    assert feed.status().reconnects >= 1
    since_asked = [r["since"] for kind, r in api.requests[requests_before:] if kind == "posts"]
    assert since_asked and all(since_asked)
    # Catch-up starts from the newest post seen, minus the margin, not from the start of history.
    since = datetime.fromisoformat(since_asked[0])
    assert abs(since - (datetime.fromisoformat(before["created_at"]) - timedelta(minutes=10))) < timedelta(
        seconds=1
    )

    api.wait_for_clients(1)
    after = make_post("na de herstart")
    api.publish(after)
    wait_until(lambda: after["key"] in keys(feed), timeout=3, what="live again")
    assert len(feed.snapshot()) == 3  # nothing duplicated by the overlapping catch-up


def test_ring_buffer_is_bounded_and_keeps_the_newest(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    feed = make_feed(api.url, maxlen=50)
    api.wait_for_clients(1)
    now = datetime.now(UTC)
    posts = [make_post(f"p{i}", created_at=now - timedelta(seconds=120 - i)) for i in range(120)]
    api.publish(*posts)
    wait_until(lambda: posts[-1]["key"] in keys(feed), what="last post")
    snap = feed.snapshot()
    assert len(snap) == 50
    assert [p["key"] for p in snap] == [p["key"] for p in reversed(posts[-50:])]
    assert feed.status().buffered == 50


def test_ignores_unknown_and_malformed_messages(api: ContractApi, make_feed: Callable[..., LiveFeed]) -> None:
    feed = make_feed(api.url)
    api.wait_for_clients(1)
    api.send_raw("this is not json")
    api.send_raw('["a", "list"]')
    api.send_raw('{"type": "alert", "data": {"kind": "spike", "area": "Haren"}}')  # no id: dropped
    api.send_raw('{"type": "something-new", "data": 42}')
    api.send_raw('{"type": "posts", "data": [{"text": "no key"}, 7, null]}')
    api.send_raw('{"type": "posts", "data": {"key": "not a list"}}')
    post = make_post("na de rommel")
    api.publish(post)
    wait_until(lambda: post["key"] in keys(feed), timeout=3, what="post after junk")
    assert keys(feed) == {post["key"]}
    assert feed.alerts() == []
    assert feed.running


def test_keeps_retrying_while_the_server_is_down(unused_tcp_port: int) -> None:
    feed = LiveFeed(f"http://127.0.0.1:{unused_tcp_port}", backoff_initial=0.05, backoff_max=0.1).start()
    try:
        wait_until(lambda: feed.status().reconnects >= 3, what="retries")
        status = feed.status()
        assert not status.connected
        assert status.state == "reconnecting"
        assert status.last_error
    finally:
        feed.stop()
    assert feed.status().state == "stopped"
    assert not feed.running


def test_live_feed_is_one_per_process_and_url(api: ContractApi) -> None:
    first = live_feed(api.url)
    try:
        assert live_feed(api.url + "/") is first
        assert first.running
    finally:
        first.stop()


def test_volume_counts_minutes_and_seeding_is_idempotent() -> None:
    feed = LiveFeed("http://127.0.0.1:9")  # never started: exercises the buffer only
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    feed.add_posts([make_post(created_at=minute + timedelta(seconds=s)) for s in (1, 2, 3)])
    assert feed.add_posts([{"key": "bad", "created_at": "not a time"}]) == 0
    seeded = [
        {"start": minute.isoformat(), "count": 10},
        {"start": (minute - timedelta(minutes=1)).isoformat(), "count": 4},
    ]
    feed.seed_volume(seeded)
    feed.seed_volume(seeded)
    points = {p["start"]: p["count"] for p in feed.volume(since=minute - timedelta(minutes=5))}
    assert points[minute] == 10
    assert points[minute - timedelta(minutes=1)] == 4
    assert points[minute - timedelta(minutes=3)] == 0  # gaps are explicit zeros, so the chart shows silence
    assert len(points) == 8  # five before, this one, the next, and the current minute


def test_duplicates_and_snapshot_since() -> None:
    feed = LiveFeed("http://127.0.0.1:9")
    now = datetime.now(UTC)
    old, new = make_post(created_at=now - timedelta(hours=1)), make_post(created_at=now)
    assert feed.add_posts([old, new, new]) == 2
    assert feed.add_posts([old]) == 0
    assert [p["key"] for p in feed.snapshot(since=now - timedelta(minutes=5))] == [new["key"]]
    assert [p["key"] for p in feed.snapshot(limit=1)] == [new["key"]]


def test_normalise_post_drops_what_the_wall_must_not_show() -> None:
    raw = make_post("x", lat=True, lon=5.0)  # type: ignore[arg-type]
    post = normalise_post(raw)
    assert post is not None
    assert post["lat"] is None and post["lon"] is None
    assert set(post) == {"key", "created_at", "text", "lat", "lon", "area", "lang", "platform"}
    assert (
        normalise_post({"key": "k", "created_at": "2024-01-01T00:00:00", "lat": 999, "lon": 5})["lat"] is None
    )


def test_alerts_keep_the_latest_revision_and_ignore_older_ones(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    feed = make_feed(api.url)
    api.wait_for_clients(1)
    api.publish_alert(make_alert("Piek in Haren", alert_id="spike:Haren", revision=1, post_count=10))
    wait_until(lambda: len(feed.alerts()) == 1, timeout=3, what="first revision")
    api.publish_alert(make_alert("Piek in Haren groeit", alert_id="spike:Haren", revision=3, post_count=30))
    wait_until(lambda: feed.alerts()[0]["revision"] == 3, timeout=3, what="newer revision")
    version = feed.version
    # A late, older revision (and a repeat of the current one) change nothing.
    api.publish_alert(make_alert("oud", alert_id="spike:Haren", revision=2, post_count=20))
    api.publish_alert(make_alert("Piek in Haren groeit", alert_id="spike:Haren", revision=3, post_count=30))
    marker = make_post("na de oude revisie")
    api.publish(marker)
    wait_until(lambda: marker["key"] in keys(feed), timeout=3, what="post after the old revision")
    [alert] = feed.alerts()
    assert (alert["title"], alert["revision"], alert["post_count"]) == ("Piek in Haren groeit", 3, 30)
    assert "examples" not in alert and "details" not in alert  # not kept: the wall doesn't show them
    assert feed.version == version + 1  # only the post changed anything


def test_catch_up_fills_alerts_sorted_by_severity_then_recency(
    api: ContractApi, make_feed: Callable[..., LiveFeed]
) -> None:
    now = datetime.now(UTC)
    api.store_alert(
        make_alert("laag", severity="low", updated_at=now),
        make_alert("hoog, oud", severity="high", updated_at=now - timedelta(minutes=5)),
        make_alert("kritiek", severity="critical", updated_at=now - timedelta(minutes=30)),
        make_alert("hoog, nieuw", severity="high", updated_at=now - timedelta(minutes=1)),
    )
    feed = make_feed(api.url)
    wait_until(lambda: len(feed.alerts()) == 4, what="alerts caught up over REST")
    assert [a["title"] for a in feed.alerts()] == ["kritiek", "hoog, nieuw", "hoog, oud", "laag"]
    assert ("alerts", {"limit": "50"}) in api.requests


def test_ended_alerts_go_below_the_open_ones_whatever_their_severity() -> None:
    # The morning after, an ended call is still critical; it must not head the list above what is going on.
    feed = LiveFeed("http://127.0.0.1:1")
    now = datetime.now(UTC)
    feed.add_alerts(
        [
            make_alert(
                "Voorbij: oproep", kind="mobilisation", severity="critical", updated_at=now, state="closed"
            ),
            make_alert("laag, open", severity="low", updated_at=now - timedelta(minutes=30)),
            make_alert("hoog, open", severity="high", updated_at=now - timedelta(hours=2), state="open"),
            make_alert("Voorbij: piek", severity="high", updated_at=now - timedelta(hours=1), state="closed"),
        ]
    )
    assert [a["title"] for a in feed.alerts()] == [
        "hoog, open",
        "laag, open",
        "Voorbij: oproep",
        "Voorbij: piek",
    ]


def test_alert_buffer_keeps_the_most_recently_updated() -> None:
    feed = LiveFeed("http://127.0.0.1:1", max_alerts=3)
    now = datetime.now(UTC)
    feed.add_alerts(make_alert(f"a{i}", updated_at=now - timedelta(minutes=10 - i)) for i in range(5))
    assert sorted(a["title"] for a in feed.alerts()) == ["a2", "a3", "a4"]


def test_normalise_alert_drops_what_it_cannot_place() -> None:
    assert normalise_alert({"title": "no id", "updated_at": "2024-11-05T12:00:00Z"}) is None
    assert normalise_alert({"id": "x", "updated_at": "gisteren"}) is None
    assert normalise_alert({"id": "x", "updated_at": "2024-11-05T12:00:00Z", "revision": "2"}) is None
    odd = normalise_alert({"id": "x", "updated_at": "2024-11-05T12:00:00Z", "severity": "apocalyptic"})
    assert odd is not None and odd["severity"] == "low" and odd["title"] == "" and odd["post_count"] == 0


def test_a_replayed_incident_keeps_time_by_the_stream() -> None:
    feed = LiveFeed("http://127.0.0.1:9")  # never started: exercises the buffer only
    assert abs(feed.clock() - datetime.now(UTC)) < timedelta(seconds=5)
    riot = datetime(2012, 9, 21, 20, 30, tzinfo=UTC)
    feed.add_posts([make_post(created_at=riot - timedelta(minutes=m)) for m in (0, 1, 90)])
    assert feed.clock() == riot
    points = feed.volume(since=feed.clock() - timedelta(minutes=3))
    assert [p["count"] for p in points] == [0, 0, 1, 1]
    assert feed.status().last_post_at == riot


def test_the_contract_server_answers_briefing_changes_as_the_service_does(
    api: ContractApi, tmp_path: Path
) -> None:
    """The wall's tests run against the contract server; without a briefing it must not invent changes."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    api.publish_alert(make_alert("spike:all:1"))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as service:
        expected = service.get("/api/briefing/changes").json()
    assert expected == {
        "since": None,
        "new_alerts": [],
        "updated_alerts": [],
        "case_changes": [],
        "entries": [],
    }
    assert ApiClient(api.url).briefing_changes() == expected
