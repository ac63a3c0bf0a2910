"""The incident page's figures, checked as data: no browser, no Dash server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.io as pio
import pytest

from dashboard.display import naive_local
from dashboard.figures.incident import (
    BAR,
    MEASURING,
    effect_figure,
    effect_rows,
    effect_summary,
    incident_volume_figure,
    pick_bucket,
)

T0 = datetime(2024, 9, 15, 17, 0, tzinfo=UTC)
XSS = '<img src=x onerror="window.__xss=1">'
OUR_TAGS = re.compile(r"<(?!/?b>|br>)")


def alert(kind: str, minutes: int, title: str = "titel", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{kind}:{minutes}",
        "kind": kind,
        "severity": "high",
        "title": title,
        "first_seen": (T0 + timedelta(minutes=minutes)).isoformat(),
        "post_count": 12,
        **extra,
    }


def effect(**changes: Any) -> dict[str, Any]:
    base = {
        "window_minutes": 60,
        "action_at": T0.isoformat(),
        "posts_before": 120,
        "posts_after": 80,
        "rumour_posts_before": 30,
        "rumour_posts_after": 12,
        "question_share_before": 0.25,
        "question_share_after": 0.125,
        "complete": True,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("span", "bucket"),
    [(timedelta(hours=2), 1), (timedelta(hours=6), 2), (timedelta(hours=20), 10), (timedelta(days=3), 30),
     (timedelta(days=7), 60), (timedelta(days=400), 1440)],
)  # fmt: skip
def test_the_bucket_keeps_the_chart_readable(span: timedelta, bucket: int) -> None:
    assert pick_bucket(span) == bucket
    assert span / timedelta(minutes=bucket) <= 200 or bucket == 1440


def test_volume_with_alerts_marked_by_kind_and_actions_as_lines() -> None:
    points = [{"start": (T0 + timedelta(minutes=10 * i)).isoformat(), "count": i} for i in range(12)]
    alerts = [alert("mobilisation", 5), alert("rumour", 30), alert("rumour", 40), alert("spike", 60)]
    actions = [{"effective_at": (T0 + timedelta(minutes=50)).isoformat(), "body": {"channel": "nl-alert"}}]
    fig = incident_volume_figure(points, alerts, actions, bucket_minutes=10, area="Haren")

    bars, *markers = fig.data
    assert bars.type == "bar" and list(bars.y) == list(range(12))
    assert bars.x[0] == naive_local(T0)  # local clock time on the axis
    names = [m.name for m in markers]
    assert names == ["call to gather (1)", "volume spike (1)", "rumour (2)"]
    assert all(m.y[0] > 11 for m in markers)  # above the tallest bar
    [line] = fig.layout.shapes
    assert line.x0 == naive_local(T0 + timedelta(minutes=50)) and line.line.dash == "dot"
    assert "NL-Alert" in fig.layout.annotations[0].text
    assert "posts/10 min" in fig.layout.yaxis.title.text
    assert "Haren" in bars.hovertemplate


def test_volume_escapes_alert_titles_and_area_and_says_when_it_is_empty() -> None:
    fig = incident_volume_figure([], [alert("rumour", 0, title=XSS)], [], area="<b>Haren</b>")
    text = pio.to_json(fig)
    assert "<img" not in text
    hover = fig.data[1].hovertext[0]
    assert "&lt;img" in hover and not OUR_TAGS.search(hover)
    assert "<b>Haren" not in fig.data[0].hovertemplate
    assert any("No posts" in a.text for a in fig.layout.annotations)


def test_volume_skips_what_it_cannot_place() -> None:
    points = [
        {"start": "garbage", "count": 3},
        {"start": T0.isoformat(), "count": True},
        {"start": T0.isoformat(), "count": 4},
    ]
    broken = [alert("rumour", 0, first_seen=None), alert("unknown-kind", 3)]
    fig = incident_volume_figure(points, broken, [{"effective_at": None, "body": {}}])
    assert list(fig.data[0].y) == [4]
    assert len(fig.data) == 1 and not fig.layout.shapes


def test_effect_bars_before_and_after() -> None:
    fig = effect_figure(effect())
    assert [t.type for t in fig.data] == ["bar"] * 3
    posts, rumours, questions = fig.data
    assert list(posts.y) == [120, 80] and list(rumours.y) == [30, 12] and list(questions.y) == [25.0, 12.5]
    assert list(posts.marker.color)[1] == BAR
    assert [a.text for a in fig.layout.annotations] == ["posts", "rumour posts", "questions %"]
    json.loads(pio.to_json(fig))  # serialisable as Dash sends it


def test_a_running_hour_is_drawn_pale_and_labelled_so_far() -> None:
    fig = effect_figure(effect(complete=False, posts_after=10))
    assert list(fig.data[0].marker.color)[1] == MEASURING
    assert list(fig.data[0].x) == ["before", "so far"]
    assert list(effect_figure(effect()).data[0].x) == ["before", "after"]


def test_no_posts_means_no_question_share_not_zero() -> None:
    empty = effect(posts_after=0, question_share_after=None)
    assert effect_rows(empty)[2] == ("questions %", 25.0, None)
    assert list(effect_figure(empty).data[2].text) == ["25", "–"]
    assert effect_summary(empty) == ["posts: 120 → 0", "rumour posts: 30 → 12", "questions %: 25 → –"]
