"""The Dash application: multi-page shell, settings, and how to serve it.

Pages live in ``dashboard/pages/`` (one module each, registered with ``dash.register_page``); figures are
built in ``dashboard/figures/``; all data comes from the Signaal API through ``dashboard.client``.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import dash
from dash import html

from dashboard import auth
from dashboard.client import use_service_token
from dashboard.settings import CONFIG_KEY, DashboardSettings

HERE = Path(__file__).resolve().parent


def create_app(
    api_url: str,
    *,
    map_style: str = "white-bg",
    refresh_ms: int = 1000,
    service_token: str | None = None,
    secret_key: str | None = None,
) -> dash.Dash:
    """A Dash app reading from the Signaal API at ``api_url`` (e.g. ``http://127.0.0.1:8000``).

    ``map_style`` is a plotly map style; the default ``white-bg`` is drawn fully offline. Styles such as
    ``carto-positron`` fetch tiles from the internet and only work where the wall has a connection.
    """
    if refresh_ms < 200:
        raise ValueError("refresh_ms below 200 ms only burns CPU; the feed itself is pushed, not polled")
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="Signaal",
        update_title=None,  # no "Updating..." tab title flicker on every refresh
        serve_locally=True,  # the wall may have no internet: never load scripts from a CDN
        suppress_callback_exceptions=True,
    )
    app.server.config[CONFIG_KEY] = DashboardSettings(
        api_url=api_url.rstrip("/"), map_style=map_style, refresh_ms=refresh_ms
    )
    app.layout = html.Div(className="shell", children=[dash.page_container])
    use_service_token(service_token)
    app.server.secret_key = secret_key or secrets.token_hex(32)
    app.server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    auth.install(app.server)
    return app


def run(host: str, port: int, api_url: str, *, debug: bool = False, **kwargs: Any) -> None:
    """Serve the dashboard (blocking). ``kwargs`` go to :func:`create_app` (``map_style``, ``refresh_ms``)."""
    app = create_app(api_url, **kwargs)
    # Every refresh tick is a request; werkzeug's per-request log lines would bury anything that matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # The reloader would fork a second process with its own live feed; it is only for hacking on the code.
    app.run(host=host, port=port, debug=debug, use_reloader=debug)
