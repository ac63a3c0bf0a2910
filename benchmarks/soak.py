"""Load and soak: `signaal serve` on real Kafka and PostgreSQL, at a steady rate with one burst.

    .venv/bin/python -m benchmarks.soak --out soak.json                      # 10 min at 2,000 posts/s
    .venv/bin/python -m benchmarks.soak --minutes 1 --rate 500 --out smoke.json   # smoke
    .venv/bin/python -m benchmarks.soak --kafka 127.0.0.1:9192 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:55532/signaal --out soak.json

``--kafka`` and ``--database-url`` default to ``SIGNAAL_TEST_KAFKA`` and ``SIGNAAL_TEST_DATABASE_URL`` (what
``make test`` sets). Every run gets its own topics, consumer group and a fresh database (``soak_<run id>``,
created next to the one in the URL and dropped afterwards; with ``--keep-database`` the run stores into
the URL's own database instead and leaves what it stored there, to look at afterwards).

What it does
------------
1. Starts the service as a subprocess (``python -m app.cli serve``) with ``KAFKA_BOOTSTRAP_SERVERS``,
   ``DATABASE_URL``, the run's ``SIGNAAL_TOPIC_*`` and ``SIGNAAL_CONSUMER_GROUP`` and a free ``SIGNAAL_PORT``.
2. Producer processes (``--producers``, default 2: one kafka-python producer tops out around 15,000
   records/s on this machine) pre-generate ordinary chatter (the background posts of Project X scenarios for
   four towns, authors pseudonymised, pre-serialised with holes for id, created_at and reply/repost links)
   and send ``Post`` JSON to the posts topic keyed by ``post.key``, as ``signaal replay`` does. They pace on
   the monotonic clock: ``--rate`` posts/s for ``--minutes``, and ``--burst-factor`` times that for
   ``--burst-seconds`` in the middle, handing over what is due every 10 ms. Each post's ``created_at`` is
   the wall time it is handed to the producer; that hand-off instant (``time.monotonic()``, system-wide on
   Linux) is the start of its latency.
   The partition is chosen round-robin rather than by kafka-python's pure-Python murmur2 of the key (every
   key is unique, so the spread is the same and the producer has more headroom). If the producers cannot
   keep the rate, the achieved rate is what is reported.
3. Alert patterns are injected at known moments (every ``--pattern-every`` s and once in the middle of the
   burst), alternating: a Project X-style call (an invitation to a street in a town three days ahead, two
   people travelling in from other towns, then reposts by distinct people, 100 ms apart) and a rumour (a
   claim, reposts, a "Klopt dit??" reply, more reposts). The detectors put the event time of the post that
   made the alert into ``details.alerted_at``; each pattern post has a unique ``created_at``, so the
   completing post is known exactly, and post-to-alert latency runs from handing *that* post to the
   producer until the first ``alert`` message for it on ``/ws/live``.
4. Meanwhile a WebSocket client thread records the receive time of every ``post`` and ``alert`` message on
   ``/ws/live``; a thread samples consumer lag every second (end offsets minus the group's committed
   offsets); another samples the service's RSS and CPU time (``/proc/<pid>``), the load average and
   ``/metrics`` every ``--sample-every`` s (10).
5. After the last post it waits until the lag is 0 and every post was seen (``--drain-timeout``), then prints
   a table with the targets next to the figures and writes the time series as JSON (``--out``).

Phases (by the time a post was handed to the producer): warm-up (the first ``--warmup`` s), steady (the rest
outside burst and recovery), burst, recovery (``--recovery`` s after the burst). Lag is "back to ~zero" when
it is at most one second of input at the steady rate. Memory is "flat" when the linear fit over the steady
part after the recovery grows less than 1 MB/min (and the one before the burst too).

Figures: ``docs/evaluation.md`` ("Load and soak"), each run with its command, date and machine load.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing as mp
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PLATFORM = "soak"
BACKGROUND_TOWNS = ("Haren", "Zwolle", "Den Helder", "Ede")
# Targets of the calls; none of them is a background town, so every call alert belongs to a pattern.
CALL_TOWNS = (
    "Veghel",
    "Meppel",
    "Harderwijk",
    "Zutphen",
    "Tiel",
    "Goes",
    "Sneek",
    "Oss",
    "Weert",
    "Venlo",
    "Kampen",
    "Doetinchem",
)
CALL_ORIGINS = ("Zwolle", "Tilburg")
STREETS = ("Kerkstraat", "Stationsstraat", "Molenweg", "Dorpsstraat", "Markt", "Schoolstraat")
HOSTS = ("Sanne", "Lotte", "Fleur", "Noor", "Julia", "Romy")
# Rumour claims with different content words, so that a new pattern never joins an earlier claim.
CLAIMS = (
    "Er is iemand doodgestoken bij de {street} in {town}",
    "Het leger wordt ingezet in {town}, militairen gezien op de {street}",
    "Basisschool aan de {street} in {town} ontruimd vanwege een bommelding",
    "Drinkwater in {town} besmet, drink geen kraanwater tot morgen",
    "Brug bij de {street} in {town} ingestort, veel gewonden",
    "Tijger ontsnapt uit het dierenpark bij {town}, blijf binnen",
    "Stroomstoring in {town} duurt nog dagen volgens monteurs van de netbeheerder",
    "Gifwolk boven {town} na een explosie bij de fabriek aan de {street}",
)
ENQUIRIES = ("Klopt dit??", "Is dit waar?", "Iemand die weet of dit klopt??")
WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
PATTERN_STEP_S = 0.1
PRODUCER_TICK_S = 0.01
CALL_RESHARES = 20
RUMOUR_REPOSTS_BEFORE, RUMOUR_REPOSTS_AFTER = 3, 5
TARGET_P99_S = 1.0
TARGET_RECOVERY_S = 30.0
TARGET_SLOPE_MB_PER_MIN = 1.0
SENTINEL_TIME = "2000-01-01T00:00:00Z"


# --- configuration and schedule ------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakConfig:
    kafka: str
    database_url: str
    minutes: float = 10.0
    rate: float = 2000.0
    burst_factor: float = 10.0
    burst_seconds: float = 20.0
    warmup: float = 30.0
    recovery: float = 60.0
    pattern_every: float = 60.0
    producers: int = 2
    partitions: int = 3
    sample_every: float = 10.0
    drain_timeout: float = 180.0
    keep_database: bool = False
    seed: int = 1
    pool_towns: tuple[str, ...] = BACKGROUND_TOWNS
    base_rate_per_day: float = 3000.0
    service_log: Path | None = None
    py_spy_seconds: float = 0.0
    py_spy_out: Path | None = None

    @property
    def duration(self) -> float:
        return self.minutes * 60.0


@dataclass(frozen=True)
class Schedule:
    """How many posts are due ``t`` seconds after the start: ``rate``/s, ``factor`` x in [b0, b1)."""

    rate: float
    duration: float
    b0: float
    b1: float
    factor: float

    @classmethod
    def of(cls, config: SoakConfig) -> Schedule:
        burst = min(config.burst_seconds, config.duration) if config.burst_factor > 0 else 0.0
        b0 = max(0.0, config.duration / 2 - burst / 2)
        return cls(config.rate, config.duration, b0, b0 + burst, max(config.burst_factor, 0.0))

    def count(self, t: float) -> int:
        t = min(max(t, 0.0), self.duration)
        extra = self.rate * (self.factor - 1) * min(max(t - self.b0, 0.0), self.b1 - self.b0)
        return int(self.rate * t + extra)

    @property
    def total(self) -> int:
        return self.count(self.duration)

    def time_of(self, n: int) -> float:
        """When post number ``n`` is due (inverse of :meth:`count`)."""
        before = self.rate * self.b0
        if n <= before:
            return n / self.rate
        during = self.rate * self.factor * (self.b1 - self.b0)
        if n <= before + during:
            return self.b0 + (n - before) / (self.rate * self.factor)
        return self.b1 + (n - before - during) / self.rate

    def phase(self, t: float, warmup: float, recovery: float) -> str:
        if self.b0 <= t < self.b1:
            return "burst"
        if self.b1 <= t < self.b1 + recovery and self.b1 > self.b0:
            return "recovery"
        return "warm-up" if t < warmup else "steady"


# --- alert patterns --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatternPost:
    offset: float  # seconds after the pattern's start
    id: str
    author: str
    text: str
    reply_to: str | None = None
    repost_of: str | None = None


@dataclass(frozen=True)
class Pattern:
    number: int
    kind: str  # "mobilisation" or "rumour"
    at: float  # seconds after the start of the run
    label: str
    posts: tuple[PatternPost, ...]


def pattern_times(config: SoakConfig, schedule: Schedule) -> list[float]:
    """Every ``pattern_every`` s (the last one >= 5 s before the end) and once in the middle of the burst."""
    times = list(np.arange(min(15.0, config.pattern_every), config.duration - 5.0, config.pattern_every))
    if schedule.b1 > schedule.b0:
        middle = (schedule.b0 + schedule.b1) / 2
        times = [t for t in times if abs(t - middle) > min(8.0, config.pattern_every / 2)] + [middle]
    return sorted(float(t) for t in times if 0 <= t <= config.duration - 5.0)


def make_patterns(config: SoakConfig, schedule: Schedule, run_id: str, today: datetime) -> list[Pattern]:
    """Alternating Project X-style calls and rumours, each with its own town, day or claim."""
    patterns = []
    local = today.astimezone(_local_zone())
    for number, at in enumerate(pattern_times(config, schedule)):
        prefix = f"x{run_id}-{number}-"
        author = f"p_soak{run_id}x{number}a"
        street = STREETS[number % len(STREETS)]
        if number % 2 == 0:
            call = number // 2
            town = CALL_TOWNS[call % len(CALL_TOWNS)]
            day = (local + timedelta(days=3 + call // len(CALL_TOWNS))).date()
            weekday = WEEKDAYS_NL[day.weekday()]
            invitation = (
                f"Feestje bij {HOSTS[call % len(HOSTS)]}! {weekday.capitalize()} {day.day} "
                f"{MONTHS_NL[day.month - 1]} vanaf 20:00, {street} 12, {town}. Iedereen is welkom!"
            )
            posts = [PatternPost(0.0, prefix + "0", author + "0", invitation)]
            for i, origin in enumerate(CALL_ORIGINS, start=1):
                text = f"Met de trein vanuit {origin} naar {town} {weekday}! Kom allemaal"
                posts.append(PatternPost(i * PATTERN_STEP_S, prefix + str(i), author + str(i), text))
            for i in range(len(posts), len(posts) + CALL_RESHARES):
                posts.append(
                    PatternPost(
                        i * PATTERN_STEP_S,
                        prefix + str(i),
                        author + str(i),
                        invitation,
                        repost_of=prefix + "0",
                    )
                )
            patterns.append(
                Pattern(number, "mobilisation", at, f"call {town} {day.isoformat()}", tuple(posts))
            )
        else:
            rumour = number // 2
            town = CALL_TOWNS[(rumour + 5) % len(CALL_TOWNS)]
            claim = CLAIMS[rumour % len(CLAIMS)].format(street=street, town=town)
            posts = [PatternPost(0.0, prefix + "0", author + "0", claim)]
            for _ in range(RUMOUR_REPOSTS_BEFORE):
                i = len(posts)
                posts.append(
                    PatternPost(
                        i * PATTERN_STEP_S, prefix + str(i), author + str(i), claim, repost_of=prefix + "0"
                    )
                )
            i = len(posts)
            enquiry = ENQUIRIES[rumour % len(ENQUIRIES)]
            posts.append(
                PatternPost(
                    i * PATTERN_STEP_S, prefix + str(i), author + str(i), enquiry, reply_to=prefix + "0"
                )
            )
            for _ in range(RUMOUR_REPOSTS_AFTER):
                i = len(posts)
                posts.append(
                    PatternPost(
                        i * PATTERN_STEP_S, prefix + str(i), author + str(i), claim, repost_of=prefix + "0"
                    )
                )
            patterns.append(Pattern(number, "rumour", at, f"rumour {claim[:40]}...", tuple(posts)))
    return patterns


def _local_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Amsterdam")


# --- the background pool: pre-serialised posts with holes ---------------------------------------------

_HOLE = re.compile(rb"@@(ID|TS|PARENT)@@")


@dataclass
class Template:
    pieces: tuple[bytes, ...]  # literal, name, literal, name, ..., literal
    parent_pos: int | None  # pool position of the post this one replies to / reposts / quotes


def build_pool(config: SoakConfig) -> list[Template]:
    """Ordinary chatter of several towns, as templates: the scenario generator's background posts."""
    from app.config import DEV_PSEUDONYM_KEY
    from streams.post import Post, pseudonymise
    from streams.scenarios import projectx

    key = DEV_PSEUDONYM_KEY.encode()
    sentinel = datetime.fromisoformat(SENTINEL_TIME)
    quoted_sentinel = json.dumps(
        Post(platform="x", id="x", author="x", created_at=sentinel, text="").model_dump(mode="json")[
            "created_at"
        ]
    ).encode()
    pool: list[Template] = []
    for number, town in enumerate(config.pool_towns):
        scenario = projectx.generate(
            town=town, seed=config.seed + number, base_rate_per_day=config.base_rate_per_day, scale=0.2
        )
        kinds = scenario.truth.kinds
        position: dict[str, int] = {}
        for record in scenario.records:
            if kinds.get(record["id"]) != "background":
                continue
            parent_link = next((k for k in ("reply_to", "repost_of", "quote_of") if record.get(k)), None)
            parent_pos = position.get(record[parent_link]) if parent_link else None
            fields = {
                k: v
                for k, v in record.items()
                if k not in ("platform", "id", "created_at", "reply_to", "repost_of", "quote_of")
            }
            fields["author"] = pseudonymise(projectx.PLATFORM, fields["author"], key)
            links = {parent_link: "@@PARENT@@"} if parent_link and parent_pos is not None else {}
            post = Post(platform=PLATFORM, id="@@ID@@", created_at=sentinel, **links, **fields)
            raw = post.model_dump_json().encode().replace(quoted_sentinel, b'"@@TS@@"')
            pieces = tuple(_HOLE.split(raw))
            position[record["id"]] = len(pool)
            pool.append(Template(pieces, parent_pos))
    return pool


