"""The wall display: its figures and texts as data, its client additions against the contract server, and
its page callback in-process (no browser)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import dash
import httpx
import pytest
from dash import no_update

from app.room.models import RumourCase
from dashboard.app import create_app
from dashboard.client import (
    ApiClient,
    FeedStatus,
    LiveFeed,
    Poller,
    live_feed,
    normalise_alert,
    normalise_case,
)
from dashboard.figures import map as mapfig
from dashboard.figures.geodata import Place
from dashboard.figures.wall import (
    CASE_MARK,
    SEVERITY_MARK,
    alert_areas,
    briefing_digest,
    font_scale,
    format_lag,
    ingest_lag,
    lag_level,
    platform_rates,
    rumour_stories,
    source_rates,
    spike_label,
    spike_marks,
    stream_note,
    ticker,
    top_rumours,
    wall_map_figure,
    wall_volume_figure,
)
from tests.dashboard.contract_api import ContractApi, make_alert, make_case, make_post
from tests.dashboard.test_app import ids, texts
from tests.dashboard.test_figures import HOSTILE, OUR_TAGS

NOW = datetime(2024, 9, 15, 20, 30, tzinfo=UTC)
XSS = '<img src=x onerror="window.__xss=1">'
PLACES = (Place("Groningen", 53.219, 6.567, 244807), Place("Haren", 53.172, 6.609, 9375))


def alert(title: str = "Piek in Haren: 40 berichten in 10 minuten", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("updated_at", NOW - timedelta(minutes=5))
    raw = make_alert(title, **kwargs)
    normalised = normalise_alert(raw)
    assert normalised is not None
    return dict(normalised)


def case(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("updated_at", NOW - timedelta(minutes=5))
    normalised = normalise_case(make_case(**kwargs))
    assert normalised is not None
    return dict(normalised)


# -- marks ----------------------------------------------------------------------------------------------


def test_every_state_has_its_own_shape_and_word() -> None:
    # Colour-blind viewers read the shape and the word: no two states may share either.
    for marks in (SEVERITY_MARK, CASE_MARK):
        shapes = [shape for shape, _ in marks.values()]
        words = [word for _, word in marks.values()]
        assert len(set(shapes)) == len(shapes) and len(set(words)) == len(words)
        assert all(shape.strip() and word.strip() for shape, word in marks.values())


# -- map ------------------------------------------------------------------------------------------------


def test_map_is_dark_and_rings_the_areas_of_open_alerts() -> None:
    posts = [make_post(f"p{i}", created_at=NOW - timedelta(minutes=i)) for i in range(5)]
    alerts = [
        alert(area="Haren", severity="medium"),
        alert(area="Haren", severity="critical", alert_id="spike:Haren:2"),
        alert(area="Groningen", severity="high", updated_at=NOW - timedelta(hours=3)),  # too old
        alert(area="Nergenshuizen", severity="high"),  # not a known municipality
        alert(area=None, severity="high"),
    ]
    fig = wall_map_figure(posts, alerts, places=PLACES, now=NOW, size=(1100, 700), scale=2.0)
    assert [t.name for t in fig.data] == [
        "older", "last hour", "last 10 min", "open alert", "places", "active places",
    ]  # fmt: skip
    ring = fig.data[3]
    assert list(ring.lat) == [53.172]
    assert ring.text == ("◆ CRITICAL",)  # worst of the area's alerts, as shape and word
    assert "2 open alerts" in ring.hovertext[0]
    assert fig.layout.map.style["layers"][0]["paint"]["background-color"] == mapfig.DARK.sea
    assert fig.layout.paper_bgcolor == mapfig.DARK.sea
    # Label type doubles on a screen twice as tall.
    assert fig.data[-1].textfont.size == 2 * mapfig.DARK.active_font_px
    json.dumps(fig.to_plotly_json(), default=str)  # serialisable as Dash sends it


def test_alert_areas_match_names_case_insensitively_and_skip_closed() -> None:
    alerts = [alert(area="haren", severity="low"), {**alert(area="Groningen"), "closed": True}]
    [(place, severity, count)] = alert_areas(alerts, PLACES, now=NOW)
    assert (place.name, severity, count) == ("Haren", "low", 1)


def test_light_map_is_unchanged_by_the_theme_parameter() -> None:
    fig = mapfig.map_figure([make_post(created_at=NOW)], places=PLACES, now=NOW)
    assert fig.layout.paper_bgcolor == mapfig.SEA
    assert fig.layout.map.style is not None and fig.layout.map.style["id"] == "signaal-offline"
    assert len(fig.data) == 5


# -- volume ---------------------------------------------------------------------------------------------


def test_spike_marks_cover_spike_alerts_in_the_window_only() -> None:
    since, until = NOW - timedelta(hours=3), NOW
    growing = {
        **alert(kind="spike", severity="high"),
        "first_seen": (NOW - timedelta(minutes=20)).isoformat(),
    }
    over = {
        **alert(
            "Voorbij: piek in Groningen: tot 80 in 10 min",
            kind="spike",
            severity="critical",
            area="Groningen",
            updated_at=NOW - timedelta(minutes=70),
        ),
        "first_seen": (NOW - timedelta(minutes=100)).isoformat(),
        "closed": True,
    }
    long_ago = {**alert(kind="spike", updated_at=NOW - timedelta(hours=5)), "closed": True}
    call = alert(kind="mobilisation")
    marks = spike_marks([growing, over, long_ago, call], since=since, until=until)
    assert [(m[2], m[3]) for m in marks] == [("critical", "Groningen"), ("high", "Haren")]
    assert marks[0][1] == NOW - timedelta(minutes=70)  # a closed spike ends when it closed
    assert marks[1][1] == NOW  # a growing one runs to now


def test_spike_label_names_what_spiked() -> None:
    assert spike_label({"title": "Piek in #projectxharen: 77 berichten", "area": "Haren"}) == "#projectxharen"
    assert spike_label({"title": "Voorbij: piek in alle berichten: tot 48", "area": None}) == "alle berichten"
    assert spike_label({"title": "Iets anders", "area": "Haren"}) == "Haren"
    assert spike_label({"title": "", "area": None}) == "all posts"


def test_volume_chart_shades_spikes_and_escapes_their_labels() -> None:
    points = [{"start": NOW - timedelta(minutes=m), "count": 5} for m in range(60)]
    hostile = {
        **alert(f"Piek in {HOSTILE[1]}: 12 berichten", kind="spike", area=HOSTILE[1]),
        "first_seen": (NOW - timedelta(minutes=9)).isoformat(),
    }
    fig = wall_volume_figure(points, [hostile], now=NOW, since=NOW - timedelta(hours=3), scale=1.0)
    assert len(fig.layout.shapes) == 2  # the strip for its duration and the line where it started
    [note] = fig.layout.annotations
    assert "<img" not in note.text and "&lt;img" in note.text
    assert not OUR_TAGS.search(note.text)
    assert fig.layout.plot_bgcolor != "#ffffff"
    empty = wall_volume_figure([], [], now=NOW, since=NOW - timedelta(hours=3))
    assert any("No posts" in a.text for a in empty.layout.annotations)


# -- texts ----------------------------------------------------------------------------------------------


def test_ticker_puts_fresh_severe_alerts_first_and_closed_ones_last() -> None:
    fresh_low = alert(title="fresh low", severity="low", updated_at=NOW - timedelta(minutes=1))
    fresh_crit = alert(title="fresh critical", severity="critical", updated_at=NOW - timedelta(minutes=30))
    old_crit = alert(title="old critical", severity="critical", updated_at=NOW - timedelta(hours=2))
    closed = {
        **alert(title="closed", severity="critical", updated_at=NOW - timedelta(minutes=2)),
        "closed": True,
    }
    order = [a["title"] for a in ticker([fresh_low, closed, old_crit, fresh_crit], now=NOW)]
    assert order == ["fresh critical", "fresh low", "old critical", "closed"]
    assert len(ticker([fresh_low] * 10, now=NOW, limit=6)) == 6


def test_ticker_times_carry_their_date_unless_they_are_of_the_streams_day(app: dash.Dash) -> None:
    ticker_line = wall_page().ticker_line
    evening = datetime(2024, 9, 22, 21, 0, tzinfo=UTC)  # 23:00 in Amsterdam
    today = ticker_line(alert(title="nu", updated_at=evening - timedelta(minutes=20)), evening)
    days_ago = ticker_line(alert(title="eerder", updated_at=evening - timedelta(days=5)), evening)
    assert "22:40" in texts(today) and not any("Sep" in t for t in texts(today))
    assert "17 Sep 23:00" in texts(days_ago)


def test_top_rumours_leave_out_closed_and_merged_cases() -> None:
    cases = [
        case(claim="laag", severity="low"),
        case(claim="dicht", status="closed", severity="critical"),
        case(claim="samengevoegd", merged_into="case-x", severity="critical"),
        case(claim="hoog oud", severity="high", updated_at=NOW - timedelta(hours=1)),
        case(claim="hoog nieuw", severity="high"),
        case(claim="geen ernst", severity=None),
    ]
    assert [c["claim"] for c in top_rumours(cases)] == ["hoog nieuw", "hoog oud", "laag", "geen ernst"]


def test_cases_the_service_hints_alike_share_one_line(app: dash.Dash) -> None:
    cases = [
        case(claim="steekpartij", case_id="a", severity="high", similar=["b", "c"]),
        case(claim="iemand neergestoken", case_id="b", severity="medium", similar=["a"]),
        case(claim="dode bij steekpartij", case_id="c", severity="low", similar=["a", "d"]),
        # Alike to c only, which is folded: hints do not chain, so it keeps a line of its own.
        case(claim="dode bij rellen", case_id="d", severity="low", similar=["c"]),
        case(claim="leger komt", case_id="e", severity="medium"),
        case(claim="defensie rukt uit", case_id="f", severity="low", similar=["e"]),
        case(claim="dicht", case_id="g", status="closed", similar=["e"]),
    ]
    rows = rumour_stories(cases)
    assert [(row.case["claim"], row.alike) for row in rows] == [
        ("steekpartij", 2),
        ("leger komt", 1),
        ("dode bij rellen", 0),
    ]
    # A full wall still counts what its lines stand for, and never shows a case twice.
    assert [(row.case["claim"], row.alike) for row in rumour_stories(cases, limit=1)] == [("steekpartij", 2)]
    line = wall_page().rumour_line(rows[0].case, rows[0].alike)
    assert "≈ +2" in texts(line) and "≈" not in " ".join(texts(wall_page().rumour_line(rows[2].case)))


def test_a_pushed_case_keeps_the_hints_of_the_list() -> None:
    feed = LiveFeed("http://127.0.0.1:1")
    listed = make_case("Leger onderweg naar Haren??", case_id="rumour:leger", updated_at=NOW, similar=["x"])
    assert feed.add_cases([listed]) == 1
    assert feed.cases()[0]["similar"] == ("x",)
    # The service pushes a case as its model dumps it, with the hints it only computes for the list empty.
    pushed = RumourCase.model_validate({**listed, "post_count": 40, "similar": []}).model_dump(mode="json")
    feed.handle_message(json.dumps({"type": "case", "data": pushed}))
    assert [(c["post_count"], c["similar"]) for c in feed.cases()] == [(40, ("x",))]
    # The next list read decides again.
    assert feed.add_cases([{**listed, "post_count": 41, "similar": []}]) == 1
    assert feed.cases()[0]["similar"] == ()


def test_status_figures_are_read_defensively() -> None:
    status = {
        "pipeline": {"ingest_lag_seconds": 3.25},
        "sources": {"x": 2.5, "mastodon": 40, "bad": "n", "t": True},
    }
    assert source_rates(status) == [("mastodon", 40.0), ("x", 2.5)]
    assert source_rates(None) == [] and source_rates({"sources": [1, 2]}) == []
    assert ingest_lag(status) == 3.25 and ingest_lag({"pipeline": {}}) is None
    assert [lag_level(v) for v in (None, 3, 60, 900)] == ["unknown", "ok", "warn", "bad"]
    assert [format_lag(v) for v in (None, 3.25, 45, 600, 9000)] == [
        "unknown",
        "3.2 s",
        "45 s",
        "10 min",
        "2.5 h",
    ]


def test_platform_rates_count_the_last_ten_minutes_of_stream_time() -> None:
    posts = [
        {**make_post(created_at=NOW - timedelta(minutes=m)), "platform": p}
        for m, p in ((1, "x"), (2, "x"), (3, "mastodon"), (30, "x"))
    ]
    assert platform_rates(posts, now=NOW) == [("x", 0.2), ("mastodon", 0.1)]


def test_briefing_digest_counts_and_reads_like_the_room_talks() -> None:
    since = NOW - timedelta(hours=1)
    changes = {
        "since": since.isoformat(),
        "new_alerts": [make_alert(XSS, severity="critical", updated_at=NOW - timedelta(minutes=3))],
        "updated_alerts": [
            make_alert("Piek groeit", severity="high", updated_at=NOW - timedelta(minutes=10))
        ],
        "case_changes": [
            {
                "seq": 1,
                "at": (NOW - timedelta(minutes=5)).isoformat(),
                "actor": "anna",
                "action": "status",
                "subject": "rumour:case-1",
                "detail": {"from": "new", "to": "denied"},
            },
            {
                "seq": 2,
                "at": (NOW - timedelta(minutes=4)).isoformat(),
                "actor": "bram",
                "action": "owner",
                "subject": "rumour:case-2",
                "detail": {"to": "bram", "from": None},
            },
        ],
        "entries": [
            {
                "entry_id": "e1",
                "incident_id": 1,
                "step": "act",
                "version": 1,
                "author": "carla",
                "written_at": NOW.isoformat(),
                "effective_at": (NOW - timedelta(minutes=1)).isoformat(),
                "body": {"message": "Er zit geen gif in het water.", "channel": "website"},
            },
        ],
    }
    digest = briefing_digest(changes, claims={"case-1": "Gif in het water"})
    assert (digest.new_alerts, digest.updated_alerts, digest.case_changes, digest.entries) == (1, 1, 2, 1)
    assert digest.since == since and not digest.empty
    # By kind (new alerts, rumour changes, log, updated alerts), newest first within a kind: alerts carry
    # stream time and the room's actions wall-clock time, which don't sort together in a replay.
    assert [line.text for line in digest.lines] == [
        f"NEW CRITICAL: {XSS}",  # plain text: the page shows it as a child, React escapes it
        "owner bram: case-2 (bram)",
        "DENIED: Gif in het water (anna)",
        "Action by carla: Er zit geen gif in het water.",
        "UPDATED HIGH: Piek groeit",
    ]
    assert briefing_digest(None).empty and briefing_digest({"new_alerts": "junk"}).empty


def test_stream_note_only_for_replays_and_font_scale_is_bounded() -> None:
    assert stream_note(NOW, NOW + timedelta(minutes=5)) is None
    assert "REPLAY" in (stream_note(NOW, NOW + timedelta(days=3)) or "")
    assert font_scale(1080) == 1.0 and font_scale(2160) == 2.0
    assert font_scale(None) == 1.0 and font_scale(100) == 0.75 and font_scale(99999) == 3.0


# -- client ---------------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def api() -> Iterator[ContractApi]:
    server = ContractApi().start()
    yield server
    server.stop()


@pytest.fixture
def feed(api: ContractApi) -> Iterator[LiveFeed]:
    started = LiveFeed(api.url, backoff_initial=0.1, backoff_max=0.5).start()
    yield started
    started.stop()


def test_normalise_case_keeps_what_the_wall_shows() -> None:
    raw = make_case(XSS, owner="anna")
    kept = normalise_case({**raw, "answer": {"text": "x"}, "examples": [{"text": "lots"}]})
    assert kept is not None
    assert kept["claim"] == XSS and kept["owner"] == "anna" and kept["answered"]
    assert "examples" not in kept
    assert normalise_case({**raw, "status": "whatever"}) is None
    assert normalise_case({**raw, "version": "2"}) is None
    assert normalise_case({**raw, "case_id": ""}) is None
    odd = normalise_case({**raw, "severity": "apocalyptic", "post_count": -3, "stance": "x"})
    assert (
        odd is not None and odd["severity"] is None and odd["post_count"] == 0 and odd["stance"]["deny"] == 0
    )


def test_cases_arrive_over_the_websocket_latest_version_wins(api: ContractApi, feed: LiveFeed) -> None:
    api.wait_for_clients(1)
    api.publish_case(make_case("Gif in het water", case_id="c1", version=1))
    wait_until(lambda: len(feed.cases()) == 1, timeout=3, what="first version")
    api.publish_case(make_case("Gif in het water", case_id="c1", version=3, status="checking", owner="anna"))
    wait_until(lambda: feed.cases()[0]["version"] == 3, timeout=3, what="newer version")
    api.publish_case(make_case("oud", case_id="c1", version=2))  # late and stale: ignored
    marker = make_post("na de oude versie")
    api.publish(marker)
    wait_until(lambda: any(p["key"] == marker["key"] for p in feed.snapshot()), timeout=3, what="marker")
    [kept] = feed.cases()
    assert (kept["status"], kept["owner"], kept["version"]) == ("checking", "anna", 3)


def test_catch_up_fetches_active_cases_and_forgets_ones_closed_meanwhile(
    api: ContractApi, feed: LiveFeed
) -> None:
    api.wait_for_clients(1)
    api.publish_case(make_case("blijft", case_id="stay"), make_case("gaat dicht", case_id="go"))
    wait_until(lambda: len(feed.cases()) == 2, timeout=3, what="two cases")
    api.stop()
    wait_until(lambda: not feed.status().connected, what="disconnect")
    api.store_case(make_case("gaat dicht", case_id="go", status="closed", version=2))
    api.store_case(make_case("nieuw", case_id="new"))
    api.start()
    wait_until(lambda: {c["case_id"] for c in feed.cases()} == {"stay", "new"}, what="caught up cases")
    assert ("rumours", {"active": "true", "limit": "50"}) in api.requests
    assert feed.cases_error is None


def test_a_rumour_alert_makes_the_feed_reread_the_detectors_cases(api: ContractApi, feed: LiveFeed) -> None:
    # The service opens detector cases from rumour alerts without pushing a "case" message for them.
    api.wait_for_clients(1)
    wait_until(lambda: feed.status().connected, what="connected")
    api.store_case(make_case("Nieuw gerucht van de detector", case_id="rumour:claim:9"))
    api.publish_alert(make_alert("Nieuw gerucht van de detector", kind="rumour"))
    wait_until(lambda: [c["case_id"] for c in feed.cases()] == ["rumour:claim:9"], timeout=3, what="case")


def test_case_buffer_is_bounded() -> None:
    feed = LiveFeed("http://127.0.0.1:1", max_cases=3)
    feed.add_cases(make_case(f"c{i}", updated_at=NOW - timedelta(minutes=10 - i)) for i in range(5))
    assert [c["claim"] for c in feed.cases()] == ["c4", "c3", "c2"]


def test_an_older_service_without_cases_is_reported_not_shown_as_none(api: ContractApi) -> None:
    api.legacy_rumours = True  # /api/rumours as it was before rumour cases: rumour alerts
    api.store_alert(make_alert("a rumour alert, not a case", kind="rumour"))
    feed = LiveFeed(api.url)
    feed._catch_up_cases()
    assert feed.cases() == []
    assert feed.cases_error and "no rumour cases" in feed.cases_error


def test_api_client_wall_methods_speak_the_contract(api: ContractApi) -> None:
    api.sources = {"x": 12.5}
    api.store_case(make_case(case_id="open"), make_case(case_id="shut", status="closed"))
    api.briefing = {"at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "by": "anna"}
    api.store_alert(make_alert("nieuw"))
    with ApiClient(api.url) as client:
        assert [c["case_id"] for c in client.rumours()["items"]] == ["open"]
        assert {c["case_id"] for c in client.rumours(active=False)["items"]} == {"open", "shut"}
        status = client.status()
        assert status["sources"] == {"x": 12.5} and "ingest_lag_seconds" in status["pipeline"]
        assert client.briefing()["by"] == "anna"
        changes = client.briefing_changes()
        assert [a["title"] for a in changes["new_alerts"]] == ["nieuw"]
        since = datetime.now(UTC) + timedelta(minutes=1)
        assert client.briefing_changes(since=since)["new_alerts"] == []
    assert ("briefing_changes", {"since": since.isoformat().replace("+00:00", "Z")}) in api.requests


def test_poller_keeps_the_last_good_answer_through_failures() -> None:
    answers: list[Any] = [{"n": 1}, httpx.ConnectError("refused"), ValueError("not json")]

    def fetch() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    poll = Poller(fetch, interval=60)
    assert poll.get().value is None and not poll.get().ok
    first = poll.poll_once()
    assert first.ok and first.value == {"n": 1}
    failed = poll.poll_once()
    assert failed.value == {"n": 1} and failed.fetched_at == first.fetched_at and not failed.ok
    assert failed.error is not None and "ConnectError" in failed.error
    assert "ValueError" in (poll.poll_once().error or "")


def test_poller_version_moves_only_when_the_answer_does() -> None:
    answers = iter([{"n": 1}, {"n": 1}, {"n": 2}, {"n": 2}])
    poll = Poller(lambda: next(answers), interval=60)
    first = poll.poll_once().version
    assert poll.poll_once().version == first
    moved = poll.poll_once().version
    assert moved > first
    assert poll.poll_once().version == moved


# -- the page -------------------------------------------------------------------------------------------


@pytest.fixture
def app(api: ContractApi) -> Iterator[dash.Dash]:
    application = create_app(api.url, refresh_ms=500)
    yield application
    live_feed(api.url).stop()


def wall_page() -> ModuleType:
    [module] = [m for name, m in sys.modules.items() if name.endswith("pages.wall") and m is not None]
    return module


def test_wall_page_is_served_with_its_callbacks(app: dash.Dash) -> None:
    client = app.server.test_client()
    assert client.get("/wall").status_code == 200
    deps = client.get("/_dash-dependencies").get_data(as_text=True)
    assert "wall-map.figure" in deps and "wall-rumours.children" in deps and "wall-root.className" in deps
    assert dash.page_registry["pages.wall"]["path"] == "/wall"
    index = client.get("/wall").get_data(as_text=True)
    assert "wall.css" in index and "cdn." not in index


def test_wall_refresh_shows_stranger_text_as_plain_text(app: dash.Dash, api: ContractApi) -> None:
    page = wall_page()
    api.sources = {"x": 3.0, "mastodon": 1.5}
    api.store_only(make_post(XSS, author="should_never_show"))
    api.store_alert(make_alert(XSS, kind="rumour", severity="critical"))
    api.store_case(make_case(XSS, owner=None, status="new"), make_case("Tweede gerucht", owner="anna"))
    feed = live_feed(api.url)
    wait_until(lambda: len(feed.cases()) == 2 and feed.alerts() and feed.snapshot(), what="feed caught up")
    with app.server.test_request_context("/wall"):
        layout = page.layout(rotate="5", briefing="2024-09-15T18:00:00Z")
    assert {"wall-map", "wall-volume", "wall-ticker", "wall-rumours", "wall-briefing", "wall-status"} <= ids(
        layout
    )
    rotate = next(c for c in _walk(layout) if getattr(c, "id", None) == "wall-rotate")
    assert rotate.interval == page.MIN_ROTATE_S * 1000 and not rotate.disabled  # 5 s is too fast to read

    with app.server.test_request_context("/wall"):
        _status, conn, frame, _clock, beat, seen = page.refresh(1, None, [1200, 700, 1080], None)
        out = page.redraw(seen, [1200, 700, 1080], None)
    figure, _volume, ticker_out, rumours, _briefing = out
    assert seen and beat == 1 and "LIVE" in " ".join(texts(conn)) and frame == "frame ok"
    words = texts(ticker_out) + texts(rumours)
    assert XSS in words  # one plain string child: React renders it as text
    assert "◆" in words and " NEW" in words and "no owner" in words and "anna" in words
    assert "should_never_show" not in repr(out)
    assert not any(isinstance(c, dash.dcc.Markdown) for c in _walk(ticker_out + rumours))
    # A patch of the traces and the view: the outline layers, the bulk of the figure, are sent once.
    [traces] = [
        op["params"]["value"] for op in figure.to_plotly_json()["operations"] if op["location"] == ["data"]
    ]
    assert len(traces) == 6

    # Status polled in the background: per-source rates and the blind spots appear once it has answered.
    def status_text() -> str:
        with app.server.test_request_context("/wall"):
            return " ".join(texts(page.refresh(2, seen, [1200, 700, 1080], None)[0]))

    wait_until(lambda: "x 3.0/min" in status_text(), what="status poll")
    line = status_text()
    assert "mastodon 1.5/min" in line and "messaging apps" in line and "Ingest lag" in line

    # Once nothing changes, ticks refresh the status line but do not ask for a redraw.
    for tick in range(3, 60):
        with app.server.test_request_context("/wall"):
            again = page.refresh(tick, seen, [1200, 700, 1080], None)
        if again[5] is no_update:
            break
        seen = again[5]
        time.sleep(0.1)
    assert again[5] is no_update and again[0]


def test_connection_chip_says_reconnecting_with_a_dashed_frame(app: dash.Dash) -> None:
    down = FeedStatus(
        state="reconnecting",
        connected=False,
        last_message_at=None,
        last_post_at=datetime(2024, 9, 15, 18, 0, tzinfo=UTC),
        reconnects=3,
        posts_per_minute=0.0,
        buffered=10,
        last_error="websocket: ConnectionRefusedError",
    )
    chip, frame = wall_page().connection(down)
    assert "RECONNECTING… attempt 3" in " ".join(texts(chip))
    assert "data up to 20:00:00" in " ".join(texts(chip))  # Amsterdam time
    assert frame == "frame down"


def _walk(component: Any) -> list[Any]:
    if isinstance(component, list | tuple):
        return [found for child in component for found in _walk(child)]
    found = [component]
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found += _walk(child)
    return found


def test_without_a_briefing_the_wall_says_so_and_counts_nothing(app: dash.Dash, feed: LiveFeed) -> None:
    # The service counts changes only since a briefing; the wall said "showing everything" over zeros.
    from dashboard.client import Polled

    empty = {"since": None, "new_alerts": [], "updated_alerts": [], "case_changes": [], "entries": []}
    panel = wall_page().briefing_panel(Polled(empty, datetime.now(UTC), None), feed, None)
    shown = " ".join(texts(panel))
    assert "No briefing held yet" in shown and "showing everything" not in shown and "new alerts" not in shown
    assert "Since the last briefing" not in shown  # the panel's heading says that already


def test_a_case_the_detector_grows_replaces_the_one_shown_and_older_states_do_not() -> None:
    feed = LiveFeed("http://127.0.0.1:1")
    first = make_case("Leger onderweg naar Haren??", case_id="rumour:leger", post_count=5, updated_at=NOW)
    grown = {
        **first,
        "post_count": 17,
        "severity": "high",
        "updated_at": (NOW + timedelta(minutes=20)).isoformat(),
    }
    assert feed.add_cases([first]) == 1
    # The detector grew the case: same room version (nobody touched it), more posts, later activity.
    assert feed.add_cases([grown]) == 1
    assert [(c["post_count"], c["severity"]) for c in feed.cases()] == [(17, "high")]
    # A snapshot read before the growth (a REST page racing a push) does not bring the old state back ...
    assert feed.add_cases([first]) == 0
    # ... nor does an older room version, however new its counts look.
    taken = {**grown, "version": grown["version"] + 1, "owner": "adviseur"}
    assert feed.add_cases([taken]) == 1
    assert feed.add_cases([{**grown, "post_count": 99}]) == 0
    assert [(c["owner"], c["post_count"]) for c in feed.cases()] == [("adviseur", 17)]
