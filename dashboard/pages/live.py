"""The live page: map of recent posts, posts-per-minute chart, detector alerts, newest posts and the feed's
health.

Every refresh reads an in-memory snapshot of the process's LiveFeed, so callbacks cost milliseconds and
never wait on the network. Post and alert text is shown as plain Dash children (escaped by React) and escaped
before it goes into any figure: alert titles and explanations are derived from strangers' posts too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import Input, Output, Patch, State, callback, clientside_callback, dcc, html, no_update

from dashboard import display
from dashboard.client import FeedStatus, LiveAlert, LiveFeed, LivePost, live_feed
from dashboard.display import clock, parse_time, plain
from dashboard.figures import map_figure, volume_figure
from dashboard.figures.geodata import load_outline, load_places
from dashboard.settings import DashboardSettings, current_settings
from dashboard.summary import busiest_areas
from dashboard.ui import playbook_label

dash.register_page(__name__, path="/", title="Live", name="Live")

BLIND_SPOT = "Signaal cannot see closed groups or messaging apps."
GRAPH_CONFIG = {"displaylogo": False, "scrollZoom": True, "displayModeBar": False}
MAX_SHOWN_ALERTS = 30
EXPLANATION_SHOWN = 160  # characters of an explanation shown before it needs a click
ALERT_KINDS = {"spike": ("▲", "Piek"), "mobilisation": ("⚑", "Oproep"), "rumour": ("?", "Gerucht")}


def _feed(settings: DashboardSettings) -> LiveFeed:
    return live_feed(settings.api_url, history=timedelta(hours=settings.history_hours))


def _map(feed: LiveFeed, settings: DashboardSettings, size: tuple[int, int] | None = None) -> Any:
    return map_figure(
        feed.snapshot(),
        style=settings.map_style,
        outline=load_outline(),
        places=load_places(),
        now=feed.clock(),
        size=size,
    )


def _volume(feed: LiveFeed, settings: DashboardSettings) -> Any:
    now = feed.clock()
    return volume_figure(feed.volume(since=now - timedelta(hours=settings.history_hours), until=now), now=now)


def post_item(post: LivePost) -> html.Li:
    created = parse_time(post["created_at"])
    return html.Li(
        className="post",
        children=[
            html.Div(
                className="post-meta",
                children=[
                    html.Time(clock(created, seconds=True), dateTime=post["created_at"]),
                    html.Span(plain(post["area"], 40) or "no area", className="area"),
                    html.Span("" if post["lat"] is not None else "not on map", className="nogeo"),
                ],
            ),
            # Plain children: React escapes it, so a post can never become markup on the wall.
            html.Div(plain(post["text"], 280), className="post-text"),
        ],
    )


def post_items(feed: LiveFeed, settings: DashboardSettings) -> list[html.Li]:
    posts = feed.snapshot(limit=settings.newest_posts)
    if not posts:
        return [html.Li("No posts received yet.", className="post empty")]
    return [post_item(p) for p in posts]


def alert_item(alert: LiveAlert) -> html.Li:
    updated = parse_time(alert["updated_at"])
    icon, label = ALERT_KINDS.get(alert["kind"], ("•", plain(alert["kind"], 20)))
    facts: list[Any] = [
        html.Time(clock(updated), dateTime=alert["updated_at"], title="last updated (Amsterdam time)"),
        html.Span(plain(alert["area"], 40) or "no area", className="area"),
        html.Span(f"{display.count(alert['post_count'])} posts", className="count"),
    ]
    if alert["playbook"]:
        facts.append(html.Span(f"playbook: {playbook_label(alert['playbook'])}", className="playbook"))
    # Every string below is a plain child: React escapes it, so a title can never become markup.
    return html.Li(
        className=f"alert sev-{alert['severity']}" + (" closed" if alert["closed"] else ""),
        children=[
            html.Div(
                className="alert-head",
                children=[
                    html.Span(alert["severity"].upper(), className=f"badge sev-{alert['severity']}"),
                    html.Span([html.Span(icon, className="kind-icon"), f" {label}"], className="kind"),
                    html.Span(plain(alert["title"], 160), className="alert-title"),
                ],
            ),
            html.Div(facts, className="alert-meta"),
            explanation_block(alert["explanation"]),
        ],
    )


def explanation_block(explanation: str) -> Any:
    """Short explanations are shown whole; long ones open on a click, the summary showing their start."""
    text = plain(explanation) or "no explanation"
    if len(text) <= EXPLANATION_SHOWN:
        return html.P(text, className="alert-explanation")
    return html.Details(
        className="alert-why",
        children=[html.Summary(plain(text, EXPLANATION_SHOWN)), html.P(text, className="alert-explanation")],
    )


def alert_items(feed: LiveFeed) -> list[html.Li]:
    alerts = feed.alerts(limit=MAX_SHOWN_ALERTS)
    if not alerts:
        return [html.Li("No alerts.", className="alert empty")]
    return [alert_item(a) for a in alerts]


def area_strip(feed: LiveFeed) -> list[Any]:
    """The busiest municipalities of the last hour, as text: exact counts that don't blink on the map."""
    since = feed.clock() - timedelta(hours=1)
    areas = busiest_areas(feed.snapshot(since=since), since=since)
    parts: list[Any] = [html.Span("Most posts, last hour", className="areas-title")]
    if not areas:
        parts.append(html.Span("none yet", className="area-count none"))
    parts += [
        html.Span([html.B(plain(area, 40)), f" {display.count(count)}"], className="area-count")
        for area, count in areas
    ]
    return parts


