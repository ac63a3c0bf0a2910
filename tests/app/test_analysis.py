"""The draft omgevingsanalyse: what it counts as escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.room.analysis import snapshot
from tests.factories import T0, make_post


def test_escalation_terms_match_whole_words_and_short_ones_only_in_capitals() -> None:
    # The playbooks list "me" for the riot police (ME); read in any case, "ik schaam me" was escalation.
    texts = [
        "Ik schaam me",
        "Let me know",
        "De ME charget bij het station",
        "RELLEN bij de Kruisweg",
        "rellend",
    ]
    posts = [make_post(text=text, created_at=T0 + timedelta(minutes=n)) for n, text in enumerate(texts)]
    body = snapshot(posts, [], [], window=(T0, T0 + timedelta(hours=1)), escalation_terms=("rellen", "me"))
    findings = [finding for goal in body.goals.values() for finding in goal]
    [escalation] = [finding for finding in findings if "escalation" in finding.text]
    assert escalation.text.startswith("2 posts mention escalation")


def test_the_summary_gives_amsterdam_clock_times_as_the_rest_of_the_page() -> None:
    start = datetime(2024, 9, 22, 19, 56, tzinfo=UTC)  # 21:56 in Amsterdam (summer time)
    posts = [make_post(text="Wat is er aan de hand?", created_at=start + timedelta(minutes=5))]
    body = snapshot(posts, [], [], window=(start, start + timedelta(hours=2)), escalation_terms=())
    assert body.summary.startswith("1 post between 22 Sep 21:56 and 23:56,")
    assert "UTC" not in body.summary