def render(template: Template, seq: int, pool_size: int, ts: bytes) -> bytes:
    values = {b"ID": str(seq).encode(), b"TS": ts}
    if template.parent_pos is not None:
        values[b"PARENT"] = str(seq - seq % pool_size + template.parent_pos).encode()
    pieces = template.pieces
    return b"".join(piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces))


def pattern_record(post: PatternPost, created_at: datetime) -> bytes:
    from streams.post import Post

    return (
        Post(
            platform=PLATFORM,
            id=post.id,
            author=post.author,
            created_at=created_at,
            text=post.text,
            reply_to=post.reply_to,
            repost_of=post.repost_of,
        )
        .model_dump_json()
        .encode()
    )


# --- producer process ------------------------------------------------------------------------------------


def producer_main(
    index: int,
    config: SoakConfig,
    topic: str,
    patterns: list[Pattern],
    shm_name: str,
    total: int,
    ready: Any,
    start_at: Any,
    result_path: str,
) -> None:
    """One producer process: posts ``index``, ``index + n``, ... of the schedule (process 0: the patterns)."""
    from kafka import KafkaProducer

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pool = build_pool(config)
    shm = shared_memory.SharedMemory(name=shm_name)
    sent = np.ndarray((total,), dtype=np.float64, buffer=shm.buf)
    producer = KafkaProducer(
        bootstrap_servers=config.kafka.split(","),
        client_id=f"soak-producer-{index}",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    schedule = Schedule.of(config)
    step = config.producers
    queue: list[tuple[float, int, PatternPost]] = (
        sorted(
            (pattern.at + post.offset, pattern.number, post) for pattern in patterns for post in pattern.posts
        )
        if index == 0
        else []
    )
    pattern_log: list[dict[str, Any]] = []
    pool_size = len(pool)
    ready.set()
    while start_at.value == 0.0:
        time.sleep(0.01)
    t0 = start_at.value
    while time.monotonic() < t0:
        time.sleep(0.001)
    seq = index
    partitions = config.partitions
    monotonic = time.monotonic
    while seq < total or queue:
        now = monotonic() - t0
        due = schedule.count(now)
        if seq < due:
            ts = datetime.now(UTC).isoformat().encode()
            while seq < due:
                value = render(pool[seq % pool_size], seq, pool_size, ts)
                sent[seq] = monotonic()
                producer.send(
                    topic, value=value, key=f"{PLATFORM}:{seq}".encode(), partition=seq % partitions
                )
                seq += step
        while queue and queue[0][0] <= now:
            _, number, post = queue.pop(0)
            created = datetime.now(UTC)
            value = pattern_record(post, created)
            handed = monotonic()
            producer.send(
                topic, value=value, key=f"{PLATFORM}:{post.id}".encode(), partition=hash(post.id) % partitions
            )
            pattern_log.append(
                {
                    "pattern": number,
                    "id": post.id,
                    "created_at": created.isoformat(),
                    "created_at_s": created.timestamp(),
                    "sent": handed,
                }
            )
        next_due = min(schedule.time_of(seq) if seq < total else math.inf, queue[0][0] if queue else math.inf)
        wait = next_due - (monotonic() - t0)
        if wait > 0:
            # Hand posts over in ticks, not one by one: waking up per post made each producer process
            # spend ~0.4 cores at 1,000 posts/s, CPU the service under test then lacks.
            time.sleep(min(max(wait, PRODUCER_TICK_S), 0.05))
    producer.flush()
    producer.close()
    Path(result_path).write_text(json.dumps({"patterns": pattern_log, "pool": pool_size}))
    shm.close()


# --- the service -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path | None


def start_service(env: dict[str, str], log_path: Path | None, timeout_s: float = 90.0) -> Service:
    import httpx

    port = int(env["SIGNAAL_PORT"])
    out = log_path.open("wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
    )
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"signaal serve exited with {process.returncode} (log: {log_path})")
        try:
            if httpx.get(service.url + "/readyz", timeout=2).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_service(service)
            raise RuntimeError(
                f"signaal serve did not become ready within {timeout_s:.0f} s (log: {log_path})"
            )
        time.sleep(0.2)


