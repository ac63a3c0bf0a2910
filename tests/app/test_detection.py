"""The three detectors together over a generated Project X incident, as the service and `signaal detect`
run them: each kind of alert appears in time, falls under the right playbook and is updated, not repeated."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from functools import partial

import pytest

from app.pipeline.alerts import AlertKind, Severity
from app.pipeline.detection import Detection
from app.pipeline.enrich import Enricher
from app.pipeline.offline import DetectReport, detect_posts
from app.pipeline.rumours import RumourDetector
from app.playbooks import PlaybookSet
from streams.formats import parse_record
from streams.post import pseudonymise
from streams.scenarios import projectx


@pytest.fixture(scope="module")
def incident() -> tuple[projectx.Scenario, DetectReport, list[dict]]:
    scenario = projectx.generate(town="Haren", seed=2, days_before=4)
    to_post = partial(parse_record, fmt="jsonl", pseudonymise=partial(pseudonymise, key=b"test"))
    posts = sorted((to_post(record) for record in scenario.records), key=lambda p: p.created_at)
    labels = io.BytesIO()
    detection = Detection.standard(PlaybookSet.load(), post_labels=True)
    report = detect_posts(posts + posts[:50], detection, Enricher(), labels)
    return scenario, report, [json.loads(line) for line in labels.getvalue().splitlines()]


def _first(report: DetectReport, kind: AlertKind) -> datetime:
    times = [a.detected_at for a in report.alerts.values() if a.kind == kind and a.detected_at]
    assert times, f"no {kind} alert"
    return min(times)


def test_mobilisation_is_flagged_before_the_gathering_under_the_projectx_playbook(incident) -> None:
    scenario, report, _ = incident
    assert _first(report, AlertKind.MOBILISATION) < scenario.truth.gathering.at
    calls = [a for a in report.alerts.values() if a.kind == AlertKind.MOBILISATION]
    assert {a.playbook for a in calls} <= {"projectx", "public_order"}
    assert any(a.revision > 1 for a in calls), "a growing call is updated, not re-fired"


def test_each_true_rumour_becomes_a_case_once_it_has_spread(incident) -> None:
    scenario, report, _ = incident
    cases = [a for a in report.alerts.values() if a.kind == AlertKind.RUMOUR]
    assert all(a.playbook == "rumour" for a in cases)
    for rumour in scenario.truth.rumours:
        members = {f"scenario:{post_id}" for post_id in rumour.member_ids}
        flagged = [a for a in cases if members & set(a.member_ids)]
        assert flagged, f"rumour {rumour.key!r} was not flagged"
        assert min(a.detected_at for a in flagged) >= rumour.first_post_at


def test_the_riot_makes_a_volume_spike(incident) -> None:
    scenario, report, _ = incident
    riot = scenario.truth.escalation_start
    night = [
        a
        for a in report.alerts.values()
        if a.kind == AlertKind.SPIKE
        and a.details["key"] in ("area:Haren", "all")
        and a.severity in (Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
        and a.detected_at is not None
        and riot <= a.detected_at <= riot + timedelta(hours=2)
    ]
    # The town's own volume (or the whole stream's) rises with the riot; the earlier spikes of the invitation
    # days must not be all there is.
    assert night, sorted(
        (a.details["key"], a.detected_at) for a in report.alerts.values() if a.kind == AlertKind.SPIKE
    )
    assert min(a.first_seen for a in night) <= riot + timedelta(hours=1)


def test_every_post_is_labelled_once_and_duplicates_are_not_counted(incident) -> None:
    scenario, report, labels = incident
    assert report.posts == len(scenario.records)
    assert report.duplicates == 50
    assert len(labels) == report.posts
    assert len({line["key"] for line in labels}) == report.posts
    assert {"rumour", "rumour_score", "claim_id", "area"} <= labels[0].keys()
    assert any(line["rumour"] for line in labels)


def test_post_labels_are_kept_only_when_asked_for(incident) -> None:
    # The service never reads post labels; keeping them cost every post time and kept claims in memory.
    scenario, _, _ = incident
    to_post = partial(parse_record, fmt="jsonl", pseudonymise=partial(pseudonymise, key=b"test"))
    posts = Enricher().enrich_all([to_post(record) for record in scenario.records[:300]])
    service, offline = Detection.standard(PlaybookSet.load()), Detection.standard(PlaybookSet.load(), True)
    service.observe(posts)
    offline.observe(posts)
    assert all(service.detector(RumourDetector).labels(p.key) is None for p in posts)  # type: ignore[union-attr]
    assert all(offline.detector(RumourDetector).labels(p.key) is not None for p in posts)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="post labels"):
        detect_posts(posts, Detection.standard(PlaybookSet.load()), Enricher(), io.BytesIO())
