"""The wall display: one dark, high-contrast screen for the crisis room that nobody touches.

Map of posts with the areas of open alerts, posts per minute with spikes marked, an alert ticker, the top
rumour cases with their status and owner, what changed since the last briefing, and an honest status line
(connection, ingest lag, posts per minute per source, what Signaal cannot see).

Data: posts, alerts and rumour cases come from the process's LiveFeed (WebSocket, caught up over REST after
every reconnect); the service status and the briefing changes from background pollers. Callbacks only read
those snapshots, so a refresh costs milliseconds and never waits on the network. Stranger-written text
(post text, alert titles, claims) is passed as plain Dash children, escaped by React, and escaped before it
goes into a figure.

Query parameters: ``?rotate=30`` alternates the map-focused and rumour-focused layouts every 30 s;
``?view=rumours`` fixes the rumour layout; ``?briefing=2024-09-15T18:00:00Z`` shows changes since that time
instead of since the room's latest briefing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import Input, Output, Patch, State, callback, clientside_callback, dcc, html, no_update

from dashboard.client import ApiClient, FeedStatus, LiveAlert, LiveCase, LiveFeed, Polled, live_feed, poller
from dashboard.display import clock, clock_or_day, count, parse_time, plain
from dashboard.figures.geodata import load_outline, load_places
from dashboard.figures.wall import (
    KIND_LABEL,
    briefing_digest,
    case_mark,
    font_scale,
    format_lag,
    format_rate,
    ingest_lag,
    lag_level,
    platform_rates,
    rumour_stories,
    severity_mark,
    source_rates,
    stream_note,
    ticker,
    wall_map_figure,
    wall_volume_figure,
)
from dashboard.settings import DashboardSettings, current_settings

dash.register_page(__name__, path="/wall", title="Signaal · Wall", name="Wall")

BLIND_SPOT = "closed groups, private accounts and messaging apps (WhatsApp, Telegram) are not seen"
GRAPH_CONFIG = {"displaylogo": False, "scrollZoom": False, "displayModeBar": False, "staticPlot": False}
TICKER_LINES = 12  # as many as fit are shown, whole (see wall.css)
RUMOUR_LINES = 10
BRIEFING_LINES = 10
VOLUME_HOURS = 3.0
STATUS_POLL_S = 2.0
BRIEFING_POLL_S = 2.0
VIEWS = ("view-map", "view-rumours")
MIN_ROTATE_S = 10


def _feed(settings: DashboardSettings) -> LiveFeed:
    return live_feed(settings.api_url, history=timedelta(hours=settings.history_hours))


def _status(settings: DashboardSettings) -> Polled:
    return poller(settings.api_url, "status", ApiClient.status, interval=STATUS_POLL_S).get()


def _changes(settings: DashboardSettings, since: str | None) -> Polled:
    moment = parse_time(since) if since else None

    def fetch(client: ApiClient) -> dict[str, Any]:
        return client.briefing_changes(since=moment)

    what = f"briefing-changes@{moment.isoformat() if moment else 'latest'}"
    return poller(settings.api_url, what, fetch, interval=BRIEFING_POLL_S).get()


# -- panels ----------------------------------------------------------------------------------------------


def mark(symbol: str, word: str, css: str) -> html.Span:
    """A state as shape + word in a coloured chip: readable without colour."""
    return html.Span([html.Span(symbol, className="mark-shape"), f" {word}"], className=f"chip {css}")


def ticker_items(feed: LiveFeed) -> list[html.Li]:
    alerts = ticker(feed.alerts(), now=feed.clock(), limit=TICKER_LINES)
    if not alerts:
        text = (
            "No alerts from the detectors. Quiet, or nothing Signaal can see."
            if feed.caught_up
            else "Catching up with the service…"
        )
        return [html.Li(text, className="empty")]
    return [ticker_line(a, feed.clock()) for a in alerts]


def ticker_line(alert: LiveAlert, now: datetime) -> html.Li:
    symbol, word = severity_mark(alert["severity"])
    kind = KIND_LABEL.get(alert["kind"], plain(alert["kind"], 16))
    state = "closed" if alert["closed"] else ""
    updated = alert["updated_at"]
    return html.Li(
        className=f"line sev-{alert['severity']} {state}".strip(),
        children=[
            mark(symbol, word, f"sev-{alert['severity']}"),
            html.Time(clock_or_day(parse_time(updated), now), dateTime=updated, className="at"),
            html.Span(kind, className="kind"),
            # Plain child: React escapes it, a title can never become markup.
            html.Span(plain(alert["title"], 200), className="text"),
        ],
    )


def rumour_items(feed: LiveFeed) -> list[html.Li]:
    rows = rumour_stories(feed.cases(), limit=RUMOUR_LINES)
    if not rows:
        why = feed.cases_error
        text = (
            f"Rumour cases unavailable: {plain(why, 80)}"
            if why
            else "No open rumour cases."
            if feed.caught_up
            else "Catching up with the service…"
        )
        return [html.Li(text, className="empty")]
    return [rumour_line(row.case, row.alike) for row in rows]


def rumour_line(case: LiveCase, alike: int = 0) -> html.Li:
    symbol, word = case_mark(case["status"])
    sev_symbol, _ = severity_mark(case["severity"])
    owner = plain(case["owner"], 24) if case["owner"] else "no owner"
    return html.Li(
        className=f"line case status-{case['status']}",
        children=[
            mark(symbol, word, f"status-{case['status']}"),
            html.Span(
                [
                    html.Span(sev_symbol, className=f"sev-shape sev-{case['severity'] or 'none'}"),
                    " ",
                    plain(case["claim"], 200),
                ],
                className="text",
            ),
            *alike_mark(alike),
            html.Span(f"{count(case['post_count'])}×", className="count", title="posts"),
            html.Span(owner, className="owner" + ("" if case["owner"] else " unowned")),
        ],
    )


def alike_mark(alike: int) -> list[html.Span]:
    """The mark of a line that stands for more cases than its own (see ``rumour_stories``)."""
    if not alike:
        return []
    more = f"{alike} more open case{'s' if alike > 1 else ''}"
    why = f"{more} that seem to tell this claim in other words (merge them on the rumour board)"
    return [html.Span(f"≈ +{alike}", className="alike", title=why)]


def briefing_panel(changes: Polled, feed: LiveFeed, since_override: str | None) -> list[Any]:
    claims = {c["case_id"]: plain(c["claim"], 60) for c in feed.cases()}
    if changes.value is None:
        reason = changes.error or "asking the service…"
        return [html.P(f"Not available: {plain(reason, 90)}", className="empty")]
    digest = briefing_digest(changes.value, claims=claims, limit=BRIEFING_LINES)
    if digest.since is None:
        # The service lists changes only since a briefing; without one there is nothing to count from.
        return [html.P("No briefing held yet: changes are counted from the first one.", className="empty")]
    head = f"Since {'the given time' if since_override else 'the briefing at'} {clock(digest.since)}"
    counts = [
        html.Span([html.B(f"{digest.new_alerts}"), " new alerts"], className="count"),
        html.Span([html.B(f"{digest.updated_alerts}"), " updated"], className="count"),
        html.Span([html.B(f"{digest.case_changes}"), " rumour changes"], className="count"),
        html.Span([html.B(f"{digest.entries}"), " log entries"], className="count"),
    ]
    children: list[Any] = [html.Div(head, className="panel-sub"), html.Div(counts, className="counts")]
    if digest.empty:
        children.append(html.P("Nothing new or changed since then.", className="empty"))
    else:
        children.append(
            html.Ol(
                [
                    html.Li(
                        [
                            html.Span(line.mark, className="mark-shape"),
                            html.Time(clock(line.at), className="at"),
                            html.Span(line.text, className="text"),
                        ],
                        className=f"line change {line.kind.replace(' ', '-')}",
                    )
                    for line in digest.lines
                ],
                className="lines",
            )
        )
    if changes.error:
        children.append(html.P(f"Not updating: {plain(changes.error, 80)}", className="stale"))
    return children


def connection(status: FeedStatus) -> tuple[list[Any], str]:
    """The big connection chip and the frame's class: the room must see at a glance when the wall is stale."""
    if status.connected:
        return [mark("●", "LIVE", "ok")], "frame ok"
    if status.state == "connecting" and status.reconnects == 0:
        return [mark("◌", "CONNECTING…", "wait")], "frame wait"
    since = f" · data up to {clock(status.last_post_at, seconds=True)}" if status.last_post_at else ""
    return [
        mark("◌", f"RECONNECTING… attempt {status.reconnects}", "down"),
        html.Span(since, className="since"),
    ], ("frame down")


