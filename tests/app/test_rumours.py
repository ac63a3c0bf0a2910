"""The rumour detector: claim clustering, rumour cases, stance counts, bounded state and the MinHash maths."""

from __future__ import annotations

import gc
import itertools
import tracemalloc
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from app.pipeline import wording
from app.pipeline.alerts import Alert, AlertKind
from app.pipeline.claims import (
    MinHasher,
    content_tokens,
    reference_band_keys,
    reference_signature,
    reference_word_hash,
    topic_tags,
)
from app.pipeline.rumour_model import N_DENSE, LinearModel, RumourModel
from app.pipeline.rumours import RumourDetector, RumourSettings, stance_of
from app.pipeline.signals import STANCES, cues, stance, tokens
from app.playbooks import Playbook, PlaybookSet
from streams.post import Post

T0 = datetime(2024, 9, 21, 21, 0, tzinfo=UTC)
_ids = count(1)


def post(text: str, *, minute: float = 0.0, author: str | None = None, **fields: Any) -> Post:
    number = next(_ids)
    return Post(
        platform="test",
        id=f"p{number}",
        author=author or f"p_author{number}",
        created_at=T0 + timedelta(minutes=minute),
        text=text,
        **fields,
    )


def playbooks(**lexicons: tuple[str, ...]) -> PlaybookSet:
    return PlaybookSet(
        [
            Playbook(
                id="test",
                title={"nl": "t", "en": "t"},
                description={"nl": "t", "en": "t"},
                triggers=[{"detector": "rumour"}],
                lexicons=lexicons,
                advice=[{"nl": "a", "en": "a"}],
                templates=[{"id": "t", "channel": "social", "nl": "t", "en": "t"}],
            )
        ]
    )


def detector(model: RumourModel | None = None, **settings: Any) -> RumourDetector:
    return RumourDetector(RumourSettings(**settings), playbooks(), model)


def constant_model(probability: float) -> RumourModel:
    """A real (file-format) linear model that gives every post the same probability."""
    logit = float(np.log(probability / (1 - probability)))
    return RumourModel(
        LinearModel(
            classes=("rumour",), text_weights=({},), dense_weights=((0.0,) * N_DENSE,), intercepts=(logit,)
        )
    )


def renamed(posts: list[Post]) -> list[Post]:
    """The same posts under new ids, links included, for a second detector run."""
    links = ("reply_to", "repost_of", "quote_of")
    return [
        p.model_copy(update={"id": p.id + "b", **{k: getattr(p, k) + "b" for k in links if getattr(p, k)}})
        for p in posts
    ]


def claim_of(det: RumourDetector, p: Post) -> str:
    label = det.labels(p.key)
    assert label is not None
    return label.claim_id


# -- MinHash -----------------------------------------------------------------------------------------------


def test_vectorised_signatures_equal_the_slow_reference() -> None:
    hasher = MinHasher(bands=16, rows=2)
    texts = [
        "Er is iemand doodgestoken bij de Rijksstraatweg!!",
        "Naar verluidt is er iemand doodgestoken bij de Rijksstraatweg",
        "Gunman spotted near Parliament Hill, police say, stay away from downtown Ottawa",
        "een twee drie",
        "woord woord woord woord",  # repeated words: one shingle set, same minimum
        "Ze sturen het leger naar Haren 😳 geëvacueerd #projectxharen",  # non-ASCII bytes
        "a" * 300 + " kort",  # a word longer than any before grows the table of powers
    ]
    words = [content_tokens(tokens(t)) for t in texts]
    assert all(len(w) >= 2 for w in words)
    rows = [b" ".join(w) for w in words]
    hashes, counts = hasher.word_hashes(rows)
    assert counts.tolist() == [len(w) for w in words]
    assert hashes.tolist() == [reference_word_hash(x) for w in words for x in w]
    vectorised = hasher.signatures(rows)
    keys = hasher.band_keys(vectorised)
    assert vectorised.shape == (len(texts), 32) and vectorised.dtype == np.uint32
    for i, w in enumerate(words):
        expected = reference_signature(hasher, w)
        assert vectorised[i].tolist() == expected
        assert keys[i].tolist() == reference_band_keys(hasher, expected)
    # A batch is the sum of its posts: the same post alone gets the same signature.
    assert (hasher.signatures(rows[2:3]) == vectorised[2]).all()


