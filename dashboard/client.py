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
    closed: bool  # the detector's closing revision ("Voorbij"): the episode is over


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
        closed=isinstance(raw.get("details"), Mapping) and raw["details"].get("state") == "closed",
    )


def alert_recency(alert: LiveAlert) -> float:
    updated = parse_time(alert["updated_at"])
    return updated.timestamp() if updated else 0.0


def alert_order(alert: LiveAlert) -> tuple[bool, int, float]:
    """Sort key: open alerts before ended ones ("Voorbij": an ended call keeps the severity it reached, and
    must not head the list the morning after), then most severe, then most recently updated."""
    return alert["closed"], SEVERITIES.index(alert["severity"]), -alert_recency(alert)


# -- wall display: rumour cases ------------------------------------------------------------------------
MAX_CASES = 200  # cases kept: the most recently updated
CASE_PAGE = 50
CASE_REFRESH_MIN_S = 1.5  # at most this often after rumour alerts ...
CASE_REFRESH_MAX_S = 30.0  # ... and at least this often
CASE_STATUSES = ("new", "checking", "confirmed", "denied", "unfounded", "answered", "closed")


class LiveCase(TypedDict):
    """The latest version of one rumour case, as the wall shows it: claim, workflow status, owner. Examples,
    the answer's text and the merge history are not kept."""

    case_id: str
    claim: str
    status: str
    owner: str | None
    severity: str | None
    area: str | None
    first_seen: str | None
    updated_at: str | None
    post_count: int
    stance: dict[str, int]
    merged_into: str | None
    answered: bool
    version: int
    # Open cases that seem to tell the same claim (the service's merge hints; ``/api/rumours`` only).
    similar: tuple[str, ...]


# More hints than this per case say nothing more to the wall.
MAX_SIMILAR = 20


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def normalise_case(raw: Mapping[str, Any]) -> LiveCase | None:
    """Keep what the rumour panel shows; a case without an id, a known status or a version is dropped."""
    case_id, version, status = raw.get("case_id"), raw.get("version"), raw.get("status")
    if not isinstance(case_id, str) or not case_id or status not in CASE_STATUSES:
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    claim, severity = raw.get("claim"), raw.get("severity")
    stance = raw.get("stance") if isinstance(raw.get("stance"), Mapping) else {}
    return LiveCase(
        case_id=case_id[:300],
        claim=claim[:300] if isinstance(claim, str) else "",
        status=status,
        owner=_opt_str(raw.get("owner")),
        severity=severity if severity in SEVERITIES else None,
        area=_opt_str(raw.get("area")),
        first_seen=str(raw["first_seen"]) if parse_time(raw.get("first_seen")) else None,
        updated_at=str(raw["updated_at"]) if parse_time(raw.get("updated_at")) else None,
        post_count=_count(raw.get("post_count")),
        stance={k: _count(stance.get(k)) for k in ("support", "deny", "query", "comment")},
        merged_into=_opt_str(raw.get("merged_into")),
        answered=isinstance(raw.get("answer"), Mapping),
        version=version,
        similar=_similar_ids(raw.get("similar")),
    )


def _similar_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    ids = (h.get("case_id") for h in value[:MAX_SIMILAR] if isinstance(h, Mapping))
    return tuple(i[:300] for i in ids if isinstance(i, str) and i)


def case_activity(case: LiveCase) -> float:
    updated = parse_time(case["updated_at"]) or parse_time(case["first_seen"])
    return updated.timestamp() if updated else 0.0


def case_freshness(case: LiveCase) -> tuple[int, float, int]:
    """Which of two states of a case is newer. ``version`` moves only with the advisers' changes (status,
    owner, merges); the detector grows a case without touching it, so the case's activity and post count
    decide between states of one version. Ordering by version alone kept the first state the wall saw."""
    return case["version"], case_activity(case), case["post_count"]


# -- end of the wall display's rumour cases ------------------------------------------------------------