def status_line(feed: LiveFeed, polled: Polled) -> list[Any]:
    status = polled.value if isinstance(polled.value, dict) else None
    parts: list[Any] = []
    lag = ingest_lag(status)
    level = lag_level(lag) if polled.ok else "unknown"
    lag_text = format_lag(lag) if status else "unknown"
    parts.append(
        html.Span(
            [html.Span("Ingest lag ", className="label"), html.B(lag_text)], className=f"fact lag {level}"
        )
    )
    rates = source_rates(status)
    where = "Sources "
    if not rates:
        # An older service does not report its sources: count them in the wall's own buffer instead.
        now = feed.clock()
        rates = platform_rates(feed.snapshot(since=now - timedelta(minutes=10)), now=now)
        where = "Sources (seen here) "
    if rates:
        shown = rates[:4]
        text = " · ".join(f"{name} {format_rate(rate)}/min" for name, rate in shown)
        if len(rates) > len(shown):
            text += f" · +{len(rates) - len(shown)} more"
    else:
        text = "no posts in the last 10 min"
    parts.append(html.Span([html.Span(where, className="label"), text], className="fact sources"))
    if not polled.ok and polled.error:
        parts.append(html.Span(f"status: {plain(polled.error, 60)}", className="fact stale"))
    blind = status.get("blind_spots") if status and isinstance(status.get("blind_spots"), str) else None
    text = plain(blind, 110) if blind else BLIND_SPOT
    parts.append(
        html.Span([html.Span("Blind spots: ", className="label"), text], className="fact blind-spot")
    )
    return parts


