"""Per-app dashboard settings, stored on the Flask server so page callbacks can find them.

Pages are modules Dash imports by file path, so they cannot be handed arguments; they read the settings
of the app serving the current request instead of a module global, which keeps two apps in one process
(tests, or a demo next to a real instance) from seeing each other's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import flask

CONFIG_KEY = "SIGNAAL_DASHBOARD"


@dataclass(frozen=True)
class DashboardSettings:
    api_url: str
    map_style: str = "white-bg"
    refresh_ms: int = 1000
    history_hours: float = 3.0
    newest_posts: int = 20


def current_settings() -> DashboardSettings:
    """Settings of the app handling this request; only valid inside a request (layouts, callbacks)."""
    return flask.current_app.config[CONFIG_KEY]
