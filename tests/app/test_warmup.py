"""A restarted service's detectors pick up where they were: replaying the stored posts brings back the
state an uninterrupted service has, so the alerts after the restart are the same alerts, not new ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from app.db.repository import Store
from app.db.session import make_engine, make_sessionmaker, upgrade
from app.pipeline.detection import Detection
from app.pipeline.enrich import Enricher
from app.pipeline.warmup import warm_up
from app.playbooks import PlaybookSet
from streams.formats import parse_record
from streams.post import Post, pseudonymise
from streams.scenarios import projectx

BATCH = 250


def _posts() -> list[Post]:
    scenario = projectx.generate(town="Haren", seed=4, days_before=1)
    enrich = Enricher(7)
    records = sorted(scenario.records, key=lambda r: r["created_at"])
    return [enrich(parse_record(r, "jsonl", lambda p, h: pseudonymise(p, h, b"k"))) for r in records]


def _store(path: Path) -> Store:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return Store(make_sessionmaker(engine))


def _run(detection: Detection, store: Store, posts: list[Post]) -> dict[str, tuple[int, int]]:
    """Store and detect batch by batch, as the pipeline does; the latest (revision, post count) per alert."""
    latest: dict[str, tuple[int, int]] = {}
    for start in range(0, len(posts), BATCH):
        new = store.add_posts(posts[start : start + BATCH])  # only first-seen posts reach the detectors
        for alert in detection.observe(new):
            latest[alert.id] = (alert.revision, alert.post_count)
    return latest


def test_after_a_restart_the_detectors_continue_the_same_alerts(tmp_path: Path) -> None:
    playbooks = PlaybookSet.load()
    posts = _posts()
    # Well into the riot evening (rumours and the spike are running), on a batch boundary: the detectors'
    # alerts depend on how posts are batched, and this compares state, not batching.
    cut = len(posts) * 2 // 3 // BATCH * BATCH

    uninterrupted = _run(Detection.standard(playbooks), _store(tmp_path / "reference.db"), posts)

    store = _store(tmp_path / "restarted.db")
    before = _run(Detection.standard(playbooks), store, posts[:cut])
    restarted = Detection.standard(playbooks)  # the process died: a fresh detector...
    replayed = warm_up(store, restarted, timedelta(days=30), max_posts=1_000_000)  # ...warmed from storage
    after = _run(restarted, store, posts[cut:])

    assert replayed == len({p.key for p in posts[:cut]})
    assert before and after
    combined = {**before, **after}
    assert combined == uninterrupted  # same alert ids, same revisions, same counts


def test_a_cold_restart_would_split_alerts(tmp_path: Path) -> None:
    """Why warm start exists: the same run without it makes alerts an uninterrupted service never makes."""
    playbooks = PlaybookSet.load()
    posts = _posts()
    cut = len(posts) * 2 // 3 // BATCH * BATCH
    uninterrupted = _run(Detection.standard(playbooks), _store(tmp_path / "reference.db"), posts)
    store = _store(tmp_path / "cold.db")
    before = _run(Detection.standard(playbooks), store, posts[:cut])
    after = _run(Detection.standard(playbooks), store, posts[cut:])
    assert {**before, **after} != uninterrupted