def wall_clock(feed: LiveFeed) -> list[Any]:
    now = datetime.now(UTC)
    stream = feed.clock()
    note = stream_note(stream, now)
    parts: list[Any] = [html.Span(clock(now), className="time")]
    if note:
        parts.append(html.Span(note, className="replay"))
    return parts


# -- layout ----------------------------------------------------------------------------------------------


def _rotate_seconds(value: str | None) -> int | None:
    try:
        seconds = int(float(value)) if value else 0
    except ValueError:
        return None
    return max(MIN_ROTATE_S, seconds) if seconds > 0 else None


def layout(
    rotate: str | None = None, view: str | None = None, briefing: str | None = None, **_: str
) -> html.Div:
    settings = current_settings()
    feed = _feed(settings)
    seconds = _rotate_seconds(rotate)
    since = briefing if briefing and parse_time(briefing) else None
    first = "view-rumours" if view == "rumours" else "view-map"
    polled_status = _status(settings)
    return html.Div(
        id="wall-root",
        className=f"wall {first}",
        children=[
            dcc.Interval(id="wall-tick", interval=settings.refresh_ms),
            dcc.Interval(id="wall-rotate", interval=(seconds or 3600) * 1000, disabled=seconds is None),
            dcc.Interval(id="wall-watchdog", interval=1000),
            dcc.Store(id="wall-seen"),
            dcc.Store(id="wall-size"),
            dcc.Store(id="wall-beat"),
            dcc.Store(id="wall-beat-ack"),
            dcc.Store(id="wall-since", data=since),
            html.Div(
                id="wall-frame",
                className="frame wait",
                children=[
                    html.Header(
                        className="wall-head",
                        children=[
                            html.H1(["SIGNAAL", html.Span(" wall", className="page")]),
                            html.Div(
                                connection(feed.status())[0], id="wall-conn", className="conn", role="status"
                            ),
                            html.Div(
                                id="wall-stale",
                                className="stale-banner",
                                children="Display not updating — reconnecting…",
                            ),
                            html.Div(wall_clock(feed), id="wall-clock", className="clock"),
                        ],
                    ),
                    html.Section(
                        className="wpanel w-map",
                        children=[
                            dcc.Graph(
                                id="wall-map",
                                config=GRAPH_CONFIG,
                                responsive=True,
                                className="wall-graph",
                                figure=_map(feed, settings, None, 1.0),
                            ),
                        ],
                    ),
                    html.Section(
                        className="wpanel w-ticker",
                        children=[
                            html.H2("Alerts"),
                            html.Ol(ticker_items(feed), id="wall-ticker", className="lines"),
                        ],
                    ),
                    html.Section(
                        className="wpanel w-rumours",
                        children=[
                            html.H2(["Rumours", html.Span(" · status · posts · owner", className="h2-note")]),
                            html.Ol(rumour_items(feed), id="wall-rumours", className="lines"),
                        ],
                    ),
                    html.Section(
                        className="wpanel w-volume",
                        children=[
                            html.H2(f"Posts per minute · last {VOLUME_HOURS:g} h · spikes shaded"),
                            dcc.Graph(
                                id="wall-volume",
                                config=GRAPH_CONFIG,
                                responsive=True,
                                className="wall-graph",
                                figure=_volume(feed, 1.0),
                            ),
                        ],
                    ),
                    html.Section(
                        className="wpanel w-briefing",
                        children=[
                            html.H2("Since the last briefing"),
                            html.Div(
                                briefing_panel(_changes(settings, since), feed, since), id="wall-briefing"
                            ),
                        ],
                    ),
                    html.Footer(status_line(feed, polled_status), id="wall-status", className="wall-status"),
                ],
            ),
        ],
    )


