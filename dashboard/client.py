"""The dashboard's only window on Signaal: the REST API (``ApiClient``) and the live WebSocket (``LiveFeed``).

The dashboard never reads the database. ``LiveFeed`` runs one daemon thread per process that keeps a bounded,
time-ordered buffer of recent posts fed by ``/ws/live`` and, after every (re)connect, by
``/api/posts?since=`` so a network blip or a server restart leaves no hole. It also keeps the latest revision
of each detector alert (``alert`` messages, and ``/api/alerts`` after every (re)connect). Dash callbacks only
read ``snapshot()``/``alerts()``/``volume()``/``status()``, which take a lock briefly and never touch the
network.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from dashboard.display import parse_time

log = logging.getLogger(__name__)

PAGE_SIZE = 200
MAX_TEXT = 1000  # the WS already caps at 280; REST items are capped too so the buffer's memory is bounded
MAX_ALERTS = 200  # alerts kept: the most recently updated
ALERT_PAGE = 50
# A stream whose newest post is older than this is a replay: pages then keep time by the stream.
REPLAY_LAG = timedelta(minutes=30)
SEVERITIES = ("critical", "high", "medium", "low")  # most severe first


class LivePost(TypedDict):
    """The fields the dashboard keeps: the WS ``post`` payload. Authors are deliberately not kept."""

    key: str
    created_at: str
    text: str
    lat: float | None
    lon: float | None
    area: str | None
    lang: str | None
    platform: str | None


class LiveAlert(TypedDict):
    """The latest revision of one detector alert, as the wall shows it. Examples, member keys and the
    detector's own figures are not kept: the wall doesn't show them and they would only grow the buffer."""

    id: str
    kind: str
    severity: str
    title: str
    explanation: str
    area: str | None
    first_seen: str | None
    updated_at: str
    post_count: int
    playbook: str | None
    revision: int


@dataclass(frozen=True)
class FeedStatus:
    state: str  # "connecting" | "connected" | "reconnecting" | "stopped"
    connected: bool
    last_message_at: datetime | None
    last_post_at: datetime | None
    reconnects: int
    posts_per_minute: float
    buffered: int
    last_error: str | None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _coord(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def normalise_post(raw: Mapping[str, Any]) -> LivePost | None:
    """Keep only the fields the wall may show; anything without a key or a readable time is dropped."""
    key = raw.get("key")
    if not isinstance(key, str) or not key or parse_time(raw.get("created_at")) is None:
        return None
    text = raw.get("text")
    lat, lon = _coord(raw.get("lat")), _coord(raw.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return LivePost(
        key=key,
        created_at=str(raw["created_at"]),
        text=text[:MAX_TEXT] if isinstance(text, str) else "",
        lat=lat,
        lon=lon,
        area=_opt_str(raw.get("area")),
        lang=_opt_str(raw.get("lang")),
        platform=_opt_str(raw.get("platform")),
    )


def normalise_alert(raw: Mapping[str, Any]) -> LiveAlert | None:
    """Keep what the alert panel shows; an alert without an id, a revision or a readable time is dropped."""
    alert_id, revision = raw.get("id"), raw.get("revision", 1)
    if not isinstance(alert_id, str) or not alert_id or parse_time(raw.get("updated_at")) is None:
        return None
    if isinstance(revision, bool) or not isinstance(revision, int):
        return None
    count = raw.get("post_count")
    severity = raw.get("severity")
    title, explanation = raw.get("title"), raw.get("explanation")
    return LiveAlert(
        id=alert_id[:300],
        kind=_opt_str(raw.get("kind")) or "unknown",
        severity=severity if severity in SEVERITIES else "low",
        title=title[:300] if isinstance(title, str) else "",
        explanation=explanation[:MAX_TEXT] if isinstance(explanation, str) else "",
        area=_opt_str(raw.get("area")),
        first_seen=str(raw["first_seen"]) if parse_time(raw.get("first_seen")) else None,
        updated_at=str(raw["updated_at"]),
        post_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        playbook=_opt_str(raw.get("playbook")),
        revision=revision,
    )


def alert_order(alert: LiveAlert) -> tuple[int, float]:
    """Sort key: most severe first, then most recently updated."""
    updated = parse_time(alert["updated_at"])
    return SEVERITIES.index(alert["severity"]), -(updated.timestamp() if updated else 0.0)


def ws_url_for(api_url: str) -> str:
    parts = urlsplit(api_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws/live", "", ""))


class ApiClient:
    """Thin synchronous client of the Signaal REST API; every call has a timeout, so a hung API can't
    hang a callback or the feed thread."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers={"User-Agent": "signaal-dashboard"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._http.get(path, params=clean)
        response.raise_for_status()
        return response.json()

    def healthz(self) -> bool:
        try:
            return self._get("/healthz").get("status") == "ok"
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    def posts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        q: str | None = None,
        limit: int = PAGE_SIZE,
        offset: int = 0,
    ) -> dict[str, Any]:
        params = {
            "since": iso(since) if since else None,
            "until": iso(until) if until else None,
            "bbox": ",".join(f"{v:g}" for v in bbox) if bbox else None,
            "q": q or None,
            "limit": limit,
            "offset": offset,
        }
        return self._get("/api/posts", params)

    def iter_posts(
        self, *, since: datetime | None = None, until: datetime | None = None, max_items: int = 5000
    ) -> Iterator[dict[str, Any]]:
        """Newest first, page by page. Offsets drift when posts arrive meanwhile (pages overlap, never skip),
        so callers must de-duplicate by key."""
        offset = 0
        while offset < max_items:
            limit = min(PAGE_SIZE, max_items - offset)
            page = self.posts(since=since, until=until, limit=limit, offset=offset)
            items = page.get("items") or []
            yield from items
            offset += len(items)
            if len(items) < limit or offset >= int(page.get("total") or 0):
                return

    def alerts(self, *, limit: int = ALERT_PAGE) -> dict[str, Any]:
        """The most recently updated alerts, newest first."""
        return self._get("/api/alerts", {"limit": limit})

    def volume(self, *, since: datetime, until: datetime | None = None, bucket: int = 60) -> dict[str, Any]:
        params = {"since": iso(since), "until": iso(until) if until else None, "bucket": bucket}
        return self._get("/api/stats/volume", params)