def test_signature_estimates_jaccard_similarity() -> None:
    hasher = MinHasher(bands=32, rows=4)  # 128 values, for a tight estimate
    a = [f"w{i}".encode() for i in range(40)]
    b = a[:30] + [f"x{i}".encode() for i in range(10)]
    sigs = hasher.signatures([b" ".join(a), b" ".join(b), b" ".join(a)])
    shingles = [set(a) | set(itertools.pairwise(a)), set(b) | set(itertools.pairwise(b))]
    jaccard = len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])
    estimate = float((sigs[0] == sigs[1]).mean())
    assert abs(estimate - jaccard) < 0.12
    assert (sigs[0] == sigs[2]).all()


def test_normalisation_drops_links_handles_and_topic_tags() -> None:
    text = "RT @nieuws: Leger ingezet in Haren https://t.co/abc #breaking nu #projectxharen #haren"
    words = content_tokens(tokens(text), topic_tags(text))
    assert words == [b"leger", b"ingezet", b"breaking", b"nu"]


# -- clustering --------------------------------------------------------------------------------------------


def test_paraphrases_cluster_and_different_claims_stay_apart() -> None:
    det = detector()
    claim = post("Er is iemand doodgestoken bij de Rijksstraatweg in Haren!!")
    paraphrases = [
        post("Naar verluidt is er iemand doodgestoken bij de Rijksstraatweg in Haren", minute=1),
        post("RT @x: er is iemand doodgestoken bij de rijksstraatweg in Haren https://t.co/1", minute=2),
        post("Er is iemand doodgestoken bij de Rijksstraatweg in Haren 😢 #projectxharen", minute=3),
    ]
    others = [
        post("De burgemeester heeft het leger ingeschakeld in Haren", minute=4),
        post("Wat een regenweer in Haren vandaag, de Rijksstraatweg staat blank", minute=5),
        post("Brand in een schuur aan de Kerklaan, brandweer is ter plaatse", minute=6),
    ]
    det.observe([claim, *paraphrases, *others])
    assert {claim_of(det, p) for p in paraphrases} == {claim_of(det, claim)}
    assert len({claim_of(det, p) for p in [claim, *others]}) == 4


def test_paraphrases_in_later_batches_find_the_claim() -> None:
    det = detector()
    first = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament")
    det.observe([first])
    later = post("Reportedly a gunman seen near the war memorial in Ottawa, shots fired", minute=20)
    det.observe([later])
    assert claim_of(det, later) == claim_of(det, first)


def test_reposts_quotes_and_replies_join_their_parent_directly() -> None:
    det = detector()
    original = post("Leger onderweg naar Haren")  # too short to be matched by its words
    repost = post("", repost_of=original.id, minute=1)
    quote = post("Klopt dit?", quote_of=original.id, minute=2)
    reply = post("Bron?", reply_to=original.id, minute=3)
    reply_to_reply = post("Ja, wat is de bron?", reply_to=reply.id, minute=4)
    det.observe([original, repost])
    det.observe([quote, reply, reply_to_reply])
    claim = claim_of(det, original)
    labels = {p.key: det.labels(p.key) for p in (repost, quote, reply, reply_to_reply)}
    assert all(label is not None and label.claim_id == claim for label in labels.values())
    assert [labels[p.key].role for p in (repost, quote, reply)] == ["repost", "quote", "reaction"]  # type: ignore[union-attr]


def test_reposts_of_an_unseen_original_form_one_claim() -> None:
    det = detector()
    reposts = [
        post(f"RT @bron: Schoten gelost bij station {i}", repost_of="unseen", minute=i) for i in range(3)
    ]
    det.observe(reposts)
    assert len({claim_of(det, p) for p in reposts}) == 1


