"""Which posts carry the same claim: text normalisation, MinHash signatures and an LSH index that forgets.

Near-duplicates and paraphrases are found with MinHash over word shingles and locality-sensitive hashing
(Broder 1997; Leskovec, Rajaraman and Ullman, *Mining of Massive Datasets*, ch. 3):

* Normalisation keeps what makes a claim: lower-cased words without URLs, ``@handles``, ``RT``, hashtag
  signs, punctuation, single letters, the hashtags that close a post (topic labels every post of an
  incident shares) and a short list of Dutch and English function words. Shingles are the remaining
  content words and each pair of neighbouring content words, so "Er is iemand doodgestoken bij de X" and
  "Naar verluidt is er iemand doodgestoken bij de X" share most of theirs.
* Signatures are computed for a whole batch in a few numpy operations, with no Python call per word:
  words are hashed as polynomials over their bytes (cumulative sums over the batch's bytes), word pairs
  mixed from those, then every shingle gets K multiply-shift hashes (a (K, S) array for the S shingles of
  the batch) and ``np.minimum.reduceat`` takes the minimum per post. All constants are fixed, so
  signatures are the same in every process and run (``hash()`` is salted per process).
  :func:`reference_signature` is the same computation one shingle at a time; the tests hold them equal.
* LSH: the K values are cut into ``bands`` bands of ``rows`` values; posts that agree on a whole band
  are candidates, and a post joins the candidate anchor with which it shares the most bands, if that is
  at least ``bands * min_similarity^rows`` (see :class:`ClaimIndex`). A single shared band is not enough:
  it happens between unrelated posts that share a town name and a common word, and would glue claims.

Memory is bounded by two *generations* (:class:`Generations`): inserts go to the current one, look-ups
check both, and at rotation the older one is dropped whole. A claim still active when its generation is
about to expire is re-inserted into the current one (:meth:`ClaimIndex.refresh`), so live claims stay
findable while abandoned ones are forgotten without a sweep.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

_M64 = (1 << 64) - 1

# Function words dropped before shingling. Kept deliberately short: negations (niet, geen, not, no) and
# question words stay, since they separate a claim from its denial or a question about it.
STOPWORDS = frozenset(
    w.encode()
    for w in (
        # Dutch
        "de", "het", "een", "en", "van", "in", "op", "is", "er", "bij", "te", "dat", "die", "dit", "met",
        "voor", "aan", "zijn", "om", "als", "ook", "maar", "naar", "of", "door", "uit", "al", "was", "wordt",
        "heeft", "hebben", "ze", "zij", "hij", "ik", "je", "we", "wij", "u", "hun", "hem", "haar", "mijn",
        "m'n", "ons", "onze", "zo", "dan", "toch", "hier", "daar", "nog", "wel", "even", "net", "hoor",
        "'t", "'s", "den", "der",
        # English
        "the", "a", "an", "and", "or", "of", "on", "at", "to", "for", "with", "by", "from", "are", "be",
        "been", "it", "its", "it's", "this", "that", "these", "those", "i", "you", "he", "she", "they",
        "me", "my", "your", "our", "their", "his", "her", "as", "so", "just", "has", "have", "had", "were",
        "rt", "amp", "via",
    )
)  # fmt: skip
# Single letters say nothing apart ("project x"); digits do.
_NOT_CONTENT = STOPWORDS | {b"?", b"!", b":"} | {bytes([c]) for c in range(ord("a"), ord("z") + 1)}
_AT = ord("@")


# Hashtags at the end of a post label its topic ("... #projectxharen"); every post of an incident shares
# them, so as shingles they would pull unrelated claims together. Hashtags inside a sentence are words.
_TAG = re.compile(r"#(\w+)")


def topic_tags(text: str) -> frozenset[bytes]:
    """The words of the hashtags that close a post (links and emoji between them allowed), as tokens."""
    if "#" not in text:
        return frozenset()
    parts = text.split()
    tags = []
    for part in reversed(parts):
        if part[0] == "#":
            tags.append(part)
        elif not (part.startswith("http") or not any(ch.isalnum() for ch in part)):
            break
    if not tags:
        return frozenset()
    return frozenset(tag.lower().encode() for tag in _TAG.findall(" ".join(tags)))


def content_tokens(toks: Sequence[bytes], skip_also: frozenset[bytes] = frozenset()) -> list[bytes]:
    """The claim-bearing words of a tokenised post (see :func:`app.pipeline.signals.tokens`).

    ``skip_also`` are more words to drop (a post's topic tags).
    """
    skip = _NOT_CONTENT | skip_also if skip_also else _NOT_CONTENT
    return [t for t in toks if t not in skip and t[0] != _AT]


_SPACE = np.uint8(ord(" "))
_ONE = np.uint64(1)
_32 = np.uint64(32)
_WORD_BASE = 0x100000001B3  # the FNV-1 64-bit prime: odd, so its powers never collapse to zero
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64's finaliser constants
_POWERS = np.ones(1, dtype=np.uint64)


def _powers(n: int) -> np.ndarray:
    """_WORD_BASE^i mod 2^64 for i < n (at least), grown on demand and kept."""
    global _POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS), 64)
        grown = np.full(size, _WORD_BASE, dtype=np.uint64)
        grown[0] = 1
        _POWERS = np.cumprod(grown, dtype=np.uint64)
    return _POWERS


def _mix(h: np.ndarray) -> np.ndarray:
    # Spreads the polynomial's low-entropy high bits (the multiply-shift hashes read the top bits).
    h = (h ^ (h >> np.uint64(30))) * np.uint64(_MIX1)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(_MIX2)
    return h ^ (h >> np.uint64(31))


def reference_word_hash(word: bytes) -> int:
    """One word's hash as :meth:`MinHasher.word_hashes` computes it, in plain Python."""
    h = 0
    for i, byte in enumerate(word):
        h = (h + (byte + 1) * pow(_WORD_BASE, i, 1 << 64)) & _M64
    h = ((h ^ (h >> 30)) * _MIX1) & _M64
    h = ((h ^ (h >> 27)) * _MIX2) & _M64
    return h ^ (h >> 31)


def _splitmix64(state: int) -> Iterator[int]:
    """A fixed, documented generator (Steele et al. 2014) so the constants never depend on numpy's RNG."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & _M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        yield z ^ (z >> 31)


@dataclass(frozen=True)
class MinHasher:
    """K = bands x rows multiply-shift hash functions, and the band keys LSH looks up."""

    bands: int = 16
    rows: int = 2
    seed: int = 0x516E_AA1
    # Drawn from the seed in __post_init__.
    _mul: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _add: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _pair: tuple[int, int] = field(init=False, repr=False, compare=False)
    _band_salt: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _band_mul: int = field(init=False, repr=False, compare=False)
    _mul_array: np.ndarray = field(init=False, repr=False, compare=False)
    _add_array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError("bands and rows must be at least 1")
        gen = _splitmix64(self.seed)
        k = self.bands * self.rows
        # Odd multipliers make x -> a*x mod 2^64 a bijection; the top 32 bits are the hash.
        object.__setattr__(self, "_mul", tuple(next(gen) | 1 for _ in range(k)))
        object.__setattr__(self, "_add", tuple(next(gen) for _ in range(k)))
        object.__setattr__(self, "_pair", (next(gen) | 1, next(gen) | 1))
        object.__setattr__(self, "_band_salt", tuple(next(gen) for _ in range(self.bands)))
        object.__setattr__(self, "_band_mul", next(gen) | 1)
        object.__setattr__(self, "_mul_array", np.array(self._mul, dtype=np.uint64)[:, None])
        object.__setattr__(self, "_add_array", np.array(self._add, dtype=np.uint64)[:, None])

    @property
    def k(self) -> int:
        return self.bands * self.rows

    # -- vectorised ----------------------------------------------------------------------------------

    def word_hashes(self, posts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of every word of every post, and each post's word count.

        A post is its claim words joined by single spaces (``b" ".join(content_tokens(...))``). Each word
        is hashed as a polynomial over its bytes, sum((byte + 1) * P^i) mod 2^64, then mixed: all words of
        the batch in a handful of array operations, with no per-word Python call.
        """
        blob = np.frombuffer(b" ".join(posts), dtype=np.uint8)
        counts = np.fromiter((p.count(b" ") + 1 for p in posts), dtype=np.int64, count=len(posts))
        space = blob == _SPACE
        starts = np.concatenate(([0], np.flatnonzero(space) + 1))
        position = np.arange(len(blob), dtype=np.int64) - starts[np.cumsum(space)]
        contribution = (blob.astype(np.uint64) + _ONE) * _powers(int(position.max()) + 1)[position]
        contribution[space] = 0
        return _mix(np.add.reduceat(contribution, starts)), counts

    def signatures(self, posts: Sequence[bytes]) -> np.ndarray:
        """MinHash signatures, shape (len(posts), K) uint32, of posts given as space-joined claim words.

        Every post needs at least two words (one word pair); callers filter shorter posts out.
        """
        n = len(posts)
        k = self.k
        if n == 0:
            return np.zeros((0, k), dtype=np.uint32)
        words, lengths = self.word_hashes(posts)
        if int(lengths.min()) < 2:
            raise ValueError("every post needs at least two words")
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        # Word pairs within a post: every neighbour pair except those that straddle two posts.
        same_post = np.ones(len(words) - 1, dtype=bool)
        same_post[starts[1:] - 1] = False
        p1, p2 = np.uint64(self._pair[0]), np.uint64(self._pair[1])
        pairs = (((words[:-1] * p1) ^ words[1:]) * p2)[same_post]
        pair_starts = starts - np.arange(n, dtype=np.int64)
        sig = np.minimum(self._min_hashes(words, starts), self._min_hashes(pairs, pair_starts))
        return sig.T.astype(np.uint32)

    def _min_hashes(self, shingles: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(K, posts): per hash function, the minimum over each post's run of ``shingles``.

        Laid out hash-function-major so reduceat runs along contiguous memory (several times faster than
        along the other axis). uint64 arithmetic wraps modulo 2^64 silently: exactly the hash wanted.
        """
        h = self._mul_array * shingles
        h += self._add_array
        h >>= _32
        return np.minimum.reduceat(h, starts, axis=1)

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One uint64 key per band, shape (n, bands); the band number is mixed in, so one dict serves all."""
        n = signatures.shape[0]
        sig = signatures.astype(np.uint64).reshape(n, self.bands, self.rows)
        keys = np.array(self._band_salt, dtype=np.uint64)
        mul = np.uint64(self._band_mul)
        for r in range(self.rows):
            keys = (keys ^ sig[:, :, r]) * mul
        return keys


def reference_signature(hasher: MinHasher, words: Sequence[bytes]) -> list[int]:
    """:meth:`MinHasher.signatures` for one post, one shingle at a time in plain Python (for the tests)."""
    pa, pb = hasher._pair
    hashes = [reference_word_hash(w) for w in words]
    shingles = set(hashes)
    for a, b in itertools.pairwise(hashes):
        shingles.add((((a * pa) & _M64) ^ b) * pb & _M64)
    return [
        min(((x * m + c) & _M64) >> 32 for x in shingles)
        for m, c in zip(hasher._mul, hasher._add, strict=True)
    ]


def reference_band_keys(hasher: MinHasher, signature: Sequence[int]) -> list[int]:
    keys = []
    for b, salt in enumerate(hasher._band_salt):
        key = salt
        for r in range(hasher.rows):
            key = ((key ^ signature[b * hasher.rows + r]) * hasher._band_mul) & _M64
        keys.append(key)
    return keys


K = TypeVar("K")
V = TypeVar("V")


class Generations(Generic[K, V]):
    """Two dicts, current and previous: writes go to current, reads check both, rotation drops previous."""

    __slots__ = ("current", "previous")

    def __init__(self) -> None:
        self.current: dict[K, V] = {}
        self.previous: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        value = self.current.get(key)
        if value is None:
            value = self.previous.get(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self.current[key] = value

    def rotate(self) -> None:
        self.previous = self.current
        self.current = {}

    def __len__(self) -> int:
        return len(self.current) + len(self.previous)


Anchor = tuple[int, bytes]
"""An anchor of a claim: its id in the index and its band keys (uint64 bytes, to re-insert it cheaply)."""


class ClaimIndex(Generic[V]):
    """LSH buckets (band key -> anchor id) and anchors (id -> claim), in two generations.

    A claim is whatever object the caller keeps per claim; the index only hands it back. A claim gets at
    most a few anchors (its first distinct texts, the caller decides); later members are matched against
    those, which keeps a claim from drifting word by word into a different one. The caller keeps a
    claim's anchors (:data:`Anchor` tuples) and hands them to :meth:`refresh`.

    Similarity is judged by the number of bands a post shares with an anchor. Two posts with Jaccard
    similarity J agree on a band with probability J^rows, so the hits over ``bands`` bands follow a
    binomial law; a post joins when it shares at least ``bands * min_similarity^rows`` bands (rounded up)
    with an anchor: with 16 bands of 2 rows and 0.4, three bands, accepted ~96% of the time at J = 0.6,
    ~50% at J = 0.4 and ~3% at J = 0.2. That needs no stored signature and no arithmetic per candidate.
    """

    def __init__(self, hasher: MinHasher, min_similarity: float) -> None:
        self.hasher = hasher
        self.min_similarity = min_similarity
        self.min_hits = max(1, math.ceil(hasher.bands * min_similarity**hasher.rows - 1e-9))
        self.buckets: Generations[int, int] = Generations()
        self.anchors: Generations[int, V] = Generations()
        self.generation = 0
        self._next_anchor = 0

    def find(self, keys: Sequence[int]) -> tuple[V, int] | None:
        """The claim of the anchor sharing most bands with ``keys`` (at least ``min_hits``), and how many."""
        cur, prev = self.buckets.current, self.buckets.previous
        ids = list(map(cur.get, keys))
        old = list(map(prev.get, keys)) if prev else []
        candidates = set(ids)
        candidates.update(old)
        candidates.discard(None)
        if not candidates:
            return None
        best: int | None = None
        best_hits = self.min_hits - 1
        for anchor_id in candidates:
            # A refreshed anchor sits in both generations under the same keys: count them once.
            hits = max(ids.count(anchor_id), old.count(anchor_id)) if old else ids.count(anchor_id)
            if hits > best_hits:
                best, best_hits = anchor_id, hits
        if best is None:
            return None
        claim = self.anchors.get(best)
        if claim is None:
            return None
        return claim, best_hits

    def add(self, claim: V, keys: np.ndarray) -> Anchor:
        """Make a post an anchor of ``claim``; ``keys`` are its band keys (uint64)."""
        anchor_id = self._next_anchor
        self._next_anchor += 1
        self.anchors[anchor_id] = claim
        self._insert(anchor_id, keys.tolist())
        return anchor_id, keys.tobytes()

    def _insert(self, anchor_id: int, keys: list[int]) -> None:
        cur = self.buckets.current
        for key in keys:
            # The first anchor in a bucket keeps it: an established claim is not displaced by a newcomer.
            cur.setdefault(key, anchor_id)

    def refresh(self, claim: V, anchors: tuple[Anchor, ...]) -> tuple[Anchor, ...]:
        """Copy the anchors of a claim that is still active into the current generation.

        Returns the anchors still known; the others went with a dropped generation.
        """
        live = []
        current = self.anchors.current
        for anchor in anchors:
            anchor_id, keys = anchor
            if anchor_id in current:
                live.append(anchor)
            elif anchor_id in self.anchors.previous:
                current[anchor_id] = claim
                self._insert(anchor_id, np.frombuffer(keys, dtype=np.uint64).tolist())
                live.append(anchor)
        return tuple(live)

    def rotate(self) -> None:
        self.buckets.rotate()
        self.anchors.rotate()
        self.generation += 1

    def __len__(self) -> int:
        """Bucket entries held, over both generations (what the memory of the index grows with)."""
        return len(self.buckets)