class LiveFeed:
    """Background WebSocket consumer with REST catch-up, a bounded post buffer and a per-minute counter."""

    def __init__(
        self,
        api_url: str,
        *,
        maxlen: int = 5000,
        history: timedelta = timedelta(hours=3),
        catchup_margin: timedelta = timedelta(minutes=10),
        backoff_initial: float = 0.5,
        backoff_max: float = 15.0,
        http_timeout: float = 5.0,
        counter_horizon: timedelta = timedelta(hours=24),
        max_alerts: int = MAX_ALERTS,
    ):
        self.api_url = api_url.rstrip("/")
        self.ws_url = ws_url_for(self.api_url)
        self.maxlen = maxlen
        self.history = history
        # Posts can be stored after later-created ones (platform delays, slow geocoding), so catching up from
        # exactly the newest time we saw would miss them; the overlap is de-duplicated by key.
        self.catchup_margin = catchup_margin
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.counter_horizon = counter_horizon
        self._http_timeout = http_timeout
        self._api = ApiClient(self.api_url, timeout=http_timeout)

        self._lock = threading.Lock()
        self._times: list[tuple[datetime, str]] = []  # sorted (created_at, key), parallel to _posts
        self._posts: dict[str, LivePost] = {}
        self._minutes: dict[datetime, int] = {}
        self.max_alerts = max_alerts
        self._alerts: dict[str, LiveAlert] = {}  # latest revision per alert id
        self._version = 0

        self._state = "connecting"
        self._last_message_at: datetime | None = None
        self._reconnects = 0
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> LiveFeed:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                if self._api.closed:
                    self._api = ApiClient(self.api_url, timeout=self._http_timeout)
                with self._lock:
                    self._state = "connecting"
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="signaal-livefeed", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            self._state = "stopped"
        self._api.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- reads for callbacks ---------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Bumped on every change, so a callback can skip rebuilding a figure when nothing happened."""
        return self._version

    def snapshot(self, since: datetime | None = None, limit: int | None = None) -> list[LivePost]:
        """Buffered posts, newest first, optionally only those created at or after ``since``."""
        with self._lock:
            start = bisect.bisect_left(self._times, (since, "")) if since is not None else 0
            keys = [k for _, k in reversed(self._times[start:])]
            if limit is not None:
                keys = keys[:limit]
            return [self._posts[k] for k in keys]

    def clock(self) -> datetime:
        """'Now' for the pages: the wall clock, or the stream's own time when the newest post is far older
        (a replay of an earlier incident), so that 'the last hour' means the stream's last hour."""
        with self._lock:
            return self._clock_locked()

    def _clock_locked(self) -> datetime:
        now = datetime.now(UTC)
        newest = self._times[-1][0] if self._times else None
        return newest if newest is not None and now - newest > REPLAY_LAG else now

    def volume(self, since: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
        """Posts per minute as ``[{"start": datetime, "count": n}]`` with empty minutes filled with zero."""
        until = until or self.clock()
        first, last = _minute(since), _minute(until)
        with self._lock:
            counts = dict(self._minutes)
        points = []
        moment = first
        while moment <= last:
            points.append({"start": moment, "count": counts.get(moment, 0)})
            moment += timedelta(minutes=1)
        return points

    def alerts(self, limit: int | None = None) -> list[LiveAlert]:
        """The latest revision of each kept alert: most severe first, then most recently updated."""
        with self._lock:
            alerts = sorted(self._alerts.values(), key=alert_order)
        return alerts[:limit] if limit is not None else alerts

    def status(self) -> FeedStatus:
        with self._lock:
            current = _minute(self._clock_locked())
            recent = sum(self._minutes.get(current - timedelta(minutes=i), 0) for i in range(1, 6))
            newest = self._times[-1][0] if self._times else None
            return FeedStatus(
                state=self._state,
                connected=self._state == "connected",
                last_message_at=self._last_message_at,
                last_post_at=newest,
                reconnects=self._reconnects,
                posts_per_minute=recent / 5,
                buffered=len(self._times),
                last_error=self._last_error,
            )

    # -- ingest ----------------------------------------------------------------------------------------------
    def add_posts(self, raws: Iterable[Mapping[str, Any]]) -> int:
        """Add posts from any source; duplicates are ignored. Returns how many were new."""
        added = 0
        with self._lock:
            for raw in raws:
                post = normalise_post(raw)
                if post is None or post["key"] in self._posts:
                    continue
                created = parse_time(post["created_at"])
                assert created is not None  # normalise_post checked
                if len(self._times) >= self.maxlen:
                    if created <= self._times[0][0]:
                        continue  # older than all we keep: it would be evicted at once
                    _, evicted = self._times.pop(0)
                    del self._posts[evicted]
                bisect.insort(self._times, (created, post["key"]))
                self._posts[post["key"]] = post
                minute = _minute(created)
                self._minutes[minute] = self._minutes.get(minute, 0) + 1
                added += 1
            if added:
                self._prune_minutes()
                self._version += 1
        return added

    def seed_volume(self, points: Iterable[Mapping[str, Any]]) -> None:
        """Merge the API's per-minute counts. Taking the max, not the sum, makes re-seeding after every
        reconnect idempotent and lets the API's count win where the buffer only saw part of a busy minute."""
        with self._lock:
            for point in points:
                start, count = parse_time(point.get("start")), point.get("count")
                if start is None or not isinstance(count, int):
                    continue
                minute = _minute(start)
                self._minutes[minute] = max(self._minutes.get(minute, 0), count)
            self._prune_minutes()
            self._version += 1

    def handle_message(self, message: str | bytes) -> None:
        try:
            payload = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            log.debug("ignoring non-JSON message from /ws/live")
            return
        if not isinstance(payload, dict):
            return
        with self._lock:
            self._last_message_at = datetime.now(UTC)
        kind, data = payload.get("type"), payload.get("data")
        if kind == "post" and isinstance(data, dict):
            self.add_posts([data])
        elif kind == "alert" and isinstance(data, dict):
            self.add_alerts([data])
        # "hello" and types added later by the server need nothing from us.

    def add_alerts(self, raws: Iterable[Mapping[str, Any]]) -> int:
        """Keep the highest revision per alert id; older or repeated revisions are ignored. Beyond
        ``max_alerts`` the least recently updated alerts are dropped. Returns how many alerts changed."""
        changed = 0
        with self._lock:
            for raw in raws:
                alert = normalise_alert(raw)
                if alert is None:
                    continue
                known = self._alerts.get(alert["id"])
                if known is not None and known["revision"] >= alert["revision"]:
                    continue
                self._alerts[alert["id"]] = alert
                changed += 1
            if len(self._alerts) > self.max_alerts:
                newest = sorted(self._alerts.values(), key=lambda a: alert_order(a)[1])
                self._alerts = {a["id"]: a for a in newest[: self.max_alerts]}
            if changed:
                self._version += 1
        return changed

    def _prune_minutes(self) -> None:
        horizon = _minute(self._clock_locked() - self.counter_horizon)
        if len(self._minutes) > self.counter_horizon.total_seconds() / 60 + 10:
            for minute in [m for m in self._minutes if m < horizon]:
                del self._minutes[minute]

    # -- the thread ------------------------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Fetch what was stored while we weren't listening, then re-seed the minute counts."""
        with self._lock:
            buffered = self._times[-1][0] if self._times else None
        # The stream's newest time, from the service when we have nothing yet: a replayed incident lies in
        # the past, and "the last few hours" must mean its last hours.
        stream = buffered
        if stream is None:
            latest = (self._api.posts(limit=1).get("items") or [{}])[0]
            stream = parse_time(latest.get("created_at")) if isinstance(latest, dict) else None
        now = datetime.now(UTC)
        reference = stream if stream is not None and now - stream > REPLAY_LAG else now
        since = reference - self.history
        if buffered is not None:
            since = max(buffered - self.catchup_margin, since)
        added = 0
        batch: list[dict[str, Any]] = []
        for item in self._api.iter_posts(since=since, max_items=self.maxlen):
            batch.append(item)
            if len(batch) >= PAGE_SIZE:
                added += self.add_posts(batch)
                batch = []
        added += self.add_posts(batch)
        volume = self._api.volume(since=reference - self.history, bucket=60)
        self.seed_volume(volume.get("points") or [])
        # Alerts raised or updated while we were away; the revision check makes the overlap harmless.
        self.add_alerts(item for item in self._api.alerts().get("items") or [] if isinstance(item, dict))
        return added

    def _run(self) -> None:
        backoff = self.backoff_initial
        while not self._stop.is_set():
            connected_at = None
            try:
                with connect(
                    self.ws_url,
                    open_timeout=5,
                    close_timeout=1,
                    ping_interval=10,
                    ping_timeout=10,
                    max_size=2**20,
                    proxy=None,
                ) as ws:
                    connected_at = time.monotonic()
                    with self._lock:
                        self._state = "connected"
                        self._last_message_at = datetime.now(UTC)
                    self._listen(ws, backoff)
            except (OSError, WebSocketException) as exc:
                self._note_error(f"websocket: {type(exc).__name__}: {exc}")
            except Exception:  # a bug must not silently end the wall's only live source
                log.exception("live feed crashed; restarting it")
                self._note_error("internal error, see log")
            if self._stop.is_set():
                break
            if connected_at is not None and time.monotonic() - connected_at > 30:
                backoff = self.backoff_initial  # it was a blip after a good run, not a dead server
            with self._lock:
                self._state = "reconnecting"
                self._reconnects += 1
            # Jitter, so that many dashboards don't hammer a restarting API in lockstep.
            delay = backoff * random.uniform(0.8, 1.2)
            log.info("live feed disconnected, reconnecting in %.1fs", delay)
            self._stop.wait(delay)
            backoff = min(backoff * 2, self.backoff_max)

    def _listen(self, ws: ClientConnection, backoff: float) -> None:
        # Subscribed first, caught up second: anything stored in between arrives both on the socket and in the
        # REST answer, and the buffer de-duplicates it.
        caught_up = self._try_catch_up()
        next_try = time.monotonic() + backoff
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                self.handle_message(ws.recv(timeout=0.5))
            if not caught_up and time.monotonic() >= next_try:
                caught_up = self._try_catch_up()
                next_try = time.monotonic() + self.backoff_max

    def _try_catch_up(self) -> bool:
        try:
            added = self.catch_up()
        except (httpx.HTTPError, ValueError, AttributeError, TypeError) as exc:
            # Live posts still flow meanwhile; the receive loop retries the catch-up.
            self._note_error(f"catch-up: {type(exc).__name__}: {exc}")
            return False
        with self._lock:
            self._last_error = None
        log.debug("caught up %d posts", added)
        return True

    def _note_error(self, message: str) -> None:
        with self._lock:
            first = self._last_error != message
            self._last_error = message
        (log.warning if first else log.debug)("live feed: %s", message)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


_feeds: dict[tuple[int, str], LiveFeed] = {}
_feeds_lock = threading.Lock()


def live_feed(api_url: str, **kwargs: Any) -> LiveFeed:
    """The process's running LiveFeed for ``api_url``, started on first use. Keyed by PID too, because a
    forking server's children inherit the dict but not the thread."""
    key = (os.getpid(), api_url.rstrip("/"))
    with _feeds_lock:
        feed = _feeds.get(key)
        if feed is None:
            feed = _feeds[key] = LiveFeed(api_url, **kwargs)
        return feed.start()