def test_reactions_handled_before_their_post_join_its_claim_when_it_comes() -> None:
    # Kafka keeps order per partition only: under backlog a reply can be processed batches before the post
    # it answers. The case must come out the same as in order.
    def run(order: str) -> tuple[list[Alert], RumourDetector, list[Post]]:
        det = detector()
        claim = post("Tijger ontsnapt uit het dierenpark bij Tiel, blijf binnen", author="a0")
        reposts = [post("", repost_of=claim.id, author=f"r{i}", minute=1 + i) for i in range(4)]
        question = post("Klopt dit??", reply_to=claim.id, author="q", minute=0.5)
        quote = post("Is dit waar?", quote_of=claim.id, author="q2", minute=0.6)
        later = [post("", repost_of=claim.id, author=f"s{i}", minute=6 + i) for i in range(4)]
        batches = [[claim], [question, quote], reposts, later]
        if order == "reactions first":
            batches = [[question, quote], [claim], reposts, later]
        alerts = [alert for batch in batches for alert in det.observe(batch)]
        return alerts, det, [claim, question, quote, *reposts, *later]

    in_order, _, _ = run("in order")
    early, det, posts = run("reactions first")
    assert in_order and early, "no rumour case"
    first, last = early[0], early[-1]
    assert last.id == f"rumour:{posts[0].key}"
    assert last.post_count == len(posts) == in_order[-1].post_count
    assert last.details["stance"] == in_order[-1].details["stance"]
    assert last.details["stance"]["query"] == 2
    assert {det.labels(p.key).role for p in posts[1:3]} == {"reaction", "quote"}  # type: ignore[union-attr]
    assert len({claim_of(det, p) for p in posts}) == 1
    assert first.revision == 1


def test_a_worded_question_handled_before_its_post_still_counts_as_a_question_about_it() -> None:
    # "Iemand die weet of dit klopt??" has words of its own; under backlog it made a lone claim, and the
    # rumour it asks about never got its question (a soak's burst rumour went without an alert).
    def run(question_first: bool) -> tuple[RumourDetector, Post, Post]:
        det = detector()
        claim = post("Basisschool aan de Dorpsstraat in Meppel ontruimd vanwege een bommelding", author="a0")
        question = post("Iemand die weet of dit klopt??", reply_to=claim.id, author="q", minute=0.5)
        reposts = [post(claim.text, repost_of=claim.id, author=f"r{i}", minute=1 + i) for i in range(6)]
        batches = [[claim], [question], reposts[:3], reposts[3:]]
        if question_first:
            batches = [[question], reposts[:3], [claim], reposts[3:]]
        for batch in batches:
            det.observe(batch)
        return det, claim, question

    det, claim, question = run(question_first=True)
    in_order, _, question_in_order = run(question_first=False)
    assert claim_of(det, question) == claim_of(det, claim)
    label, expected = det.labels(question.key), in_order.labels(question_in_order.key)
    assert label is not None and expected is not None
    assert (label.role, label.stance) == (expected.role, expected.stance) == ("reaction", "query")
    assert label.rumour_score == expected.rumour_score


