"""Warm start: after a restart the detectors see the recently stored posts again before the stream resumes.

Detector state lives in memory. Without this, a restarted service would start its spike baselines cold and
meet the next post of a growing rumour as a new claim: a second case for the same rumour. The detectors
work in event time only, so replaying the stored posts in the order and batches they were stored in brings
them back to the state they had. The alerts this replay produces were stored the first time — except those
of a batch whose posts were stored just before the process died, before its alerts were: saving them again
is harmless (storage keeps each revision once) and fills that gap.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from app.db.repository import Store
from app.pipeline.detection import Detection

log = logging.getLogger(__name__)


def warm_up(store: Store, detection: Detection, horizon: timedelta, max_posts: int) -> int:
    """Feed the posts of the last ``horizon`` (event time, back from the newest) to the detectors; returns
    how many. Bounded by ``max_posts`` (the newest ones), which bounds the start-up time."""
    newest = store.latest_post_time()
    if newest is None:
        return 0
    started = time.monotonic()
    seen = 0
    for batch in store.stored_batches(newest - horizon, max_posts):
        store.save_alerts(detection.observe(batch))
        seen += len(batch)
    if seen:
        log.info("warm start: detectors replayed %d stored posts in %.1f s", seen, time.monotonic() - started)
    return seen
