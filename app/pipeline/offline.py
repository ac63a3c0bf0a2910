"""Offline detection (`signaal detect`): the service's enrich and detect stages over export files, in event
time and as fast as one core allows, for post-incident analysis and evaluation.

Nothing is stored; the alerts (latest revision of each) and, if asked, every post with its labels are written
as JSON Lines. A post's labels are taken a while after it was seen (``LABEL_DELAY`` posts later), so a claim
that became a rumour case shortly afterwards labels its early posts too, as an analyst would in hindsight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from app.pipeline.alerts import Alert
from app.pipeline.detection import Detection
from app.pipeline.enrich import Enricher
from app.pipeline.rumours import RumourDetector
from streams.deadletter import DeadLetter
from streams.formats import CsvMapping, Pseudonymiser, iter_posts
from streams.post import Post

BATCH = 1000
LABEL_DELAY = 5_000


@dataclass
class DetectReport:
    posts: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)


def _post_line(post: Post, detector: RumourDetector | None) -> bytes:
    label = detector.labels(post.key) if detector else None
    line = {
        "key": post.key,
        "platform": post.platform,
        "id": post.id,
        "created_at": post.created_at,
        "area": post.area,
        "places": post.places,
        "lang": post.lang,
        "rumour": label.rumour if label else False,
        "rumour_score": label.rumour_score if label else None,
        "claim_id": label.claim_id if label else None,
        "stance": label.stance if label else None,
        "text": post.text,
    }
    return orjson.dumps(line) + b"\n"


def detect_posts(
    posts: Iterable[Post], detection: Detection, enrich: Enricher, posts_out: IO[bytes] | None = None
) -> DetectReport:
    """Run the stages over posts already in event-time order."""
    report = DetectReport()
    rumours = detection.detector(RumourDetector)
    labelled = isinstance(rumours, RumourDetector) and rumours.settings.label_memory >= BATCH
    if posts_out is not None and not labelled:
        raise ValueError("posts_out needs post labels: Detection.standard(..., post_labels=True)")
    # Labels must be asked before the rumour detector forgets them.
    delay = (
        min(LABEL_DELAY, rumours.settings.label_memory - BATCH) if isinstance(rumours, RumourDetector) else 0
    )
    seen: set[str] = set()
    pending: deque[Post] = deque()
    batch: list[Post] = []

    def flush() -> None:
        enriched = enrich.enrich_all(batch)
        for alert in detection.observe(enriched):
            report.alerts[alert.id] = alert
        pending.extend(enriched)
        batch.clear()
        while posts_out is not None and len(pending) > delay:
            posts_out.write(_post_line(pending.popleft(), rumours))

    for post in posts:
        if post.key in seen:
            report.duplicates += 1
            continue
        seen.add(post.key)
        batch.append(post)
        report.posts += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    while posts_out is not None and pending:
        posts_out.write(_post_line(pending.popleft(), rumours))
    return report


def detect_files(
    paths: Iterable[Path],
    fmt: str,
    pseudonymiser: Pseudonymiser,
    detection: Detection,
    alerts_out: Path,
    posts_out: Path | None = None,
    csv_mapping: CsvMapping | None = None,
) -> DetectReport:
    posts: list[Post] = []
    rejected = 0
    for item in iter_posts(list(paths), fmt, pseudonymiser, csv_mapping):
        if isinstance(item, DeadLetter):
            rejected += 1
        else:
            posts.append(item)
    posts.sort(key=lambda post: post.created_at)
    with open(posts_out, "wb") if posts_out else nullcontext() as labels:
        report = detect_posts(posts, detection, Enricher(), labels)
    report.rejected = rejected
    ordered = sorted(report.alerts.values(), key=lambda a: (a.detected_at or a.first_seen, a.id))
    with open(alerts_out, "wb") as out:
        for alert in ordered:
            out.write(alert.model_dump_json().encode() + b"\n")
    return report