def _map(feed: LiveFeed, settings: DashboardSettings, size: tuple[int, int] | None, scale: float) -> Any:
    now = feed.clock()
    return wall_map_figure(
        feed.snapshot(since=now - timedelta(hours=settings.history_hours)),
        feed.alerts(),
        outline=load_outline(),
        places=load_places(),
        now=now,
        size=size,
        scale=scale,
        style=settings.map_style,
    )


def _volume(feed: LiveFeed, scale: float) -> Any:
    now = feed.clock()
    since = now - timedelta(hours=VOLUME_HOURS)
    return wall_volume_figure(
        feed.volume(since=since, until=now), feed.alerts(), now=now, since=since, scale=scale
    )


# -- callbacks -------------------------------------------------------------------------------------------

# The browser reports the map's size (to fit the view) and the window's height (to size the type).
clientside_callback(
    """
    function (_tick) {
        const el = document.getElementById("wall-map");
        if (!el) { return window.dash_clientside.no_update; }
        const box = el.getBoundingClientRect();
        return [Math.round(box.width), Math.round(box.height), window.innerHeight];
    }
    """,
    Output("wall-size", "data"),
    Input("wall-tick", "n_intervals"),
)

# Rotation between the map-focused and the rumour-focused layout, in the browser: no server round trip.
clientside_callback(
    """
    function (n, current) {
        if (!n) { return window.dash_clientside.no_update; }
        const next = (current || "").includes("view-map") ? "view-rumours" : "view-map";
        return "wall " + next;
    }
    """,
    Output("wall-root", "className"),
    Input("wall-rotate", "n_intervals"),
    State("wall-root", "className"),
)

