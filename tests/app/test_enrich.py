"""Enrichment: language guesses for a batch agree with py3langid's own, and place names are found in text
without everyday words that happen to be villages."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from app.pipeline import language
from app.pipeline.enrich import Enricher, nominatim_geocoder
from app.pipeline.language import LANGUAGES, MIN_CONFIDENCE, LanguageGuesser
from streams.post import Post
from streams.scenarios import projectx
from tests.scripted_http import Answer, scripted_server

SAMPLES = {
    "nl": "Er is een grote brand bij de fabriek, de brandweer is met veel wagens ter plaatse",
    "en": "There is a large fire near the factory and the fire brigade has arrived with many trucks",
    "de": "Es gibt einen großen Brand in der Fabrik und die Feuerwehr ist mit vielen Wagen vor Ort",
    "fr": "Il y a un grand incendie près de l'usine et les pompiers sont arrivés avec beaucoup de camions",
    "tr": "Fabrikanın yakınında büyük bir yangın var ve itfaiye birçok araçla geldi",
    "pl": "W pobliżu fabryki jest duży pożar, a straż pożarna przyjechała z wieloma wozami",
}


@pytest.fixture(scope="module")
def guesser() -> LanguageGuesser:
    return LanguageGuesser()


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _post(text: str, n: int = 0, lang: str | None = None) -> Post:
    return Post(platform="x", id=str(n), author="p_1", created_at=datetime.now(UTC), text=text, lang=lang)


def test_guesses_the_language_of_clear_sentences(guesser: LanguageGuesser) -> None:
    assert guesser.guess(list(SAMPLES.values())) == list(SAMPLES)


def test_texts_without_evidence_get_no_language(guesser: LanguageGuesser) -> None:
    assert guesser.guess(["😀😀", "123 456", "!!!"]) == [None, None, None]
    assert guesser.guess([]) == []


def test_a_batch_gives_what_each_text_gives_alone_and_what_py3langid_gives(guesser: LanguageGuesser) -> None:
    texts = [r["text"] for r in projectx.generate(town="Haren", seed=2, scale=0.2).records[:600]]
    texts += [*SAMPLES.values(), "HELP BRAND IN HAREN", "ok", "Klopt dit?? 😱", "a\udc80b"]
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(LANGUAGES))
    batch = guesser.guess(texts)
    near_threshold = 0
    for text, guess in zip(texts, batch, strict=True):
        lang, confidence = model.classify(text)
        if abs(confidence - MIN_CONFIDENCE) < 1e-4:
            near_threshold += 1  # float rounding may fall either way here
            continue
        assert guess == (lang if confidence >= MIN_CONFIDENCE else None), text
        assert guesser.guess([text]) == [guess]
    assert near_threshold < 3
    assert len(set(batch)) > 2  # the sample holds several answers, so a shifted row would show


# Texts that stress the byte-level tokeniser: over the lock-step cut-off, hostile lengths, no features at
# all, all capitals (lowered before tokenising), a lone surrogate (encoded with surrogatepass).
AWKWARD = [
    ("De brandweer is bij de fabriek in Haren en vraagt iedereen om ramen en deuren te sluiten. " * 14),
    "x" * 25_000,
    "",
    "😀🔥🤢",
    "HELP BRAND IN HAREN, IEDEREEN WEG BIJ DE FABRIEK",
    "wat is hier aan de hand \udc80 bij het station?",
    "Er is een grote brand bij de fabriek, de brandweer is ter plaatse " * 4,  # longer than the posts
]


def _lockstep_batch() -> list[str]:
    texts = [r["text"] for r in projectx.generate(town="Haren", seed=3, scale=0.2).records[:400]]
    return texts[:200] + AWKWARD + texts[200:]


def test_the_lockstep_tokeniser_finds_the_features_and_answers_of_the_per_text_loop(
    guesser: LanguageGuesser,
) -> None:
    texts = _lockstep_batch()
    data = [language._encode(text) for text in texts]
    lengths = np.array([len(d) for d in data])
    together, alone = guesser._plan(lengths)
    # Both paths are taken: the long texts alone, the posts (empty, emoji and capitals included) together.
    assert {texts.index(AWKWARD[0]), texts.index(AWKWARD[1])} <= set(alone)
    assert texts.index(AWKWARD[6]) in alone  # far longer than the rest: cheaper alone than 100 steps more
    assert len(together) > 300
    assert {texts.index(text) for text in AWKWARD[2:6]} <= set(together.tolist())
    # Feature by feature and count by count, in first-seen order, so the scores add up in the same order.
    lockstep = guesser._tokenise_together(data, lengths, together)
    per_text = guesser._tokenise_alone(data, together.tolist())
    for got, expected in zip(lockstep, per_text, strict=True):
        np.testing.assert_array_equal(got, expected)
    batch = guesser.guess(texts)
    assert batch == guesser._guess_one_at_a_time(texts)
    # In input order: each awkward text gets in the batch what it gets alone.
    assert batch[200 : 200 + len(AWKWARD)] == [guesser.guess([text])[0] for text in AWKWARD]
    assert {None, "nl"} <= set(batch[200 : 200 + len(AWKWARD)])


def test_the_lockstep_tokeniser_agrees_in_runs_and_on_featureless_batches(
    guesser: LanguageGuesser, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _lockstep_batch()
    expected = guesser._guess_one_at_a_time(texts)
    monkeypatch.setattr(language, "_LOCKSTEP_ROWS", 64)  # several runs of rows, with the same answers
    assert guesser.guess(texts) == expected
    assert guesser.guess([""] * 40) == [None] * 40
    # Lengths so spread that every text is cheaper alone: no lock-step rows at all.
    spread = [f"Brand in {town}! " * (i + 1) for i, town in enumerate(["Haren", "Harkstede", "Glimmen"] * 8)]
    assert len(guesser._plan(np.array([len(text.encode()) for text in spread]))[0]) == 0
    assert guesser.guess(spread) == guesser._guess_one_at_a_time(spread)
    assert guesser.guess(["😀🔥", "123 456", "", "!!!"] * 10) == [None] * 40


def test_dutch_and_english_in_a_lockstep_batch(guesser: LanguageGuesser) -> None:
    texts = [r["text"] for r in projectx.generate(town="Haren", seed=3, scale=0.2).records[:100]]
    texts[40] = SAMPLES["nl"]
    texts[41] = SAMPLES["en"]
    together, _ = guesser._plan(np.array([len(language._encode(text)) for text in texts]))
    assert {40, 41} <= set(together.tolist())
    assert guesser.guess(texts)[40:42] == ["nl", "en"]


def test_the_platforms_language_is_kept_and_the_rest_is_guessed(enricher: Enricher) -> None:
    posts = [_post(SAMPLES["de"], 1, lang="en"), _post(SAMPLES["nl"], 2), _post("   ", 3)]
    assert [p.lang for p in enricher.enrich_all(posts)] == ["en", "nl", None]
    assert enricher(posts[1]).lang == "nl"


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("Brand in Haren, iedereen moet weg!", ("Haren",)),
        ("Echt niet normaal wat er in Zwolle gebeurt", ("Zwolle",)),
        ("Hier is het rustig. Meer nieuws volgt", ()),
        ("#brand #haren grote rookwolk", ("Haren",)),
        ("Politie massaal aanwezig in Den Helder", ("Den Helder",)),
        ("Feest in #Groningen en daarna naar Leiden", ("Groningen", "Leiden")),
    ],
)
def test_place_names_but_not_everyday_words(enricher: Enricher, text: str, places: tuple[str, ...]) -> None:
    assert enricher(_post(text)).places == places


def test_place_names_that_are_english_words_count_only_outside_english_posts(enricher: Enricher) -> None:
    english = enricher(_post("America made its choice, and the police are in Ferguson now"))
    assert (english.lang, english.places, english.area) == ("en", (), None)
    dutch = enricher(_post("Grote brand in Goes, de brandweer is met veel wagens ter plaatse"))
    assert (dutch.lang, dutch.places, dutch.area) == ("nl", ("Goes",), "Goes")


def test_the_area_is_the_first_place_named_not_a_village_called_brand(enricher: Enricher) -> None:
    assert enricher(_post("Brand in Haren, iedereen moet weg!")).area == "Haren"
    assert enricher(_post("Brand in Zwolle en Deventer")).area == "Zwolle"


def test_a_failing_geocoder_neither_stops_posts_nor_is_asked_for_each() -> None:
    found = json.dumps([{"lat": "53.17", "lon": "6.6", "display_name": "Haren, Groningen"}]).encode()
    down = Answer(503, "text/plain", b"down")
    with scripted_server(down, Answer(200, "application/json", found)) as nominatim:
        enricher = Enricher(geocode=nominatim_geocoder(nominatim.url, pause_s=0.5))
        post = Post(
            platform="x",
            id="1",
            author="p_a",
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
            text="zo druk hier",
            place="Hoofdstraat 1, Nederland",
        )
        # Down: no area, no exception, and the posts after the failure do not ask it again.
        assert [enricher(post).area for _ in range(3)] == [None, None, None]
        assert len(nominatim.requests) == 1
        time.sleep(0.6)
        assert enricher(post).area == "Haren"
        assert len(nominatim.requests) == 2