def test_a_question_handled_after_later_reposts_makes_the_case_it_makes_in_order() -> None:
    # Under backlog Kafka interleaves partitions unevenly: a question can be handled after reposts posted
    # later than it. One question among five posts contests a claim; among ten it does not. A soak's
    # rumour went without an alert for this; the case must not depend on the interleaving.
    def run(question_minute: float, backlog: bool) -> list[Alert]:
        det = detector(constant_model(0.29))
        claim = post("Gifwolk boven Veghel na een explosie bij de fabriek aan de Dorpsstraat", author="a0")
        early = [post("", repost_of=claim.id, author=f"r{i}", minute=1 + i) for i in range(3)]
        late = [post("", repost_of=claim.id, author=f"s{i}", minute=5 + i) for i in range(5)]
        question = post("Is dit waar?", reply_to=claim.id, author="q", minute=question_minute)
        posts = sorted([claim, *early, question, *late], key=lambda p: p.created_at)
        batches = [[claim, *early], late, [question]] if backlog else [[p] for p in posts]
        return [alert for batch in batches for alert in det.observe(batch)]

    in_order, backlog = run(4, backlog=False), run(4, backlog=True)
    assert in_order and backlog, "no rumour case"
    assert (
        backlog[-1].details["alerted_at"]
        == in_order[-1].details["alerted_at"]
        == (T0 + timedelta(minutes=4)).isoformat()
    )
    assert backlog[-1].post_count == in_order[-1].post_count == 10
    # The same question after all the reposts contests nothing, in whatever order it comes.
    assert run(10, backlog=False) == run(10, backlog=True) == []


def test_a_reaction_whose_post_never_comes_stays_a_post_of_its_own() -> None:
    det = detector()
    question = post("Klopt dit??", reply_to="never-seen")
    other = post("Er is brand in de Martinitoren in Groningen, veel rook", minute=1)
    det.observe([question])
    det.observe([other])
    assert claim_of(det, question) != claim_of(det, other)
    assert det.labels(question.key).claim_id is not None  # type: ignore[union-attr]


def test_reactions_waiting_for_unseen_posts_are_bounded() -> None:
    from app.pipeline import rumours

    det = detector()
    replies = [
        post("Klopt dit??", reply_to=f"never-{i}", minute=i / 1000) for i in range(rumours._MAX_ORPHANS + 50)
    ]
    for i in range(0, len(replies), 1000):
        det.observe(replies[i : i + 1000])
    waiting = sum(len(v) for v in (*det._orphans.current.values(), *det._orphans.previous.values()))
    assert waiting == rumours._MAX_ORPHANS


def test_a_reply_is_a_reaction_not_a_claim_carrier() -> None:
    det = detector()
    claim = post("Er zijn gewonden gevallen bij de schietpartij op het Stationsplein")
    reply = post(
        "Er zijn gewonden gevallen bij de schietpartij op het Stationsplein? Bron?", reply_to=claim.id
    )
    det.observe([claim, reply])
    # The reply repeats the claim's words but it must not become a second anchor of it.
    twin = post("Er zijn gewonden gevallen bij de schietpartij op het Stationsplein?? Bron??", minute=5)
    det.observe([twin])
    assert det.labels(reply.key).role == "reaction"  # type: ignore[union-attr]
    assert claim_of(det, twin) == claim_of(det, claim)


# -- rumour cases ------------------------------------------------------------------------------------------


def spreading_rumour(minutes: int = 30) -> list[Post]:
    """A hedged claim retold and questioned by many accounts over ``minutes``."""
    variants = (
        "Naar verluidt is er iemand doodgestoken bij de Rijksstraatweg in Haren",
        "Er is schijnbaar iemand doodgestoken bij de Rijksstraatweg in Haren",
        "Naar verluidt iemand doodgestoken bij de Rijksstraatweg in Haren 😢",
    )
    posts = [post(variants[0], minute=0, area="Groningen")]
    for m in range(1, minutes):
        kind = m % 3
        if kind == 0:
            posts.append(post(variants[m % len(variants)], minute=m, area="Groningen"))
        elif kind == 1:
            posts.append(post("", repost_of=posts[0].id, minute=m))
        else:
            posts.append(post("Klopt dit? Is dit echt waar?", reply_to=posts[0].id, minute=m))
    return posts


def rumour_alerts(alerts: list[Alert]) -> list[Alert]:
    assert all(a.kind == AlertKind.RUMOUR for a in alerts)
    return alerts