# When the dashboard server itself is out of reach, no server callback can say so: the browser notices
# that the heartbeat stopped and shows the banner itself.
clientside_callback(
    """
    function (beat) {
        window.__wallBeatAt = Date.now();
        window.__wallTicksSinceBeat = 0;
        return window.dash_clientside.no_update;
    }
    """,
    Output("wall-beat-ack", "data"),
    Input("wall-beat", "data"),
)

clientside_callback(
    """
    function (_n) {
        // Stale only if the page kept running and asking (watchdog ticks) with no answer: a browser that was
        // merely busy (a slow GPU redrawing the map) has no ticks either, and is not "not updating".
        window.__wallTicksSinceBeat = (window.__wallTicksSinceBeat || 0) + 1;
        const last = window.__wallBeatAt || 0;
        const stale = last > 0 && Date.now() - last > 8000 && window.__wallTicksSinceBeat >= 8;
        return stale ? "stale-banner on" : "stale-banner";
    }
    """,
    Output("wall-stale", "className"),
    Input("wall-watchdog", "n_intervals"),
)


def _size(size: Any) -> tuple[tuple[int, int] | None, float]:
    if isinstance(size, list | tuple) and len(size) == 3:
        return (int(size[0]), int(size[1])), font_scale(size[2])
    return None, 1.0


# Two callbacks: a cheap one every tick (connection, status line, clock, heartbeat) that also decides whether
# anything drawn has changed, and the expensive redraw, run only then. Dash drops a callback's answer when the
# same callback fires again before it arrives, so a redraw on every tick could starve the status line on a
# slow machine; this way the status line is never late, and the redraw happens once per change.
@callback(
    Output("wall-status", "children"),
    Output("wall-conn", "children"),
    Output("wall-frame", "className"),
    Output("wall-clock", "children"),
    Output("wall-beat", "data"),
    Output("wall-seen", "data"),
    Input("wall-tick", "n_intervals"),
    State("wall-seen", "data"),
    State("wall-size", "data"),
    State("wall-since", "data"),
)
def refresh(
    tick: int | None, seen: str | None, size: list[int] | None = None, since: str | None = None
) -> tuple[Any, ...]:
    settings = current_settings()
    feed = _feed(settings)
    conn, frame = connection(feed.status())
    changes = _changes(settings, since)
    map_size, scale = _size(size)
    # What is drawn changes with the feed, the minute (ages, the chart's window), the screen, the briefing.
    current = f"{feed.version}@{datetime.now(UTC):%H%M}@{map_size}@{scale:.2f}@{changes.version}"
    return (
        status_line(feed, _status(settings)),
        conn,
        frame,
        wall_clock(feed),
        tick or 0,
        no_update if current == seen else current,
    )


@callback(
    Output("wall-map", "figure"),
    Output("wall-volume", "figure"),
    Output("wall-ticker", "children"),
    Output("wall-rumours", "children"),
    Output("wall-briefing", "children"),
    Input("wall-seen", "data"),
    State("wall-size", "data"),
    State("wall-since", "data"),
    prevent_initial_call=True,
)
def redraw(_seen: str | None, size: list[int] | None = None, since: str | None = None) -> tuple[Any, ...]:
    settings = current_settings()
    feed = _feed(settings)
    map_size, scale = _size(size)
    full = _map(feed, settings, map_size, scale)
    patch = Patch()  # the outline layers are the bulk of the figure and never change
    patch["data"] = [trace.to_plotly_json() for trace in full.data]
    patch["layout"]["map"]["center"] = full.layout.map.center.to_plotly_json()
    patch["layout"]["map"]["zoom"] = full.layout.map.zoom
    patch["layout"]["legend"] = full.layout.legend.to_plotly_json()
    return (
        patch,
        _volume(feed, scale),
        ticker_items(feed),
        rumour_items(feed),
        briefing_panel(_changes(settings, since), feed, since),
    )
