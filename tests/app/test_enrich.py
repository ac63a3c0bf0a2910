"""Enrichment: language guesses for a batch agree with py3langid's own, and place names are found in text
without everyday words that happen to be villages."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

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
