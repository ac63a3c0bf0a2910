"""Which open rumour cases seem to tell the same claim in other words: hints for the room to merge them.

The detector groups posts by the words they share (:mod:`app.pipeline.claims`), so one rumour told in
several wordings and languages ("Er is iemand doodgestoken bij de Rijksstraatweg", "Someone got stabbed in
Haren", "Steekpartij bij de Rijksstraatweg, iemand is overleden") becomes several cases. Whether they are
one is for the advisers to decide, and they can merge cases; this module only points at likely pairs. A
wrong hint costs a glance, where a wrong automatic merge would hide a claim from the room.

* A case's *terms* are the content words of its claim and example posts
  (:func:`app.pipeline.claims.content_tokens`), without the words of cue phrases (questions, hedges and
  denials say how a claim is told, not what it says). Words of one incident concept, in Dutch or English,
  are one term (:mod:`app.pipeline.incidents`). The claim scorer's other concepts (saying, sources, "now",
  "you", places) are how a post is worded: dropped.
* Terms are weighted by how rare they are among the cases compared (inverse document frequency): the town
  and the incident's hashtag are in every case and weigh nothing, so two different claims about one
  incident are not tied by them.
* Two cases are alike when the weight of the terms they share is at least ``min_similarity`` of the weight
  of all their terms (weighted Jaccard), leaving out the terms of one case alone (its own wording). With
  only two open cases every shared term is in all of them and weighs nothing: hints need a board of three.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.pipeline.claims import content_tokens, topic_tags
from app.pipeline.incidents import WHAT_CONCEPTS, concepts_of
from app.pipeline.rumour_model import CONCEPTS
from app.pipeline.signals import cue_words, tokens
from app.room.models import CaseStatus, RumourCase, SimilarCase

# Shared weight over all weight that makes two cases a hint (chosen on scenario seeds 100-109; the "merge
# hints" line of `benchmarks/eval_rumours.py --only scenario`).
MIN_SIMILARITY = 0.4
# Open cases compared, the most recently active first: every pair is compared on each list request (100
# cases: ~30 ms; 500: ~0.75 s), and a board shows fewer.
MAX_COMPARED = 100
# Example posts per case whose words join its claim's.
EXAMPLE_TEXTS = 4

# Words of how a claim is told: the scorer's wording concepts and every word of a cue phrase ("naar
# verluidt", "klopt dit", "nep"), unless they name an incident concept ("politie").
_WORDING = (
    frozenset(
        token
        for name, words in CONCEPTS.items()
        if name not in WHAT_CONCEPTS
        for word in words
        for token in tokens(word)
    )
    | cue_words()
)


@dataclass(frozen=True)
class Hint:
    """Another open case that may tell the same claim."""

    case_id: str
    similarity: float


def texts_of(claim: str, examples: Iterable[Any]) -> list[str]:
    """What a case is compared by: its claim and the texts of its first EXAMPLE_TEXTS examples (objects with
    a ``text``: the examples of an alert or of a case)."""
    return [claim, *(example.text for example in itertools.islice(examples, EXAMPLE_TEXTS))]


def _word_terms(token: bytes) -> tuple[bytes, ...]:
    mapped = concepts_of(token)
    if mapped:
        return mapped
    if token in _WORDING or token.isdigit():
        return ()
    return (token,)


def terms(texts: Iterable[str]) -> frozenset[bytes]:
    """The terms of a case: its claim and example texts together."""
    out: set[bytes] = set()
    for text in texts:
        for token in content_tokens(tokens(text), topic_tags(text)):
            out.update(_word_terms(token))
    return frozenset(out)


def hints(
    cases: Sequence[tuple[str, Sequence[str]]], min_similarity: float = MIN_SIMILARITY
) -> dict[str, list[Hint]]:
    """For each case (id, its claim and example texts), the other cases alike enough, most alike first."""
    term_sets = [terms(texts) for _, texts in cases]
    df = Counter(term for ts in term_sets for term in ts)
    n = len(cases)
    weight = {term: math.log((n + 1) / (count + 1)) for term, count in df.items()}
    out: dict[str, list[Hint]] = {case_id: [] for case_id, _ in cases}
    for i in range(n):
        for j in range(i + 1, n):
            a, b = term_sets[i], term_sets[j]
            shared = sum(weight[t] for t in a & b)
            if shared <= 0.0:
                continue
            # A term of one case alone is its own wording ("rukt uit", "ingeschakeld"): it can neither tie
            # nor part two cases, so it is left out of the whole as well.
            similarity = shared / sum(weight[t] for t in a | b if df[t] > 1)
            if similarity >= min_similarity:
                out[cases[i][0]].append(Hint(cases[j][0], round(similarity, 3)))
                out[cases[j][0]].append(Hint(cases[i][0], round(similarity, 3)))
    for found in out.values():
        found.sort(key=lambda hint: -hint.similarity)
    return out


def with_hints(cases: Sequence[RumourCase]) -> list[RumourCase]:
    """The cases with ``similar`` filled in among the first MAX_COMPARED open ones (not closed, not merged
    into another), in the order given."""
    open_cases = [c for c in cases if c.status != CaseStatus.CLOSED and not c.merged_into][:MAX_COMPARED]
    found = hints([(c.case_id, texts_of(c.claim, c.examples)) for c in open_cases])
    claims = {c.case_id: c.claim for c in open_cases}
    return [
        c.model_copy(
            update={
                "similar": [
                    SimilarCase(case_id=h.case_id, claim=claims[h.case_id], similarity=h.similarity)
                    for h in found.get(c.case_id, ())
                ]
            }
        )
        for c in cases
    ]
