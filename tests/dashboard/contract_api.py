"""A tiny real server speaking the Signaal API contract the dashboard is a client of.

Not a mock: it is a FastAPI app served by uvicorn on 127.0.0.1 with a random port, so the dashboard's httpx
and websockets clients do real HTTP and real WebSocket handshakes. Tests drive it from their own thread:
``publish`` stores a post and pushes it to connected sockets, ``store_only`` stores without pushing (a post
missed while a client was away), ``publish_alert``/``store_alert`` do the same for alerts and
``publish_case``/``store_case`` for rumour cases, ``stop``/``start`` restart it on the same port. ``sources``,
``briefing`` and ``changes`` are what ``/api/status`` and ``/api/briefing*`` answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

WS_FIELDS = ("key", "created_at", "text", "lat", "lon", "area", "lang", "platform")
_seq = itertools.count(1)


def make_post(
    text: str = "Brand bij het station",
    *,
    lat: float | None = 53.1721,
    lon: float | None = 6.6093,
    area: str | None = "Haren",
    created_at: datetime | None = None,
    key: str | None = None,
    author: str = "pseudo_123",
) -> dict[str, Any]:
    """A REST post item as the contract describes it."""
    n = next(_seq)
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "key": key or f"test:{n}",
        "platform": "test",
        "id": str(n),
        "author": author,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "text": text,
        "lang": "nl",
        "lat": lat,
        "lon": lon,
        "place": area,
        "places": [area] if area else [],
        "area": area,
        "cell": None,
        "url": None,
        "reply_to": None,
        "repost_of": None,
        "quote_of": None,
        "likes": 0,
        "reposts": 0,
        "replies": 0,
        "quotes": 0,
    }


def make_alert(
    title: str = "Piek in Haren: 40 berichten in 10 minuten",
    *,
    alert_id: str | None = None,
    kind: str = "spike",
    severity: str = "high",
    explanation: str = "40 berichten in 10 minuten in Haren, normaal 3 per 10 minuten.",
    area: str | None = "Haren",
    revision: int = 1,
    post_count: int = 40,
    playbook: str | None = "PB-brand",
    updated_at: datetime | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """An Alert as the API serializes it (``app.pipeline.alerts.Alert``); ``state`` "closed" makes it the
    last revision of an ended spike or call."""
    n = next(_seq)
    updated = (updated_at or datetime.now(UTC)).astimezone(UTC)
    stamp = updated.isoformat().replace("+00:00", "Z")
    return {
        "id": alert_id or f"{kind}:area:{area}:{n}",
        "kind": kind,
        "severity": severity,
        "title": title,
        "explanation": explanation,
        "area": area,
        "first_seen": stamp,
        "updated_at": stamp,
        "post_count": post_count,
        "member_ids": [],
        "examples": [],
        "playbook": playbook,
        "details": {"count": post_count, **({"state": state} if state else {})},
        "revision": revision,
        "detected_at": stamp,
    }


def make_case(
    claim: str = "Er zou gif in het drinkwater van Haren zitten",
    *,
    case_id: str | None = None,
    status: str = "new",
    owner: str | None = None,
    severity: str | None = "high",
    area: str | None = "Haren",
    post_count: int = 25,
    version: int = 1,
    updated_at: datetime | None = None,
    merged_into: str | None = None,
    similar: Sequence[str] = (),
) -> dict[str, Any]:
    """A RumourCase as the API serializes it (``app.room.models.RumourCase``); ``similar`` names the cases
    its merge hints point to."""
    n = next(_seq)
    updated = (updated_at or datetime.now(UTC)).astimezone(UTC)
    stamp = updated.isoformat().replace("+00:00", "Z")
    return {
        "case_id": case_id or f"case-{n}",
        "origin": "detector",
        "alert_id": f"rumour:claim:{n}",
        "claim": claim,
        "status": status,
        "owner": owner,
        "severity": severity,
        "area": area,
        "first_seen": stamp,
        "updated_at": stamp,
        "post_count": post_count,
        "stance": {"support": post_count // 2, "deny": 2, "query": 3, "comment": 1},
        "examples": [],
        "merged_into": merged_into,
        "merged_from": [],
        "answer": None,
        "version": version,
        "similar": [
            {"case_id": other, "claim": f"zelfde als {other}", "similarity": 0.5} for other in similar
        ],
    }


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ContractApi:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.alerts: dict[str, dict[str, Any]] = {}  # latest revision per id, as the service keeps them
        self.cases: dict[str, dict[str, Any]] = {}  # latest version per case id
        self.legacy_rumours = False  # answer /api/rumours as services before rumour cases did (rumour alerts)
        self.sources: dict[str, float] = {}  # /api/status "sources": posts per minute per platform
        self.ingest_lag_seconds: float | None = 0.4
        self.briefing: dict[str, Any] = {"at": None, "by": None}
        self.changes: dict[str, Any] = {}  # extra fields of /api/briefing/changes, e.g. "case_changes"
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = self._build_app()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_clients(self) -> int:
        return len(self._clients)

    # -- the contract ----------------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/api/posts")
        def posts(
            since: str | None = None,
            until: str | None = None,
            bbox: str | None = None,
            q: str | None = None,
            limit: int = 200,
            offset: int = 0,
        ) -> dict[str, Any]:
            self.requests.append(
                ("posts", {"since": since or "", "until": until or "", "offset": str(offset)})
            )
            items = self._filtered(_parse(since), _parse(until), bbox, q)
            return {"total": len(items), "items": items[offset : offset + min(limit, 1000)]}

        @app.get("/api/alerts")
        def alerts(limit: int = 50) -> dict[str, Any]:
            self.requests.append(("alerts", {"limit": str(limit)}))
            with self._lock:
                items = sorted(self.alerts.values(), key=lambda a: a["updated_at"], reverse=True)
            return {"total": len(items), "items": items[: min(limit, 500)]}

        @app.get("/api/stats/volume")
        def volume(since: str | None = None, until: str | None = None, bucket: int = 60) -> dict[str, Any]:
            self.requests.append(("volume", {"since": since or ""}))
            counts: dict[datetime, int] = {}
            areas: dict[str, int] = {}
            for post in self._filtered(_parse(since), _parse(until), None, None):
                created = _parse(post["created_at"])
                assert created is not None
                start = datetime.fromtimestamp(created.timestamp() // bucket * bucket, UTC)
                counts[start] = counts.get(start, 0) + 1
                if post["area"]:
                    areas[post["area"]] = areas.get(post["area"], 0) + 1
            return {
                "bucket_seconds": bucket,
                "points": [{"start": s.isoformat(), "count": c} for s, c in sorted(counts.items())],
                "areas": [{"area": a, "count": c} for a, c in sorted(areas.items(), key=lambda x: -x[1])],
            }

        @app.get("/api/rumours")
        def rumours(active: bool = True, limit: int = 50) -> dict[str, Any]:
            self.requests.append(("rumours", {"active": str(active).lower(), "limit": str(limit)}))
            if self.legacy_rumours:
                old = [a for a in self.alerts.values() if a["kind"] == "rumour"]
                return {"total": len(old), "items": old[:limit]}
            with self._lock:
                items = [
                    c
                    for c in self.cases.values()
                    if not active or (c["status"] != "closed" and c["merged_into"] is None)
                ]
            items.sort(key=lambda c: c["updated_at"] or "", reverse=True)
            return {"total": len(items), "items": items[: min(limit, 500)]}

        @app.get("/api/status")
        def status() -> dict[str, Any]:
            self.requests.append(("status", {}))
            with self._lock:
                newest = max((p["created_at"] for p in self.posts), default=None)
                count = len(self.posts)
            return {
                "bus": "in-process",
                "pipeline": {
                    "received": count,
                    "stored": count,
                    "last_post_created_at": newest,
                    "ingest_lag_seconds": self.ingest_lag_seconds,
                },
                "live_clients": len(self._clients),
                "blind_spots": "closed groups, private accounts and messaging apps (WhatsApp, Telegram) "
                "are not seen",
                "sources": dict(self.sources),
                "stream_clock": newest,
            }

        @app.get("/api/briefing")
        def briefing() -> dict[str, Any]:
            return dict(self.briefing)

        @app.get("/api/briefing/changes")
        def briefing_changes(since: str | None = None) -> dict[str, Any]:
            self.requests.append(("briefing_changes", {"since": since or ""}))
            moment = _parse(since) or _parse(self.briefing.get("at"))
            if moment is None:  # as the service: without a briefing nothing is "since" anything
                return {"since": None, "new_alerts": [], "updated_alerts": [], "case_changes": [],
                        "entries": []}  # fmt: skip
            with self._lock:
                alerts = list(self.alerts.values())
            new = [a for a in alerts if (_parse(a["first_seen"]) or moment) >= moment]
            updated = [a for a in alerts if a not in new and (_parse(a["updated_at"]) or moment) >= moment]
            answer = {"since": moment.isoformat(), "new_alerts": new,
                      "updated_alerts": updated, "case_changes": [], "entries": []}  # fmt: skip
            answer.update(self.changes)
            return answer

        @app.websocket("/ws/live")
        async def live(websocket: WebSocket) -> None:
            await websocket.accept()
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            self._clients.add(queue)
            try:
                await websocket.send_text(
                    json.dumps({"type": "hello", "server_time": datetime.now(UTC).isoformat()})
                )
                while (message := await queue.get()) is not None:
                    await websocket.send_text(message)
                await websocket.close(code=1012)
            except WebSocketDisconnect:
                pass
            finally:
                self._clients.discard(queue)

        return app

    def _filtered(
        self, since: datetime | None, until: datetime | None, bbox: str | None, q: str | None
    ) -> list[dict[str, Any]]:
        box = [float(v) for v in bbox.split(",")] if bbox else None
        with self._lock:
            posts = list(self.posts)
        out = []
        for post in posts:
            created = _parse(post["created_at"])
            assert created is not None
            if (since and created < since) or (until and created >= until):
                continue
            if q and q.lower() not in post["text"].lower():
                continue
            if box and (
                post["lat"] is None
                or not (box[0] <= post["lon"] <= box[2] and box[1] <= post["lat"] <= box[3])
            ):
                continue
            out.append(post)
        return sorted(out, key=lambda p: p["created_at"], reverse=True)

    # -- test controls ---------------------------------------------------------------------------------------
    def store_only(self, *posts: dict[str, Any]) -> None:
        with self._lock:
            self.posts.extend(posts)

    def publish(self, *posts: dict[str, Any]) -> None:
        self.store_only(*posts)
        batch = []
        for post in posts:
            data = {k: post[k] for k in WS_FIELDS}
            data["text"] = data["text"][:280]
            batch.append(data)
        self.send_raw(json.dumps({"type": "posts", "data": batch}))

    def store_alert(self, *alerts: dict[str, Any]) -> None:
        with self._lock:
            for alert in alerts:
                known = self.alerts.get(alert["id"])
                if known is None or known["revision"] < alert["revision"]:
                    self.alerts[alert["id"]] = alert

    def publish_alert(self, *alerts: dict[str, Any]) -> None:
        """Store and push, as the service does each time an alert is created or updated."""
        self.store_alert(*alerts)
        for alert in alerts:
            self.send_raw(json.dumps({"type": "alert", "data": alert}))

    def store_case(self, *cases: dict[str, Any]) -> None:
        with self._lock:
            for case in cases:
                known = self.cases.get(case["case_id"])
                if known is None or known["version"] < case["version"]:
                    self.cases[case["case_id"]] = case

    def publish_case(self, *cases: dict[str, Any]) -> None:
        """Store and push, as the service does each time a case changes (status, owner, merge...)."""
        self.store_case(*cases)
        for case in cases:
            self.send_raw(json.dumps({"type": "case", "data": case}))

    def send_raw(self, message: str) -> None:
        loop = self._loop
        if loop is None:
            return
        for queue in list(self._clients):
            loop.call_soon_threadsafe(queue.put_nowait, message)

    def wait_for_clients(self, n: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ws_clients < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {n} WebSocket client(s), have {self.ws_clients}")
            time.sleep(0.05)

    def start(self) -> ContractApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, ws_ping_interval=None
        )
        server = uvicorn.Server(config)
        self._server = server

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            loop.run_until_complete(server.serve(sockets=[sock]))
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"contract-api-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("contract API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving: live sockets are closed (1012 service restart), the port is released."""
        if self._server is None:
            return
        if self._loop is not None:
            for queue in list(self._clients):
                self._loop.call_soon_threadsafe(queue.put_nowait, None)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._loop = None
        self._clients.clear()
