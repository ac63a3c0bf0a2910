"""The detection stage: every detector sees each new post once; their alerts get a playbook and a first
detection time. Shared by the service's pipeline and the offline `signaal detect`."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from app.pipeline.alerts import Alert, AlertKind, Detector
from app.playbooks import PlaybookSet
from streams.post import Post

# How many alerts' first detection times we remember; older alerts keep the time they were stored with.
REMEMBERED_ALERTS = 100_000


def _created_at(post: Post) -> datetime:
    return post.created_at


class Detection:
    def __init__(self, detectors: Sequence[Detector], playbooks: PlaybookSet) -> None:
        self.detectors = tuple(detectors)
        self.playbooks = playbooks
        self._detected_at: OrderedDict[str, datetime] = OrderedDict()
        # Seconds spent in each detector since start (for /metrics); written by one thread, read by scrapes.
        self.seconds: dict[str, float] = {type(d).__name__: 0.0 for d in self.detectors}

    @classmethod
    def standard(cls, playbooks: PlaybookSet, post_labels: bool = False) -> Detection:
        """Spikes, mobilisation calls and rumours, with the playbooks' lexicons and settings.

        With ``post_labels`` the rumour detector keeps the labels of its recent posts for
        :meth:`RumourDetector.labels` (``signaal detect --posts-out``); the service never asks for them, and
        keeping them costs every post time and keeps their claims in memory.
        """
        from app.pipeline.mobilisation import MobilisationDetector, MobilisationSettings
        from app.pipeline.rumour_model import RumourModel
        from app.pipeline.rumours import RumourDetector, RumourSettings
        from app.pipeline.spikes import SpikeDetector, SpikeSettings

        rumour_settings = RumourSettings(**playbooks.settings_for(AlertKind.RUMOUR))
        if not post_labels:
            rumour_settings = rumour_settings.model_copy(update={"label_memory": 0})
        calls = MobilisationDetector(
            MobilisationSettings(**playbooks.settings_for(AlertKind.MOBILISATION)), playbooks
        )
        return cls(
            [
                SpikeDetector(SpikeSettings(**playbooks.settings_for(AlertKind.SPIKE)), playbooks),
                # Before the rumour detector, which asks it whether a claim's first post passes a call
                # on: a batch's posts are in their calls by the time the rumour detector sees the batch.
                calls,
                RumourDetector(
                    rumour_settings, playbooks, RumourModel.load(), passes_on_a_call=calls.passes_on
                ),
            ],
            playbooks,
        )

    def detector(self, kind: type) -> Detector | None:
        return next((d for d in self.detectors if isinstance(d, kind)), None)

    def observe(self, posts: list[Post]) -> list[Alert]:
        if not posts:
            return []
        # A Kafka poll hands over records grouped by partition, so a reply can come before the post it
        # answers; the detectors work in event time, so they get each batch in event-time order.
        posts = sorted(posts, key=_created_at)
        batch_time = max(post.created_at for post in posts)
        alerts: list[Alert] = []
        for detector in self.detectors:
            started = time.perf_counter()
            alerts.extend(self._finish(alert, batch_time) for alert in detector.observe(posts))
            self.seconds[type(detector).__name__] += time.perf_counter() - started
        return alerts

    def _finish(self, alert: Alert, batch_time: datetime) -> Alert:
        detected_at = self._detected_at.setdefault(alert.id, alert.detected_at or batch_time)
        self._detected_at.move_to_end(alert.id)
        while len(self._detected_at) > REMEMBERED_ALERTS:
            self._detected_at.popitem(last=False)
        playbook = self.playbooks.match(alert)
        return alert.model_copy(
            update={"detected_at": detected_at, "playbook": playbook.id if playbook else alert.playbook}
        )
