"""The incidents page: every incident with its status and what it holds, and the form that opens a new one.

An incident groups alerts and rumour cases and carries the analyse -> advise -> act -> evaluate cycle; its
own page is ``/incidents/<id>`` (``pages/incident.py``). Titles and areas are typed by advisers but shown as
plain text all the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash
import httpx
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import session_token
from dashboard.display import day_time, parse_time, plain
from dashboard.room_api import Refused, RoomClient
from dashboard.settings import current_settings
from dashboard.ui import PLAYBOOKS, playbook_label, room_nav

dash.register_page(__name__, path="/incidents", title="Incidents · Signaal", name="Incidents")

REFRESH_MS = 10_000


def incident_rows(
    incidents: Sequence[Mapping[str, Any]], entry_counts: Mapping[int, int | None]
) -> list[Any]:
    """Open incidents first, newest first within each status."""

    def order(incident: Mapping[str, Any]) -> tuple[bool, float]:
        opened = parse_time(incident.get("opened_at"))
        return incident.get("status") != "open", -opened.timestamp() if opened else 0.0

    ordered = sorted(incidents, key=order)
    rows = []
    for incident in ordered:
        incident_id = incident["incident_id"]
        entries = entry_counts.get(incident_id)
        playbook = incident.get("playbook")
        status = plain(incident.get("status"), 20)
        rows.append(
            html.Tr(
                className=f"incident-row status-{status}",
                children=[
                    html.Td(
                        dcc.Link(
                            plain(incident.get("title"), 120) or f"Incident {incident_id}",
                            href=f"/incidents/{incident_id}",
                        )
                    ),
                    html.Td(html.Span(status, className=f"status-chip status-{status}")),
                    html.Td(plain(incident.get("area"), 60) or "all areas"),
                    html.Td(playbook_label(playbook) if playbook else "by alerts"),
                    html.Td(
                        [plain(incident.get("opened_by"), 60), html.Br(), day_time(incident.get("opened_at"))]
                    ),
                    html.Td(str(len(incident.get("alert_ids") or [])), className="num"),
                    html.Td(str(len(incident.get("case_ids") or [])), className="num"),
                    html.Td("?" if entries is None else str(entries), className="num"),
                ],
            )
        )
    if not rows:
        rows.append(html.Tr(html.Td("No incidents yet: open one above.", colSpan=8, className="empty")))
    return rows


def incident_table(rows: list[Any]) -> html.Table:
    head = ["Incident", "Status", "Area", "Playbook", "Opened", "Alerts", "Rumour cases", "Cycle entries"]
    return html.Table(
        className="incident-table",
        children=[
            html.Thead(html.Tr([html.Th(h, className="num" if i >= 5 else "") for i, h in enumerate(head)])),
            html.Tbody(rows, id="incidents-rows"),
        ],
    )


def fetch_rows() -> tuple[list[Any], str | None]:
    try:
        with RoomClient(current_settings().api_url, token=session_token()) as api:
            incidents = api.incidents()
            counts: dict[int, int | None] = {}
            # The list has no entry counts (yet): one call per incident, fine for a room's handful.
            for incident in incidents:
                try:
                    counts[incident["incident_id"]] = len(api.entries(incident["incident_id"]))
                except (Refused, httpx.HTTPError):
                    counts[incident["incident_id"]] = None
    except (Refused, httpx.HTTPError) as error:
        return incident_rows([], {}), f"Cannot reach the Signaal service: {error}"
    return incident_rows(incidents, counts), None


def open_form() -> html.Form:
    return html.Div(
        className="panel open-form",
        children=[
            html.H2("Open an incident"),
            html.Div(
                className="form-row",
                children=[
                    html.Label(
                        [
                            "Title",
                            dcc.Input(
                                id="incidents-title",
                                type="text",
                                maxLength=300,
                                placeholder="e.g. Project X Haren",
                                debounce=False,
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            "Area (municipality)",
                            dcc.Input(
                                id="incidents-area",
                                type="text",
                                maxLength=200,
                                placeholder="empty = everywhere",
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            "Playbook",
                            dcc.Dropdown(
                                id="incidents-playbook",
                                options=[{"label": label, "value": key} for key, label in PLAYBOOKS.items()],
                                placeholder="chosen from the alerts",
                                clearable=True,
                            ),
                        ]
                    ),
                    html.Button("Open incident", id="incidents-open", className="primary", n_clicks=0),
                ],
            ),
            html.Div(id="incidents-message", className="message", role="alert"),
        ],
    )


def layout(**_query: str) -> html.Div:
    rows, error = fetch_rows()
    return html.Div(
        className="room-page incidents-page",
        children=[
            dcc.Interval(id="incidents-tick", interval=REFRESH_MS),
            dcc.Location(id="incidents-go", refresh="callback-nav"),
            html.Header(
                className="room-header",
                children=[
                    html.H1(["Signaal", html.Span(" · Incidents", className="page")]),
                    room_nav("/incidents"),
                ],
            ),
            open_form(),
            html.Section(
                className="panel",
                children=[
                    html.H2("Incidents"),
                    html.Div(
                        error or "", id="incidents-error", className="message error" if error else "message"
                    ),
                    incident_table(rows),
                ],
            ),
        ],
    )


@callback(
    Output("incidents-rows", "children"),
    Output("incidents-error", "children"),
    Input("incidents-tick", "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_tick: int | None) -> tuple[Any, str]:
    rows, error = fetch_rows()
    return rows, error or ""


@callback(
    Output("incidents-go", "href"),
    Output("incidents-message", "children"),
    Input("incidents-open", "n_clicks"),
    State("incidents-title", "value"),
    State("incidents-area", "value"),
    State("incidents-playbook", "value"),
    prevent_initial_call=True,
)
def open_incident(_clicks: int, title: str | None, area: str | None, playbook: str | None) -> tuple[Any, str]:
    title = (title or "").strip()
    if not title:
        return no_update, "Give the incident a title."
    try:
        with RoomClient(current_settings().api_url, token=session_token()) as api:
            incident = api.open_incident(title, area=(area or "").strip() or None, playbook=playbook or None)
    except Refused as refused:
        return no_update, f"Not opened: {refused.detail}"
    except httpx.HTTPError as error:
        return no_update, f"Not opened: the service did not answer ({error})."
    return f"/incidents/{incident['incident_id']}", ""
