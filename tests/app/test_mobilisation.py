"""The mobilisation detector: it warns days ahead of a viral call, stays quiet on look-alikes, updates one
alert per call, raises severity on escalation, and keeps its state bounded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from app.pipeline.alerts import MAX_MEMBERS, Alert, AlertKind, Severity
from app.pipeline.enrich import Enricher
from app.pipeline.mobilisation import MobilisationDetector, MobilisationSettings
from app.pipeline.time_expressions import LOCAL
from app.playbooks import Lexicon, PlaybookError, PlaybookSet
from streams import gazetteer
from streams.post import Coordinates, Post
from streams.scenarios.projectx import generate

MONDAY_NOON = datetime(2024, 9, 16, 12, 0, tzinfo=LOCAL)
PARTY = datetime(2024, 9, 21, 20, 0, tzinfo=LOCAL)  # the Saturday the test calls announce
INVITATION = (
    "Feestje bij Sanne! Zaterdag 21 september vanaf 20:00, Kerkstraat 12, Veghel. Iedereen is welkom!"
)


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


@pytest.fixture(scope="module")
def playbooks() -> PlaybookSet:
    return PlaybookSet.load()


@pytest.fixture(scope="module")
def lexicons_only(playbooks: PlaybookSet) -> PlaybookSet:
    """The shipped lexicons without the playbooks' threshold overrides, for tests that set their own."""
    return PlaybookSet(p.model_copy(update={"detector_settings": {}}) for p in playbooks.playbooks)


class Stream:
    """Builds enriched posts with unique ids; authors are unique unless given."""

    def __init__(self, enricher: Enricher) -> None:
        self.enricher = enricher
        self.numbers = count(1)

    def post(self, text: str, at: datetime, author: str | None = None, **fields: object) -> Post:
        n = next(self.numbers)
        raw = Post(platform="test", id=f"m{n}", author=author or f"p_{n}", created_at=at, text=text, **fields)
        return self.enricher(raw)

    def reposts(self, parent: Post, times: Iterable[datetime]) -> list[Post]:
        return [self.post(parent.text, at, repost_of=parent.id) for at in times]


def viral_call(
    stream: Stream, hours: int = 60, growth: float = 1.1, invitation: str = INVITATION
) -> list[Post]:
    """An invitation on Monday whose reposts grow by ``growth`` per hour, with people from Zwolle and
    Tilburg saying they will come."""
    root = stream.post(invitation, MONDAY_NOON, author="p_host")
    posts = [root]
    for hour in range(1, hours):
        start = MONDAY_NOON + timedelta(hours=hour)
        n = round(growth**hour)
        posts += stream.reposts(root, (start + timedelta(minutes=60 * i / (n + 1)) for i in range(n)))
        if hour % 10 == 0:
            town = "Zwolle" if hour % 20 else "Tilburg"
            posts.append(stream.post(f"Met de trein vanuit {town} naar Veghel zaterdag! Kom allemaal", start))
    return posts


def run(detector: MobilisationDetector, posts: list[Post], batch: int = 50) -> list[Alert]:
    posts = sorted(posts, key=lambda p: p.created_at)
    alerts: list[Alert] = []
    for i in range(0, len(posts), batch):
        alerts += detector.observe(posts[i : i + batch])
    return alerts


def detector(playbooks: PlaybookSet, **settings: object) -> MobilisationDetector:
    return MobilisationDetector(MobilisationSettings.model_validate(settings), playbooks)


# --- the call -------------------------------------------------------------------------------------------


