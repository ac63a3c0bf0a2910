"""The language of posts' texts: py3langid's shipped model, restricted to the languages a Dutch municipality
meets (a smaller candidate set is both faster and more accurate on short posts), scoring a batch at a time.

py3langid finds a text's byte n-gram features with a Python loop over its bytes through the model's
tokeniser (a state machine that emits feature ids), and that loop was most of the cost of a guess. Here the
state machine runs over the texts of a batch in lock-step: one step of a few NumPy calls per byte position,
for all texts still that long. A step's fixed cost is that of some twenty bytes of the Python loop, so a
batch of a few texts, a text far longer than the rest of its batch and any text over
``LOCKSTEP_MAX_BYTES`` are still walked one at a time by that loop; for batches of hundreds of posts a
guess costs ~7 µs per text instead of ~25. Either way each text's features are counted in the order they
first appear, as py3langid's Counter keeps them, so the Naive Bayes scores (one gather and one segmented
sum for the whole batch, normalised on all rows at once) add up in the same float order: the lock-step
gives the per-text loop's answers bit for bit, and both give py3langid's, up to float rounding.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = ("nl", "en", "de", "fr", "fy", "tr", "ar", "pl", "es", "it", "pt", "ro", "bg", "uk", "ru")
# Below this confidence a language guess on a short post is noise; the post then gets no language.
MIN_CONFIDENCE = 0.6
# Longer texts are tokenised alone: they would add a lock-step step per byte for one row, and widen the
# batch's byte matrix for all rows.
LOCKSTEP_MAX_BYTES = 1000
# One lock-step step (three NumPy calls on a prefix of the rows) costs about what the per-text loop spends
# on this many bytes (measured: ~1.5 µs a step, ~60-150 ns a byte).
_STEP_COST_IN_BYTES = 20
# Rows per lock-step run: bounds the byte and state matrices of a big batch and keeps the packed sort keys
# (row x feature x emission) well within 63 bits.
_LOCKSTEP_ROWS = 1024


class LanguageGuesser:
    """``guess(texts)`` -> a language code or None per text. Keeps only the tables of its languages."""

    def __init__(self, languages: Sequence[str] = LANGUAGES, min_confidence: float = MIN_CONFIDENCE) -> None:
        model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        model.set_languages(list(languages))
        labels = list(model.nb_classes)
        if len(set(labels)) != len(labels):
            raise ValueError("languages with several scripts in the model (aliases) are not supported")
        self.languages = tuple(labels)
        self._min_confidence = min_confidence
        # Copies of the restricted tables: the model also holds those of all its languages (28 MB).
        self._table = np.array(model.nb_ptc, dtype=np.float32)  # features x languages
        self._prior = np.array(model.nb_pc, dtype=np.float32)
        self._next_state = model.tk_nextmove
        self._row_start = [row << 8 for row in model.tk_row]
        self._feature_of_state = model.tk_output
        # The same tables for the lock-step tokeniser; the transitions are a view, not a copy.
        self._next_state_array = np.frombuffer(model.tk_nextmove, dtype=f"u{model.tk_nextmove.itemsize}")
        self._row_start_array = np.array(self._row_start, dtype=np.intp)
        self._feature_array = np.array(self._feature_of_state, dtype=np.int32)

    def guess(self, texts: Sequence[str]) -> list[str | None]:
        return self._guess(texts, lockstep=True)

    def _guess_one_at_a_time(self, texts: Sequence[str]) -> list[str | None]:
        """The reference: every text tokenised alone. ``guess`` must give the same answers."""
        return self._guess(texts, lockstep=False)

    def _guess(self, texts: Sequence[str], *, lockstep: bool) -> list[str | None]:
        if not texts:
            return []
        data = [_encode(text) for text in texts]
        lengths = np.fromiter(map(len, data), dtype=np.intp, count=len(data))
        parts = []
        alone: Sequence[int] = range(len(data))
        # With fewer texts than a step costs in bytes the per-text loop always wins: skip the planning.
        if lockstep and len(data) >= _STEP_COST_IN_BYTES:
            together, alone = self._plan(lengths)
            runs = -(-len(together) // _LOCKSTEP_ROWS)  # equal runs: no run of a few rows at the end
            parts = [
                self._tokenise_together(data, lengths, run) for run in np.array_split(together, runs or 1)
            ]
        parts.append(self._tokenise_alone(data, alone))
        # Each text with features is one segment: its features in first-seen order and their counts.
        if len(parts) == 1:
            features, counts, segment_starts, segment_rows = parts[0]
        else:
            features = np.concatenate([part[0] for part in parts])
            counts = np.concatenate([part[1] for part in parts])
            offsets = np.cumsum([0] + [len(part[0]) for part in parts[:-1]])
            segment_starts = np.concatenate(
                [part[2] + offset for part, offset in zip(parts, offsets, strict=True)]
            )
            segment_rows = np.concatenate([part[3] for part in parts])
        featureless = np.ones(len(texts), dtype=bool)  # no evidence: py3langid's uniform answer
        featureless[segment_rows] = False
        if featureless.all():
            return [None] * len(texts)
        # Each feature's log-count times its row of the table, summed per text: the sparse product written
        # as a gather and a segmented sum.
        weighted = self._table[features]
        weighted *= np.log1p(counts.astype(np.float32))[:, None]
        scores = np.zeros((len(texts), len(self.languages)), dtype=np.float32)
        scores[segment_rows] = np.add.reduceat(weighted, segment_starts, axis=0)
        scores += self._prior
        # Scores are divided by sqrt(bytes) so the softmax stays calibrated across text lengths.
        scores *= (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)[:, None]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        best = scores.argmax(axis=1)
        # The winner's softmax probability: its exp (1 after the shift) over the row's sum.
        confidence = scores[np.arange(len(texts)), best] / scores.sum(axis=1)
        rows = zip(best.tolist(), confidence.tolist(), featureless.tolist(), strict=True)
        return [
            None if empty or conf < self._min_confidence else self.languages[index]
            for index, conf, empty in rows
        ]

    @staticmethod
    def _plan(lengths: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Which texts to tokenise in lock-step (longest first) and which alone.

        The lock-step costs a step per byte of its longest text, the per-text loop a step per byte of each
        of its texts; handing the t longest texts to the per-text loop is worth it while it saves more
        steps than it costs, so t minimises (bytes of the t longest) + step cost x (length of the next).
        """
        longest_first = np.argsort(-lengths, kind="stable")
        too_long = lengths[longest_first] > LOCKSTEP_MAX_BYTES
        candidates = longest_first[~too_long]
        sizes = lengths[candidates]
        alone_bytes = np.concatenate(([0], np.cumsum(sizes)))
        steps = np.concatenate((sizes, [0]))
        t = int(np.argmin(alone_bytes + _STEP_COST_IN_BYTES * steps))
        return candidates[t:], sorted([*longest_first[too_long].tolist(), *candidates[:t].tolist()])

    def _tokenise_alone(
        self, data: list[bytes], rows: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The features of ``rows`` found one text at a time: (features, counts, segment starts, rows)."""
        features: list[int] = []
        counts: list[int] = []
        starts: list[int] = []
        segment_rows: list[int] = []
        for row in rows:
            visits = _visit_counts(data[row], self._next_state, self._row_start, self._feature_of_state)
            if visits:
                starts.append(len(features))
                segment_rows.append(row)
                features.extend(visits.keys())
                counts.extend(visits.values())
        return (
            np.array(features, dtype=np.intp),
            np.array(counts, dtype=np.intp),
            np.array(starts, dtype=np.intp),
            np.array(segment_rows, dtype=np.intp),
        )

    def _tokenise_together(
        self, data: list[bytes], lengths: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The features of ``rows`` (longest first): the state machine run on all rows at once.

        At byte position j only the first rows are still that long, so each step works on a prefix.
        """
        n = len(rows)
        sizes = lengths[rows]
        width = int(sizes[0]) if n else 0
        if width == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty, empty, empty
        order = rows.tolist()
        blob = np.frombuffer(b"".join([data[row] for row in order]), dtype=np.uint8)
        row_of_byte = np.repeat(np.arange(n), sizes)
        position = np.arange(blob.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        # Column-major cells (position x row) so that each step reads and writes contiguous prefixes.
        cell = position * n + row_of_byte
        columns = np.empty(width * n, dtype=np.uint8)
        columns[cell] = blob
        grid = columns.reshape(width, n)
        states = np.empty((width, n), dtype=self._next_state_array.dtype)
        active = n - np.searchsorted(sizes[::-1], np.arange(width), side="right")
        base = np.full(n, self._row_start[0], dtype=np.intp)
        index = np.empty(n, dtype=np.intp)
        # Bound methods and mode="clip" (take buffers its output in the default mode; the indices are
        # in range anyway): a step is a few microseconds, so the calls' overhead counts.
        next_state, row_start, add = self._next_state_array.take, self._row_start_array.take, np.add
        for j, k in enumerate(active.tolist()):
            current, step, state = base[:k], index[:k], states[j, :k]
            add(current, grid[j, :k], out=step)
            next_state(step, out=state, mode="clip")
            row_start(state, out=current, mode="clip")
        # Back to row-major (text by text, byte by byte): the order the per-text loop emits features in.
        found = self._feature_array[states.reshape(-1)[cell]]
        hit = np.flatnonzero(found >= 0)
        features = found[hit]
        feature_rows = row_of_byte[hit]
        emitted = features.size
        if emitted == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty, empty, empty
        # Count (row, feature) pairs and find where each first appears with one sort of packed keys:
        # pair id in the high bits, emission order in the low bits.
        shift = emitted.bit_length()
        keys = (feature_rows * len(self._table) + features) << shift | np.arange(emitted)
        keys.sort()
        pair = keys >> shift
        group_starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
        first_seen = keys[group_starts] & ((1 << shift) - 1)
        is_first = np.zeros(emitted, dtype=bool)
        is_first[first_seen] = True
        count_at = np.empty(emitted, dtype=np.intp)
        count_at[first_seen] = np.diff(np.append(group_starts, emitted))
        # First appearances in emission order: text by text, each in the order a Counter keeps its keys.
        firsts = np.flatnonzero(is_first)
        first_rows = feature_rows[firsts]
        starts = np.flatnonzero(np.concatenate(([True], first_rows[1:] != first_rows[:-1])))
        return features[firsts], count_at[firsts], starts, rows[first_rows[starts]]


def _visit_counts(
    data: bytes, next_state: Sequence[int], row_start: Sequence[int], feature_of_state: Sequence[int]
) -> Counter[int]:
    """One text's features and their counts, in first-seen order: the model's tokeniser, byte by byte."""
    state, found = 0, []
    for byte in data:
        state = next_state[row_start[state] + byte]
        feature = feature_of_state[state]
        if feature >= 0:
            found.append(feature)
    return Counter(found)


def _encode(text: str) -> bytes:
    """py3langid's input normalisation: all-capitals lowered, NFC, UTF-8 (lone surrogates passed through)."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
