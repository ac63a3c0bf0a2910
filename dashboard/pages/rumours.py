"""The rumour board: one card per rumour case, for the advisers who check and answer rumours.

Left, the cases (newest activity first, filtered by status, closed ones hidden unless asked), each with its
claim, status, who is on it, first seen, spread sparkline, stance mix, an example post, the answer and its
effect, and the workflow buttons. Right, the opened case in full: spread with the answer marked, stance,
map, example posts (split them off), notes, merge, the answer form and the history. A form flags any post
as a rumour by hand.

The page polls the API every two seconds (cheap: one list call; details are fetched only for cases whose
version or post count changed), so a second adviser sees a case taken within ~3 s. Every change sends the
case version the adviser was looking at; when someone changed the case meanwhile the API refuses (409), the
page says so and refreshes instead of overwriting.

There are no accounts yet (the API records every change as "local"), so the page asks the adviser's name
once, keeps it in the browser, and "Take" makes that name the owner.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import dash
import httpx
from dash import ALL, Input, Output, Patch, State, callback, ctx, dcc, html, no_update

from dashboard import display
from dashboard import rumour_cards as rc
from dashboard.auth import session_token, session_user
from dashboard.display import plain
from dashboard.figures.geodata import load_outline, load_places
from dashboard.figures.spread import case_map_figure, spread_figure, stance_figure
from dashboard.room_api import Refused, RoomClient
from dashboard.settings import current_settings

dash.register_page(__name__, path="/rumours", title="Rumour board", name="Rumours")

POLL_MS = 2000
MAX_CARDS = 60
MAP_SIZE = (560, 300)
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False}
NO_NAME = "Enter your name once: it is shown as the owner when you take a case."

# --- API access and the per-process detail cache ----------------------------------------------------------

_clients: dict[tuple[int, str, str], RoomClient] = {}
MAX_CLIENTS = 64
_details: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
_lock = threading.Lock()
MAX_CACHED = 500


def _client() -> RoomClient:
    """A client acting as the signed-in adviser (their own token), or as the dashboard when sign-in is off."""
    url = current_settings().api_url
    token = session_token()
    key = (os.getpid(), url, token or "")
    with _lock:
        client = _clients.get(key)
        if client is None or client.closed:
            if len(_clients) >= MAX_CLIENTS:
                _clients.pop(next(iter(_clients))).close()
            client = _clients[key] = RoomClient(url, timeout=8.0, token=token)
        return client


def _detail(client: RoomClient, case: dict[str, Any]) -> dict[str, Any]:
    """The case's detail, fetched again only when its signature (version, posts, last post) changed."""
    key, sig = (client.base_url, case["case_id"]), rc.signature(case)
    with _lock:
        cached = _details.get(key)
    if cached is not None and cached[0] == sig:
        return cached[1]
    detail = client.case(case["case_id"])
    with _lock:
        if len(_details) >= MAX_CACHED:
            _details.clear()
        _details[key] = (rc.signature(detail), detail)
    return detail


# --- layout ---------------------------------------------------------------------------------------------


def _flag_form() -> html.Details:
    return html.Details(
        className="rb-flag",
        children=[
            html.Summary("Flag a post as rumour by hand"),
            html.Div(
                className="rb-form",
                children=[
                    dcc.Dropdown(
                        id="rb-flag-post",
                        placeholder="Pick a recent post (type to search all posts)…",
                        searchable=True,
                        clearable=True,
                        optionHeight=48,
                    ),
                    dcc.Input(
                        id="rb-flag-key",
                        placeholder="…or paste a post key (platform:id)",
                        type="text",
                        debounce=False,
                        className="rb-input",
                    ),
                    dcc.Dropdown(
                        id="rb-flag-case",
                        placeholder="Into a new case (or pick an existing case)",
                        clearable=True,
                    ),
                    dcc.Input(
                        id="rb-flag-claim",
                        placeholder="Claim, for a new case (optional)",
                        type="text",
                        maxLength=300,
                        className="rb-input",
                    ),
                    html.Button("Flag as rumour", id="rb-flag-do", className="rb-btn primary", n_clicks=0),
                ],
            ),
        ],
    )


