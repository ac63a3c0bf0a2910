"""Dashboard sign-in: pages redirect to /login when the service wants a token, the token is kept in the
session, redirects stay on this site, and the login page escapes what it echoes."""

from __future__ import annotations

import pytest

from dashboard import auth
from dashboard.app import create_app


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/rumours", "/rumours"), ("/incidents/3?x=1", "/incidents/3?x=1"), ("//evil.example", "/"),
     ("https://evil.example/", "/"), (None, "/"), ("javascript:alert(1)", "/"), ("/\\evil.example", "/")],
)  # fmt: skip
def test_redirects_after_sign_in_stay_on_this_site(target: str | None, expected: str) -> None:
    assert auth._safe_next(target) == expected


def test_login_page_escapes_what_it_echoes() -> None:
    page = auth._login_page("<script>alert(1)</script>", next_url='/"><img src=x onerror=alert(1)>')
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    # Still shown, as text: the message in its paragraph, the address in the hidden field.
    assert '<p class="login-error">&lt;script&gt;alert(1)&lt;/script&gt;</p>' in page
    assert 'name="next" value="/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page


def test_pages_need_sign_in_only_when_the_service_wants_it(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app("http://127.0.0.1:9", secret_key="test")
    client = app.server.test_client()

    monkeypatch.setattr(auth, "auth_required", lambda api_url: True)
    page = client.get("/rumours")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/rumours")
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/login").status_code == 200
    with client.session_transaction() as session:
        session["token"] = "a-token"
    assert client.get("/rumours").status_code == 200
    assert client.get("/logout").status_code == 302
    assert client.get("/rumours").status_code == 302

    monkeypatch.setattr(auth, "auth_required", lambda api_url: False)
    assert client.get("/rumours").status_code == 200