def test_a_spreading_hedged_questioned_claim_becomes_a_case() -> None:
    det = detector()
    posts = spreading_rumour()
    alerts = rumour_alerts([a for i in range(0, len(posts), 5) for a in det.observe(posts[i : i + 5])])
    assert alerts, "no rumour case"
    last = alerts[-1]
    assert last.id == f"rumour:{posts[0].key}"
    assert last.title.startswith("Naar verluidt is er iemand doodgestoken")
    assert last.area == "Groningen"
    assert last.post_count == len(posts)
    assert set(last.member_ids) == {p.key for p in posts}
    assert last.details["stance"]["query"] > 0 and last.details["components"]["hedged_share"] > 0.5
    assert last.details["score"] >= 0.5 and last.details["components"]["model"] is None
    # Said in Dutch, with the Amsterdam clock time of the first post.
    assert last.explanation.startswith(f"Een bewering verspreidt zich: {len(posts)} berichten")
    assert f"sinds {wording.day_and_time(posts[0].created_at)}," in last.explanation
    assert sum(last.details["spread"].values()) == len(posts)
    assert len(last.details["spread"]) == 3  # 30 minutes in 10-minute buckets
    assert det.labels(posts[-1].key).rumour  # type: ignore[union-attr]
    # A case fires when its thresholds are passed, not at the end.
    first = alerts[0]
    assert first.revision == 1 and first.post_count <= 10


def test_a_case_is_dated_by_the_post_that_made_it_one_however_big_the_batch() -> None:
    posts = spreading_rumour(60)
    alerts = detector().observe(posts)  # one batch spanning an hour
    assert len(alerts) == 1
    alerted_at = datetime.fromisoformat(alerts[0].details["alerted_at"])
    assert alerted_at in {p.created_at for p in posts[4:10]}
    assert alerts[0].updated_at == posts[-1].created_at


def test_updates_keep_the_id_and_raise_the_revision() -> None:
    det = detector(update_growth=0.0)
    posts = spreading_rumour(40)
    alerts = [a for i in range(0, len(posts), 4) for a in det.observe(posts[i : i + 4])]
    assert len({a.id for a in alerts}) == 1
    assert [a.revision for a in alerts] == list(range(1, len(alerts) + 1))
    assert len(alerts) > 3
    assert [a.post_count for a in alerts] == sorted(a.post_count for a in alerts)
    assert all(a.first_seen == posts[0].created_at for a in alerts)


def test_ordinary_chatter_and_news_repeated_once_do_not_fire() -> None:
    det = detector()
    chatter = [
        post(text, minute=i)
        for i, text in enumerate(
            [
                "Wat een regenweer in Haren vandaag",
                "File op de A28 richting Zwolle, weer eens",
                "Nieuwe bakker op de Kerkstraat is echt top",
                "Wie gaat er vanavond naar de film in Groningen?",
                "Anyone know a good dentist in Haren?",
            ]
            * 3  # the same lines from other accounts: repeated, yet nobody questions them
        )
    ]
    news = post("Gemeente Haren opent nieuw zwembad aan de Meerweg op 1 oktober")
    news_again = post("Gemeente Haren opent nieuw zwembad aan de Meerweg op 1 oktober 👍", minute=3)
    alerts = det.observe([*chatter, news, news_again])
    assert alerts == []
    assert not any(det.labels(p.key).rumour for p in [*chatter, news])  # type: ignore[union-attr]


def test_too_few_accounts_do_not_make_a_case() -> None:
    det = detector()
    posts = [
        p.model_copy(update={"author": "p_one" if i % 2 else "p_two"})
        for i, p in enumerate(spreading_rumour())
    ]
    assert det.observe(posts) == []


def test_stance_counts_include_denials() -> None:
    det = detector(update_growth=0.0)
    posts = spreading_rumour()
    det.observe(posts)
    denial = post(
        "Dit is nep, de politie zegt dat er niemand is doodgestoken", reply_to=posts[0].id, minute=31
    )
    denial_repost = post("", repost_of=denial.id, minute=32)
    alerts = det.observe([denial, denial_repost])
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.details["stance"]["deny"] == 2  # the denial and its repost
    assert alert.details["denied"] is True and alert.details["deny_share"] > 0
    assert alert.examples[-1].key == denial.key  # the first denial is shown
    assert det.labels(denial_repost.key).stance == "deny"  # type: ignore[union-attr]


