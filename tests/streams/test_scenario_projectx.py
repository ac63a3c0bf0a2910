from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from geopy.distance import great_circle

from streams.post import Post
from streams.scenarios.projectx import (
    SPIKE_FACTOR,
    GroundTruth,
    Scenario,
    generate,
    write,
)

LOCAL = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate()


@pytest.fixture(scope="module")
def by_id(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in scenario.records}


def _at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["created_at"].replace("Z", "+00:00"))


def test_same_arguments_give_byte_identical_output(tmp_path: Path) -> None:
    first = write(generate(seed=5), tmp_path / "a.jsonl")
    second = write(generate(seed=5), tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.read_bytes() == second.read_bytes()
    write(generate(seed=6), tmp_path / "c.jsonl")
    assert (tmp_path / "c.jsonl").read_bytes() != (tmp_path / "a.jsonl").read_bytes()


def test_write_names_the_truth_after_the_records(tmp_path: Path, scenario: Scenario) -> None:
    out = tmp_path / "out" / "haren.jsonl"
    truth_path = write(scenario, out)
    assert truth_path == tmp_path / "out" / "haren.truth.json"
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(scenario.records)
    assert json.loads(lines[0]) == scenario.records[0]
    assert GroundTruth.model_validate_json(truth_path.read_text(encoding="utf-8")) == scenario.truth


def test_every_record_validates_as_a_post(scenario: Scenario) -> None:
    for record in scenario.records:
        post = Post.model_validate(record)
        assert post.platform == "scenario"
        assert post.author == record["author"]  # the raw handle; pseudonymised only at ingest
        assert record["author"].startswith("@")
        assert record["created_at"].endswith("Z")
        assert post.created_at.tzinfo is not None


def test_records_are_time_ordered_with_unique_ids(scenario: Scenario) -> None:
    times = [r["created_at"] for r in scenario.records]
    assert times == sorted(times)
    assert len({r["id"] for r in scenario.records}) == len(scenario.records)
    truth = scenario.truth
    assert truth.span_start.isoformat() <= times[0].replace("Z", "+00:00")
    assert _at(scenario.records[-1]) < truth.span_end


def test_default_size_and_speed() -> None:
    best = float("inf")
    for _ in range(2):
        began = time.perf_counter()
        generated = generate()
        best = min(best, time.perf_counter() - began)
    assert 5_000 <= len(generated.records) <= 15_000
    assert best < 2.0, f"{best:.2f} s"


def test_references_point_to_earlier_records(scenario: Scenario) -> None:
    position = {r["id"]: i for i, r in enumerate(scenario.records)}
    references = 0
    for i, record in enumerate(scenario.records):
        for field in ("reply_to", "repost_of", "quote_of"):
            if field in record:
                parent = record[field]
                assert parent in position, (record["id"], field, parent)
                assert position[parent] < i
                assert scenario.records[position[parent]]["created_at"] < record["created_at"]
                references += 1
        if "repost_of" in record:
            original = scenario.records[position[record["repost_of"]]]
            assert "repost_of" not in original  # reposts point at the original, as platforms do
            assert record["text"] == original["text"]
    assert references > 3000


def test_engagement_counts_match_the_stream(scenario: Scenario) -> None:
    reposts = Counter(r["repost_of"] for r in scenario.records if "repost_of" in r)
    replies = Counter(r["reply_to"] for r in scenario.records if "reply_to" in r)
    for record in scenario.records:
        assert record["reposts"] == reposts[record["id"]]
        assert record["replies"] == replies[record["id"]]


def test_the_invitation(scenario: Scenario, by_id: dict[str, dict[str, Any]]) -> None:
    truth = scenario.truth
    invitation = by_id[truth.invitation_post_id]
    assert _at(invitation) == truth.invitation_at
    assert "Iedereen is welkom" in invitation["text"]
    assert "Haren" in invitation["text"]
    assert "zaterdag 21 september" in invitation["text"]
    assert "20:00" in invitation["text"]
    assert invitation["url"].startswith("https://www.facebook.com/events/")
    # The default: the party at Saturday 21 September 2024, 20:00 in Haren, announced days before.
    assert truth.gathering.at == datetime(2024, 9, 21, 20, tzinfo=LOCAL)
    assert truth.gathering.name.endswith(", Haren")
    assert timedelta(days=3) <= truth.gathering.at - truth.invitation_at <= timedelta(days=6)
    assert invitation["reposts"] > 100


def test_tipping_point_follows_its_definition(scenario: Scenario, by_id: dict[str, dict[str, Any]]) -> None:
    truth = scenario.truth
    assert truth.tipping_point_at is not None
    assert truth.invitation_at < truth.tipping_point_at < truth.gathering.at
    assert truth.tipping_point_at - truth.invitation_at > timedelta(hours=24)  # small at first
    assert truth.tipping_threshold_per_hour == 25
    # Recompute it from the records: the first reshare with k reshares in the trailing hour.
    cascade = set(truth.invitation_cascade_ids)
    reshares = sorted(
        _at(r)
        for r in scenario.records
        if r["id"] in cascade and (r.get("repost_of") in cascade or r.get("quote_of") in cascade)
    )
    k = truth.tipping_threshold_per_hour
    first = next(t for t in reshares if sum(1 for s in reshares if t - timedelta(hours=1) <= s <= t) >= k)
    assert first == truth.tipping_point_at
    assert _at(by_id[truth.tipping_point_post_id]) == truth.tipping_point_at


def test_the_cascade_accelerates_and_draws_people_from_elsewhere(scenario: Scenario) -> None:
    truth = scenario.truth
    cascade = [r for r in scenario.records if r["id"] in set(truth.invitation_cascade_ids)]
    first_day = sum(1 for r in cascade if _at(r) < truth.invitation_at + timedelta(days=1))
    last_day = sum(
        1 for r in cascade if truth.gathering.at - timedelta(days=1) <= _at(r) < truth.gathering.at
    )
    assert last_day > 10 * first_day
    texts = [r["text"] for r in cascade]
    assert any("vanuit" in t or " uit " in t for t in texts)
    assert any(truth.hashtag in t for t in texts)
    assert sum(1 for r in cascade if r.get("lang") == "en") > 0.05 * len(cascade)
    assert sum(1 for r in cascade if "quote_of" in r) > 100
    assert sum(1 for r in cascade if r.get("url", "").startswith("https://www.facebook.com/events/")) > 50


def test_escalation_and_spike_after_the_announced_time(scenario: Scenario, by_id: dict[str, Any]) -> None:
    truth = scenario.truth
    gathering = truth.gathering.at
    assert abs(truth.escalation_start - gathering) < timedelta(hours=1)
    assert _at(by_id[truth.escalation_post_id]) == truth.escalation_start
    riot = [w for w in truth.spike_windows if w.start <= gathering + timedelta(hours=2) and w.end > gathering]
    assert len(riot) == 1
    assert riot[0].peak_posts_per_hour >= SPIKE_FACTOR * truth.spike_baseline_per_hour
    assert riot[0].peak_posts_per_hour > 500
    # The riot geotags cluster at the town centre.
    near = [
        great_circle(
            (r["coordinates"]["lat"], r["coordinates"]["lon"]), (truth.gathering.lat, truth.gathering.lon)
        ).km
        for r in scenario.records
        if "coordinates" in r and truth.kinds[r["id"]] == "incident:unrest"
    ]
    assert len(near) > 100
    assert sorted(near)[len(near) // 2] < 1.0
    texts = " ".join(
        r["text"] for r in scenario.records if gathering <= _at(r) < gathering + timedelta(hours=4)
    )
    for word in ("ME", "politie", "Vuurwerk", "Rellen", "geplunderd"):
        assert word in texts


def test_rumours_spread_then_get_denied(scenario: Scenario, by_id: dict[str, dict[str, Any]]) -> None:
    truth = scenario.truth
    assert [r.key for r in truth.rumours] == ["stabbing", "army"]
    for rumour in truth.rumours:
        assert rumour.first_post_id in rumour.member_ids
        assert all(pid in by_id for pid in rumour.member_ids + rumour.denial_ids)
        assert not set(rumour.member_ids) & set(rumour.denial_ids)
        assert rumour.claim in by_id[rumour.first_post_id]["text"]
        assert min(_at(by_id[pid]) for pid in rumour.member_ids) == rumour.first_post_at
        assert rumour.denial_at > rumour.first_post_at
        assert rumour.official_denial_id in rumour.denial_ids
        assert all(_at(by_id[pid]) >= rumour.denial_at for pid in rumour.denial_ids)
        # Spreading goes on after the denial, slower.
        assert any(_at(by_id[pid]) > rumour.denial_at for pid in rumour.member_ids)
    stabbing = truth.rumours[0]
    assert stabbing.claim == "Er is iemand doodgestoken bij de Rijksstraatweg"
    assert len(stabbing.member_ids) > len(truth.rumours[1].member_ids)
    members = " ".join(by_id[pid]["text"] for pid in stabbing.member_ids)
    for phrase in ("Klopt dit?", "Is dit waar?", "Naar verluidt", "stabbed"):
        assert phrase in members
    assert sum(1 for pid in stabbing.member_ids if "repost_of" in by_id[pid]) > 50
    official = by_id[stabbing.official_denial_id]
    assert official["author"] == "@politie_haren"
    assert "klopt niet" in official["text"]
    others = [by_id[pid] for pid in stabbing.denial_ids if pid != stabbing.official_denial_id]
    assert sum(1 for r in others if r.get("repost_of") == stabbing.official_denial_id) > 20
    own_words = [r["text"] for r in others if "repost_of" not in r]
    assert len(own_words) > 20
    assert any(word in text for text in own_words for word in ("nep", "Fake", "onjuist", "false"))


def test_lookalikes_look_like_mobilisation_but_are_not_the_cascade(
    scenario: Scenario, by_id: dict[str, dict[str, Any]]
) -> None:
    truth = scenario.truth
    assert {look.kind for look in truth.lookalikes} == {
        "municipal_event",
        "private_party",
        "church_bazaar",
        "football_match",
    }
    assert sorted(pid for look in truth.lookalikes for pid in look.post_ids) == truth.lookalike_post_ids
    private = next(look for look in truth.lookalikes if look.kind == "private_party")
    assert len(private.post_ids) == 1
    cascade = set(truth.invitation_cascade_ids)
    assert not cascade & set(truth.lookalike_post_ids)
    texts = []
    for pid in truth.lookalike_post_ids:
        record = by_id[pid]
        texts.append(record["text"])
        assert truth.hashtag not in record["text"]
        assert not {record.get(f) for f in ("reply_to", "repost_of", "quote_of")} & cascade
        assert _at(record) < truth.gathering.at
    welcome = [t for t in texts if "iedereen welkom" in t.lower() or "iedereen is welkom" in t.lower()]
    assert len(welcome) >= 4
    football = next(look for look in truth.lookalikes if look.kind == "football_match")
    assert len(football.post_ids) > 80  # a real volume bump on match night


def test_geotag_share(scenario: Scenario) -> None:
    geotagged = sum(1 for r in scenario.records if "coordinates" in r)
    assert 0.04 <= geotagged / len(scenario.records) <= 0.10
    originals = [
        r for r in scenario.records if scenario.truth.kinds[r["id"]] == "background" and "repost_of" not in r
    ]
    share = sum(1 for r in originals if "coordinates" in r) / len(originals)
    assert 0.05 <= share <= 0.10
    assert not any("coordinates" in r for r in scenario.records if "repost_of" in r)


def test_background_follows_a_daily_rhythm(scenario: Scenario) -> None:
    hours = Counter(
        _at(r).astimezone(LOCAL).hour
        for r in scenario.records
        if scenario.truth.kinds[r["id"]] == "background"
    )
    night = sum(hours[h] for h in (2, 3, 4, 5))
    evening = sum(hours[h] for h in (19, 20, 21, 22))
    assert evening > 8 * night
    assert hours[8] > 2 * hours[5]


def test_background_mentions_the_region(scenario: Scenario) -> None:
    texts = " ".join(r["text"] for r in scenario.records if scenario.truth.kinds[r["id"]] == "background")
    for place in ("Haren", "Glimmen", "Groningen"):
        assert place in texts


def test_counts_and_kinds_cover_the_stream(scenario: Scenario) -> None:
    truth = scenario.truth
    assert truth.counts["total"] == len(scenario.records)
    assert set(truth.kinds) == {r["id"] for r in scenario.records}
    assert truth.counts["geotagged"] == sum(1 for r in scenario.records if "coordinates" in r)
    assert truth.counts["kind:invitation"] == 1
    families = {kind.split(":")[0] for kind in truth.kinds.values()}
    expected = {"background", "lookalike", "invitation", "cascade", "official", "incident", "aftermath"}
    assert families == expected | {"rumour", "denial"}
    assert sum(1 for r in scenario.records if "lang" not in r) > 0.05 * len(scenario.records)


def test_other_towns_work() -> None:
    zwolle = generate("Zwolle", seed=2, base_rate_per_day=150)
    truth = zwolle.truth
    assert (truth.town, truth.municipality, truth.hashtag) == ("Zwolle", "Zwolle", "#projectxzwolle")
    for record in zwolle.records:
        Post.model_validate(record)
        assert "Rijksstraatweg" not in record["text"]
    assert "Zwolle" in next(r for r in zwolle.records if r["id"] == truth.invitation_post_id)["text"]
    assert truth.tipping_point_at is not None
    assert truth.rumours[0].claim.startswith("Er is iemand doodgestoken bij de ")


def test_a_variant_name_keeps_the_dutch_spelling() -> None:
    truth = generate("den haag", base_rate_per_day=50, scale=0.2).truth
    assert (truth.town, truth.municipality, truth.hashtag) == ("Den Haag", "Den Haag", "#projectxdenhaag")
    assert truth.tipping_threshold_per_hour == 5


def test_scale_grows_the_incident_not_the_background() -> None:
    small = generate(base_rate_per_day=100, scale=0.5).truth.counts
    big = generate(base_rate_per_day=100, scale=2.0).truth.counts
    assert 3 < big["kind:incident"] / small["kind:incident"] < 5
    assert 0.8 < big["kind:background"] / small["kind:background"] < 1.25


def test_no_background_does_not_make_every_hour_a_spike() -> None:
    quiet = generate(base_rate_per_day=0, scale=0.3)
    truth = quiet.truth
    assert truth.counts.get("kind:background", 0) == 0
    assert truth.spike_windows
    # The baseline has a floor of 1 post/hour: the odd announcement before the invitation is no spike.
    assert all(w.start > truth.invitation_at for w in truth.spike_windows)
    busy_hours = {_at(r).replace(minute=0, second=0) for r in quiet.records}
    spike_hours = sum((w.end - w.start) // timedelta(hours=1) for w in truth.spike_windows)
    assert spike_hours < len(busy_hours) / 2


def test_start_moves_the_whole_scenario() -> None:
    start = datetime(2025, 4, 20, 12, tzinfo=LOCAL)
    truth = generate(start=start, days_before=4, base_rate_per_day=100).truth
    assert truth.span_start == start.astimezone(UTC)
    assert truth.gathering.at == datetime(2025, 4, 24, 20, tzinfo=LOCAL)
    assert truth.invitation_at > truth.span_start


def test_unknown_town_explains_how_to_find_valid_names() -> None:
    with pytest.raises(ValueError, match=r"Unknown town 'Harenn'.*Did you mean: Haren.*places\(\)"):
        generate("Harenn")
    with pytest.raises(ValueError, match="gazetteer"):
        generate("Atlantis")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2024, 9, 14)}, "time zone"),
        ({"days_before": 0.5}, "days_before"),
        ({"scale": 0}, "scale"),
        ({"base_rate_per_day": -1}, "base_rate_per_day"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)


def test_other_settings_make_other_ids_and_the_defaults_keep_theirs() -> None:
    two_days = generate(town="Haren", seed=1, days_before=2)
    again = generate(town="Haren", seed=1, days_before=2)
    longer = generate(town="Haren", seed=1, days_before=3)
    assert two_days.records[0]["id"] == again.records[0]["id"]
    # Different posts under the same ids were dropped by the service as duplicates of the first run's.
    assert not {r["id"] for r in two_days.records} & {r["id"] for r in longer.records}
    assert generate(town="Haren", seed=1).records[0]["id"] == "px-haren-1-0000000"
