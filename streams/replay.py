"""Replay exported posts onto the bus, in event-time order, at a chosen speed.

Two targets: :class:`KafkaTarget` publishes straight to Kafka (this process is then the edge that
pseudonymises, with the same secret as the service), and :class:`HttpTarget` pushes the raw records to the
running service's ``/api/ingest``, which parses and pseudonymises them. Records that cannot be parsed are
sent on as well, so the receiving side keeps them as dead letters with the reason.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from streams.bus.base import Bus
from streams.deadletter import DeadLetter
from streams.formats import CsvMapping, ParseError, Pseudonymiser, RawRecord, parse_record, read_records

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class ReplayReport:
    accepted: int = 0
    rejected: int = 0

    def add(self, accepted: int, rejected: int) -> None:
        self.accepted += accepted
        self.rejected += rejected


class ReplayTarget(Protocol):
    def send(self, records: Sequence[RawRecord]) -> tuple[int, int]:
        """Deliver records; returns (accepted, rejected) as the receiving side counted them."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Timeline:
    """Records in event-time order, and those whose time could not be read (sent first, to be rejected)."""

    timed: list[tuple[datetime, RawRecord]]
    broken: list[RawRecord]


def build_timeline(
    paths: Iterable[Path], fmt: str = "auto", csv_mapping: CsvMapping | None = None
) -> Timeline:
    # Parsing here only finds each record's time; the pseudonym it gets here is thrown away.
    def throwaway(platform: str, handle: str) -> str:
        return "unused"

    timed: list[tuple[datetime, RawRecord]] = []
    broken: list[RawRecord] = []
    for path in paths:
        for record in read_records(Path(path), fmt, csv_mapping):
            try:
                timed.append((parse_record(record, record.fmt, throwaway).created_at, record))
            except ParseError:
                broken.append(record)
    timed.sort(key=lambda item: item[0])  # stable: records at the same instant keep file order
    return Timeline(timed, broken)


