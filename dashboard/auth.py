"""Signing in to the dashboard when the service requires it.

The dashboard holds no accounts: ``/login`` passes the username and password to the service
(``POST /api/auth/token``) and keeps the token it gets in the Flask session (a signed cookie). Every action a
person takes on a page is sent with that person's token (:func:`room_client`), so the service checks the
role and writes the right name to the audit trail. A wall display signs in once with a display token:
``/login?token=...`` (made with ``signaal token <wall account>``).

When the service does not require sign-in (the development default), nothing here asks for anything.
"""

from __future__ import annotations

import html
import time
from urllib.parse import quote, urlsplit

import flask
import httpx

from dashboard.room_api import RoomClient
from dashboard.settings import current_settings

OPEN_PATHS = ("/login", "/logout", "/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
_AUTH_CHECK_S = 30.0
_required: dict[str, tuple[float, bool]] = {}


def auth_required(api_url: str) -> bool:
    """Whether the service wants a token: a call without one is refused. Cached for half a minute."""
    now = time.monotonic()
    cached = _required.get(api_url)
    if cached and now - cached[0] < _AUTH_CHECK_S:
        return cached[1]
    try:
        required = httpx.get(f"{api_url}/api/auth/me", timeout=3).status_code == 401
    except httpx.HTTPError:
        return cached[1] if cached else False  # the feed shows the outage; pages stay where they are
    _required[api_url] = (now, required)
    return required


def session_token() -> str | None:
    return flask.session.get("token") if flask.has_request_context() else None


def session_user() -> str | None:
    return flask.session.get("user") if flask.has_request_context() else None


def room_client() -> RoomClient:
    """A client of the service acting as the signed-in person (or as the dashboard when sign-in is off)."""
    return RoomClient(current_settings().api_url, token=session_token())


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would let a link send a signed-in adviser anywhere.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):  # browsers read "/\\evil" as "//evil"
        return "/"
    return target


def _login_page(message: str = "", next_url: str = "/") -> str:
    note = f'<p class="login-error">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signaal · sign in</title>
<link rel="stylesheet" href="/assets/style.css"></head><body class="login-body">
<form class="login" method="post" action="/login">
<h1>Signaal</h1>{note}
<input type="hidden" name="next" value="{html.escape(next_url, quote=True)}">
<label>User name <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>"""


def install(server: flask.Flask) -> None:
    @server.before_request
    def require_sign_in() -> flask.Response | None:
        path = flask.request.path
        if path.startswith(OPEN_PATHS) or session_token():
            return None
        if not auth_required(current_settings().api_url):
            return None
        if path.startswith("/_dash"):  # a callback of a page opened before the session ended
            return flask.Response("sign in again", status=401)
        return flask.redirect("/login?next=" + quote(flask.request.full_path.rstrip("?"), safe="/?=&"))

    @server.route("/login", methods=["GET", "POST"])
    def login() -> flask.Response | str:
        api_url = current_settings().api_url
        next_url = _safe_next(flask.request.values.get("next"))
        display_token = flask.request.args.get("token")
        if display_token:  # a wall display: check the token with the service, then keep it
            me = httpx.get(
                f"{api_url}/api/auth/me", headers={"Authorization": f"Bearer {display_token}"}, timeout=5
            )
            if me.status_code != 200:
                return _login_page("That display token is not valid (any more).", next_url)
            flask.session.update(token=display_token, user=me.json()["name"])
            return flask.redirect(next_url)
        if flask.request.method == "GET":
            return _login_page(next_url=next_url)
        form = {
            "username": flask.request.form.get("username", ""),
            "password": flask.request.form.get("password", ""),
        }
        try:
            answer = httpx.post(f"{api_url}/api/auth/token", data=form, timeout=10)
        except httpx.HTTPError:
            return _login_page("The Signaal service cannot be reached; try again in a moment.", next_url)
        if answer.status_code != 200:
            return _login_page("Wrong user name or password, or the account is not active.", next_url)
        body = answer.json()
        flask.session.clear()
        flask.session.update(token=body["access_token"], user=body["username"], roles=body["roles"])
        return flask.redirect(next_url)

    @server.route("/logout")
    def logout() -> flask.Response:
        flask.session.clear()
        return flask.redirect("/login")