def _detail_pane() -> html.Section:
    return html.Section(
        id="rb-detail",
        className="rb-detail panel",
        children=[
            html.Div(id="rb-d-head", className="rb-d-head"),
            html.Div(id="rb-d-actions"),
            html.Div(
                className="rb-handover",
                children=[
                    dcc.Input(
                        id="rb-handover-name",
                        placeholder="Hand over to (name)",
                        type="text",
                        maxLength=128,
                        className="rb-input",
                    ),
                    html.Button("Hand over", id="rb-handover-do", className="rb-btn", n_clicks=0),
                ],
            ),
            html.Div(id="rb-d-answer"),
            html.Div(
                className="rb-d-figs",
                children=[
                    html.Div(
                        className="rb-fig spread",
                        children=[
                            html.H4("Spread · posts per 10 minutes"),
                            dcc.Graph(id="rb-d-spread", config=GRAPH_CONFIG, className="rb-d-spread"),
                        ],
                    ),
                    html.Div(
                        className="rb-fig stance",
                        children=[
                            html.H4("Stance of the posts"),
                            dcc.Graph(id="rb-d-stance", config=GRAPH_CONFIG, className="rb-d-stance"),
                            html.H4("Where it is posted"),
                            html.Div(id="rb-d-areas", className="rb-areas"),
                        ],
                    ),
                ],
            ),
            html.Div(
                id="rb-d-mapbox",
                className="rb-fig map",
                children=[
                    html.H4("Map of geotagged posts"),
                    html.Div(id="rb-d-nomap", className="rb-nomap"),
                    # Hidden by a zero-height wrapper, never display:none: a map drawn while hidden gets no
                    # size and stays a sliver when it is shown again.
                    html.Div(
                        dcc.Graph(
                            id="rb-d-map",
                            config={**GRAPH_CONFIG, "scrollZoom": True},
                            className="rb-d-map",
                        ),
                        className="rb-mapwrap",
                    ),
                ],
            ),
            html.Div(
                className="rb-cols",
                children=[
                    html.Div(
                        className="rb-col",
                        children=[
                            html.H4("Example posts"),
                            dcc.Checklist(
                                id="rb-d-examples",
                                options=[],
                                value=[],
                                className="rb-examples",
                                labelClassName="rb-example-opt",
                            ),
                            html.Details(
                                className="rb-others",
                                children=[
                                    html.Summary(id="rb-d-others-count"),
                                    dcc.Checklist(
                                        id="rb-d-others", options=[], value=[], className="rb-examples"
                                    ),
                                ],
                            ),
                            html.Div(
                                className="rb-form inline",
                                children=[
                                    dcc.Input(
                                        id="rb-split-claim",
                                        placeholder="Claim of the new case (optional)",
                                        type="text",
                                        maxLength=300,
                                        className="rb-input",
                                    ),
                                    html.Button(
                                        "Split ticked posts into a new case",
                                        id="rb-split-do",
                                        className="rb-btn",
                                        n_clicks=0,
                                    ),
                                ],
                            ),
                            html.H4("Merge another case into this one"),
                            html.Div(
                                className="rb-form inline",
                                children=[
                                    dcc.Dropdown(
                                        id="rb-merge-pick",
                                        placeholder="Same claim, other words…",
                                        clearable=True,
                                    ),
                                    html.Button(
                                        "Merge into this case",
                                        id="rb-merge-do",
                                        className="rb-btn",
                                        n_clicks=0,
                                    ),
                                ],
                            ),
                        ],
                    ),
                    html.Div(
                        className="rb-col",
                        children=[
                            html.H4("Notes"),
                            html.Div(
                                className="rb-form inline",
                                children=[
                                    dcc.Textarea(
                                        id="rb-note-text",
                                        placeholder="Add a note for the team…",
                                        maxLength=5000,
                                        className="rb-input",
                                    ),
                                    html.Button("Add note", id="rb-note-add", className="rb-btn", n_clicks=0),
                                ],
                            ),
                            html.Ol(id="rb-d-notes", className="rb-notes"),
                        ],
                    ),
                ],
            ),
            html.Details(
                id="rb-answer-form",
                className="rb-answer-form",
                children=[
                    html.Summary("Link the official answer"),
                    html.Div(
                        className="rb-form",
                        children=[
                            dcc.Textarea(
                                id="rb-answer-text",
                                placeholder="The answer as published",
                                maxLength=5000,
                                className="rb-input",
                            ),
                            dcc.Dropdown(
                                id="rb-answer-channel",
                                clearable=False,
                                value="social",
                                options=[{"label": label, "value": v} for v, label in rc.CHANNELS],
                            ),
                            dcc.Input(
                                id="rb-answer-url",
                                placeholder="URL (optional)",
                                type="url",
                                maxLength=2048,
                                className="rb-input",
                            ),
                            dcc.Input(
                                id="rb-answer-at",
                                type="text",
                                className="rb-input",
                                placeholder="Published at, Amsterdam time: 2024-09-15 21:00 (empty: now)",
                            ),
                            dcc.Dropdown(
                                id="rb-answer-incident",
                                placeholder="Also record it in incident… (optional)",
                                clearable=True,
                            ),
                            html.Button(
                                "Link answer", id="rb-answer-do", className="rb-btn primary", n_clicks=0
                            ),
                        ],
                    ),
                ],
            ),
            html.H4("History"),
            html.Ol(id="rb-d-history", className="rb-history"),
        ],
    )