def test_examples_show_the_first_and_the_most_shared_post() -> None:
    det = detector()
    posts = spreading_rumour(15)
    shared = post("Iemand doodgestoken bij de Rijksstraatweg in Haren, naar verluidt", minute=15)
    reposts = [post("", repost_of=shared.id, minute=16 + i) for i in range(6)]
    alerts = det.observe([*posts, shared, *reposts])
    assert [e.key for e in alerts[-1].examples[:2]] == [posts[0].key, shared.key]


def test_the_classifier_sets_the_prior_and_the_crowd_must_say_something() -> None:
    plain = [
        "Schoten gelost bij het station in Zwolle, meerdere gewonden",
        "Schoten gelost bij het station in Zwolle",
    ]
    posts = [post(plain[i % 2], minute=i) for i in range(6)]
    # Nobody questions, denies or hedges: no case by default, however sure the classifier is.
    assert detector(constant_model(0.95)).observe(posts) == []
    # Allowed to decide alone, a confident classifier makes it a case and a doubtful one does not.
    assert detector(constant_model(0.9), min_signals=0).observe(renamed(posts))
    assert detector(constant_model(0.1), min_signals=0).observe(renamed(renamed(posts))) == []
    # One "klopt dit?" under a claim the classifier finds likely is enough; under an unlikely one it is not.
    questioned = [*posts, post("Klopt dit?", reply_to=posts[0].id, minute=7)]
    likely = detector(constant_model(0.6)).observe(renamed(questioned))
    assert likely and likely[0].details["components"]["model"] == pytest.approx(0.6, abs=1e-6)
    assert detector(constant_model(0.05)).observe(renamed(renamed(questioned))) == []


def test_playbook_lexicons_add_cue_phrases() -> None:
    posts = [post("Er gaat een verhaal dat de dijk bij Kampen doorbreekt", minute=0)]
    posts += [
        post("Iemand die het weet van die dijk bij Kampen?", reply_to=posts[0].id, minute=m)
        for m in (1, 2, 3)
    ]
    posts += [post("", repost_of=posts[0].id, minute=m) for m in (4, 5)]
    assert RumourDetector(RumourSettings(), playbooks(), None).observe(posts) == []
    taught = RumourDetector(RumourSettings(), playbooks(enquiry=("iemand die het weet",)), None)
    alerts = taught.observe(renamed(posts))
    assert alerts and alerts[0].details["stance"]["query"] == 3


def test_stance_rules_match_the_signals_module() -> None:
    texts = [
        "Klopt dit?",
        "Dit is nep",
        "Is dit nep?",
        "Naar verluidt is de brug dicht",
        "Bevestigd door de politie",
        "Wat een mooi weer",
        "Is this true?",
        "That's not true, police denied it",
    ]
    for text in texts:
        c = cues(text)
        flags = (
            (1 if c.enquiry else 0)
            | (2 if c.denial else 0)
            | (4 if c.hedging else 0)
            | (8 if c.support else 0)
        )
        assert STANCES[stance_of(flags)] == stance(text), text


def test_settings_come_from_playbooks_and_reject_unknown_keys() -> None:
    assert RumourSettings(**PlaybookSet.load().settings_for(AlertKind.RUMOUR)).min_posts == 5
    with pytest.raises(ValidationError):
        RumourSettings(min_post=3)  # type: ignore[call-arg]


# -- bounded state -----------------------------------------------------------------------------------------


