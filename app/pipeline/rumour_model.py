"""Rumour scoring of single posts at posting time, and the stance model, as plain-weight linear models.

A post is scored from what a stream has when it arrives: its text, whether it links out, whether it is a
reply or a quote, its hashtag and mention counts and its language. Never labels, replies or later counts.

Why this shape:

* Linear over hashed features. Training (``scripts/train_rumour_model.py``) uses scikit-learn, but the
  shipped file is numpy arrays (``.npz``): a format version, the feature spec, the non-zero weights and
  their bucket numbers. Loading needs numpy only, not a pickle that breaks with the next scikit-learn.
* Stable hashing: buckets are ``zlib.crc32`` of the UTF-8 token with a per-block seed. Python's ``hash()``
  is salted per process and would give every run a different model.
* What transfers across events and into Dutch. The labelled rumours (PHEME) are English and come from six
  events; a model of English words learns the events' names. So besides words the scorer reads things
  that mean the same in any event and in both languages: the bilingual cue lexicons of
  :mod:`app.pipeline.signals`, a small bilingual crisis vocabulary (:data:`CONCEPTS`: "politie" and
  "police" are one feature, so is "gewonden"/"injured"), and the shape of the post (headline colon,
  digits, links, question marks, first person). Dutch words themselves are learned from the Dutch
  CheckThat! claim data.

Scoring is pure Python over the few dozen features of a post; see the training script's docstring for the
measured speed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from pathlib import Path
from typing import Any

import numpy as np

from app.pipeline.signals import STANCES, Stance, cue_counts, tokens

FORMAT_VERSION = 1
# Bump when anything below that changes which features a post gets (tokens, concepts, dense features):
# a model file records the spec it was trained with and is refused by a different one.
FEATURE_SPEC = "signaal-hashed-linear/1"
MODEL_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_RUMOUR_MODEL = MODEL_DIR / "rumour_v1.npz"
DEFAULT_STANCE_MODEL = MODEL_DIR / "stance_v1.npz"

N_BUCKETS = 1 << 18
_MASK = N_BUCKETS - 1
# crc32 start values, one per feature block, so a word and a bigram that happen to share bytes land in
# different buckets.
_SEED_UNIGRAM = 0x5EED0001
_SEED_BIGRAM = 0x5EED0002
_BOS = b"<s>"

# A bilingual crisis vocabulary: each word is replaced by its concept before hashing, so a weight learned
# from English training posts also applies to the Dutch word. Chosen by hand for municipal incidents
# (shootings, fires, explosions, evacuations, hostage-taking) and reactions to them; never tuned per
# event.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "POLICE": (
        "police",
        "cops",
        "cop",
        "officer",
        "officers",
        "pd",
        "rcmp",
        "nypd",
        "politie",
        "agent",
        "agenten",
        "agente",
        "marechaussee",
        "politieagent",
        "wijkagent",
    ),
    "ATTACKER": (
        "gunman",
        "gunmen",
        "shooter",
        "shooters",
        "attacker",
        "attackers",
        "suspect",
        "suspects",
        "terrorist",
        "terrorists",
        "perpetrator",
        "schutter",
        "schutters",
        "dader",
        "daders",
        "verdachte",
        "verdachten",
        "aanvaller",
        "terrorist",
        "terroristen",
    ),
    "SHOOTING": (
        "shooting",
        "shootings",
        "shot",
        "shots",
        "gunfire",
        "fired",
        "firing",
        "gunshots",
        "schietpartij",
        "schietincident",
        "beschoten",
        "schoten",
        "geschoten",
        "neergeschoten",
        "schieten",
        "schiet",
    ),
    "DEATH": (
        "killed",
        "dead",
        "died",
        "death",
        "deaths",
        "dies",
        "kill",
        "killing",
        "fatal",
        "fatalities",
        "victims",
        "victim",
        "doden",
        "dode",
        "dood",
        "omgekomen",
        "overleden",
        "gedood",
        "slachtoffer",
        "slachtoffers",
        "omgebracht",
    ),
    "INJURY": (
        "injured",
        "wounded",
        "hurt",
        "injuries",
        "injury",
        "gewond",
        "gewonden",
        "gewonde",
        "zwaargewond",
        "lichtgewond",
        "verwond",
        "verwondingen",
    ),
    "HOSTAGE": (
        "hostage",
        "hostages",
        "siege",
        "held",
        "captive",
        "gijzeling",
        "gijzelaar",
        "gijzelaars",
        "gegijzeld",
        "gijzelnemer",
        "gijzelnemers",
    ),
    "EXPLOSION": (
        "bomb",
        "bombs",
        "explosion",
        "explosions",
        "explosive",
        "explosives",
        "blast",
        "exploded",
        "bom",
        "bommen",
        "explosie",
        "explosies",
        "ontploffing",
        "ontploft",
        "explosief",
    ),
    "FIRE": (
        "fire",
        "fires",
        "blaze",
        "smoke",
        "flames",
        "burning",
        "brand",
        "branden",
        "rook",
        "vlammen",
        "uitslaande",
        "brandweer",
    ),
    "CLOSURE": (
        "evacuated",
        "evacuation",
        "evacuate",
        "lockdown",
        "locked",
        "closed",
        "cordoned",
        "ontruimd",
        "ontruiming",
        "afgesloten",
        "geëvacueerd",
        "evacuatie",
        "afgezet",
        "gesloten",
    ),
    "ARREST": (
        "arrested",
        "arrest",
        "arrests",
        "custody",
        "detained",
        "aangehouden",
        "arrestatie",
        "gearresteerd",
        "opgepakt",
        "aanhouding",
    ),
    "NUMBER": (
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "dozen",
        "twee",
        "drie",
        "vier",
        "vijf",
        "zes",
        "zeven",
        "acht",
        "negen",
        "tien",
        "elf",
        "twaalf",
        "tientallen",
        "0",
    ),
    "SAY": (
        "says",
        "said",
        "say",
        "reports",
        "reported",
        "report",
        "according",
        "told",
        "tells",
        "stated",
        "zegt",
        "zeggen",
        "zei",
        "meldt",
        "melden",
        "gemeld",
        "volgens",
        "aldus",
        "verklaart",
        "vertelt",
        "bericht",
        "berichten",
    ),
    "SOURCE": (
        "source",
        "sources",
        "media",
        "news",
        "journalist",
        "reporter",
        "witness",
        "witnesses",
        "bron",
        "bronnen",
        "nieuws",
        "journalisten",
        "getuige",
        "getuigen",
        "ooggetuige",
    ),
    "URGENT": (
        "breaking",
        "update",
        "urgent",
        "live",
        "developing",
        "alert",
        "latest",
        "zojuist",
        "liveblog",
        "spoed",
        "actueel",
    ),
    "SYMPATHY": (
        "pray",
        "prayers",
        "praying",
        "thoughts",
        "rip",
        "condolences",
        "heart",
        "hearts",
        "sad",
        "tragic",
        "tragedy",
        "heartbreaking",
        "bid",
        "bidden",
        "sterkte",
        "gedachten",
        "verdriet",
        "condoleances",
        "vreselijk",
        "afschuwelijk",
        "triest",
        "verschrikkelijk",
        "rust",
    ),
    "OPINION": (
        "shame",
        "disgusting",
        "stupid",
        "hate",
        "love",
        "angry",
        "idiots",
        "idiot",
        "ridiculous",
        "pathetic",
        "disgrace",
        "schande",
        "walgelijk",
        "belachelijk",
        "boos",
        "dom",
        "idioot",
        "idioten",
        "triest",
        "schandalig",
        "haat",
    ),
    "YOU": ("you", "your", "you're", "youre", "jij", "jouw", "jullie", "je", "u", "uw"),
    "SHOULD": ("should", "must", "need", "needs", "shouldn't", "moet", "moeten", "hoort", "horen"),
    "OFFICIAL": (
        "mayor",
        "minister",
        "government",
        "pm",
        "president",
        "chief",
        "spokesman",
        "spokesperson",
        "authorities",
        "officials",
        "burgemeester",
        "gemeente",
        "kabinet",
        "regering",
        "premier",
        "woordvoerder",
        "autoriteiten",
        "overheid",
        "hulpdiensten",
    ),
    "PLACE": (
        "parliament",
        "cafe",
        "café",
        "mall",
        "school",
        "station",
        "building",
        "centre",
        "center",
        "supermarket",
        "store",
        "shop",
        "hospital",
        "church",
        "mosque",
        "street",
        "square",
        "winkel",
        "winkelcentrum",
        "gebouw",
        "kerk",
        "moskee",
        "ziekenhuis",
        "straat",
        "plein",
        "wijk",
        "stadhuis",
        "supermarkt",
    ),
    "MORE": (
        "second",
        "another",
        "more",
        "multiple",
        "several",
        "other",
        "tweede",
        "meerdere",
        "meer",
        "andere",
        "nog",
    ),
    "MEDIA_ITEM": (
        "photo",
        "photos",
        "video",
        "videos",
        "picture",
        "pictures",
        "pic",
        "image",
        "images",
        "footage",
        "foto",
        "fotos",
        "foto's",
        "beeld",
        "beelden",
        "filmpje",
        "filmpjes",
    ),
    "NAMED": ("identified", "named", "name", "identity", "identiteit", "geïdentificeerd", "naam"),
    "NOW": (
        "tonight",
        "today",
        "now",
        "morning",
        "currently",
        "vanavond",
        "vandaag",
        "nu",
        "vanochtend",
        "vannacht",
        "momenteel",
    ),
    # Function words that carry stance and are used alike in both languages; as concepts, a weight learned
    # from English posts reaches the Dutch word. Words that are something else in the other language
    # ("die", "was", "door") are left out.
    "NOT": (
        "not",
        "no",
        "never",
        "don't",
        "didn't",
        "isn't",
        "wasn't",
        "aren't",
        "can't",
        "won't",
        "niet",
        "geen",
        "nooit",
        "nee",
    ),
    "WHY": ("why", "how", "waarom", "hoe", "hoezo"),
    "WH": ("what", "who", "where", "when", "which", "wat", "wie", "waar", "wanneer", "welke"),
    "I": ("i", "me", "my", "i'm", "im", "ik", "mij", "mijn", "m'n"),
    "WE": ("we", "us", "our", "wij", "ons", "onze"),
    "ALL": ("everyone", "everybody", "all", "iedereen", "allemaal", "alle", "allen"),
    "PLEASE": ("please", "pls", "plz", "alsjeblieft", "aub", "graag", "svp"),
    "SOLDIER": (
        "soldier",
        "soldiers",
        "army",
        "military",
        "troops",
        "soldaat",
        "soldaten",
        "leger",
        "defensie",
        "militair",
        "militairen",
    ),
}
_CONCEPT_TOKEN: dict[bytes, bytes] = {}
for _concept, _words in CONCEPTS.items():
    for _word in _words:
        for _tok in tokens(_word):
            # A word listed under two concepts keeps the first; the lists are short enough to read.
            _CONCEPT_TOKEN.setdefault(_tok, b"\x00" + _concept.encode())

# Dense features, in this order, after the hashed buckets. Counts are capped: the third hashtag says
# less than the first, and caps keep one odd post from dominating a linear score.
DENSE_FEATURES = (
    "enquiry",
    "denial",
    "hedging",
    "support",
    "first_person",
    "question_mark",
    "exclamation",
    "has_url",
    "is_reply",
    "is_quote",
    "hashtags",
    "mentions",
    "length",
    "digits",
    "headline_colon",  # "BREAKING: ...", "Politie: ..."
    "quote_marks",  # quoting someone: '"We have no information," police said'
    "upper_ratio",  # shouting, or an all-caps headline
    "lang_nl",
    "lang_en",
)
N_DENSE = len(DENSE_FEATURES)


# Streams repeat words endlessly; remembering each word's bucket avoids most crc32 calls. It changes no
# result (the hash is a pure function), and clearing it when full keeps memory bounded.
_UNIGRAM_CACHE: dict[bytes, int] = {}
_CACHE_LIMIT = 200_000
_SKIP = frozenset({b"?", b"!", b":"})
_AT = ord("@")
# Byte classes for counting in C (bytes.translate with delete) instead of a Python loop per character.
# ASCII only: an accented capital is not counted as upper case, a small bias on a shape feature.
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LETTERS = _ASCII_UPPER + bytes(range(ord("a"), ord("z") + 1))
_DIGITS = b"0123456789"


def _text_features(
    text: str,
    has_url: bool | None,
    is_reply: bool | None,
    is_quote: bool,
    n_hashtags: int | None,
    n_mentions: int | None,
    lang: str | None,
) -> tuple[set[int], tuple[float, ...]]:
    """The one implementation of the feature spec, shared by training and scoring."""
    toks = tokens(text)
    enquiry, denial, hedging, support, questions, exclamations, first_person, _ = cue_counts(toks)
    if has_url is None:
        has_url = "http" in text or "www." in text
    if is_reply is None:
        is_reply = text.lstrip().startswith("@")
    if n_hashtags is None:
        n_hashtags = text.count("#")
    if n_mentions is None:
        n_mentions = text.count("@")

    seen: set[int] = set()
    cache = _UNIGRAM_CACHE
    concept = _CONCEPT_TOKEN
    crc32 = zlib.crc32
    prev = _BOS
    for tok in toks:
        if tok in _SKIP:
            # Punctuation is in the dense block; as words it would only add noise to the bigrams.
            continue
        if tok[0] == _AT:
            tok = b"@"
        elif tok.isdigit():
            tok = b"\x00NUMBER"
        else:
            tok = concept.get(tok, tok)
        bucket = cache.get(tok)
        if bucket is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            bucket = cache[tok] = crc32(tok, _SEED_UNIGRAM) & _MASK
        seen.add(bucket)
        seen.add(crc32(prev + b" " + tok, _SEED_BIGRAM) & _MASK)
        prev = tok

    raw = text.encode()
    n_bytes = len(raw)
    letters = n_bytes - len(raw.translate(None, _ASCII_LETTERS))
    upper = n_bytes - len(raw.translate(None, _ASCII_UPPER))
    head = text[:40]
    colon = head.find(":")
    dense = (
        min(enquiry, 2) / 2,
        min(denial, 2) / 2,
        min(hedging, 2) / 2,
        min(support, 3) / 3,
        min(first_person, 3) / 3,
        1.0 if questions else 0.0,
        1.0 if exclamations else 0.0,
        1.0 if has_url else 0.0,
        1.0 if is_reply else 0.0,
        1.0 if is_quote else 0.0,
        min(n_hashtags, 3) / 3,
        min(n_mentions, 3) / 3,
        min(len(text), 280) / 280,
        1.0 if len(raw.translate(None, _DIGITS)) != n_bytes else 0.0,
        1.0 if colon > 0 and not head[:colon].startswith("http") else 0.0,
        1.0 if '"' in text or "\u201c" in text else 0.0,
        upper / letters if letters else 0.0,
        1.0 if lang == "nl" else 0.0,
        1.0 if lang == "en" else 0.0,
    )
    return seen, dense


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """The features of one post: unique hashed text buckets and the dense vector (see DENSE_FEATURES)."""

    buckets: tuple[int, ...]
    dense: tuple[float, ...]


def featurize(
    text: str,
    *,
    has_url: bool | None = None,
    is_reply: bool | None = None,
    is_quote: bool = False,
    n_hashtags: int | None = None,
    n_mentions: int | None = None,
    lang: str | None = None,
) -> PostFeatures:
    """Features of one post. Metadata left as ``None`` is read from the text (links, leading @, # and @).

    Media attachments are deliberately not a feature: :class:`streams.post.Post` does not carry them, and
    a weight for something production never sets would only shift every score.
    """
    seen, dense = _text_features(text, has_url, is_reply, is_quote, n_hashtags, n_mentions, lang)
    return PostFeatures(tuple(sorted(seen)), dense)


def feature_matrix(rows: Iterable[PostFeatures]) -> Any:
    """A scipy CSR matrix of features as the scorer sees them, for training with scikit-learn.

    Text buckets get 1/sqrt(n) each (the binary vector, L2-normalised), so a long post does not outweigh
    a short one; dense features follow in columns N_BUCKETS.. .
    """
    from scipy.sparse import csr_matrix  # training-only dependency, comes with scikit-learn

    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for row in rows:
        scale = 1.0 / math.sqrt(len(row.buckets)) if row.buckets else 0.0
        indices.extend(row.buckets)
        data.extend([scale] * len(row.buckets))
        indices.extend(range(N_BUCKETS, N_BUCKETS + N_DENSE))
        data.extend(row.dense)
        indptr.append(len(indices))
    return csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(len(indptr) - 1, N_BUCKETS + N_DENSE),
    )


@dataclass(frozen=True)
class LinearModel:
    """Weights of a (one-vs-rest or binary) linear model over :func:`featurize` features.

    ``text_weights[k]`` maps a bucket to its weight for class ``k``; ``dense_weights[k]`` and
    ``intercepts[k]`` complete the score. A binary model has one row (the positive class).
    """

    classes: tuple[str, ...]
    text_weights: tuple[dict[int, float], ...]
    dense_weights: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls,
        classes: Sequence[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        metadata: dict[str, str] | None = None,
    ) -> LinearModel:
        """From scikit-learn's ``coef_`` (rows × (N_BUCKETS + N_DENSE)) and ``intercept_``."""
        coef = np.atleast_2d(np.asarray(coef, dtype=np.float32))
        if coef.shape[1] != N_BUCKETS + N_DENSE:
            raise ValueError(f"expected {N_BUCKETS + N_DENSE} columns, got {coef.shape[1]}")
        text = []
        for row in coef[:, :N_BUCKETS]:
            nz = np.flatnonzero(row)
            text.append(dict(zip(nz.tolist(), row[nz].tolist(), strict=True)))
        return cls(
            classes=tuple(classes),
            text_weights=tuple(text),
            dense_weights=tuple(tuple(r.tolist()) for r in coef[:, N_BUCKETS:]),
            intercepts=tuple(np.asarray(intercept, dtype=np.float32).ravel().tolist()),
            metadata=dict(metadata or {}),
        )

    def fingerprint(self) -> str:
        """SHA-256 of the weights alone (not the metadata), to check that a rebuild is identical."""
        import hashlib

        digest = hashlib.sha256()
        for k, table in enumerate(self.text_weights):
            buckets = sorted(table)
            digest.update(np.array([k], dtype=np.uint8).tobytes())
            digest.update(np.array(buckets, dtype=np.uint32).tobytes())
            digest.update(np.array([table[b] for b in buckets], dtype=np.float32).tobytes())
        digest.update(np.array(self.dense_weights, dtype=np.float32).tobytes())
        digest.update(np.array(self.intercepts, dtype=np.float32).tobytes())
        digest.update("\x1f".join(self.classes).encode())
        return digest.hexdigest()

    def save(self, path: Path) -> None:
        rows = len(self.text_weights)
        row_of: list[int] = []
        buckets: list[int] = []
        weights: list[float] = []
        for k, table in enumerate(self.text_weights):
            for bucket in sorted(table):
                row_of.append(k)
                buckets.append(bucket)
                weights.append(table[bucket])
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                format_version=np.array(FORMAT_VERSION, dtype=np.int32),
                feature_spec=np.array(FEATURE_SPEC),
                n_buckets=np.array(N_BUCKETS, dtype=np.int64),
                dense_features=np.array(DENSE_FEATURES),
                classes=np.array(self.classes),
                text_row=np.array(row_of, dtype=np.uint8),
                text_bucket=np.array(buckets, dtype=np.uint32),
                text_weight=np.array(weights, dtype=np.float32),
                dense_weight=np.array(self.dense_weights, dtype=np.float32).reshape(rows, N_DENSE),
                intercept=np.array(self.intercepts, dtype=np.float32),
                metadata_keys=np.array(list(self.metadata), dtype=str),
                metadata_values=np.array(list(self.metadata.values()), dtype=str),
            )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        # allow_pickle=False: a model file is data, and must not be able to run code when loaded.
        with np.load(path, allow_pickle=False) as z:
            version = int(z["format_version"])
            spec = str(z["feature_spec"])
            if version != FORMAT_VERSION or spec != FEATURE_SPEC:
                raise ValueError(
                    f"{path}: format {version} / features {spec!r}; this code reads format "
                    f"{FORMAT_VERSION} / {FEATURE_SPEC!r}. Rebuild it with scripts/train_rumour_model.py."
                )
            if int(z["n_buckets"]) != N_BUCKETS or tuple(z["dense_features"].tolist()) != DENSE_FEATURES:
                raise ValueError(f"{path}: feature layout differs from this code's")
            classes = tuple(str(c) for c in z["classes"].tolist())
            dense = z["dense_weight"]
            text: list[dict[int, float]] = [{} for _ in range(dense.shape[0])]
            for k, bucket, weight in zip(
                z["text_row"].tolist(), z["text_bucket"].tolist(), z["text_weight"].tolist(), strict=True
            ):
                text[k][bucket] = weight
            metadata = dict(zip(z["metadata_keys"].tolist(), z["metadata_values"].tolist(), strict=True))
            return cls(
                classes=classes,
                text_weights=tuple(text),
                dense_weights=tuple(tuple(r) for r in dense.tolist()),
                intercepts=tuple(z["intercept"].tolist()),
                metadata={str(k): str(v) for k, v in metadata.items()},
            )

    def decision(self, features: PostFeatures) -> list[float]:
        """The linear score of each row (class) for one post."""
        buckets = features.buckets
        n = len(buckets)
        scale = 1.0 / math.sqrt(n) if n else 0.0
        return [
            b + scale * sum(map(table.get, buckets, repeat(0.0, n))) + sum(map(mul, dense_w, features.dense))
            for table, dense_w, b in zip(self.text_weights, self.dense_weights, self.intercepts, strict=True)
        ]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class RumourModel:
    """How likely a single post spreads an unverified claim, in [0, 1], from the post alone."""

    def __init__(self, model: LinearModel) -> None:
        if len(model.text_weights) != 1:
            raise ValueError("a rumour model is binary: one weight row")
        self.model = model
        self._table = model.text_weights[0]
        self._dense = model.dense_weights[0]
        self._intercept = model.intercepts[0]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_RUMOUR_MODEL) -> RumourModel:
        return cls(LinearModel.load(Path(path)))

    @property
    def metadata(self) -> dict[str, str]:
        return self.model.metadata

    def _z(self, buckets: Collection[int], dense: tuple[float, ...]) -> float:
        n = len(buckets)
        # map() over the dict's get keeps the per-feature work in C; this is the hot loop of scoring.
        text_sum = sum(map(self._table.get, buckets, repeat(0.0, n)))
        z = self._intercept + sum(map(mul, self._dense, dense))
        return z + text_sum / math.sqrt(n) if n else z

    def score_features(self, features: PostFeatures) -> float:
        return _sigmoid(self._z(features.buckets, features.dense))

    def score(
        self,
        text: str,
        *,
        has_url: bool | None = None,
        is_reply: bool | None = None,
        is_quote: bool = False,
        n_hashtags: int | None = None,
        n_mentions: int | None = None,
        lang: str | None = None,
    ) -> float:
        """Probability-like rumour score of one post; see :func:`featurize` for the metadata."""
        buckets, dense = _text_features(text, has_url, is_reply, is_quote, n_hashtags, n_mentions, lang)
        return _sigmoid(self._z(buckets, dense))

    def score_post(self, post: Any) -> float:
        """Score a :class:`streams.post.Post` (anything with its ``text``, ``lang``, reply/quote fields)."""
        return self.score(
            post.text,
            is_reply=post.reply_to is not None or None,
            is_quote=post.quote_of is not None,
            lang=post.lang,
        )


class StanceModel:
    """Support / deny / query / comment of a reaction post: the cue rules, then a linear model.

    A denial or enquiry cue decides as in :func:`app.pipeline.signals.stance` (the lexicons are bilingual
    and precise); otherwise a one-vs-rest linear model over the same features as the rumour scorer,
    trained on RumourEval 2017, picks the label. English-trained: see ``stance`` for why the pipeline
    keeps the rules for Dutch.
    """

    def __init__(self, model: LinearModel) -> None:
        if set(model.classes) != set(STANCES):
            raise ValueError(f"stance model classes {model.classes} are not {STANCES}")
        self.model = model

    @classmethod
    def load(cls, path: Path | str = DEFAULT_STANCE_MODEL) -> StanceModel:
        return cls(LinearModel.load(Path(path)))

    def predict(self, text: str) -> Stance:
        enquiry, denial = cue_counts(tokens(text))[:2]
        if denial:
            return "deny"
        if enquiry:
            return "query"
        scores = self.model.decision(featurize(text))
        label = self.model.classes[max(range(len(scores)), key=scores.__getitem__)]
        for known in STANCES:
            if label == known:
                return known
        raise AssertionError(label)  # unreachable: __init__ checked the classes