def layout(case: str | None = None, **_query: str) -> html.Div:
    """``?case=<id>`` (the incident page's links) opens that case."""
    return html.Div(
        className="rumours",
        children=[
            dcc.Interval(id="rb-tick", interval=POLL_MS),
            dcc.Store(id="rb-adviser", storage_type="local"),
            dcc.Store(id="rb-selected", data=case or None),
            dcc.Store(id="rb-bump", data=0),
            dcc.Store(id="rb-board-sig"),
            dcc.Store(id="rb-index", data=[]),
            dcc.Store(id="rb-d-shown"),
            html.Header(
                className="rb-header",
                children=[
                    html.H1(["Signaal", html.Span(" · Rumour board", className="page")]),
                    html.Nav(
                        [dcc.Link("Live", href="/"), dcc.Link("Rumours", href="/rumours", className="here")]
                    ),
                    html.Div(
                        className="rb-filter",
                        children=[
                            dcc.Dropdown(
                                id="rb-filter",
                                options=[{"label": "All statuses", "value": "all"}]
                                + [{"label": rc.STATUS_LABELS[s], "value": s} for s in rc.STATUSES],
                                value="all",
                                clearable=False,
                                searchable=False,
                            ),
                            dcc.Checklist(
                                id="rb-closed",
                                options=[{"label": " show closed", "value": "yes"}],
                                value=[],
                                className="rb-closed",
                            ),
                            html.Span(id="rb-count", className="rb-count-all"),
                        ],
                    ),
                    html.Div(
                        id="rb-name-box",
                        className="rb-name",
                        children=[
                            html.Label("Your name", htmlFor="rb-name"),
                            dcc.Input(
                                id="rb-name",
                                type="text",
                                maxLength=128,
                                debounce=False,
                                placeholder="e.g. Anna de Vries",
                                className="rb-input",
                            ),
                            html.Button("Save", id="rb-name-save", className="rb-btn", n_clicks=0),
                            html.Span(id="rb-me", className="rb-me"),
                        ],
                    ),
                ],
            ),
            html.Div(id="rb-flash", className="rb-flash", role="status"),
            html.Main(
                className="rb-main",
                children=[
                    html.Section(
                        className="rb-list",
                        children=[_flag_form(), html.Div(id="rb-cards", className="rb-cards")],
                    ),
                    _detail_pane(),
                ],
            ),
        ],
    )


# --- the adviser's name -----------------------------------------------------------------------------------


def _me(name: Any) -> str | None:
    signed_in = session_user()
    if signed_in:  # with accounts, the service knows who acts; the name box is only for sign-in-less use
        return signed_in
    return name.strip()[:128] if isinstance(name, str) and name.strip() else None