def test_rotation_drops_old_generations() -> None:
    det = detector(generation_minutes=60)
    old = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament", minute=0)
    det.observe([old])
    det.observe([post("Brand in een schuur aan de Kerklaan in Zwolle gemeld", minute=61)])
    # One rotation: the old generation is still looked up.
    again = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament!", minute=62)
    det.observe([again])
    assert claim_of(det, again) == claim_of(det, old)
    det.observe([post("Wat een regenweer in Zwolle vandaag zeg", minute=200)])
    # Two more rotations without the claim: its buckets, anchors and post links are gone.
    late = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament!!", minute=201)
    reply = post("Source?", reply_to=old.id, minute=202)
    det.observe([late, reply])
    assert claim_of(det, late) != claim_of(det, old)
    assert claim_of(det, reply) != claim_of(det, old)
    assert det.index.generation == 3


def test_an_active_claim_survives_rotation() -> None:
    det = detector(generation_minutes=60)
    first = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament", minute=0)
    det.observe([first])
    for hour in range(1, 6):
        det.observe([post("", repost_of=first.id, minute=hour * 60 - 5)])
    late = post("Gunman seen near the war memorial in Ottawa, shots fired at Parliament!!", minute=6 * 60 - 1)
    det.observe([late])
    assert claim_of(det, late) == claim_of(det, first)


def test_a_flood_rotates_early() -> None:
    det = detector(max_posts_per_generation=1_000)
    det.observe(
        [post(f"unique post number {i} about nothing in particular", minute=i / 1000) for i in range(2_500)]
    )
    assert det.index.generation == 2
    assert len(det._posts) <= 2_000


def unique_stream(n: int, start: int, minutes_per_post: float) -> list[Post]:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    return [
        post(
            f"{words[i % 10]} {words[(i // 10) % 10]} {words[(i // 100) % 10]} "
            f"item{i} thing{i * 7} place{i * 13}",
            minute=(start + i) * minutes_per_post,
        )
        for i in range(start, start + n)
    ]


def test_memory_does_not_grow_over_a_long_stream_of_unique_posts() -> None:
    # 1,000 posts per generation; every feed of 6,000 posts runs through six of them.
    det = detector(generation_minutes=20, label_memory=2_000)
    feeds = iter(range(0, 100_000, 6_000))

    def feed() -> None:
        stream = unique_stream(6_000, next(feeds), minutes_per_post=0.02)
        for i in range(0, len(stream), 500):
            det.observe(stream[i : i + 500])

    def settle() -> int:
        # The text cache is bounded by its entry count, far above this test's stream; emptying it
        # changes no result and leaves only the detector's state to measure.
        det._texts.clear()
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    feed()  # warm up: both generations full
    tracemalloc.start()
    feed()
    after_one = settle()
    feed()
    feed()
    after_three = settle()
    tracemalloc.stop()
    # 12,000 more posts: state stays at the size of two generations (slack for allocator noise).
    assert after_three < after_one * 1.1 + 500_000
    assert len(det._labels) == 2_000
    assert len(det._posts) <= 2_000 + 2
    assert len(det.index) <= 2 * 16 * 1_100  # two generations of ~1,000 anchored posts, 16 bands each


def test_an_official_denial_that_spreads_is_no_rumour_case() -> None:
    # The police's correction, retold and reposted by many: every carrier says "klopt niet", which for a
    # claim that something happened contests it, and for this claim is the claim itself.
    denial = (
        "Het bericht over een steekpartij bij de Rijksstraatweg in Haren klopt niet, er is niemand gewond"
    )
    retold = (denial, denial + " 🙏", "Let op: " + denial, denial + ". Stop met delen!")
    posts = [post(denial, minute=0, area="Groningen")]
    for m in range(1, 40):
        if m % 2:
            posts.append(post(retold[m % len(retold)], minute=m, area="Groningen"))
        else:
            posts.append(post("", repost_of=posts[0].id, minute=m))
    det = detector()
    assert [a for i in range(0, len(posts), 5) for a in det.observe(posts[i : i + 5])] == []
    # A claim of something that happened, called false by some who retell it, is still contested.
    claim = "Er is iemand neergestoken bij de Rijksstraatweg in Haren, politie is er"
    told = [post(claim, minute=0, area="Groningen")]
    for m in range(1, 40):
        text = claim + (" — maar dat is nep volgens mij" if m % 3 == 0 else " 😢")
        told.append(
            post(text, minute=m, area="Groningen") if m % 2 else post("", repost_of=told[0].id, minute=m)
        )
    other = detector()
    assert [a for i in range(0, len(told), 5) for a in other.observe(told[i : i + 5])]