def test_fires_days_before_the_announced_time_and_names_place_and_time(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    alerts = run(detector(playbooks), viral_call(Stream(enricher)))
    assert alerts, "a call reshared hundreds of times, with people travelling in, must alert"
    first = alerts[0]
    assert first.kind == AlertKind.MOBILISATION
    assert first.id == "mobilisation:Veghel:2024-09-21"
    assert first.area == "Veghel"
    assert "Kerkstraat 12, Veghel" in first.title
    assert "za 21 sep 20:00" in first.title
    assert first.details["announced_at"] == PARTY.astimezone(UTC).isoformat()
    assert first.details["announced_time_known"] is True
    alerted_at = datetime.fromisoformat(first.details["alerted_at"])
    assert PARTY - alerted_at > timedelta(days=2)
    assert first.details["hours_until"] > 48
    assert first.details["outside_authors"] >= 2
    assert set(first.details["outside_from"]) <= {"Zwolle", "Tilburg"}
    assert first.details["reshares"] >= playbooks.settings_for(AlertKind.MOBILISATION)["min_reshares"]
    assert first.details["acceleration"] >= 1.5
    assert first.details["distinct_authors"] >= 12
    assert first.first_seen == MONDAY_NOON
    assert first.examples[0].text == INVITATION
    assert first.playbook is None
    assert 0 < len(first.member_ids) <= MAX_MEMBERS
    assert first.member_ids[0] == "test:m1"


def test_reposts_handled_before_the_invitation_still_count_as_reshares(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    # Kafka keeps order per partition only: under backlog the reposts of a call can be processed long before
    # the call itself. They carry its text, so they are reshares of it all the same.
    root, *rest = viral_call(Stream(enricher))
    late = detector(playbooks)
    alerts = [alert for i in range(0, len(rest), 50) for alert in late.observe(rest[i : i + 50])]
    alerts += late.observe([root])
    in_order = run(detector(playbooks), [root, *rest])
    assert alerts, "the same call with its invitation delivered last must alert too"
    assert alerts[0].id == in_order[0].id == "mobilisation:Veghel:2024-09-21"
    # Matched by their text rather than their link, reposts made on the Saturday itself read "zaterdag" as
    # next week's: those few are lost, nothing is counted twice.
    reshares, expected = alerts[-1].details["reshares"], in_order[-1].details["reshares"]
    assert 0.9 * expected <= reshares <= expected
    assert PARTY - datetime.fromisoformat(alerts[0].details["alerted_at"]) > timedelta(days=2)


def test_no_alert_without_outside_interest_or_sustained_growth(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    # The same reposts within a few hours and no one travelling in: a burst, not a call going viral.
    stream = Stream(enricher)
    root = stream.post(INVITATION, MONDAY_NOON)
    posts = [root, *stream.reposts(root, (MONDAY_NOON + timedelta(minutes=m) for m in range(1, 240)))]
    assert run(detector(playbooks), posts) == []


def test_updates_one_alert_instead_of_duplicating(enricher: Enricher, playbooks: PlaybookSet) -> None:
    alerts = run(detector(playbooks), viral_call(Stream(enricher)), batch=7)
    assert len(alerts) >= 3
    assert {a.id for a in alerts} == {"mobilisation:Veghel:2024-09-21"}
    assert [a.revision for a in alerts] == list(range(1, len(alerts) + 1))
    assert [a.post_count for a in alerts] == sorted(a.post_count for a in alerts)
    assert alerts[-1].post_count > alerts[0].post_count
    assert all(a.first_seen == alerts[0].first_seen for a in alerts)
    # Member lists are capped; the count goes on.
    assert len(alerts[-1].member_ids) == MAX_MEMBERS < alerts[-1].post_count


def test_one_batch_gives_at_most_one_revision_per_call(enricher: Enricher, playbooks: PlaybookSet) -> None:
    alerts = run(detector(playbooks), viral_call(Stream(enricher)), batch=100_000)
    assert [(a.id, a.revision) for a in alerts] == [("mobilisation:Veghel:2024-09-21", 1)]


def test_escalation_raises_severity(enricher: Enricher, playbooks: PlaybookSet) -> None:
    stream = Stream(enricher)
    call = viral_call(stream, hours=45)  # big enough for severity medium, not for high
    root = call[0]
    calm = run(detector(playbooks), list(call))
    wednesday = MONDAY_NOON + timedelta(days=2)
    # Talk in the cascade turns grim; "me" in lower case is the pronoun and does not count.
    threats = [
        stream.post(text, wednesday + timedelta(minutes=i), reply_to=root.id)
        for i, text in enumerate(
            ("ME staat al klaar bij het station", "Dit wordt rellen", "Politie weet ervan")
        )
    ]
    pronoun = stream.post("Mijn ouders laten me niet gaan", wednesday, reply_to=root.id)
    grim = run(detector(playbooks), [*call, *threats, pronoun])
    assert grim[-1].details["escalation_posts"] == 3
    assert grim[-1].severity.rank == calm[-1].severity.rank + 1

    # On the night itself, posts about Veghel report riots: critical.
    night = [
        stream.post("Rellen in Veghel, vuurwerk en stenen op de Markt", PARTY + timedelta(minutes=20 + i))
        for i in range(5)
    ]
    riot = run(detector(playbooks), [*call, *threats, pronoun, *night])
    assert riot[-1].severity == Severity.CRITICAL
    assert riot[-1].details["scene_escalation_posts"] == 5
    ranks = [a.severity.rank for a in riot]
    assert ranks == sorted(ranks), "severity never goes down"
    assert calm[-1].severity != Severity.CRITICAL


def test_questions_under_the_call_are_counted_as_its_information_need(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    stream = Stream(enricher)
    call = viral_call(stream)
    root = call[0]
    tuesday = MONDAY_NOON + timedelta(days=1)
    replies = [
        stream.post(text, tuesday + timedelta(minutes=i), reply_to=root.id)
        for i, text in enumerate(("Is dit echt?", "Gaat dit nog door??", "Wij komen!", "Mag ik ook komen?"))
    ]
    last = run(detector(playbooks), [*call, *replies])[-1]
    assert (last.details["replies"], last.details["questions"]) == (4, 3)
    assert "3 van de 4 reacties stellen een vraag" in last.explanation
    quiet = run(detector(playbooks), call)[-1]
    assert quiet.details["questions"] == 0 and "stellen een vraag" not in quiet.explanation


def test_a_call_past_its_time_stops_growing_on_paper_and_ends_with_a_last_revision(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    stream = Stream(enricher)
    call = viral_call(stream)
    root = call[0]
    # The morning after, people still share it; two days later the stream goes on about other things.
    aftermath = stream.reposts(root, (PARTY + timedelta(hours=14, minutes=m) for m in range(0, 60, 2)))
    later = stream.post("Wat een mooie dag", PARTY + timedelta(days=2))
    alerts = run(detector(playbooks), [*call, *aftermath, later])
    before = [a for a in alerts if a.details["hours_until"] >= 0]
    after = [a for a in alerts if a.details["hours_until"] < 0]
    assert before and all("verdubbelt elke" in a.explanation for a in before)
    assert len(after) == 2, "one update for the morning after, one last revision"
    morning, last = after
    assert morning.details["state"] == "open" and "verdubbelt" not in morning.explanation
    assert last.details["state"] == "closed"
    assert last.title.startswith("Voorbij: oproep voor Kerkstraat 12, Veghel, za 21 sep 20:00")
    assert last.explanation.startswith("Signaal volgt deze oproep niet meer: de aangekondigde tijd is")
    assert last.updated_at > morning.updated_at and last.revision == morning.revision + 1
    assert (last.id, last.severity) == (morning.id, morning.severity)
    assert last.post_count == len(call) + len(aftermath)  # everything the call gathered, up to its end
    assert {a.details["state"] for a in alerts[:-1]} == {"open"}
    # Ended is ended: the stream going on brings no further revision.
    d = detector(playbooks)
    run(d, [*call, *aftermath, later])
    assert run(d, [stream.post("Weer een mooie dag", PARTY + timedelta(days=3))]) == []


def test_it_tells_which_posts_pass_its_call_on(enricher: Enricher, playbooks: PlaybookSet) -> None:
    stream = Stream(enricher)
    call = viral_call(stream, invitation=INVITATION + " #feestveghel")
    root = call[0]
    later = MONDAY_NOON + timedelta(hours=30)
    quote = stream.post("Dit wordt episch", later, quote_of=root.id)
    reply = stream.post("Is dit echt?", later, reply_to=root.id)
    party_talk = stream.post("Al 3.000 aanmeldingen voor het feest in Veghel #feestveghel", later)
    travel = stream.post("Wij komen met 50 man uit Zwolle #feestveghel", later)
    # The call's tag alone, and answers to such a post, are what rumours of the night look like.
    tagged = stream.post("De burgemeester sluit alle wegen naar Veghel af #feestveghel", later)
    answer = stream.post("Klopt het dat ze het dorp afsluiten?", later, reply_to=tagged.id)
    party_answer = stream.post("Dan wordt het feest alleen maar groter", later, reply_to=tagged.id)
    elsewhere = stream.post("Wat een mooie dag in Veghel", later)
    d = detector(playbooks)
    run(d, [*call, quote, reply, party_talk, travel, tagged, answer, party_answer, elsewhere])
    # An answer in the lexicon's own words is party talk, whatever it answers.
    assert all(d.passes_on(p.key) for p in (root, call[1], quote, reply, party_talk, travel, party_answer))
    assert not any(d.passes_on(p.key) for p in (tagged, answer, elsewhere))
    # The tagged post and its answer are in the call all the same, as members that do not pass it on.
    assert d.state_size()["tracked_posts"] == len(call) + 7
    # Once the call has ended, none of its posts is in a call any more.
    run(d, [stream.post("Wat een mooie dag", PARTY + timedelta(days=3))])
    assert not d.passes_on(root.key) and not d.passes_on(quote.key)


def test_a_call_that_alerts_and_ends_in_one_batch_sends_its_alert_before_its_end(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    # A backlog caught up in one batch: the alert and its end in the same batch, the end standing on all.
    stream = Stream(enricher)
    call = viral_call(stream)
    posts = [*call, stream.post("Wat een mooie dag", PARTY + timedelta(days=2))]
    alerts = run(detector(playbooks), posts, batch=100_000)
    assert [(a.revision, a.details["state"]) for a in alerts] == [(1, "open"), (2, "closed")]
    opened, closed = alerts
    assert closed.severity == opened.severity and closed.post_count == opened.post_count == len(call)


def test_a_call_that_never_alerted_ends_without_an_alert(enricher: Enricher, playbooks: PlaybookSet) -> None:
    stream = Stream(enricher)
    root = stream.post(INVITATION, MONDAY_NOON)
    posts = [root, stream.post("Wat een mooie dag", PARTY + timedelta(days=3))]
    assert run(detector(playbooks), posts) == []


def test_reposts_of_an_invitation_that_names_fireworks_are_no_escalation(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    # Each repost of "... Neem vuurwerk mee" counted as an escalation post (and, near the start, as a scene
    # report): the call went critical on reposts alone.
    stream = Stream(enricher)
    plain = run(detector(playbooks), viral_call(stream, hours=45))
    invitation = INVITATION + " Neem vuurwerk mee"
    fireworks = run(detector(playbooks), viral_call(stream, hours=45, invitation=invitation))
    assert fireworks[-1].details["escalation_posts"] == 1  # the invitation itself
    assert fireworks[-1].severity.rank <= plain[-1].severity.rank + 1


def test_playbook_overrides_and_lexicons_are_used(playbooks: PlaybookSet) -> None:
    assert (
        detector(playbooks).settings.min_reshares
        == playbooks.settings_for(AlertKind.MOBILISATION)["min_reshares"]
    )
    projectx = playbooks.get("projectx")
    assert projectx is not None
    broken = projectx.model_copy(update={"detector_settings": {AlertKind.MOBILISATION: {"min_reshare": 3}}})
    with pytest.raises(PlaybookError, match="min_reshare"):
        MobilisationDetector(MobilisationSettings(), PlaybookSet([broken]))
    mute = projectx.model_copy(update={"lexicons": {Lexicon.ESCALATION: ("rellen",)}})
    with pytest.raises(PlaybookError, match="invitation"):
        MobilisationDetector(MobilisationSettings(), PlaybookSet([mute]))


# --- look-alikes ----------------------------------------------------------------------------------------


def test_quiet_on_an_official_event_announced_twice(enricher: Enricher, playbooks: PlaybookSet) -> None:
    # A braderie announced on Friday and again on the day, each time reposted by 150 people within three
    # hours: as big as a call going viral, but in two bursts, and nobody travels in.
    stream = Stream(enricher)
    friday = datetime(2024, 9, 20, 9, 30, tzinfo=LOCAL)
    first = stream.post(
        "Zaterdag 21 september is de braderie in het centrum van Veghel, van 10:00 tot 17:00. Iedereen is "
        "welkom! Kom allemaal langs",
        friday,
        author="p_gemeente",
    )
    reminder = stream.post(
        "Vandaag is de braderie in Veghel, tot 17:00. Iedereen is welkom!",
        friday + timedelta(hours=23, minutes=15),
        author="p_gemeente",
    )
    posts = [first, reminder]
    for announcement in (first, reminder):
        times = (announcement.created_at + timedelta(seconds=30 + 70 * i) for i in range(150))
        posts += stream.reposts(announcement, times)
    alerts = run(detector(playbooks), posts)
    assert alerts == []


def test_quiet_on_a_private_party_mentioned_once(enricher: Enricher, playbooks: PlaybookSet) -> None:
    stream = Stream(enricher)
    d = detector(playbooks)
    party = stream.post("Feestje bij ons thuis vanavond, buren zijn gewaarschuwd 😅", MONDAY_NOON)
    replies = [
        stream.post("Gezellig!", MONDAY_NOON + timedelta(minutes=i), reply_to=party.id) for i in (5, 9)
    ]
    assert run(d, [party, *replies]) == []
    assert d.state_size()["cascades"] == 0, "no place, so not even a candidate"


@pytest.fixture(scope="module")
def busy_town(enricher: Enricher) -> tuple[list[Post], dict[str, set[str]]]:
    """Ten times the ordinary chatter of the default scenario, with its look-alikes and without the call."""
    scenario = generate("Zwolle", seed=11, days_before=5, base_rate_per_day=3000)
    kinds = scenario.truth.kinds
    lookalikes = {look.kind: set(look.post_ids) for look in scenario.truth.lookalikes}
    keep = [r for r in scenario.records if kinds[r["id"]] in ("background", "lookalike")]
    return [enricher(Post.model_validate(r)) for r in keep], lookalikes


@pytest.mark.parametrize("kind", ["municipal_event", "private_party", "church_bazaar", "football_match"])
def test_quiet_on_each_lookalike_in_a_busy_town(
    busy_town: tuple[list[Post], dict[str, set[str]]], playbooks: PlaybookSet, kind: str
) -> None:
    posts, lookalikes = busy_town
    others = {pid for k, ids in lookalikes.items() if k != kind for pid in ids}
    stream = [p for p in posts if p.id not in others]
    assert sum(p.id in lookalikes[kind] for p in stream) >= (1 if kind == "private_party" else 10)
    assert run(detector(playbooks), stream, batch=500) == []


def test_hashtag_used_by_two_calls_is_claimed_by_neither(enricher: Enricher, playbooks: PlaybookSet) -> None:
    stream = Stream(enricher)
    d = detector(playbooks)
    a = stream.post("Feest zaterdag 20:00 in Veghel, iedereen welkom #weekend", MONDAY_NOON)
    run(d, [a])
    assert d.state_size()["hashtags"] == 1
    b = stream.post(
        "Party in Tilburg vrijdag om 22:00, kom allemaal #weekend", MONDAY_NOON + timedelta(hours=1)
    )
    run(d, [b])
    assert d.state_size()["hashtags"] == 0
    assert d.state_size()["shared_tags"] == 1
    assert d.state_size()["cascades"] == 2


# --- a whole generated incident --------------------------------------------------------------------------


def test_generated_project_x_is_warned_days_ahead_without_false_alarms(
    enricher: Enricher, playbooks: PlaybookSet
) -> None:
    scenario = generate("Haren", seed=42)
    truth = scenario.truth
    posts = [enricher(Post.model_validate(r)) for r in scenario.records]
    alerts = run(detector(playbooks), posts, batch=200)
    ids = Counter(a.id for a in alerts)
    assert list(ids) == [f"mobilisation:Haren:{truth.gathering.at.astimezone(LOCAL).date().isoformat()}"]
    first, last = alerts[0], alerts[-1]
    assert "Stationsweg, Haren" in first.title
    alerted_at = datetime.fromisoformat(first.details["alerted_at"])
    assert truth.gathering.at - alerted_at > timedelta(hours=48)
    assert truth.tipping_point_at is not None and alerted_at < truth.tipping_point_at
    assert first.severity != Severity.CRITICAL
    assert last.severity == Severity.CRITICAL
    members = {key.split(":", 1)[1] for key in last.member_ids}
    assert truth.invitation_post_id in members
    incident = sum(truth.kinds[m].split(":")[0] in ("invitation", "cascade", "official") for m in members)
    assert incident / len(members) > 0.9


# --- bounded state --------------------------------------------------------------------------------------


def test_state_stays_bounded_as_unrelated_invitations_come_and_go(
    enricher: Enricher, lexicons_only: PlaybookSet
) -> None:
    towns = [p.name for p in gazetteer.places()[:120]]
    stream = Stream(enricher)
    d = detector(lexicons_only, max_cascades=40, max_tracked_posts=300)
    at = MONDAY_NOON
    peak = Counter[str]()
    for n in range(600):
        at += timedelta(minutes=10)
        town = towns[n % len(towns)]
        call = stream.post(f"Feest in {town} morgen om 21:00, iedereen welkom!", at)
        batch = [call, *stream.reposts(call, (at + timedelta(seconds=s) for s in (10, 20, 30)))]
        run(d, batch)
        for name, value in d.state_size().items():
            peak[name] = max(peak[name], value)
    # A sweep runs every 15 minutes of event time; in between a few new calls may come in.
    assert peak["cascades"] <= 40 + 2
    assert peak["tracked_posts"] <= 300
    assert peak["member_order"] <= 300
    # A week later all of them have passed their time: nothing is left but the caches.
    run(d, [stream.post("Wat een mooie dag", at + timedelta(days=7))])
    size = d.state_size()
    assert size["cascades"] == size["locations"] == size["hashtags"] == size["scene"] == 0
    assert size["tracked_posts"] == size["member_order"] == 0


def test_geotagged_outsider_counts_reposter_does_not(enricher: Enricher, lexicons_only: PlaybookSet) -> None:
    stream = Stream(enricher)
    root = stream.post(INVITATION, MONDAY_NOON)
    zwolle = gazetteer.find("Zwolle")
    assert zwolle is not None
    quote = stream.post(
        "Wie gaat er zaterdag?? #veghelfeest",
        MONDAY_NOON + timedelta(hours=1),
        quote_of=root.id,
        coordinates=Coordinates(lat=zwolle.lat, lon=zwolle.lon),
    )
    travel = stream.post("Met de trein vanuit Zwolle naar Veghel!", MONDAY_NOON + timedelta(hours=2))
    repost_of_travel = stream.post(travel.text, MONDAY_NOON + timedelta(hours=3), repost_of=travel.id)
    d = detector(
        lexicons_only,
        min_reshares=1,
        min_authors=1,
        min_outside_authors=1,
        min_acceleration=0,
        min_rate_per_hour=0,
    )
    alerts = run(d, [root, quote, travel, repost_of_travel])
    assert alerts[-1].details["outside_authors"] == 1, "the quote from Zwolle; travel post has no day"
    later = stream.post("Met de trein vanuit Zwolle naar Veghel zaterdag!", MONDAY_NOON + timedelta(hours=4))
    again = stream.post(later.text, MONDAY_NOON + timedelta(hours=5), repost_of=later.id)
    alerts = run(d, [later, again])
    assert alerts[-1].details["outside_authors"] == 2
    assert alerts[-1].details["outside_from"] == {"Zwolle": 2}
