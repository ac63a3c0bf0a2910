"""Ingest limits: a token bucket per client, 429 with Retry-After, and a refused request refused whole."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.limits import TokenBuckets
from app.config import Settings
from app.main import create_app
from streams.formats import RawRecord
from streams.replay import HttpTarget
from tests.app.test_api import native, wait_for_total
from tests.scripted_http import Answer, scripted_server


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0  # per client
    clock.now += 0.5
    assert buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(0.5)  # a refusal takes no token
    clock.now += 10
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refilled to the burst, not beyond


def test_bucket_of_rate_zero_is_off_and_forgets_old_clients() -> None:
    assert all(TokenBuckets(rate=0, burst=1).take("a") == 0 for _ in range(100))
    buckets = TokenBuckets(rate=1, burst=1, max_clients=2, clock=Clock())
    for client in "abc":
        buckets.take(client)
    assert buckets.take("a") == 0  # forgotten, so it starts with a full bucket


@pytest.fixture
def slow_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        kafka_bootstrap_servers=None,
        ingest_rate=2,
        ingest_burst=2,
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_over_the_rate_is_429_with_retry_after_and_nothing_of_it_is_taken(slow_client: TestClient) -> None:
    for batch in ("a", "b"):
        body = "\n".join(native(f"{batch}{n}") for n in range(3))
        assert slow_client.post("/api/ingest", content=body).json()["accepted"] == 3
    refused = slow_client.post("/api/ingest", content="\n".join(native(f"c{n}") for n in range(3)))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "nothing of this request was accepted" in refused.json()["detail"]
    time.sleep(0.7)
    assert wait_for_total(slow_client, 6)["total"] == 6  # not one post of the refused batch
    assert slow_client.get("/api/deadletter").json()["total"] == 0
    # Other routes are not limited.
    assert all(slow_client.get("/api/posts").status_code == 200 for _ in range(5))


def test_the_producer_waits_and_sends_a_refused_batch_again(slow_client: TestClient) -> None:
    target = HttpTarget("http://testserver")
    target._client = slow_client  # type: ignore[assignment]  # TestClient is an httpx.Client
    records = [RawRecord(f"f.jsonl:{n}", native(f"r{n}"), "jsonl") for n in range(5)]
    started = time.monotonic()
    assert [target.send([record]) for record in records] == [(1, 0)] * 5
    assert time.monotonic() - started >= 1  # two went through at once, the rest at two a second
    assert wait_for_total(slow_client, 5)["total"] == 5
    assert isinstance(slow_client, httpx.Client)


def test_the_producer_retries_a_proxys_bad_gateway_and_gateway_timeout() -> None:
    html = b"<html><body><h1>Bad Gateway</h1></body></html>"
    answers = [Answer(status, "text/html", html) for status in (502, 504, 503)]
    accepted = Answer(200, "application/json", b'{"accepted": 1, "rejected": 0, "errors": []}')
    with scripted_server(*answers, accepted) as proxy:
        target = HttpTarget(proxy.url)
        assert target.send([RawRecord("f.jsonl:1", native("p1"), "jsonl")]) == (1, 0)
        assert len(proxy.requests) == 4
        target.close()


def test_a_body_over_the_size_limit_is_413_and_nothing_of_it_is_taken(tmp_path: Path) -> None:
    lines = [native(f"s{n}") for n in range(40)]
    small = "\n".join(lines[:5]).encode()
    big = "\n".join(lines).encode()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        kafka_bootstrap_servers=None,
        max_ingest_bytes=len(small) + 10,
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        # With a Content-Length, and without one (chunked): then the body read so far passes the limit.
        declared = client.post("/api/ingest", content=big)
        chunked = client.post("/api/ingest", content=iter([big[:1000], big[1000:]]))
        for refused in (declared, chunked):
            assert refused.status_code == 413
            assert f"larger than {len(small) + 10} bytes" in refused.json()["detail"]
        assert client.post("/api/ingest", content=small).json()["accepted"] == 5
        time.sleep(0.5)
        assert wait_for_total(client, 5)["total"] == 5  # only the batch within the limit
        assert client.get("/api/deadletter").json()["total"] == 0
