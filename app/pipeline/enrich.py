"""Enrichment: the language, the geo cell and the places a post is about. Offline; no network by default.

* Language: the platform's own tag when it gave one, else a guess from the text (``language.py``).
* Geo cell: an H3 cell of the post's coordinates, so areas can be counted without storing exact positions
  in aggregates.
* Places: Dutch place names in the text matched against the shipped gazetteer (``streams.gazetteer``).
* Area: the municipality the post is about: from its coordinates, else from the first place in the text,
  else from the platform's place field.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache

import h3

from app.pipeline.language import LanguageGuesser
from streams import gazetteer
from streams.post import Post

# Place names that are also everyday words, matched only inside a longer name ("Den Helder"), never alone:
# capitalised they mostly open a sentence ("Brand in Haren!", "Echt niet normaal", "Hier is het rustig") and
# as hashtags they are topics (#brand). The Dutch ones are the place names that ordinary Dutch posts (the
# CheckThat tweets) use most as lower-case words, leaving out towns of 30,000 people and more.
AMBIGUOUS_PLACES = frozenset(
    {"best", "born", "son", "lent", "mill", "well", "wijk", "stein", "grave", "hoek", "ee"}
    | {"meer", "hier", "heel", "echt", "hem", "zetten", "halen", "harde", "winkel", "hoeven", "dieren"}
    | {"helder", "waarde", "helden", "handel", "dalen", "leest", "buren", "brand", "tent", "broek", "zand"}
    | {"rijen", "leunen", "baan", "raam", "heer", "eindje", "beest"}
)
# Place names that are English words, matched alone only in posts not written in English: in English tweets
# (PHEME, RumourEval, CrisisLex: 68,000 of them) these were nearly all the Dutch places found, America
# (171 times), Made (37), Goes (18) and Monster (10) first. Goes is a town of 38,000: in Dutch posts it stays.
ENGLISH_WORD_PLACES = frozenset({"america", "made", "goes", "monster", "beers", "hank", "enter"})
MAX_NAME_WORDS = 3
# After a geocoder failure, posts go without it this long before it is asked again.
GEOCODER_PAUSE_S = 60.0

log = logging.getLogger(__name__)
WORD = re.compile(r"[#@]?[A-Za-zÀ-ÿ'][\wÀ-ÿ'-]*")


class PlaceMatcher:
    """Finds gazetteer names in text: capitalised words, hashtags, and runs of up to three words."""

    def __init__(self, places: tuple[gazetteer.Place, ...]) -> None:
        self._by_name: dict[str, gazetteer.Place] = {}
        # Most populous first, so a name shared by several places means the best known one.
        for place in sorted(places, key=lambda p: -p.population):
            for name in (place.name, *place.variants):
                if name[:1].isupper() or name.startswith("'s-"):
                    self._by_name.setdefault(name.lower(), place)
        # Per first word, the longest name starting with it: most words start no name and are skipped
        # after one dictionary lookup (this runs on every post).
        self._longest: dict[str, int] = {}
        for name in self._by_name:
            first, *rest = name.split(" ")
            self._longest[first] = max(self._longest.get(first, 0), 1 + len(rest))

    def find(self, text: str, lang: str | None = None) -> list[gazetteer.Place]:
        """The places named in ``text``; ``lang`` "en" leaves out places whose name is an English word."""
        words = WORD.findall(text)
        english = lang == "en"
        found: list[gazetteer.Place] = []
        count = len(words)
        i = 0
        while i < count:
            word = words[i]
            hashtag = word[0] == "#"
            head = word[1:] if hashtag else word
            # A hashtag counts as a mention (#haren); otherwise the name must be capitalised.
            longest = (hashtag or head[:1].isupper() or head[:3] == "'s-") and self._longest.get(head.lower())
            if not longest:
                i += 1
                continue
            for size in range(min(longest, count - i), 0, -1):
                name = " ".join([head, *words[i + 1 : i + size]]).lower() if size > 1 else head.lower()
                place = self._by_name.get(name)
                if place is None or (
                    size == 1 and (name in AMBIGUOUS_PLACES or (english and name in ENGLISH_WORD_PLACES))
                ):
                    continue
                if place not in found:
                    found.append(place)
                i += size
                break
            else:
                i += 1
        return found


class Enricher:
    """Adds ``lang``, ``cell``, ``places`` and ``area``. One instance per pipeline; not thread-safe."""

    def __init__(
        self,
        cell_resolution: int = 7,
        geocode: Callable[[str], tuple[float, float] | None] | None = None,
    ) -> None:
        self._cell_resolution = cell_resolution
        self._matcher = PlaceMatcher(gazetteer.places())
        self._language = LanguageGuesser()
        self._geocode = geocode

    def __call__(self, post: Post) -> Post:
        return self.enrich_all([post])[0]

    def enrich_all(self, posts: list[Post]) -> list[Post]:
        """The posts with their enrichment, in order; languages are guessed for the whole batch at once."""
        unknown = [i for i, post in enumerate(posts) if not post.lang and post.text.strip()]
        guessed = dict(zip(unknown, self._language.guess([posts[i].text for i in unknown]), strict=True))
        return [self._enrich(post, post.lang or guessed.get(i)) for i, post in enumerate(posts)]

    def _enrich(self, post: Post, lang: str | None) -> Post:
        places = self._matcher.find(post.text, lang)
        cell = area = None
        if post.coordinates is not None:
            cell = h3.latlng_to_cell(post.coordinates.lat, post.coordinates.lon, self._cell_resolution)
            area = gazetteer.municipality_of(post.coordinates.lat, post.coordinates.lon)
        if area is None and places:
            area = places[0].municipality
        if area is None and post.place:
            area = self._area_of_place_field(post.place)
        return post.enriched(lang, cell, tuple([p.name for p in places]), area)

    def _area_of_place_field(self, place_field: str) -> str | None:
        # Platforms give e.g. "Haren, Nederland" or "Groningen, Netherlands": try the first part.
        name = place_field.split(",")[0].strip()
        place = gazetteer.find(name)
        if place is not None:
            return place.municipality
        if self._geocode is not None:
            position = self._geocode(place_field)
            if position is not None:
                return gazetteer.municipality_of(*position)
        return None


def nominatim_geocoder(
    url: str, pause_s: float = GEOCODER_PAUSE_S
) -> Callable[[str], tuple[float, float] | None]:
    """An optional online geocoder (a self-hosted Nominatim), cached so each place name is asked once.

    While it fails (down, slow, refusing), posts go on without an area from their place field: a failure is
    logged and the geocoder is not asked again for ``pause_s``, so an outage neither stops the stream nor
    costs every post a timeout.
    """
    return _PausingGeocoder(url, pause_s)


class _PausingGeocoder:
    # A class rather than closures: mypyc (setup.py) compiles this module, and a cached inner function
    # called from another closure is one of the few things it gets wrong.

    def __init__(self, url: str, pause_s: float) -> None:
        from urllib.parse import urlparse

        from geopy.geocoders import Nominatim

        parsed = urlparse(url)
        self._geocoder = Nominatim(
            domain=parsed.netloc, scheme=parsed.scheme or "https", user_agent="signaal", timeout=2
        )
        self._pause_s = pause_s
        self._paused_until = 0.0
        self._ask = lru_cache(maxsize=10_000)(self._lookup)

    def _lookup(self, query: str) -> tuple[float, float] | None:
        location = self._geocoder.geocode(query, country_codes="nl")
        return (location.latitude, location.longitude) if location else None

    def __call__(self, query: str) -> tuple[float, float] | None:
        if time.monotonic() < self._paused_until:
            return None
        try:
            return self._ask(query)
        except Exception as error:  # geopy's errors, and whatever the HTTP stack raises
            self._paused_until = time.monotonic() + self._pause_s
            log.warning("the geocoder failed (%s); not asking it for %g s", error, self._pause_s)
            return None