@callback(
    Output("rb-name", "value"),
    Output("rb-me", "children"),
    Output("rb-name-box", "className"),
    Input("rb-adviser", "data"),
)
def show_name(stored: Any) -> tuple[Any, Any, str]:
    me = _me(stored)
    if me is None:
        return no_update, NO_NAME, "rb-name missing"
    return me, ["Taking cases as ", html.B(me)], "rb-name"


@callback(
    Output("rb-adviser", "data"),
    Input("rb-name-save", "n_clicks"),
    Input("rb-name", "n_submit"),
    State("rb-name", "value"),
    prevent_initial_call=True,
)
def save_name(_clicks: int | None, _submit: int | None, value: str | None) -> Any:
    return _me(value) or no_update


# --- the board --------------------------------------------------------------------------------------------


@callback(
    Output("rb-cards", "children"),
    Output("rb-board-sig", "data"),
    Output("rb-index", "data"),
    Output("rb-count", "children"),
    Input("rb-tick", "n_intervals"),
    Input("rb-bump", "data"),
    Input("rb-filter", "value"),
    Input("rb-closed", "value"),
    Input("rb-adviser", "data"),
    Input("rb-selected", "data"),
    State("rb-board-sig", "data"),
    State("rb-d-shown", "data"),
)
def render_board(
    _tick: Any,
    bump: Any,
    status: Any,
    closed: Any,
    adviser: Any,
    selected: Any,
    shown: Any,
    detail_shown: Any = None,
) -> tuple[Any, ...]:
    status = status if status in rc.STATUSES else None
    show_closed = bool(closed) or status == "closed"
    client = _client()
    try:
        page = client.cases(active=not show_closed, status=status, limit=MAX_CARDS)
    except (httpx.HTTPError, ValueError) as error:
        note = html.Span(f"Signaal API unreachable ({type(error).__name__}); retrying…", className="rb-down")
        return no_update, no_update, no_update, note
    cases = [c for c in page.get("items") or [] if isinstance(c, dict) and c.get("case_id")]
    me = _me(adviser)
    chosen = _case_to_show(selected, detail_shown, [{"case_id": c["case_id"]} for c in cases])
    total = int(page.get("total") or 0)
    count = f"{display.count(total)} case{'s' if total != 1 else ''}" + (
        f", newest {MAX_CARDS} shown" if total > MAX_CARDS else ""
    )
    head = f"{status}|{show_closed}|{me}"
    ids = [c["case_id"] for c in cases]
    # The hints are not part of a case's own signature (its detail has none): they change as other cases do.
    sigs = [f"{rc.signature(c)}|{c['case_id'] == chosen}|{[h[0] for h in rc.similar_of(c)]}" for c in cases]
    before = shown if isinstance(shown, dict) else {}
    if before.get("head") == head and before.get("ids") == ids and before.get("sigs") == sigs:
        return no_update, no_update, no_update, count
    index = [
        {
            "case_id": c["case_id"],
            "sig": rc.signature(c),
            "claim": c.get("claim"),
            "status": c.get("status"),
            "post_count": c.get("post_count"),
            "version": c.get("version"),
            "similar": c.get("similar") or [],
        }
        for c in cases
    ]
    if not cases:
        return rc.empty_board(status, show_closed), {"head": head, "ids": [], "sigs": []}, index, count

    def build(i: int) -> html.Article:
        try:
            detail = _detail(client, cases[i])
        except (Refused, httpx.HTTPError, ValueError):
            sigs[i] += "|no detail"  # the card shows what the list knows; the next tick tries again
            detail = None
        return rc.card(cases[i], detail, me=me, selected=cases[i]["case_id"] == chosen)

    plan = (
        rc.card_changes(before.get("ids") or [], before.get("sigs") or [], ids, sigs)
        if before.get("head") == head and before.get("ids")
        else None
    )
    if plan is not None:
        # Send only the cards that changed (a changed case moves to the top): the browser redraws little.
        remove, prepend, replace = plan
        patch = Patch()
        for position in remove:
            del patch[position]
        for position in prepend:
            patch.prepend(build(position))
        for position in replace:
            patch[position] = build(position)
        return patch, {"head": head, "ids": ids, "sigs": sigs}, index, count
    cards = [build(i) for i in range(len(cases))]
    return cards, {"head": head, "ids": ids, "sigs": sigs}, index, count