def replay(
    timeline: Timeline,
    target: ReplayTarget,
    speed: float | None = 60.0,
    max_gap_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayReport:
    """Send the timeline; ``speed`` is how many seconds of event time pass per second, None for flat out.

    ``max_gap_s`` caps the wall-clock wait between two posts, so quiet nights pass quickly while busy hours
    still play at ``speed`` (what a demo wants; a faithful replay leaves it None)."""
    report = ReplayReport()
    for record in timeline.broken:
        report.add(*target.send([record]))
    if not timeline.timed:
        return report
    previous_time = timeline.timed[0][0]
    due = clock()
    batch: list[RawRecord] = []
    for created_at, record in timeline.timed:
        if speed is not None:
            gap = (created_at - previous_time).total_seconds() / speed
            due += gap if max_gap_s is None else min(gap, max_gap_s)
            previous_time = created_at
            wait = due - clock()
            if wait > 0:
                if batch:
                    report.add(*target.send(batch))
                    batch = []
                sleep(wait)
        batch.append(record)
        if len(batch) >= BATCH:
            report.add(*target.send(batch))
            batch = []
    if batch:
        report.add(*target.send(batch))
    return report


class KafkaTarget:
    """Parse and pseudonymise here, then publish posts and dead letters to their topics.

    When the brokers cannot take a batch (down, restarting, unreachable), the batch stays in this process
    and is sent again, whole, with growing waits, for up to ``retry_for_s``; each wait is logged, so the
    operator sees that records are buffered and not lost. Sending a batch twice is safe: the service keeps
    each post once per (platform, id) and each dead letter once per (source, bytes).
    """

    def __init__(
        self,
        bus: Bus,
        topic_posts: str,
        topic_deadletter: str,
        pseudonymiser: Pseudonymiser,
        retry_for_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        seal: Callable[[str], str] | None = None,
    ) -> None:
        self._bus = bus
        self._topic_posts = topic_posts
        self._topic_deadletter = topic_deadletter
        self._pseudonymiser = pseudonymiser
        self._retry_for_s = retry_for_s
        self._sleep = sleep
        self._seal = seal

    def send(self, records: Sequence[RawRecord]) -> tuple[int, int]:
        messages: list[tuple[str, bytes, bytes]] = []
        accepted = rejected = 0
        for record in records:
            try:
                post = parse_record(record, record.fmt, self._pseudonymiser, self._seal)
            except ParseError as error:
                letter = DeadLetter.of(record.exact_bytes(), str(error), record.source)
                messages.append(
                    (self._topic_deadletter, letter.model_dump_json().encode(), letter.key.encode())
                )
                rejected += 1
            else:
                messages.append((self._topic_posts, post.model_dump_json().encode(), post.key.encode()))
                accepted += 1
        self._deliver(messages)
        return accepted, rejected

    def _deliver(self, messages: list[tuple[str, bytes, bytes]]) -> None:
        deadline = time.monotonic() + self._retry_for_s
        wait = 1.0
        while True:
            try:
                for topic, value, key in messages:
                    self._bus.publish(topic, value, key)
                self._bus.flush()
                return
            except Exception as error:  # DeliveryError, KafkaError: the brokers did not take the batch
                if time.monotonic() + wait > deadline:
                    raise
                log.warning(
                    "Kafka did not take a batch of %d records (%s); holding them and retrying in %.0f s",
                    len(messages),
                    error,
                    wait,
                )
                self._sleep(wait)
                wait = min(wait * 2, 30.0)

    def close(self) -> None:
        self._bus.close()


# Answers that mean "not now" rather than "never": the service's 503 (the bus refused), and a proxy's bad
# gateway or gateway timeout while the service restarts.
RETRIED_STATUSES = frozenset({502, 503, 504})


class ReplayRefused(RuntimeError):
    """The service will not take the posts: a wrong key, a body it refuses, or no answer after all retries."""


class HttpTarget:
    """POST raw records as NDJSON to the service's ingest endpoint, retrying while it is unreachable or busy
    (503) and waiting as long as it asks when we send too fast (429 Retry-After). ``api_key`` is the
    producer's key when the service requires sign-in."""

    def __init__(
        self, api_url: str, retries: int = 8, timeout_s: float = 60.0, api_key: str | None = None
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout_s, headers=headers)
        self._retries = retries

    def send(self, records: Sequence[RawRecord]) -> tuple[int, int]:
        accepted = rejected = 0
        for fmt, group in _runs_by_format(records):
            # One record alone keeps its own file:line as the dead-letter source; batches are named by file.
            source = _safe_source(group[0].source if len(group) == 1 else group[0].source.split(":")[0])
            body = "\n".join(_one_line(r.text) for r in group).encode("utf-8", "surrogateescape")
            result = self._post(body, fmt, source)
            accepted += result["accepted"]
            rejected += result["rejected"]
        return accepted, rejected

    def _post(self, body: bytes, fmt: str, source: str) -> dict[str, int]:
        wait = 0.5
        attempt = 0
        while True:
            try:
                response = self._client.post(
                    "/api/ingest",
                    params={"format": fmt, "source": source},
                    content=body,
                    headers={"content-type": "application/x-ndjson"},
                )
                if response.status_code == 429:
                    # Over the service's ingest rate: nothing of the batch was taken; send it again when told.
                    # This is the service pacing us, not failing, so it uses up no retry.
                    time.sleep(_retry_after(response))
                    continue
                if response.status_code in (401, 403):
                    raise ReplayRefused(
                        f"the service refused the key (HTTP {response.status_code}: {_detail(response)});"
                        " set SIGNAAL_API_KEY to a producer's key (`signaal apikey add NAME` prints one)"
                    )
                if response.status_code not in RETRIED_STATUSES:
                    if response.is_error:
                        raise ReplayRefused(f"the service refused the posts: HTTP {response.status_code}: "
                                            f"{_detail(response)}")  # fmt: skip
                    return response.json()
                # The service's own 503 says why in JSON; a proxy in front of it answers in HTML.
                problem = f"HTTP {response.status_code}: {_detail(response)}"
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            if attempt == self._retries:
                raise ReplayRefused(f"ingest failed after {attempt + 1} tries: {problem}")
            print(
                f"signaal replay: service not reachable ({problem}); retrying in {wait:.1f} s",
                file=sys.stderr,
            )
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
            attempt += 1

    def close(self) -> None:
        self._client.close()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no JSON answer"
    return str(body.get("detail", "service unavailable")) if isinstance(body, dict) else str(body)[:200]


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "1")), 0.1), 60.0)
    except ValueError:  # an HTTP date; the service sends seconds
        return 1.0


def _runs_by_format(records: Sequence[RawRecord]) -> list[tuple[str, list[RawRecord]]]:
    runs: list[tuple[str, list[RawRecord]]] = []
    for record in records:
        if runs and runs[-1][0] == record.fmt:
            runs[-1][1].append(record)
        else:
            runs.append((record.fmt, [record]))
    return runs


def _one_line(text: str) -> str:
    # NDJSON needs one record per line; a record spanning lines (pretty-printed JSON) is compacted.
    if "\n" not in text:
        return text
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return text.replace("\r", " ").replace("\n", " ")


def _safe_source(source: str) -> str:
    return re.sub(r"[^\w.:/@-]", "_", Path(source).name if "/" in source else source)[:200]
