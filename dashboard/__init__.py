"""Signaal's dashboard: a Plotly Dash client of the Signaal REST API and live WebSocket (never the database).

Entry points live in ``dashboard.app``: ``create_app(api_url, ...)`` and ``run(host, port, api_url, ...)``.
"""