def stop_service(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(20)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait(10)


def fresh_database(url: str, name: str) -> tuple[str, Callable[[], None]]:
    """A new empty database next to the one in ``url``; returns its URL and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    if not base.drivername.startswith("postgresql"):
        return url, lambda: None
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


# --- observers -------------------------------------------------------------------------------------------


class LiveClient(threading.Thread):
    """Records when each post key and each alert revision arrives on /ws/live."""

    def __init__(self, url: str, total: int) -> None:
        super().__init__(name="soak-ws", daemon=True)
        self.url = url
        self.received = np.full(total, np.nan)
        self.pattern_received: dict[str, float] = {}
        self.alerts: list[dict[str, Any]] = []
        self.posts = 0
        self.other = 0
        self.duplicates = 0
        self.disconnects: list[tuple[float, str]] = []
        self.connected = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        import orjson
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        received, prefix = self.received, f"{PLATFORM}:"
        cut = len(prefix)
        monotonic = time.monotonic
        while not self.stopping.is_set():
            try:
                with connect(self.url, max_size=None, open_timeout=10, close_timeout=2) as ws:
                    self.connected.set()
                    while not self.stopping.is_set():
                        try:
                            raw = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        now = monotonic()
                        message = orjson.loads(raw)
                        kind = message.get("type")
                        if kind == "posts":
                            for post in message["data"]:
                                self.posts += 1
                                key = post["key"]
                                if key.startswith(prefix) and key[cut:].isdigit():
                                    n = int(key[cut:])
                                    if n < len(received):
                                        if received[n] == received[n]:  # not NaN: seen before
                                            self.duplicates += 1
                                        else:
                                            received[n] = now
                                        continue
                                self.pattern_received.setdefault(key, now)
                        elif kind == "alert":
                            data = message["data"]
                            self.alerts.append(
                                {
                                    "received": now,
                                    "id": data.get("id"),
                                    "kind": data.get("kind"),
                                    "revision": data.get("revision"),
                                    "severity": data.get("severity"),
                                    "alerted_at": (data.get("details") or {}).get("alerted_at"),
                                    "post_count": data.get("post_count"),
                                }
                            )
                        else:
                            self.other += 1
            except (ConnectionClosed, OSError, TimeoutError) as error:
                if self.stopping.is_set():
                    break
                self.disconnects.append((time.monotonic(), f"{type(error).__name__}: {error}"))
                time.sleep(0.2)


class Sampler(threading.Thread):
    """Calls ``sample()`` every ``every`` seconds (first at once) and keeps what it returns."""

    def __init__(self, name: str, every: float, sample: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__(name=name, daemon=True)
        self.every = every
        self.sample = sample
        self.rows: list[dict[str, Any]] = []
        self.errors = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                row = self.sample()
                if row is not None:
                    self.rows.append({"t": time.monotonic(), **row})
            except Exception:  # a missed sample is a gap in the series, not a failed run
                self.errors += 1
            next_at += self.every
            self.stopping.wait(max(0.0, next_at - time.monotonic()))


class LagProbe:
    """End offsets minus the group's committed offsets, summed over the posts topic's partitions."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        from kafka import KafkaAdminClient, TopicPartition

        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="soak-lag")
        self.topic, self.group = topic, group
        described = self.admin.describe_topics([topic])
        count = len(described[0]["partitions"]) if described else 0
        self.partitions = [TopicPartition(topic, p) for p in range(count)]

    def __call__(self) -> dict[str, Any]:
        from streams.bus.kafka import group_offsets

        ends, done = group_offsets(self.admin, self.group, self.partitions)
        lag = sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())
        return {"lag": lag, "end": sum(ends.values()), "committed": sum(done.values())}

    def close(self) -> None:
        self.admin.close()