@callback(
    Output("rb-selected", "data"),
    Input({"type": "rb-open", "case": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def open_case(_clicks: list[Any]) -> Any:
    if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(ctx.triggered_id, dict):
        return no_update
    return ctx.triggered_id["case"]


DETAIL_OUTPUTS = (
    ("rb-detail", "className"),
    ("rb-d-head", "children"),
    ("rb-d-actions", "children"),
    ("rb-d-answer", "children"),
    ("rb-d-spread", "figure"),
    ("rb-d-stance", "figure"),
    ("rb-d-areas", "children"),
    ("rb-d-map", "figure"),
    ("rb-d-mapbox", "className"),
    ("rb-d-nomap", "children"),
    ("rb-d-examples", "options"),
    ("rb-d-examples", "value"),
    ("rb-d-others", "options"),
    ("rb-d-others", "value"),
    ("rb-d-others-count", "children"),
    ("rb-d-notes", "children"),
    ("rb-merge-pick", "options"),
    ("rb-d-history", "children"),
    ("rb-d-shown", "data"),
)


def _ordered(values: dict[tuple[str, str], Any]) -> tuple[Any, ...]:
    return tuple(values.get(key, no_update) for key in DETAIL_OUTPUTS)


def _empty_detail(message: str, shown: Any) -> tuple[Any, ...]:
    cleared = {key: [] for key in DETAIL_OUTPUTS if key[1] in ("children", "options", "value")}
    return _ordered(
        {
            **cleared,
            ("rb-detail", "className"): "rb-detail panel empty",
            ("rb-d-head", "children"): html.P(message, className="rb-empty-title"),
            ("rb-d-shown", "data"): shown,
        }
    )


def detail_outputs(
    detail: dict[str, Any], index: list[dict[str, Any]], me: str | None
) -> dict[tuple[str, str], Any]:
    """Everything the opened case shows, keyed like DETAIL_OUTPUTS (all but the shown marker)."""
    answer = detail.get("answer") or {}
    points = detail.get("points") or []
    areas = detail.get("areas") or {}
    area_items = [
        html.Span([html.B(plain(area, 40)), f" {display.count(count)}"], className="rb-area-count")
        for area, count in list(areas.items())[:8]
    ] or [html.Span("no municipality known for these posts", className="rb-none")]
    nomap: Any = []
    if not points:
        nomap = html.P(
            f"None of the {display.count(int(detail.get('post_count') or 0))} posts carries a location, so "
            "there is nothing to put on a map. Where they come from, by the place names in the posts: see "
            "above.",
            className="rb-none",
        )
    others = rc.merge_options(detail["case_id"], index)
    others_posts = rc.other_post_options(detail)
    return {
        ("rb-detail", "className"): "rb-detail panel",
        ("rb-d-head", "children"): rc.detail_head(detail, me),
        ("rb-d-actions", "children"): rc.action_bar(detail, me, "detail"),
        ("rb-d-answer", "children"): rc.answer_block(detail, detail.get("effect"), full=True) or [],
        ("rb-d-spread", "figure"): spread_figure(
            detail.get("spread") or [], answered_at=answer.get("published_at")
        ),
        ("rb-d-stance", "figure"): stance_figure(detail.get("stance")),
        ("rb-d-areas", "children"): area_items,
        ("rb-d-map", "figure"): case_map_figure(
            points,
            style=current_settings().map_style,
            outline=load_outline(),
            places=load_places(),
            size=MAP_SIZE,
            uirevision=detail["case_id"],
        ),
        ("rb-d-mapbox", "className"): "rb-fig map" if points else "rb-fig map nomap",
        ("rb-d-nomap", "children"): nomap,
        ("rb-d-examples", "options"): rc.example_options(detail),
        ("rb-d-examples", "value"): [],
        ("rb-d-others", "options"): others_posts,
        ("rb-d-others", "value"): [],
        ("rb-d-others-count", "children"): f"{len(others_posts)} more posts of this case, by key"
        + (f" (first {rc.MAX_SPLIT_OPTIONS})" if len(others_posts) >= rc.MAX_SPLIT_OPTIONS else ""),
        ("rb-d-notes", "children"): rc.note_items(detail.get("notes") or []),
        ("rb-merge-pick", "options"): others,
        ("rb-d-history", "children"): rc.history_items(detail.get("history") or []),
    }


def _case_to_show(selected: Any, shown: Any, index: list[dict[str, Any]]) -> str | None:
    """The case picked, else the one already open while it is still listed, else the first card.

    Falling back to the first card on every refresh switched the open case under an adviser who was typing
    a note or an answer (the list reorders as cases grow), and the action was then saved on that case.
    """
    if isinstance(selected, str) and selected:
        return selected
    open_case = shown.get("case_id") if isinstance(shown, dict) else None
    if open_case and any(c.get("case_id") == open_case for c in index):
        return str(open_case)
    return index[0]["case_id"] if index else None


@callback(
    *[Output(i, p) for i, p in DETAIL_OUTPUTS],
    Input("rb-index", "data"),
    Input("rb-selected", "data"),
    Input("rb-bump", "data"),
    Input("rb-adviser", "data"),
    # Its own tick too: fed only by the board's outputs, Dash can starve it while the board re-renders.
    Input("rb-tick", "n_intervals"),
    State("rb-d-shown", "data"),
)
def render_detail(
    index: Any, selected: Any, bump: Any, adviser: Any, _tick: Any, shown: Any
) -> tuple[Any, ...]:
    index = index if isinstance(index, list) else []
    case_id = _case_to_show(selected, shown, index)
    if case_id is None:
        if isinstance(shown, dict) and shown.get("sig") == "none":
            return _ordered({})
        return _empty_detail("No case to open. Pick a card on the left once there is one.", {"sig": "none"})
    listed = next((c for c in index if c["case_id"] == case_id), None)
    me = _me(adviser)
    # Refetch when the case changed, another case was opened, or after an action (bump).
    sig = f"{case_id}|{listed['sig'] if listed else '-'}|{bump}|{me}|{len(index)}"
    if isinstance(shown, dict) and shown.get("sig") == sig:
        return _ordered({})
    try:
        detail = _client().case(case_id)
    except Refused as refused:
        return _empty_detail(f"This case is gone: {refused.detail}", {"sig": sig})
    except (httpx.HTTPError, ValueError):
        return _ordered({})
    out = detail_outputs(detail, index, me)
    if isinstance(shown, dict) and shown.get("case_id") == case_id:
        # Keep the adviser's ticked posts while the case updates.
        del out[("rb-d-examples", "value")], out[("rb-d-others", "value")]
    out[("rb-d-shown", "data")] = {"sig": sig, "case_id": case_id, "version": detail.get("version")}
    return _ordered(out)


@callback(
    Output("rb-flag-case", "options"),
    Input("rb-index", "data"),
)
def flag_targets(index: Any) -> list[dict[str, Any]]:
    return [rc.case_option(c) for c in index or []]


@callback(
    Output("rb-flag-post", "options"),
    Input("rb-flag-post", "search_value"),
    State("rb-flag-post", "value"),
    State("rb-flag-post", "options"),
)
def flag_posts(search: Any, value: Any, options: Any) -> Any:
    query = search.strip() if isinstance(search, str) else ""
    if 0 < len(query) < 3:
        return no_update  # the dropdown filters what it has; the API is asked from three letters on
    try:
        page = _client().posts(q=query or None, limit=50)
    except (httpx.HTTPError, ValueError):
        return no_update
    found = [o for o in (rc.post_option(p) for p in page.get("items") or []) if o is not None]
    keep = [o for o in options or [] if o.get("value") == value and all(f["value"] != value for f in found)]
    return keep + found


@callback(
    Output("rb-answer-incident", "options"),
    Input("rb-answer-form", "open"),
)
def incident_options(_open: Any) -> Any:
    try:
        incidents = _client().incidents()
    except (Refused, httpx.HTTPError, ValueError):
        return []
    return [
        {
            "label": f"#{i['incident_id']} {plain(i.get('title'), 80)} ({i.get('status')})",
            "value": i["incident_id"],
        }
        for i in incidents
        if isinstance(i, dict) and "incident_id" in i
    ]


# --- acting on cases --------------------------------------------------------------------------------------


def _flash(text: str, kind: str = "ok") -> html.Div:
    return html.Div(text, className=f"rb-msg {kind}")


def run_action(case_id: str | None, action: Callable[[RoomClient], Any], done: str) -> tuple[html.Div, bool]:
    """Run one change; on a stale version say who changed the case and let the page refresh."""
    client = _client()
    try:
        action(client)
    except Refused as refused:
        if refused.status == 409 and "changed since version" in refused.detail and case_id:
            try:
                detail = client.case(case_id)
                message = rc.conflict_message(detail.get("history") or [], detail)
            except (Refused, httpx.HTTPError, ValueError):
                message = "Someone changed this case meanwhile — refreshed."
            return _flash(message, "conflict"), False
        return _flash(f"Not done: {refused.detail}", "err"), False
    except (httpx.HTTPError, ValueError) as error:
        return _flash(f"Not done: the Signaal API did not answer ({type(error).__name__}).", "err"), False
    return _flash(done), True


def _bumped(bump: Any) -> int:
    return (bump if isinstance(bump, int) else 0) + 1


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Input({"type": "rb-do", "case": ALL, "op": ALL, "arg": ALL, "v": ALL, "at": ALL}, "n_clicks"),
    State("rb-adviser", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def act(_clicks: list[Any], adviser: Any, bump: Any) -> tuple[Any, Any]:
    button = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(button, dict):
        return no_update, no_update  # buttons appearing on a re-render are not clicks
    case_id, op, arg, version = button["case"], button["op"], button["arg"], button["v"]
    me = _me(adviser)
    if op in ("take", "takeover"):
        if me is None:
            return _flash(
                "Enter your name at the top right first: taking a case shows it to everyone.", "err"
            ), no_update
        message, _ = run_action(
            case_id,
            lambda c: c.set_owner(case_id, me, version, force=op == "takeover"),
            f"You ({me}) are on this case now.",
        )
    elif op == "release":
        message, _ = run_action(case_id, lambda c: c.set_owner(case_id, None, version), "Case released.")
    elif op == "status" and arg in rc.STATUSES:
        message, _ = run_action(
            case_id,
            lambda c: c.set_status(case_id, arg, version, rc.by_line(me)),
            f"Status is now {rc.STATUS_LABELS[arg].lower()}.",
        )
    else:
        return no_update, no_update
    return message, _bumped(bump)


def _shown(shown: Any) -> tuple[str | None, int | None]:
    if isinstance(shown, dict) and isinstance(shown.get("case_id"), str):
        return shown["case_id"], shown.get("version")
    return None, None


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-handover-name", "value"),
    Input("rb-handover-do", "n_clicks"),
    State("rb-handover-name", "value"),
    State("rb-d-shown", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def hand_over(clicks: Any, name: Any, shown: Any, bump: Any) -> tuple[Any, Any, Any]:
    case_id, version = _shown(shown)
    to = _me(name)
    if not clicks or case_id is None or to is None:
        return _flash("Type the name of the colleague who takes the case over.", "err"), no_update, no_update
    message, _ = run_action(
        case_id, lambda c: c.set_owner(case_id, to, version, force=True), f"Handed over to {to}."
    )
    return message, _bumped(bump), ""


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-note-text", "value"),
    Input("rb-note-add", "n_clicks"),
    State("rb-note-text", "value"),
    State("rb-d-shown", "data"),
    State("rb-adviser", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def add_note(clicks: Any, text: Any, shown: Any, adviser: Any, bump: Any) -> tuple[Any, Any, Any]:
    case_id, _ = _shown(shown)
    if not clicks or case_id is None or not isinstance(text, str) or not text.strip():
        return _flash("Type a note first.", "err"), no_update, no_update
    me = _me(adviser)
    # The API records every note as "local"; the adviser's name goes with the text until accounts exist.
    body = f"{me}: {text.strip()}" if me and not session_user() else text.strip()
    message, ok = run_action(case_id, lambda c: c.add_note(case_id, body[:5000]), "Note added.")
    return message, _bumped(bump), "" if ok else no_update


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-merge-pick", "value"),
    Input("rb-merge-do", "n_clicks"),
    State("rb-merge-pick", "value"),
    State("rb-d-shown", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def merge(clicks: Any, other: Any, shown: Any, bump: Any) -> tuple[Any, Any, Any]:
    case_id, version = _shown(shown)
    if not clicks or case_id is None or not isinstance(other, str) or not other:
        return _flash("Pick the case to merge into this one.", "err"), no_update, no_update
    message, _ = run_action(case_id, lambda c: c.merge(case_id, other, version), "Merged into this case.")
    return message, _bumped(bump), None


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-selected", "data", allow_duplicate=True),
    Input("rb-split-do", "n_clicks"),
    State("rb-d-examples", "value"),
    State("rb-d-others", "value"),
    State("rb-split-claim", "value"),
    State("rb-d-shown", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def split(clicks: Any, keys: Any, other_keys: Any, claim: Any, shown: Any, bump: Any) -> tuple[Any, Any, Any]:
    case_id, version = _shown(shown)
    keys = list(dict.fromkeys(k for k in [*(keys or []), *(other_keys or [])] if isinstance(k, str)))
    if not clicks or case_id is None or not keys:
        return _flash("Tick the posts to split off first.", "err"), no_update, no_update
    created: dict[str, Any] = {}

    def do(client: RoomClient) -> None:
        created.update(client.split(case_id, keys, (claim or "").strip() or None, version=version))

    message, _ = run_action(case_id, do, f"{len(keys)} post(s) split into a new case, opened now.")
    return message, _bumped(bump), created.get("case_id", no_update)


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-answer-text", "value"),
    Input("rb-answer-do", "n_clicks"),
    State("rb-answer-text", "value"),
    State("rb-answer-channel", "value"),
    State("rb-answer-url", "value"),
    State("rb-answer-at", "value"),
    State("rb-answer-incident", "value"),
    State("rb-d-shown", "data"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def link_answer(
    clicks: Any, text: Any, channel: Any, url: Any, at: Any, incident: Any, shown: Any, bump: Any
) -> tuple[Any, Any, Any]:
    case_id, version = _shown(shown)
    if not clicks or case_id is None or not isinstance(text, str) or not text.strip():
        return _flash("Paste the text of the answer first.", "err"), no_update, no_update
    try:
        published = rc.parse_local(at)
    except ValueError:
        return (
            _flash("Write the publication time as 2024-09-15 21:00, or leave it empty.", "err"),
            no_update,
            no_update,
        )
    message, ok = run_action(
        case_id,
        lambda c: c.answer(
            case_id,
            text.strip(),
            channel or "social",
            url=(url or "").strip() or None,
            published_at=published,
            incident_id=incident if isinstance(incident, int) else None,
            version=version,
        ),
        "Answer linked; the case is answered.",
    )
    return message, _bumped(bump), "" if ok else no_update


@callback(
    Output("rb-flash", "children", allow_duplicate=True),
    Output("rb-bump", "data", allow_duplicate=True),
    Output("rb-selected", "data", allow_duplicate=True),
    Input("rb-flag-do", "n_clicks"),
    State("rb-flag-post", "value"),
    State("rb-flag-key", "value"),
    State("rb-flag-case", "value"),
    State("rb-flag-claim", "value"),
    State("rb-bump", "data"),
    prevent_initial_call=True,
)
def flag(clicks: Any, picked: Any, typed: Any, case_id: Any, claim: Any, bump: Any) -> tuple[Any, Any, Any]:
    key = (typed or "").strip() or (picked if isinstance(picked, str) else "")
    if not clicks or not key:
        return _flash("Pick a post or paste its key first.", "err"), no_update, no_update
    target = case_id if isinstance(case_id, str) and case_id else None
    created: dict[str, Any] = {}

    def do(client: RoomClient) -> None:
        created.update(client.flag(key, case_id=target, claim=(claim or "").strip() or None))

    done = "Post added to the case." if target else "Post flagged: a new case is open."
    message, _ = run_action(target, do, done)
    return message, _bumped(bump), created.get("case_id", no_update)
