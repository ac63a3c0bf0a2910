"""The spike detector on generated streams: a week of chatter with a daily rhythm, then bursts."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.pipeline.alerts import MAX_MEMBERS, Alert, AlertKind
from app.pipeline.spikes import SpikeDetector, SpikeSettings
from app.playbooks import Playbook, PlaybookError, PlaybookSet
from streams.post import Post

LOCAL = ZoneInfo("Europe/Amsterdam")
START = datetime(2024, 4, 13, tzinfo=LOCAL)  # a Saturday; Koningsdag (27 April) is two weeks later
PER_DAY = 1440  # one post a minute on average
# Posting activity per local hour: quiet nights, a flat day and a sharp evening peak at 20-21 h, six times
# the daily mean, much sharper than the detector's generic prior expects.
PROFILE = (0.2,) * 7 + (1.0,) * 13 + (8.0, 8.0) + (1.0,) * 2
CHATTER = (
    "Lekker weer vandaag",
    "File op de A28 richting Groningen, weer eens",
    "Nieuwe bakker in het dorp is echt top",
    "Wie weet een goede kapper?",
    "Trein weer vertraagd",
    "Mooie wedstrijd gisteren",
)
BURST = (
    "Wat is er aan de hand op de Rijksstraatweg? #projectxharen",
    "Enorm veel mensen in Haren ineens #projectxharen",
    "Politie bij het station, iedereen komt hierheen #projectxharen",
    "Dit wordt echt Project X #projectxharen",
)
_ids = iter(range(10**9))


def post(at: datetime, text: str, area: str | None = "Haren", places: tuple[str, ...] = ()) -> Post:
    number = next(_ids)
    return Post(
        platform="test",
        id=f"s{number}",
        author=f"p_author{number % 97}",
        created_at=at,
        text=text,
        area=area,
        places=places,
    )


@cache
def chatter(start: datetime, days: float, seed: int = 1) -> tuple[Post, ...]:
    """Posts of an inhomogeneous Poisson process following PROFILE in local time, in time order."""
    rng = random.Random(seed)
    mean = sum(PROFILE) / 24
    posts = []
    hour = start
    while hour < start + timedelta(days=days):
        rate = PER_DAY / 24 * PROFILE[hour.astimezone(LOCAL).hour] / mean  # per hour
        t = 0.0
        while True:
            t += rng.expovariate(rate)
            if t >= 1.0:
                break
            posts.append(post(hour + timedelta(hours=t), rng.choice(CHATTER)))
        hour += timedelta(hours=1)
    return tuple(posts)


def burst(at: datetime, count: int, minutes: float = 10.0, seed: int = 2, **fields: Any) -> list[Post]:
    rng = random.Random(seed)
    times = sorted(at + timedelta(minutes=rng.uniform(0, minutes)) for _ in range(count))
    return [
        post(t, BURST[i % len(BURST)], places=("Haren",) if i % 3 else ("Glimmen",), **fields)
        for i, t in enumerate(times)
    ]


def merged(*streams: Iterable[Post]) -> list[Post]:
    return sorted((p for stream in streams for p in stream), key=lambda p: p.created_at)


def run(detector: SpikeDetector, posts: Iterable[Post], batch_seconds: float = 10.0) -> list[Alert]:
    """Every revision the detector emits, feeding posts in event-time slices as a live consumer would."""
    alerts: list[Alert] = []
    batch: list[Post] = []
    current = None
    for p in posts:
        slot = math.floor(p.created_at.timestamp() / batch_seconds)
        if batch and slot != current:
            alerts += detector.observe(batch)
            batch = []
        current = slot
        batch.append(p)
    if batch:
        alerts += detector.observe(batch)
    return alerts


def playbooks(**fields: Any) -> PlaybookSet:
    """A playbook set with one minimal playbook carrying ``fields`` (lexicons, calendar, settings)."""
    text = {"nl": "x", "en": "x"}
    playbook = Playbook.model_validate(
        {
            "id": "test",
            "title": text,
            "description": text,
            "triggers": [{"detector": "spike"}],
            "advice": [text],
            "templates": [{"id": "t", "channel": "social", **text}],
            **fields,
        }
    )
    return PlaybookSet([playbook])


def keyed(alerts: Iterable[Alert], key: str) -> list[Alert]:
    """Alerts on one key, leaving out those of a cold start (see test_stays_quiet_on_ordinary_chatter...)."""
    return [a for a in alerts if a.details["key"] == key and a.details["rhythm_known"]]


def test_fires_on_a_burst_in_an_area_after_days_of_chatter() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    alerts = run(SpikeDetector(SpikeSettings(), playbooks()), merged(chatter(START, 8), burst(at, 60)))

    area = keyed(alerts, "area:Haren")
    assert area, [a.title for a in alerts]
    first = area[0]
    assert first.kind is AlertKind.SPIKE and first.area == "Haren"
    assert at <= first.first_seen <= at + timedelta(minutes=10)
    assert first.title.startswith("Piek in Haren: ")
    assert "berichten in 10 min, verwacht" in first.title
    assert first.details["ratio"] >= 3 and first.details["p_value"] < 1e-6
    assert first.details["window_minutes"] == 10
    # Once the rhythm is known (after a cold start, see the next test) only the burst: nothing before it.
    assert all(a.first_seen >= at for a in alerts if a.details["rhythm_known"])


def test_stays_quiet_on_ordinary_chatter_with_its_evening_peaks() -> None:
    # A week to learn the day's rhythm, then a second week (every post of it counted) without any alert.
    posts = chatter(START, 14)
    learned = START + timedelta(days=7)
    alerts = run(SpikeDetector(SpikeSettings(), playbooks()), posts)
    assert [a.title for a in alerts if a.first_seen >= learned] == []
    # Until a whole weekday and a whole weekend day have been seen, the rhythm is partly the prior's (this
    # one jumps five-fold at 7:00 and eight-fold at 20:00): whatever fires then says so.
    for alert in alerts:
        assert alert.first_seen < START + timedelta(days=4)
        assert not alert.details["rhythm_known"] and "kent het dagritme" in alert.explanation

    # The same stream judged with the generic prior shape only: the evening peaks look like spikes. This is
    # what the learned hour-of-week profile is for.
    rigid = SpikeSettings(shape_prior_posts_day=1e9, shape_prior_posts_week=1e9)
    evening = [a for a in run(SpikeDetector(rigid, playbooks()), posts) if a.first_seen >= learned]
    assert evening
    assert all(a.first_seen.astimezone(LOCAL).hour in (19, 20, 21) for a in evening)


def test_a_calendar_day_raises_the_expectation() -> None:
    book = playbooks(calendar=[{"name": "Koningsdag", "every_year": "04-27", "factor": 3.0}])
    ordinary_day = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    kings_day = ordinary_day + timedelta(days=7)  # the same Saturday afternoon, a week later

    before = run(
        SpikeDetector(SpikeSettings(), book),
        merged(chatter(START, 8), burst(ordinary_day, 60)),
    )
    on_the_day = run(
        SpikeDetector(SpikeSettings(), book),
        merged(chatter(START + timedelta(days=7), 8), burst(kings_day, 60)),
    )

    def burst_alerts(alerts: list[Alert], at: datetime) -> list[Alert]:
        return [a for a in keyed(alerts, "area:Haren") if at <= a.first_seen <= at + timedelta(minutes=10)]

    assert burst_alerts(before, ordinary_day)
    assert burst_alerts(before, ordinary_day)[0].details["calendar_day"] is None
    weaker = burst_alerts(on_the_day, kings_day)
    # The same burst is three times less surprising: too weak for an alert, or a much weaker one.
    if weaker:
        assert weaker[0].details["calendar_day"] == "Koningsdag"
        assert weaker[0].details["ratio"] < burst_alerts(before, ordinary_day)[0].details["ratio"] / 2


def test_a_calendar_day_of_ordinary_volume_leaves_the_baseline_as_it_was() -> None:
    # The factor holds all day; learning count / factor all day pulled the level far down for days after
    # New Year's Eve (a third lower here after one day), and the next ordinary evening was a false spike.
    day = (START + timedelta(days=8)).astimezone(LOCAL)
    book = playbooks(calendar=[{"name": "Feest", "every_year": day.strftime("%m-%d"), "factor": 4.0}])
    expected = {}
    for name, playbook_set in (("plain", playbooks()), ("calendar", book)):
        detector = SpikeDetector(SpikeSettings(), playbook_set)
        run(detector, chatter(START, 10))
        expected[name] = detector._all.expected
    assert expected["calendar"] == pytest.approx(expected["plain"], rel=0.05)


def test_a_growing_spike_updates_one_alert() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    # Rising for 30 minutes: 20, then 60, then 120 posts per 10 minutes.
    growing = merged(
        burst(at, 20, seed=3),
        burst(at + timedelta(minutes=10), 60, seed=4),
        burst(at + timedelta(minutes=20), 120),
    )
    alerts = keyed(
        run(SpikeDetector(SpikeSettings(), playbooks()), merged(chatter(START, 8), growing)), "area:Haren"
    )

    assert len({a.id for a in alerts}) == 1
    assert alerts[0].id == f"spike:area:Haren:{alerts[0].first_seen:%Y-%m-%dT%H:%M}"
    assert [a.revision for a in alerts] == list(range(1, len(alerts) + 1))
    assert len(alerts) >= 3
    counts = [a.post_count for a in alerts]
    assert counts == sorted(counts) and counts[-1] >= 200
    assert len({a.first_seen for a in alerts}) == 1
    # At most one revision per 30-second sub-bucket.
    buckets = [a.updated_at.timestamp() // 30 for a in alerts if a.details["state"] == "open"]
    assert len(buckets) == len(set(buckets))
    assert alerts[-1].severity.rank >= alerts[0].severity.rank
    assert len(alerts[-1].member_ids) == min(MAX_MEMBERS, alerts[-1].post_count)


def test_a_new_spike_after_a_quiet_spell_is_a_new_alert() -> None:
    first_at = datetime(2024, 4, 20, 14, 0, tzinfo=LOCAL)
    second_at = first_at + timedelta(hours=3)
    posts = merged(chatter(START, 8), burst(first_at, 60, seed=5), burst(second_at, 60, seed=6))
    alerts = keyed(run(SpikeDetector(SpikeSettings(), playbooks()), posts), "area:Haren")

    ids = list(dict.fromkeys(a.id for a in alerts))
    assert len(ids) == 2
    first_episode = [a for a in alerts if a.id == ids[0]]
    assert first_episode[-1].details["state"] == "closed"
    assert first_episode[-1].title.startswith("Voorbij: ")
    closed_at = first_episode[-1].updated_at
    assert closed_at < second_at
    assert next(a for a in alerts if a.id == ids[1]).first_seen >= second_at


def test_the_explanation_names_the_hashtag_the_places_and_examples() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    alerts = run(SpikeDetector(SpikeSettings(), playbooks()), merged(chatter(START, 8), burst(at, 90)))
    alert = keyed(alerts, "area:Haren")[-1]

    assert "#projectxharen" in alert.explanation
    assert "Haren (" in alert.explanation and "Glimmen (" in alert.explanation
    assert "verwacht" in alert.explanation and "p = " in alert.explanation
    terms = dict(map(tuple, alert.details["top_terms"]))
    assert terms["#projectxharen"] >= 80
    places = dict(map(tuple, alert.details["top_places"]))
    assert places["Haren"] > places["Glimmen"] > 0
    assert len(alert.examples) == 3
    assert all("#projectxharen" in example.text for example in alert.examples)
    assert set(alert.details) >= {
        "key", "observed", "expected", "p_value", "ratio", "window_minutes", "top_terms", "top_places",
        "calendar_day",
    }  # fmt: skip


def test_the_whole_stream_alert_is_held_back_when_the_area_explains_it() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    posts = merged(chatter(START, 8), burst(at, 90))
    alerts = run(SpikeDetector(SpikeSettings(), playbooks()), posts)
    assert keyed(alerts, "area:Haren")
    # The chatter is all about Haren, so the whole stream spikes too, and so does the hashtag; the area
    # alert tells that story and points to them.
    assert keyed(alerts, "all") == []
    assert keyed(alerts, "hashtag:projectxharen") == []
    related = {key for key, _ in keyed(alerts, "area:Haren")[-1].details["related"]}
    assert {"all", "hashtag:projectxharen"} <= related
    assert "Hangt samen met: " in keyed(alerts, "area:Haren")[-1].explanation

    everything = run(SpikeDetector(SpikeSettings(suppress_explained=False), playbooks()), posts)
    assert keyed(everything, "all") and keyed(everything, "hashtag:projectxharen")


def test_a_new_hashtag_needs_real_volume() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    base = chatter(START, 8)

    def tag_posts(count: int) -> list[Post]:
        rng = random.Random(count)
        times = sorted(at + timedelta(minutes=rng.uniform(0, 10)) for _ in range(count))
        # No area: only the hashtag key (and the whole stream) can see them.
        return [post(t, "Wat een concert #nieuwetag", area=None) for t in times]

    forty = run(SpikeDetector(SpikeSettings(), playbooks()), merged(base, tag_posts(40)))
    two = run(SpikeDetector(SpikeSettings(), playbooks()), merged(base, tag_posts(2)))
    assert keyed(forty, "hashtag:nieuwetag")
    assert keyed(forty, "hashtag:nieuwetag")[0].details["expected"] < 1
    assert keyed(two, "hashtag:nieuwetag") == []
    assert [a for a in two if a.first_seen >= at] == []


def test_spike_terms_are_whole_words_and_me_only_in_capitals() -> None:
    book = playbooks(lexicons={"spike_terms": ["rellen", "me", "uitslaande brand"]})
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    base = chatter(START, 8)

    def texts(text: str) -> list[Post]:
        return [post(at + timedelta(seconds=10 * i), text, area=None) for i in range(40)]

    def keys(text: str) -> set[str]:
        return {
            a.details["key"] for a in run(SpikeDetector(SpikeSettings(), book), merged(base, texts(text)))
        }

    assert "term:me" in keys("ME charge op het plein!")
    assert "term:me" not in keys("tell me about it, give me a break")
    assert "term:rellen" in keys("Rellen😱 in het centrum")
    assert "term:rellen" not in keys("we gaan rellenbouwen (geen echt woord)")
    assert "term:uitslaande brand" in keys("Uitslaande brand bij de Jumbo")


def test_late_posts_within_the_window_are_counted_where_they_belong() -> None:
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    posts = merged(chatter(START, 8), burst(at, 60))
    rng = random.Random(9)
    # Up to 20 seconds of disorder, as from several producers.
    shuffled = sorted(posts, key=lambda p: p.created_at.timestamp() + rng.uniform(0, 20))
    ordered_ids = {a.id for a in run(SpikeDetector(SpikeSettings(), playbooks()), posts)}
    shuffled_ids = {a.id for a in run(SpikeDetector(SpikeSettings(), playbooks()), shuffled)}
    assert ordered_ids and shuffled_ids == ordered_ids


def test_memory_stays_bounded_with_endless_new_hashtags() -> None:
    settings = SpikeSettings(key_ttl_hours=1, max_keys=500)
    detector = SpikeDetector(settings, playbooks())
    t0 = datetime(2024, 4, 20, tzinfo=LOCAL)
    largest = 0
    for minute in range(3 * 24 * 60):  # three days, ten posts a minute, each with a hashtag never seen before
        at = t0 + timedelta(minutes=minute)
        detector.observe([post(at + timedelta(seconds=6 * i), f"hoi #tag{minute}x{i}") for i in range(10)])
        largest = max(largest, detector.state_size()["expiring_keys"])
    size = detector.state_size()
    # 600 new keys an hour live for one hour (plus up to one 10-minute sweep interval), but never beyond
    # max_keys + 10%: the hard cap bites first.
    assert largest <= 1.1 * settings.max_keys
    assert size["keys"] <= 1.1 * settings.max_keys + 2
    assert size["buffered_posts"] <= 2 * settings.recent_posts_per_key + 600

    ttl_only = SpikeDetector(SpikeSettings(key_ttl_hours=1), playbooks())
    for minute in range(6 * 60):
        at = t0 + timedelta(minutes=minute)
        ttl_only.observe([post(at, f"hoi #uniek{minute}")])
    assert ttl_only.state_size()["expiring_keys"] <= 60 + 10 + 1


def test_buffered_posts_keep_what_a_spike_needs_but_not_the_posts_themselves() -> None:
    # Every key buffers its window's recent posts; a whole Post each held tens of MB on a busy stream.
    detector = SpikeDetector(SpikeSettings(), playbooks())
    t0 = datetime(2024, 4, 20, 12, tzinfo=LOCAL)
    posts = [post(t0 + timedelta(seconds=i), f"bericht {i} #haren", places=("Haren",)) for i in range(300)]
    keys = {p.key for p in posts}
    detector.observe(posts)
    assert detector.state_size()["buffered_posts"] >= 300
    del posts
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Post) and o.key in keys]


def test_settings_from_a_playbook_override_the_defaults() -> None:
    book = playbooks(detector_settings={"spike": {"min_count": 500, "window_minutes": 5}})
    detector = SpikeDetector(SpikeSettings(), book)
    assert detector.settings.min_count == 500
    assert detector.settings.window_minutes == 5
    at = datetime(2024, 4, 20, 15, 0, tzinfo=LOCAL)
    assert run(detector, merged(chatter(START, 8), burst(at, 90))) == []

    with pytest.raises(PlaybookError, match=r"detector_settings\.spike"):
        SpikeDetector(SpikeSettings(), playbooks(detector_settings={"spike": {"min_cuont": 5}}))
    with pytest.raises(PlaybookError, match="sub-buckets"):
        SpikeDetector(SpikeSettings(), playbooks(detector_settings={"spike": {"bucket_seconds": 7}}))