def process_sample(pid: int, url: str) -> Callable[[], dict[str, Any]]:
    import httpx

    ticks = os.sysconf("SC_CLK_TCK")
    client = httpx.Client(timeout=5)

    def sample() -> dict[str, Any]:
        status = Path(f"/proc/{pid}/status").read_text()
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime + stime
        row: dict[str, Any] = {
            "rss_mb": rss_kb / 1024,
            "cpu_s": cpu,
            "threads": threads,
            "load1": os.getloadavg()[0],
        }
        try:
            row["metrics"] = parse_metrics(client.get(url + "/metrics").text)
        except Exception:
            row["metrics"] = None
        return row

    return sample


def parse_metrics(text: str) -> dict[str, float]:
    """The service's own ``signaal_*`` series (without HTTP histograms) from Prometheus text."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("signaal_") and not line.startswith("signaal_http"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                continue
    return out


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class SoakRun:
    config: SoakConfig
    run_id: str
    t0: float
    schedule: Schedule
    sent: np.ndarray
    received: np.ndarray
    patterns: list[Pattern]
    pattern_sends: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    lag: list[dict[str, Any]]
    process: list[dict[str, Any]]
    drain_s: float | None
    ws_stats: dict[str, Any]
    load_before: str
    load_after: str
    pool_size: int
    pattern_seen: set[str] = field(default_factory=set)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _detectors_caught_up(url: str) -> bool:
    import httpx

    try:
        pipeline = httpx.get(url + "/api/status", timeout=2).json()["pipeline"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False
    return bool(pipeline["detected"] >= pipeline["stored"])


def run_soak(config: SoakConfig, log: Callable[[str], None] = print) -> SoakRun:
    run_id = f"{time.strftime('%m%d%H%M%S')}{uuid.uuid4().hex[:4]}"
    schedule = Schedule.of(config)
    total = schedule.total
    patterns = make_patterns(config, schedule, run_id, datetime.now(UTC))
    prefix = f"soak.{run_id}"
    topic = f"{prefix}.posts"
    load_before = uptime()
    log(
        f"soak {run_id}: {total:,} posts over {config.duration:.0f} s at {config.rate:g}/s, "
        f"burst x{config.burst_factor:g} "
        f"for {schedule.b1 - schedule.b0:.0f} s from t={schedule.b0:.0f} s, {len(patterns)} alert patterns"
    )
    log(f"before: {load_before}")

    # Producers generate their pools while the service starts.
    ctx = mp.get_context("spawn")
    shm = shared_memory.SharedMemory(create=True, size=max(8, total * 8))
    sent = np.ndarray((total,), dtype=np.float64, buffer=shm.buf)
    sent[:] = np.nan
    start_at = ctx.Value("d", 0.0)
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    producers = []
    for index in range(config.producers):
        ready = ctx.Event()
        path = str(workdir / f"soak-{run_id}-producer-{index}.json")
        process = ctx.Process(
            target=producer_main,
            args=(index, config, topic, patterns, shm.name, total, ready, start_at, path),
            name=f"soak-producer-{index}",
        )
        process.start()
        producers.append((process, ready, path))

    database_url, drop_database = config.database_url, lambda: None
    if not config.keep_database:
        database_url, drop_database = fresh_database(config.database_url, f"soak_{run_id}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAAL_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": config.kafka,
            "DATABASE_URL": database_url,
            "SIGNAAL_TOPIC_POSTS": topic,
            "SIGNAAL_TOPIC_DEADLETTER": f"{prefix}.deadletter",
            "SIGNAAL_TOPIC_ALERTS": f"{prefix}.alerts",
            "SIGNAAL_CONSUMER_GROUP": f"{prefix}.service",
            "SIGNAAL_TOPIC_PARTITIONS": str(config.partitions),
            "SIGNAAL_PORT": str(port),
            "SIGNAAL_API_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    service: Service | None = None
    client: LiveClient | None = None
    samplers: list[Sampler] = []
    lag_probe: LagProbe | None = None
    spy: subprocess.Popen[bytes] | None = None
    try:
        service = start_service(env, config.service_log)
        pid = service.process.pid
        client = LiveClient(service.url.replace("http", "ws", 1) + "/ws/live", total)
        client.start()
        if not client.connected.wait(30):
            raise RuntimeError("could not connect to /ws/live")
        lag_probe = LagProbe(config.kafka, topic, f"{prefix}.service")
        samplers = [
            Sampler("soak-lag", 1.0, lag_probe),
            Sampler("soak-process", config.sample_every, process_sample(pid, service.url)),
        ]
        for sampler in samplers:
            sampler.start()
        for process, ready, _ in producers:
            while not ready.wait(1.0):
                if not process.is_alive():
                    raise RuntimeError(f"{process.name} died while preparing (exit code {process.exitcode})")
        t0 = time.monotonic() + 1.0
        start_at.value = t0
        log(f"service pid {pid} on {service.url}; producing from t0")
        if config.py_spy_seconds > 0:
            spy = start_py_spy(pid, config, t0)
        next_report = t0 + 30
        while any(p.is_alive() for p, _, _ in producers):
            time.sleep(0.5)
            if time.monotonic() >= next_report:
                next_report += 30
                lag = samplers[0].rows[-1]["lag"] if samplers[0].rows else None
                seen = int(np.count_nonzero(~np.isnan(client.received)))
                log(
                    f"  t={time.monotonic() - t0:5.0f} s  sent {int(np.count_nonzero(~np.isnan(sent))):>9,}  "
                    f"seen on ws {seen:>9,}  lag {lag}"
                )
            if service.process.poll() is not None:
                raise RuntimeError(f"the service exited with {service.process.returncode} during the run")
        for process, _, _ in producers:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"{process.name} failed with exit code {process.exitcode}")
        produced_at = time.monotonic()
        drain_s: float | None = None
        expected = int(np.count_nonzero(~np.isnan(sent)))
        while time.monotonic() - produced_at < config.drain_timeout:
            rows = samplers[0].rows
            seen = int(np.count_nonzero(~np.isnan(client.received)))
            if rows and rows[-1]["t"] > produced_at and rows[-1]["lag"] == 0 and seen >= expected:
                drain_s = time.monotonic() - produced_at
                break
            time.sleep(0.25)
        # Detection trails storage (its own thread): wait until the detectors have seen every stored post, so
        # that on a loaded machine the last patterns' alerts are not cut off; then a moment for their push.
        detected_by = time.monotonic() + config.drain_timeout
        while time.monotonic() < detected_by and not _detectors_caught_up(service.url):
            time.sleep(0.25)
        time.sleep(1.0)
        load_after = uptime()
        pattern_sends: list[dict[str, Any]] = []
        pool_size = 0
        for _, _, path in producers:
            result = json.loads(Path(path).read_text())
            pattern_sends += result["patterns"]
            pool_size = result["pool"]
            Path(path).unlink(missing_ok=True)
        return SoakRun(
            config=config,
            run_id=run_id,
            t0=t0,
            schedule=schedule,
            sent=sent.copy(),
            received=client.received.copy(),
            patterns=patterns,
            pattern_sends=pattern_sends,
            alerts=list(client.alerts),
            lag=list(samplers[0].rows),
            process=list(samplers[1].rows),
            drain_s=drain_s,
            ws_stats={
                "posts": client.posts,
                "duplicates": client.duplicates,
                "other": client.other,
                "disconnects": [(t - t0, why) for t, why in client.disconnects],
                "pattern_posts_seen": len(client.pattern_received),
            },
            pattern_seen=set(client.pattern_received),
            load_before=load_before,
            load_after=load_after,
            pool_size=pool_size,
        )
    finally:
        for process, _, _ in producers:
            if process.is_alive():
                process.terminate()
                process.join(10)
        if spy is not None and spy.poll() is None:
            spy.wait(config.py_spy_seconds + 60)
        for sampler in samplers:
            sampler.stopping.set()
            sampler.join(5)
        if lag_probe is not None:
            lag_probe.close()
        if client is not None:
            client.stopping.set()
            client.join(5)
        if service is not None:
            stop_service(service)
        drop_database()
        shm.close()
        shm.unlink()


def start_py_spy(pid: int, config: SoakConfig, t0: float) -> subprocess.Popen[bytes] | None:
    """Sample the service's stacks for ``py_spy_seconds`` from the end of the warm-up (py-spy must be on PATH
    or in this interpreter's bin/)."""
    exe = Path(sys.executable).parent / "py-spy"
    command = str(exe) if exe.exists() else "py-spy"
    out = config.py_spy_out or Path(f"soak-py-spy-{pid}.txt")
    delay = max(0.0, t0 + config.warmup - time.monotonic())

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                command,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(config.py_spy_seconds)),
                "--rate",
                "50",
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
                "--threads",
                # Only stacks that hold the GIL: the service's threads share one interpreter, and a thread
                # waiting for the GIL would otherwise show as busy in whatever call it waits in.
                "--gil",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    time.sleep(delay)
    try:
        return launch()
    except OSError:
        return None