def questioned(founder: str, minutes: int = 30) -> list[Post]:
    """A post retold, reposted and asked about ("Is dit echt?") by many, in one area."""
    posts = [post(founder, minute=0, area="Groningen")]
    for m in range(1, minutes):
        if m % 3 == 0:
            posts.append(post(founder + " 😂", minute=m, area="Groningen"))
        elif m % 3 == 1:
            posts.append(post("", repost_of=posts[0].id, minute=m))
        else:
            posts.append(post("Is dit echt? Gaat dit nog door??", reply_to=posts[0].id, minute=m))
    return posts


INVITE_LEXICON = ("feest", "iedereen welkom", "project x")


def test_a_questioned_call_to_gather_is_left_to_the_mobilisation_detector() -> None:
    # "Is dit echt?" under an invitation asks whether the party is on: the Project X playbook's question,
    # followed by the mobilisation detector. As a rumour case it also crowded the rumour board.
    invitation = "Open feest in Haren zaterdag 20:00 bij de Stationsweg, iedereen welkom!"
    with_lexicon = playbooks(invitation=INVITE_LEXICON)

    def alerts(settings: RumourSettings, posts: list[Post]) -> list[Alert]:
        det = RumourDetector(settings, with_lexicon)
        return [a for i in range(0, len(posts), 5) for a in det.observe(posts[i : i + 5])]

    assert alerts(RumourSettings(), questioned(invitation)) == []
    # The same stream is a rumour case when calls are not left to the mobilisation detector, and when the
    # post names no day or time (then it is no call that the mobilisation detector follows).
    assert alerts(RumourSettings(calls_to_mobilisation=False), questioned(invitation))
    assert alerts(RumourSettings(), questioned("Open feest in Haren bij de Stationsweg, iedereen welkom!"))
    # A claim about an incident that happens to name the party and a time is a rumour like any other.
    assert alerts(RumourSettings(), questioned("Het leger komt zaterdag 20:00 naar het feest in Haren"))


def test_a_claim_that_passes_a_call_on_is_left_to_the_mobilisation_detector() -> None:
    # "Dit wordt episch", quoting an invitation from days ago that the rumour detector has long forgotten,
    # then asked about: the mobilisation detector knows it passes its call on.
    def alerts(founder: str, passes_on: bool, settings: RumourSettings | None = None) -> list[Alert]:
        posts = questioned(founder)
        det = RumourDetector(
            settings or RumourSettings(),
            playbooks(),
            passes_on_a_call=lambda key: passes_on and key == posts[0].key,
        )
        return [a for i in range(0, len(posts), 5) for a in det.observe(posts[i : i + 5])]

    assert alerts("Dit wordt episch", passes_on=True) == []
    # A post that does not pass a call on is a claim like any other; so is call talk that names an
    # incident, and everything when the playbook keeps calls as rumour candidates.
    assert alerts("Dit wordt episch", passes_on=False)
    assert alerts("Dit wordt episch, er is al iemand neergestoken", passes_on=True)
    assert alerts("Dit wordt episch", True, RumourSettings(calls_to_mobilisation=False))


def test_a_claim_that_a_call_is_off_can_still_be_a_rumour_case() -> None:
    denial = "Het feest in Haren zaterdag 20:00 gaat niet door, het is nep! Iedereen welkom was een grap"
    det = RumourDetector(RumourSettings(), playbooks(invitation=INVITE_LEXICON))
    posts = questioned(denial)
    assert rumour_alerts([a for i in range(0, len(posts), 5) for a in det.observe(posts[i : i + 5])])