def ws_url_for(api_url: str) -> str:
    parts = urlsplit(api_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws/live", "", ""))


# The dashboard's own read access when the service requires sign-in (SIGNAAL_DASHBOARD_TOKEN, a token of an
# account with the wall role): the shared live feed and pollers read with it. What a person does on a page
# goes with that person's own token instead (see dashboard.auth).
_service_token: str | None = None


def use_service_token(token: str | None) -> None:
    global _service_token
    _service_token = token or None


def auth_headers(token: str | None = None) -> dict[str, str]:
    chosen = token or _service_token
    return {"Authorization": f"Bearer {chosen}"} if chosen else {}


class ApiClient:
    """Thin synchronous client of the Signaal REST API; every call has a timeout, so a hung API can't
    hang a callback or the feed thread. ``token`` signs the calls in (default: the dashboard's own)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers={"User-Agent": "signaal-dashboard", **auth_headers(token)},
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

    # -- wall display: rumour cases, service status, briefing --------------------------------------------
    def rumours(self, *, active: bool = True, limit: int = CASE_PAGE) -> dict[str, Any]:
        """Rumour cases, most recent activity first; ``active`` leaves out closed and merged ones."""
        return self._get("/api/rumours", {"active": "true" if active else "false", "limit": limit})

    def status(self) -> dict[str, Any]:
        """Pipeline counts and ingest lag, posts per minute per source, the stream's clock, blind spots."""
        return self._get("/api/status")

    def briefing(self) -> dict[str, Any]:
        """The room's latest briefing: ``{"at": iso | None, "by": str | None}``."""
        return self._get("/api/briefing")

    def briefing_changes(self, *, since: datetime | None = None) -> dict[str, Any]:
        """New and updated alerts, case changes and cycle entries since ``since`` (default: the latest
        briefing)."""
        return self._get("/api/briefing/changes", {"since": iso(since) if since else None})


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
        max_cases: int = MAX_CASES,
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
        self.max_cases = max_cases
        self._cases: dict[str, LiveCase] = {}  # latest version per rumour case id
        self._case_seen: dict[str, float] = {}  # when each case last changed here (monotonic)
        self._cases_error: str | None = None  # why the cases could not be caught up, if they could not
        self._cases_stale = False  # a rumour alert arrived: the service's case list has changed
        self._cases_fetched = 0.0  # when the case list was last fetched (monotonic)
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

    def cases(self, limit: int | None = None) -> list[LiveCase]:
        """The latest version of each kept rumour case, most recent activity first."""
        with self._lock:
            cases = sorted(self._cases.values(), key=case_activity, reverse=True)
        return cases[:limit] if limit is not None else cases

    @property
    def caught_up(self) -> bool:
        """The first catch-up (posts, alerts, cases) has finished: an empty list now means "none"."""
        return self._cases_fetched > 0

    @property
    def cases_error(self) -> str | None:
        """Why rumour cases could not be fetched at the last (re)connect; None when they could."""
        return self._cases_error

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
        if kind == "posts" and isinstance(data, list):
            self.add_posts([item for item in data if isinstance(item, dict)])
        elif kind == "alert" and isinstance(data, dict):
            self.add_alerts([data])
            if data.get("kind") == "rumour":
                self._cases_stale = True  # the detector's cases are not pushed as "case" messages
        elif kind == "case" and isinstance(data, dict):
            self.add_cases([data], pushed=True)
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
                newest = sorted(self._alerts.values(), key=alert_recency, reverse=True)
                self._alerts = {a["id"]: a for a in newest[: self.max_alerts]}
            if changed:
                self._version += 1
        return changed

    def add_cases(self, raws: Iterable[Mapping[str, Any]], pushed: bool = False) -> int:
        """Keep the newest state per case id (see :func:`case_freshness`); beyond ``max_cases`` the least
        recently active cases are dropped. Returns how many cases changed. A ``pushed`` case (from the
        socket) keeps the merge hints of the last list read: the service computes hints only for the list,
        and a pushed case says ``"similar": []``."""
        changed = 0
        with self._lock:
            for raw in raws:
                case = normalise_case(raw)
                if case is None:
                    continue
                known = self._cases.get(case["case_id"])
                if pushed and known is not None:
                    case["similar"] = known["similar"]
                if known is not None and (case == known or case_freshness(case) < case_freshness(known)):
                    continue
                self._cases[case["case_id"]] = case
                self._case_seen[case["case_id"]] = time.monotonic()
                changed += 1
            if len(self._cases) > self.max_cases:
                newest = sorted(self._cases.values(), key=case_activity, reverse=True)
                self._cases = {c["case_id"]: c for c in newest[: self.max_cases]}
                self._case_seen = {k: v for k, v in self._case_seen.items() if k in self._cases}
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
        self._catch_up_cases()
        return added

    def _cases_due(self) -> bool:
        """Re-read the case list soon after a rumour alert (new detector cases, growing counts), and now and
        then anyway; never more than every couple of seconds."""
        since = time.monotonic() - self._cases_fetched
        return (self._cases_stale and since >= CASE_REFRESH_MIN_S) or since >= CASE_REFRESH_MAX_S

    def _catch_up_cases(self) -> None:
        # Apart from posts and alerts: a service without rumour cases must not stop the wall catching up.
        asked = time.monotonic()
        self._cases_stale = False
        self._cases_fetched = asked
        try:
            page = self._api.rumours(active=True, limit=CASE_PAGE)
            items = [item for item in page.get("items") or [] if isinstance(item, dict)]
            total = int(page.get("total") or 0)
        except (httpx.HTTPError, ValueError, AttributeError, TypeError) as exc:
            with self._lock:
                self._cases_error = f"{type(exc).__name__}: {exc}"[:200]
            return
        if items and not any("case_id" in item for item in items):
            # A service from before rumour cases answers with rumour alerts here: say so, don't show "none".
            with self._lock:
                self._cases_error = "this service's /api/rumours has no rumour cases (update the service)"
            return
        self.add_cases(items)
        with self._lock:
            self._cases_error = None
            if total <= len(items):
                # Closed or merged while we were away: not in the active list any more. A case pushed over the
                # socket during the request is newer than the answer and stays.
                active = {item.get("case_id") for item in items}
                gone = [k for k in self._cases if k not in active and self._case_seen.get(k, 0.0) < asked]
                for case_id in gone:
                    del self._cases[case_id]
                    self._case_seen.pop(case_id, None)
                if gone:
                    self._version += 1

    def _run(self) -> None:
        backoff = self.backoff_initial
        while not self._stop.is_set():
            connected_at = None
            try:
                with connect(
                    self.ws_url,
                    additional_headers=auth_headers(),
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
            elif caught_up and self._cases_due():
                self._catch_up_cases()

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


# -- wall display: values polled in the background --------------------------------------------------------


@dataclass(frozen=True)
class Polled:
    """The last answer of a background fetch: ``value`` is the last good one (kept through failures, so the
    wall keeps showing it, marked stale), ``error`` why the latest attempt failed."""

    value: Any
    fetched_at: datetime | None  # wall-clock time of the last good answer
    error: str | None
    version: int = 0  # bumped only when the value or the error changes, so pages can skip redrawing

    @property
    def ok(self) -> bool:
        return self.fetched_at is not None and self.error is None


class Poller:
    """Calls ``fetch`` every ``interval`` seconds on a daemon thread, so callbacks read the last answer and
    never wait on the network. For the slow-changing parts of the wall (status, briefing changes); what is
    pushed over the WebSocket goes through :class:`LiveFeed`."""

    def __init__(self, fetch: Any, *, interval: float = 2.0, name: str = "signaal-poller"):
        self._fetch = fetch
        self.interval = interval
        self._name = name
        self._lock = threading.Lock()
        self._last = Polled(None, None, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Poller:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def get(self) -> Polled:
        with self._lock:
            return self._last

    def poll_once(self) -> Polled:
        try:
            value = self._fetch()
        except httpx.HTTPStatusError as exc:
            error = f"HTTP {exc.response.status_code} from {exc.request.url.path}"
        except (httpx.HTTPError, ValueError, AttributeError, TypeError, KeyError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            with self._lock:
                last = self._last
                changed = value != last.value or last.error is not None
                self._last = Polled(value, datetime.now(UTC), None, last.version + changed)
                return self._last
        with self._lock:
            last = self._last
            self._last = Polled(last.value, last.fetched_at, error, last.version + (error != last.error))
            return self._last

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)


MAX_POLLERS = 16
_pollers: dict[tuple[int, str, str], Poller] = {}


def poller(api_url: str, what: str, fetch: Any, *, interval: float = 2.0) -> Poller:
    """The process's running poller ``what`` (e.g. ``"status"``) for ``api_url``, started on first use; one
    per process however many screens show the wall. ``fetch`` gets an :class:`ApiClient`."""
    key = (os.getpid(), api_url.rstrip("/"), what)
    with _feeds_lock:
        found = _pollers.get(key)
        if found is None:
            if len(_pollers) >= MAX_POLLERS:  # e.g. many different ?briefing= overrides: drop the oldest
                oldest = next(iter(_pollers))
                _pollers.pop(oldest).stop(timeout=0)
            client = ApiClient(api_url, timeout=3.0)
            found = _pollers[key] = Poller(lambda: fetch(client), interval=interval, name=f"signaal-{what}")
        return found.start()


# -- end of the wall display's polled values ---------------------------------------------------------------