# --- analysis --------------------------------------------------------------------------------------------


def _stats(values: np.ndarray) -> dict[str, float | int | None]:
    """Percentiles over the posts that were handed to the producer; one never seen on the WebSocket counts
    as infinitely late, so a p99 or max of ``inf`` means "not seen by the end of the run" (censored)."""
    if values.size == 0:
        return {"n": 0, "unseen": 0, "p50": None, "p99": None, "max": None, "mean_seen": None}
    seen = values[~np.isnan(values)]
    censored = np.where(np.isnan(values), np.inf, values)
    return {
        "n": int(seen.size),
        "unseen": int(values.size - seen.size),
        "p50": float(np.percentile(censored, 50, method="higher")),
        "p99": float(np.percentile(censored, 99, method="higher")),
        "max": float(censored.max()),
        "mean_seen": float(seen.mean()) if seen.size else None,
    }


def _slope(rows: list[tuple[float, float]]) -> float | None:
    """Least-squares slope, per minute."""
    if len(rows) < 3:
        return None
    t = np.array([r[0] for r in rows]) / 60.0
    y = np.array([r[1] for r in rows])
    return float(np.polyfit(t, y, 1)[0])


def analyse(run: SoakRun) -> dict[str, Any]:
    config, schedule, t0 = run.config, run.schedule, run.t0
    sent_rel = run.sent - t0
    latency = run.received - run.sent
    phases = np.array(
        [schedule.phase(t, config.warmup, config.recovery) if t == t else "unsent" for t in sent_rel]
    )
    posts: dict[str, Any] = {}
    for phase in ("warm-up", "steady", "burst", "recovery"):
        mask = phases == phase
        posts[phase] = {
            **_stats(latency[mask]),
            "sent": int(mask.sum()),
            "seen": int(np.count_nonzero(~np.isnan(run.received[mask]))),
        }
    all_sent = ~np.isnan(run.sent)
    seen = int(np.count_nonzero(~np.isnan(run.received[all_sent])))

    # Achieved producer rate: hand-offs per second, in the steady part and in the burst.
    seconds = np.floor(sent_rel[all_sent]).astype(int)
    per_second = np.bincount(seconds, minlength=math.ceil(config.duration) + 1)
    burst_secs = range(math.ceil(schedule.b0), int(schedule.b1))
    steady_secs = [s for s in range(int(config.duration)) if schedule.phase(s, config.warmup, 0) == "steady"]
    stride = max(1, schedule.total // 2000)
    sampled = np.arange(0, min(schedule.total, run.sent.size), stride)
    slip = sent_rel[sampled] - np.array([schedule.time_of(int(n)) for n in sampled])
    producer = {
        "target_rate": config.rate,
        "steady_rate": float(per_second[steady_secs].mean()) if steady_secs else None,
        "target_burst_rate": config.rate * config.burst_factor,
        "burst_rate": float(per_second[list(burst_secs)].mean()) if len(burst_secs) else None,
        "sent": int(all_sent.sum()),
        "scheduled": schedule.total,
        "max_behind_schedule_s": float(np.nanmax(slip)) if slip.size and not np.isnan(slip).all() else None,
        "produce_seconds": float(np.nanmax(sent_rel)) if all_sent.any() else None,
    }
    # Per-second series by the second a post was handed over.
    recv_rel = run.received - t0
    received_per_second = np.bincount(np.floor(recv_rel[~np.isnan(recv_rel)]).astype(int))
    order = np.argsort(seconds, kind="stable")
    lat_sorted = latency[all_sent][order]
    sec_sorted = seconds[order]
    bounds = np.searchsorted(sec_sorted, np.arange(per_second.size + 1))
    latency_series = []
    for s in range(per_second.size):
        chunk = lat_sorted[bounds[s] : bounds[s + 1]]
        chunk = chunk[~np.isnan(chunk)]
        if chunk.size:
            latency_series.append(
                [s, float(np.percentile(chunk, 50)), float(np.percentile(chunk, 99)), float(chunk.max())]
            )

    # Alerts of the patterns: the first alert whose alerted_at is the created_at of one of its posts. The
    # detectors keep event time as float epoch seconds, which can move the microseconds by one: the nearest
    # pattern post within a millisecond is the one (pattern posts are 100 ms apart).
    sends = sorted(run.pattern_sends, key=lambda p: p["created_at_s"])
    created = np.array([p["created_at_s"] for p in sends])
    pattern_kind = {p.number: p.kind for p in run.patterns}

    def completing(when: object) -> dict[str, Any] | None:
        if not isinstance(when, str) or created.size == 0:
            return None
        t = datetime.fromisoformat(when).timestamp()
        i = int(np.clip(np.searchsorted(created, t), 1, created.size - 1)) if created.size > 1 else 0
        best = min((j for j in (i - 1, i) if 0 <= j < created.size), key=lambda j: abs(created[j] - t))
        return sends[best] if abs(created[best] - t) <= 0.001 else None

    first_alert: dict[int, dict[str, Any]] = {}
    pattern_alert_ids: set[str] = set()
    other_alerts: dict[str, int] = {}
    for alert in sorted(run.alerts, key=lambda a: a["received"]):
        send = completing(alert.get("alerted_at"))
        if send is not None and pattern_kind.get(send["pattern"]) == alert["kind"]:
            pattern_alert_ids.add(alert["id"])
            first_alert.setdefault(
                send["pattern"],
                {**alert, "completing_post": send["id"], "latency": alert["received"] - send["sent"]},
            )
        elif alert["id"] not in pattern_alert_ids:
            other_alerts[alert["kind"]] = other_alerts.get(alert["kind"], 0) + 1
    alert_rows = []
    for pattern in run.patterns:
        found = first_alert.get(pattern.number)
        seen_posts = sum(1 for post in pattern.posts if f"{PLATFORM}:{post.id}" in run.pattern_seen)
        status = "alert" if found else "no alert" if seen_posts == len(pattern.posts) else "not reached"
        alert_rows.append(
            {
                "pattern": pattern.number,
                "kind": pattern.kind,
                "label": pattern.label,
                "phase": schedule.phase(pattern.at, config.warmup, config.recovery),
                "at": pattern.at,
                "status": status,
                "posts_seen": f"{seen_posts}/{len(pattern.posts)}",
                "alert_id": found["id"] if found else None,
                "completing_post": found["completing_post"] if found else None,
                "latency": found["latency"] if found else None,
            }
        )

    # Lag.
    lag_rows = [(r["t"] - t0, r["lag"]) for r in run.lag]
    threshold = max(config.rate, 1.0)
    steady_lag = [
        lag
        for t, lag in lag_rows
        if schedule.phase(t, config.warmup, config.recovery) == "steady" and t <= config.duration
    ]
    burst_end = schedule.b1
    recovered_at = None
    zero_at = None
    if schedule.b1 > schedule.b0:
        for t, lag in lag_rows:
            if t >= burst_end and recovered_at is None and lag <= threshold:
                recovered_at = t - burst_end
            if t >= burst_end and zero_at is None and lag == 0:
                zero_at = t - burst_end
    peak = max((lag for t, lag in lag_rows if t <= config.duration + 60), default=None)
    lag_summary = {
        "steady_median": float(np.median(steady_lag)) if steady_lag else None,
        "steady_p99": float(np.percentile(steady_lag, 99)) if steady_lag else None,
        "steady_max": max(steady_lag) if steady_lag else None,
        "peak": peak,
        "near_zero_threshold": threshold,
        "recovery_after_burst_s": recovered_at,
        "first_zero_after_burst_s": zero_at,
        "drain_after_last_post_s": run.drain_s,
    }

    # Memory.
    mem_rows = [(r["t"] - t0, r["rss_mb"]) for r in run.process]
    in_run = [(t, m) for t, m in mem_rows if 0 <= t <= config.duration]
    has_burst = schedule.b1 > schedule.b0
    before_burst = [
        (t, m) for t, m in in_run if config.warmup <= t < (schedule.b0 if has_burst else math.inf)
    ]
    after_recovery = [(t, m) for t, m in in_run if has_burst and t >= schedule.b1 + config.recovery]
    steady_all = before_burst + after_recovery
    cpu_rows = [(r["t"] - t0, r["cpu_s"]) for r in run.process]
    cpu_in_run = [(t, c) for t, c in cpu_rows if 0 <= t <= config.duration]
    cpu_share = (
        (cpu_in_run[-1][1] - cpu_in_run[0][1]) / (cpu_in_run[-1][0] - cpu_in_run[0][0])
        if len(cpu_in_run) >= 2 and cpu_in_run[-1][0] > cpu_in_run[0][0]
        else None
    )
    memory = {
        "first_mb": in_run[0][1] if in_run else None,
        "last_mb": in_run[-1][1] if in_run else None,
        "max_mb": max(m for _, m in in_run) if in_run else None,
        "slope_before_burst_mb_per_min": _slope(before_burst),
        "slope_after_recovery_mb_per_min": _slope(after_recovery),
        "slope_steady_mb_per_min": _slope(steady_all),
        "service_cpu_cores": cpu_share,
        "load1_mean": float(np.mean([r["load1"] for r in run.process])) if run.process else None,
    }
    metrics_last = next((r["metrics"] for r in reversed(run.process) if r.get("metrics")), None)
    # What the service got through: posts stored per second, from its own counter.
    stored = [
        (r["t"] - t0, r["metrics"]["signaal_pipeline_stored_total"])
        for r in run.process
        if r.get("metrics") and "signaal_pipeline_stored_total" in r["metrics"]
    ]
    rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(stored) if b[0] > a[0]]
    in_window = [(t, n) for t, n in stored if 0 <= t <= config.duration]
    throughput = {
        "stored_per_s_mean_during_run": (in_window[-1][1] - in_window[0][1])
        / (in_window[-1][0] - in_window[0][0])
        if len(in_window) >= 2 and in_window[-1][0] > in_window[0][0]
        else None,
        "stored_per_s_max_window": max(rates) if rates else None,
    }
    return {
        "run_id": run.run_id,
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(config).items()
            if k != "database_url"
        },
        "load_before": run.load_before,
        "load_after": run.load_after,
        "machine": {"cpus": os.cpu_count()},
        "producer": producer,
        "post_to_ws": {**posts, "seen": seen, "sent": int(all_sent.sum()), "ws": run.ws_stats},
        "post_to_alert": {
            "patterns": alert_rows,
            "other_alert_messages": other_alerts,
            "alert_messages": len(run.alerts),
            "alerts": [{**a, "received": a["received"] - t0} for a in run.alerts],
            "pattern_sends": [{**p, "sent": p["sent"] - t0} for p in run.pattern_sends],
        },
        "lag": lag_summary,
        "memory": memory,
        "throughput": throughput,
        "metrics_last": metrics_last,
        "series": {
            "sent_per_second": per_second.tolist(),
            "received_per_second": received_per_second.tolist(),
            "latency_per_second": {"columns": ["second", "p50", "p99", "max"], "rows": latency_series},
            "lag": [[round(t, 3), lag] for t, lag in lag_rows],
            "process": [
                {"t": round(r["t"] - t0, 3), **{k: v for k, v in r.items() if k != "t"}} for r in run.process
            ],
        },
        "pool_size": run.pool_size,
    }


