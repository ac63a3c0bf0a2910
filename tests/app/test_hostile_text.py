"""Post text with HTML, JavaScript and markdown is data: stored and served byte for byte, escaped only where
it is shown (the dashboard's browser tests check that it never runs)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.app.test_api import client, native, wait_for_total  # noqa: F401  # client is a fixture

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(document.cookie)">',
    '<a href="javascript:alert(1)">klik</a> en [klik](javascript:alert(1)) en ![x](javascript:alert(1))',
    "</textarea><svg/onload=alert(1)><!--",
    '**vet** _schuin_ `code` <b>b</b> [link](https://evil.example) <div style="position:fixed">',
    "{{7*7}} ${alert(1)} {%raw%} \\u003cscript\\u003e &lt;script&gt; &amp;",
    '=HYPERLINK("http://evil.example","klik") +cmd -1 @SUM(A1)',
    "\u202e\u2066gpj.exe\u2069 \u200f\U0001f525 \x1b[31m \r\n tab\tend",
]


def test_html_and_script_in_post_text_survive_ingest_api_and_live_byte_exact(client: TestClient) -> None:  # noqa: F811
    with client.websocket_connect("/ws/live") as websocket:
        assert websocket.receive_json()["type"] == "hello"
        body = "\n".join(native(f"x{n}", text) for n, text in enumerate(PAYLOADS))
        assert client.post("/api/ingest", content=body).json()["accepted"] == len(PAYLOADS)
        live: dict[str, str] = {}
        while len(live) < len(PAYLOADS):
            message = json.loads(websocket.receive_text())
            if message["type"] == "posts":
                live.update((post["key"], post["text"]) for post in message["data"])
    stored = {item["key"]: item["text"] for item in wait_for_total(client, len(PAYLOADS))["items"]}
    expected = {f"scenario:x{n}": text for n, text in enumerate(PAYLOADS)}
    assert stored == expected
    assert live == expected
    # And in the raw JSON the API sends: escaped as JSON requires, nothing HTML-escaped or stripped.
    raw = client.get("/api/posts", params={"q": "onerror"}).content.decode("utf-8")
    assert json.dumps(PAYLOADS[1])[1:-1] in raw


def test_twitter_entities_are_unescaped_once_not_sanitised(client: TestClient) -> None:  # noqa: F811
    # Twitter escapes <, > and & in its JSON; Signaal stores the text the author typed, so "&lt;script&gt;"
    # becomes "<script>" here, and escaping is the job of whatever shows it.
    tweet = {
        "id_str": "9",
        "created_at": "Wed Aug 27 13:08:45 +0000 2014",
        "text": "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;",
        "user": {"screen_name": "someone"},
    }
    assert (
        client.post("/api/ingest", content=json.dumps(tweet), params={"format": "twitter_v1"}).json()[
            "accepted"
        ]
        == 1
    )
    [post] = wait_for_total(client, 1)["items"]
    assert post["text"] == "<script>alert(1)</script> &amp;"


def test_records_quoting_lone_surrogates_or_nul_are_dead_lettered_not_a_503(client: TestClient) -> None:  # noqa: F811
    # The reason quoted the key "\ud800"; the DeadLetter refused it and ingest answered 503 for the batch,
    # so the producer retried a batch that could never go through.
    body = '{"\\ud800": 1}\n{"\\u0000": 2}\n' + native("ok")
    result = client.post("/api/ingest", content=body)
    assert result.status_code == 200, result.text
    assert (result.json()["accepted"], result.json()["rejected"]) == (1, 2)
    letters = wait_for_total(client, 2, "/api/deadletter")["items"]
    assert all("\x00" not in letter["reason"] + letter["raw"] for letter in letters)


def test_query_values_at_the_edges_are_422_not_500(client: TestClient) -> None:  # noqa: F811
    # Each was a 500: OverflowError from SQLite (offset 2**63) or from converting the time to UTC; NUL is
    # refused by PostgreSQL. A 422 is shaped like FastAPI's own, as the schema documents.
    for url in (
        "/api/deadletter?offset=9223372036854775808",
        "/api/posts?offset=9223372036854775808",
        "/api/alerts?offset=9223372036854775808",
        "/api/posts?since=9999-12-31T23:59:59-23:59",
        "/api/stats/volume?until=0001-01-01T00:00:00%2B23:59",
        "/api/alerts?since=0001-01-01T00:00:00%2B01:00",
        "/api/posts?q=%00",
        "/api/alerts/a%00b",
    ):
        response = client.get(url)
        assert response.status_code == 422, (url, response.text)
        assert isinstance(response.json()["detail"], list)
