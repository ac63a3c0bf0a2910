from __future__ import annotations

from datetime import timedelta

from app.db.repository import AlertQuery, PostQuery, Store
from app.pipeline.alerts import Alert, AlertKind, Severity
from streams.deadletter import DeadLetter
from tests.factories import T0, make_post


def test_a_post_is_stored_once_however_often_it_arrives(store: Store) -> None:
    posts = [make_post(), make_post(), make_post()]
    assert store.add_posts(posts) == posts
    assert store.add_posts(posts) == []
    same_id_twice_in_one_batch = [make_post(id="dup"), make_post(id="dup")]
    assert len(store.add_posts(same_id_twice_in_one_batch)) == 1
    assert store.count_posts() == 4


def test_the_same_id_on_another_platform_is_another_post(store: Store) -> None:
    assert len(store.add_posts([make_post(id="1", platform="a"), make_post(id="1", platform="b")])) == 2


def test_posts_come_back_as_stored_with_utc_times(store: Store) -> None:
    original = make_post(lat=53.17, lon=6.6, places=("Haren",), area="Haren", reply_to="x", lang="nl")
    store.add_posts([original])
    total, [back] = store.find_posts(PostQuery())
    assert total == 1
    assert back == original
    assert back.created_at.utcoffset() == timedelta(0)


def test_text_that_means_something_to_the_storage_format_comes_back_unchanged(store: Store) -> None:
    # PostgreSQL takes posts by COPY, whose text format gives tabs, newlines, backslashes and \N a meaning.
    awkward = "tab\there\nnew line \\N \\. back\\slash 'quote' \"dq\" \u202eRTL 🔥 \r\x01"
    original = make_post(text=awkward, places=('Den "Helder"', "a\tb"), area="Ede\n", url="https://x/\\")
    known, first, last = make_post(), make_post(), make_post()
    store.add_posts([known])
    assert store.add_posts([first, known, original, last]) == [first, original, last]
    total, posts = store.find_posts(PostQuery(text="tab"))
    assert (total, posts) == (1, [original])


def test_filters_by_time_box_text_and_area_and_pages_newest_first(store: Store) -> None:
    early = make_post(created_at=T0, text="rustig in het dorp")
    in_haren = make_post(created_at=T0 + timedelta(hours=1), lat=53.17, lon=6.61, area="Haren", text="Feest!")
    in_amsterdam = make_post(created_at=T0 + timedelta(hours=2), lat=52.37, lon=4.89, text="100% zeker_")
    store.add_posts([early, in_haren, in_amsterdam])

    assert store.find_posts(PostQuery(since=T0 + timedelta(minutes=30)))[0] == 2
    assert store.find_posts(PostQuery(until=T0 + timedelta(minutes=30)))[1] == [early]
    assert store.find_posts(PostQuery(bbox=(6.5, 53.1, 6.7, 53.2)))[1] == [in_haren]
    assert store.find_posts(PostQuery(text="FEEST"))[1] == [in_haren]
    # LIKE wildcards in the search text are literal characters
    assert store.find_posts(PostQuery(text="0% z"))[1] == [in_amsterdam]
    assert store.find_posts(PostQuery(text="_"))[1] == [in_amsterdam]
    assert store.find_posts(PostQuery(area="Haren"))[1] == [in_haren]
    total, page = store.find_posts(PostQuery(limit=2))
    assert total == 3
    assert page == [in_amsterdam, in_haren]
    assert store.find_posts(PostQuery(limit=2, offset=2))[1] == [early]


def test_volume_counts_per_bucket_and_area(store: Store) -> None:
    store.add_posts(
        [
            make_post(created_at=T0 + timedelta(seconds=5), area="Haren"),
            make_post(created_at=T0 + timedelta(seconds=59), area="Haren"),
            make_post(created_at=T0 + timedelta(seconds=61), area="Groningen"),
            make_post(created_at=T0 + timedelta(minutes=10)),
        ]
    )
    points, areas = store.volume(PostQuery(), bucket_seconds=60)
    assert points == [(T0, 2), (T0 + timedelta(minutes=1), 1), (T0 + timedelta(minutes=10), 1)]
    assert areas == [("Haren", 2), ("Groningen", 1)]
    points, _ = store.volume(PostQuery(since=T0 + timedelta(minutes=1)), bucket_seconds=3600)
    assert points == [(T0, 2)]


def test_dead_letters_are_kept_once_per_source_and_bytes(store: Store) -> None:
    broken = DeadLetter.of(b"{not json", "not JSON", "file.jsonl:3")
    assert store.add_dead_letters([broken, broken]) == 1
    assert store.add_dead_letters([DeadLetter.of(b"{not json", "not JSON", "file.jsonl:3")]) == 0
    assert store.add_dead_letters([DeadLetter.of(b"{not json", "not JSON", "file.jsonl:4")]) == 1
    total, rows = store.dead_letters(limit=10, offset=0)
    assert total == 2
    assert {row.source for row in rows} == {"file.jsonl:3", "file.jsonl:4"}


def test_a_huge_dead_letter_is_cut_but_measured(store: Store) -> None:
    huge = b"x" * 5_000_000
    store.add_dead_letters([DeadLetter.of(huge, "too large", "ingest:1")])
    _, [row] = store.dead_letters(limit=1, offset=0)
    assert row.raw_bytes == 5_000_000
    assert len(row.raw) == 64 * 1024


def _alert(
    revision: int, count: int, kind: AlertKind = AlertKind.SPIKE, alert_id: str = "spike:area:Haren:1"
):
    return Alert(
        id=alert_id,
        kind=kind,
        severity=Severity.MEDIUM if revision < 3 else Severity.HIGH,
        title=f"{count} posts",
        explanation="more than expected",
        area="Haren",
        first_seen=T0,
        updated_at=T0 + timedelta(minutes=revision),
        post_count=count,
        revision=revision,
        detected_at=T0 + timedelta(minutes=1),
    )


def test_alerts_keep_their_latest_revision_and_full_history(store: Store) -> None:
    store.save_alerts([_alert(1, 10)])
    store.save_alerts([_alert(2, 20), _alert(3, 30)])
    store.save_alerts([_alert(2, 20)])  # a late, older revision changes nothing
    latest = store.get_alert("spike:area:Haren:1")
    assert latest is not None
    assert (latest.revision, latest.post_count, latest.severity) == (3, 30, Severity.HIGH)
    assert latest.detected_at == T0 + timedelta(minutes=1)
    assert [a.revision for a in store.alert_history("spike:area:Haren:1")] == [1, 2, 3]

    # A restarted detector counts from 1 again: its later updates become the next revisions, not nothing.
    after_restart = _alert(1, 4).model_copy(update={"updated_at": T0 + timedelta(hours=1)})
    [stored] = store.save_alerts([after_restart])
    assert (stored.revision, stored.post_count) == (4, 4)
    assert store.save_alerts([after_restart]) == []  # the same update again: nothing new
    assert store.save_alerts([_alert(2, 20)]) == []  # nor is a late older revision
    latest = store.get_alert("spike:area:Haren:1")
    assert latest is not None and (latest.revision, latest.post_count) == (4, 4)
    assert [a.revision for a in store.alert_history("spike:area:Haren:1")] == [1, 2, 3, 4]

    store.save_alerts([_alert(1, 5, AlertKind.RUMOUR, "rumour:abc")])
    assert store.find_alerts(AlertQuery())[0] == 2
    total, [rumour] = store.find_alerts(AlertQuery(kind=AlertKind.RUMOUR))
    assert (total, rumour.id) == (1, "rumour:abc")
    assert store.get_alert("nope") is None