# --- report ----------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "unseen"
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def _json_safe(value: Any) -> Any:
    """``inf`` (a post never seen) as the string "inf", so the file is standard JSON."""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _ok(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def table(result: dict[str, Any]) -> str:
    p, w, lag, mem = result["producer"], result["post_to_ws"], result["lag"], result["memory"]
    cfg = result["config"]
    rows: list[tuple[str, str, str, str]] = []
    rows.append(
        (
            "producer rate, steady",
            f"{p['steady_rate'] or 0:,.0f} posts/s",
            f"{p['target_rate']:,.0f} posts/s",
            _ok(p["steady_rate"] is not None and p["steady_rate"] >= 0.98 * p["target_rate"]),
        )
    )
    if p["burst_rate"] is not None:
        rows.append(
            (
                "producer rate, burst",
                f"{p['burst_rate']:,.0f} posts/s",
                f"{p['target_burst_rate']:,.0f} posts/s",
                _ok(p["burst_rate"] >= 0.98 * p["target_burst_rate"]),
            )
        )
    rows.append(
        ("posts seen on /ws/live", f"{w['seen']:,} / {w['sent']:,}", "all", _ok(w["seen"] == w["sent"]))
    )
    for phase in ("warm-up", "steady", "burst", "recovery"):
        s = w[phase]
        if not s["n"] and not s["sent"]:
            continue
        target = f"p99 < {TARGET_P99_S:g} s" if phase == "steady" else ""
        ok = (s["p99"] is not None and s["p99"] < TARGET_P99_S) if phase == "steady" else None
        rows.append(
            (
                f"post->ws {phase} p50 / p99 / max",
                f"{_ms(s['p50'])} / {_ms(s['p99'])} / {_ms(s['max'])}  ({s['n']:,} of {s['sent']:,} seen)",
                target,
                _ok(ok),
            )
        )
    for row in result["post_to_alert"]["patterns"]:
        rows.append(
            (
                f"post->alert #{row['pattern']} {row['kind']} ({row['phase']})",
                _ms(row["latency"])
                if row["latency"] is not None
                else f"{row['status'].upper()} ({row['posts_seen']} posts processed)",
                "fires",
                _ok(row["latency"] is not None),
            )
        )
    rows.append(
        (
            "consumer lag, steady median / max",
            f"{lag['steady_median'] or 0:,.0f} / {lag['steady_max'] or 0:,}",
            "",
            "",
        )
    )
    rows.append(("consumer lag, peak", f"{lag['peak'] or 0:,}", "", ""))
    if cfg["burst_factor"] > 0 and cfg["burst_seconds"] > 0:
        rec = lag["recovery_after_burst_s"]
        rows.append(
            (
                f"lag back to <= {lag['near_zero_threshold']:,.0f} after burst",
                "never" if rec is None else f"{rec:.0f} s",
                f"<= {TARGET_RECOVERY_S:.0f} s",
                _ok(rec is not None and rec <= TARGET_RECOVERY_S),
            )
        )
        z = lag["first_zero_after_burst_s"]
        rows.append(("lag exactly 0 after burst", "never" if z is None else f"{z:.0f} s", "", ""))
    rows.append(
        (
            "drain after last post (lag 0, all seen)",
            "timeout"
            if lag["drain_after_last_post_s"] is None
            else f"{lag['drain_after_last_post_s']:.1f} s",
            "",
            "",
        )
    )
    slope_after, slope_before = mem["slope_after_recovery_mb_per_min"], mem["slope_before_burst_mb_per_min"]
    flat = None
    if slope_after is not None or slope_before is not None:
        flat = all(s is None or s < TARGET_SLOPE_MB_PER_MIN for s in (slope_before, slope_after))
    rows.append(
        (
            "service RSS first / last / max",
            f"{mem['first_mb'] or 0:.0f} / {mem['last_mb'] or 0:.0f} / {mem['max_mb'] or 0:.0f} MB",
            "",
            "",
        )
    )

    def slope(v: float | None) -> str:
        return "-" if v is None else f"{v:+.2f} MB/min"

    rows.append(
        (
            "RSS slope before burst / after recovery",
            f"{slope(slope_before)} / {slope(slope_after)}",
            f"flat (< {TARGET_SLOPE_MB_PER_MIN:g} MB/min)",
            _ok(flat),
        )
    )
    thr = result["throughput"]
    if thr["stored_per_s_mean_during_run"] is not None:
        rows.append(
            (
                "service stored posts/s, mean / best window",
                f"{thr['stored_per_s_mean_during_run']:,.0f} / {thr['stored_per_s_max_window'] or 0:,.0f}",
                f">= {cfg['rate']:,.0f}",
                _ok(thr["stored_per_s_mean_during_run"] >= 0.98 * cfg["rate"]),
            )
        )
    if mem["service_cpu_cores"] is not None:
        rows.append(("service CPU (cores, mean over run)", f"{mem['service_cpu_cores']:.2f}", "", ""))
    widths = [max(len(r[i]) for r in [*rows, ("measure", "figure", "target", "")]) for i in range(4)]
    lines = [f"{'measure':<{widths[0]}}  {'figure':<{widths[1]}}  {'target':<{widths[2]}}  verdict"]
    lines.append("-" * (sum(widths) + 6 + 7))
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows]
    header = (
        f"soak {result['run_id']}: {cfg['minutes']:g} min at {cfg['rate']:g} posts/s, "
        f"burst x{cfg['burst_factor']:g} "
        f"for {cfg['burst_seconds']:g} s; {result['machine']['cpus']} CPUs\n"
        f"before: {result['load_before']}\nafter:  {result['load_after']}\n"
    )
    return header + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kafka", default=os.environ.get("SIGNAAL_TEST_KAFKA"), help="bootstrap servers")
    parser.add_argument("--database-url", default=os.environ.get("SIGNAAL_TEST_DATABASE_URL"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="steady posts per second")
    parser.add_argument("--burst-factor", type=float, default=10.0)
    parser.add_argument("--burst-seconds", type=float, default=20.0)
    parser.add_argument(
        "--warmup", type=float, default=None, help="seconds (default: 30, or 10%% of a short run)"
    )
    parser.add_argument(
        "--recovery", type=float, default=60.0, help="seconds after the burst called recovery"
    )
    parser.add_argument("--pattern-every", type=float, default=None, help="seconds between alert patterns")
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--sample-every", type=float, default=10.0, help="RSS, CPU and /metrics every N s")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--keep-database", action="store_true", help="use the database in the URL as it is")
    parser.add_argument("--service-log", type=Path, default=None)
    parser.add_argument(
        "--py-spy",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="record the service with py-spy for this long after the warm-up",
    )
    parser.add_argument("--py-spy-out", type=Path, default=None)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON file with the summary and the time series"
    )
    args = parser.parse_args(argv)
    if not args.kafka or not args.database_url:
        parser.error(
            "--kafka and --database-url (or SIGNAAL_TEST_KAFKA / SIGNAAL_TEST_DATABASE_URL) are needed"
        )
    duration = args.minutes * 60
    config = SoakConfig(
        kafka=args.kafka,
        database_url=args.database_url,
        minutes=args.minutes,
        rate=args.rate,
        burst_factor=args.burst_factor,
        burst_seconds=args.burst_seconds,
        warmup=args.warmup if args.warmup is not None else min(30.0, duration / 10),
        recovery=min(args.recovery, duration / 4) if duration < 4 * args.recovery else args.recovery,
        pattern_every=args.pattern_every
        if args.pattern_every is not None
        else min(60.0, max(10.0, duration / 6)),
        producers=args.producers,
        sample_every=args.sample_every,
        drain_timeout=args.drain_timeout,
        keep_database=args.keep_database,
        service_log=args.service_log,
        py_spy_seconds=args.py_spy,
        py_spy_out=args.py_spy_out,
    )
    run = run_soak(config)
    result = analyse(run)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(_json_safe(result), indent=1, default=str, allow_nan=False))
        print(f"time series: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
