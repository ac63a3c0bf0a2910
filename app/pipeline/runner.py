"""Wires the stages for one batch of bus messages: decode -> enrich -> store -> detect -> store/publish.

:meth:`Pipeline.store` decodes, enriches and stores a batch; :meth:`Pipeline.detect` runs the detectors over
the posts that were new and :meth:`Pipeline.publish_alerts` stores and pushes their alert updates (the
consumer worker runs detection on a thread of its own). The consumer commits a batch's offsets once it is
stored, so a crash before that means the batch is delivered again; a crash after it but before its alerts
were stored is made good by the warm start (``app.pipeline.warmup``), which replays stored posts through
the detectors.
Storing posts comes before the detectors because storage is where duplicates are recognised: only posts
stored for the first time go on to the detectors and the live feed, so a redelivered or replayed post is
never counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from app.db.repository import Store
from app.pipeline.alerts import Alert
from app.pipeline.detection import Detection
from streams.bus.base import Message
from streams.deadletter import DeadLetter
from streams.post import Post, latest_plausible_time

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    """Running totals since start, for /readyz, /api/status and the dashboards' honest status line."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts: int = 0
    # Stored posts the detectors have seen and whose alert updates are stored: ``stored`` minus this is
    # what is still on its way to the detectors.
    detected: int = 0
    last_post_created_at: datetime | None = None
    last_stored_at: datetime | None = None
    ingest_lag_seconds: float | None = None
    # Seconds spent per stage since start, for /metrics.
    stage_seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("decode_enrich", "store", "detect", "publish"), 0.0)
    )
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "received": self.received,
                "stored": self.stored,
                "duplicates": self.duplicates,
                "rejected": self.rejected,
                "alert_updates": self.alerts,
                "detected": self.detected,
                "last_post_created_at": self.last_post_created_at,
                "last_stored_at": self.last_stored_at,
                "ingest_lag_seconds": self.ingest_lag_seconds,
            }


class Pipeline:
    def __init__(
        self,
        store: Store,
        enrich: Callable[[list[Post]], list[Post]],
        topic_posts: str,
        topic_deadletter: str,
        detection: Detection | None = None,
        on_stored: Callable[[list[Post]], None] = lambda posts: None,
        on_alerts: Callable[[list[Alert]], None] = lambda alerts: None,
    ) -> None:
        self._store = store
        self._enrich = enrich
        self._topic_posts = topic_posts
        self._topic_deadletter = topic_deadletter
        self._detection = detection
        self._on_stored = on_stored
        self._on_alerts = on_alerts
        self.stats = PipelineStats()

    @property
    def detection(self) -> Detection | None:
        return self._detection

    def store(self, messages: list[Message]) -> list[Post]:
        """Decode, enrich and store one batch and put what was new on the live feed; returns the new posts in
        input order. Raises if storage fails: then nothing of the batch counts as handled."""
        clock = time.perf_counter
        started = clock()
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        latest = latest_plausible_time()
        for message in messages:
            if message.topic == self._topic_deadletter:
                letters.append(self._decode_letter(message, _source(message)))
                continue
            try:
                post = Post.model_validate_json(message.value)
            except ValidationError as error:
                reason = f"not a valid post: {_short(error)}"
                letters.append(DeadLetter.of(message.value, reason, _source(message)))
                continue
            if post.created_at > latest:
                # Producers that write to the bus directly skip the edge's check; one such post would make
                # the detectors skip every real post after it.
                reason = f"not a valid post: created_at {post.created_at.isoformat()} is in the future"
                letters.append(DeadLetter.of(message.value, reason, _source(message)))
                continue
            posts.append(post)
        posts = self._enrich(posts)

        decoded = clock()
        new_posts, _ = self._store.add_batch(posts, letters)
        stored = clock()
        self._count(len(posts), len(new_posts), len(letters), new_posts)
        if messages:
            # From the moment the bus took the oldest record of the batch until now, when it is stored.
            oldest = min(message.timestamp_ms for message in messages) / 1000
            self.stats.ingest_lag_seconds = max(0.0, datetime.now(UTC).timestamp() - oldest)
        if new_posts:
            try:
                self._on_stored(new_posts)
            except Exception:
                # The posts are stored: failing the batch now would make its retry find them stored and keep
                # them from the detectors. Live clients catch up through the REST API.
                log.exception("the live feed failed on %d stored posts", len(new_posts))
        seconds = self.stats.stage_seconds
        with self.stats.lock:
            seconds["decode_enrich"] += decoded - started
            seconds["store"] += stored - decoded
            seconds["publish"] += clock() - stored
        return new_posts

    def detect(self, new_posts: list[Post]) -> list[Alert]:
        """The detectors' alert updates for newly stored posts. In memory only: call once per batch, in the
        order the batches were stored (detector state moves on with every call)."""
        if not new_posts or self._detection is None:
            return []
        started = time.perf_counter()
        alerts = self._detection.observe(new_posts)
        with self.stats.lock:
            self.stats.stage_seconds["detect"] += time.perf_counter() - started
        return alerts

    def count_detected(self, posts: int) -> None:
        """Stored posts that the detectors have seen, their alert updates stored and pushed."""
        with self.stats.lock:
            self.stats.detected += posts

    def publish_alerts(self, alerts: list[Alert]) -> None:
        """Store alert updates and push them on. Raises if storage fails; safe to call again with the same
        alerts (storage keeps each revision once)."""
        if not alerts:
            return
        started = time.perf_counter()
        stored = self._store.save_alerts(alerts)
        with self.stats.lock:
            self.stats.alerts += len(alerts)
        self._on_alerts(stored)
        with self.stats.lock:
            self.stats.stage_seconds["publish"] += time.perf_counter() - started

    @staticmethod
    def _decode_letter(message: Message, source: str) -> DeadLetter:
        try:
            return DeadLetter.model_validate_json(message.value)
        except ValidationError as error:
            # A broken dead letter is itself kept, as a dead letter about the dead letter.
            return DeadLetter.of(message.value, f"not a valid dead letter: {_short(error)}", source)

    def _count(self, received: int, stored: int, rejected: int, new_posts: list[Post]) -> None:
        with self.stats.lock:
            self.stats.received += received
            self.stats.stored += stored
            self.stats.duplicates += received - stored
            self.stats.rejected += rejected
            if new_posts:
                self.stats.last_post_created_at = max(p.created_at for p in new_posts)
                self.stats.last_stored_at = datetime.now(UTC)


def _source(message: Message) -> str:
    """Where a dead letter came from; made only for the few records that are one, not for every post."""
    return f"bus:{message.topic}/{message.partition}@{message.offset}"


def _short(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    return f"{where}: {first['msg']} ({error.error_count()} problem(s))"