def status_line(status: FeedStatus) -> list[Any]:
    if status.connected:
        state, label = "ok", "Live"
    elif status.state == "connecting":
        state, label = "wait", "Connecting…"
    else:
        state, label = "down", f"Reconnecting… (attempt {status.reconnects})"
    parts: list[Any] = [
        html.Span(className=f"dot {state}"),
        html.Span(label, className=f"state {state}"),
        html.Span(f"{display.count(status.buffered)} posts in buffer", className="fact"),
        html.Span(f"last post {clock(status.last_post_at, seconds=True)}", className="fact"),
        html.Span(f"{status.posts_per_minute:.1f} posts/min (5-min avg)", className="fact"),
    ]
    if not status.connected and status.last_post_at is not None:
        parts.append(html.Span("showing data up to the last post received", className="fact warn"))
    parts.append(html.Span(BLIND_SPOT, className="blind-spot"))
    return parts


def layout(**_query: str) -> html.Div:
    settings = current_settings()
    feed = _feed(settings)
    return html.Div(
        className="live",
        children=[
            dcc.Interval(id="live-tick", interval=settings.refresh_ms),
            dcc.Store(id="live-seen"),
            dcc.Store(id="live-map-size"),
            html.Header(
                className="live-header",
                children=[
                    html.H1(["Signaal", html.Span(" · Live", className="page")]),
                    html.Div(status_line(feed.status()), id="live-status", className="status", role="status"),
                ],
            ),
            html.Section(
                className="panel map-panel",
                children=[
                    html.Div(area_strip(feed), id="live-areas", className="areas"),
                    dcc.Graph(
                        id="live-map", figure=_map(feed, settings), config=GRAPH_CONFIG, className="map-graph"
                    ),
                ],
            ),
            html.Aside(
                className="panel feed-panel",
                children=[
                    html.H2("Alerts"),
                    html.Ol(alert_items(feed), id="live-alerts", className="alert-list"),
                    html.H2(f"Newest {settings.newest_posts} posts"),
                    html.Ol(
                        post_items(feed, settings),
                        id="live-posts",
                        className="post-list",
                    ),
                ],
            ),
            html.Section(
                className="panel volume-panel",
                children=[
                    html.H2(f"Posts per minute · last {settings.history_hours:g} hours"),
                    dcc.Graph(
                        id="live-volume",
                        figure=_volume(feed, settings),
                        config=GRAPH_CONFIG,
                        className="volume-graph",
                    ),
                ],
            ),
        ],
    )


# The view is fitted on the server, which can't see the browser: the browser reports the map's size.
clientside_callback(
    """
    function (_tick) {
        const el = document.getElementById("live-map");
        if (!el) { return window.dash_clientside.no_update; }
        const box = el.getBoundingClientRect();
        return [Math.round(box.width), Math.round(box.height)];
    }
    """,
    Output("live-map-size", "data"),
    Input("live-tick", "n_intervals"),
)


@callback(
    Output("live-map", "figure"),
    Output("live-volume", "figure"),
    Output("live-posts", "children"),
    Output("live-alerts", "children"),
    Output("live-status", "children"),
    Output("live-areas", "children"),
    Output("live-seen", "data"),
    Input("live-tick", "n_intervals"),
    State("live-seen", "data"),
    State("live-map-size", "data"),
)
def refresh(_tick: int | None, seen: str | None, size: list[int] | None = None) -> tuple[Any, ...]:
    settings = current_settings()
    feed = _feed(settings)
    status = status_line(feed.status())
    map_size = (int(size[0]), int(size[1])) if isinstance(size, list | tuple) and len(size) == 2 else None
    # Ages (map colours) and the chart's time window move each minute even when no post arrives.
    current = f"{feed.version}@{datetime.now(UTC):%H%M}@{map_size}"
    if current == seen:
        return no_update, no_update, no_update, no_update, status, no_update, no_update
    full = _map(feed, settings, map_size)
    # The outline layers are the bulk of the figure and never change: send only traces and view.
    patch = Patch()
    patch["data"] = [trace.to_plotly_json() for trace in full.data]
    patch["layout"]["map"]["center"] = full.layout.map.center.to_plotly_json()
    patch["layout"]["map"]["zoom"] = full.layout.map.zoom
    posts = post_items(feed, settings)
    return patch, _volume(feed, settings), posts, alert_items(feed), status, area_strip(feed), current
