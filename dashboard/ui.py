"""Layout pieces more than one page uses (plain Dash components, no callbacks)."""

from __future__ import annotations

from dash import dcc, html

from dashboard.display import plain

ROOM_PAGES = (("/", "Live"), ("/incidents", "Incidents"), ("/rumours", "Rumours"))


def room_nav(active: str) -> html.Nav:
    """The links between the crisis room's pages; the one at ``active`` is marked as the current page."""
    return html.Nav(
        className="room-nav",
        children=[
            dcc.Link(label, href=href, className="active" if href == active else "")
            for href, label in ROOM_PAGES
        ],
    )


# The shipped playbooks by name (their English titles); a municipality's own show their id.
PLAYBOOKS = {
    "projectx": "Project X (party call)",
    "rumour": "Rumour",
    "fire": "Fire and smoke",
    "public_order": "Public order",
}


def playbook_label(playbook_id: str) -> str:
    return PLAYBOOKS.get(playbook_id) or plain(playbook_id, 40)
