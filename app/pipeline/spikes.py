"""Volume spikes: more posts than usual for this hour of the week, on the whole stream or one of its keys.

What is counted
    One counter per *key*: the whole stream (``all``), each municipality (``area:Haren``), each H3 cell
    (``cell:871f...``), each hashtag (``hashtag:projectxharen``) and each playbook spike term
    (``term:rellen``, :attr:`Lexicon.SPIKE_TERMS`, whole words, Dutch and English). The clock is event
    time: the posts' ``created_at``. A key's window (default 10 min) is a ring of short sub-buckets (30 s),
    so a spike is seen while it is growing, not when a whole minute or hour has closed. Posts a little out
    of order are counted in their own sub-bucket as long as it is still in the window.

What is expected
    expected(key, window) = level(key) x integral of shape over the window x calendar factor.

    * shape: one hour-of-week profile (168 bins, local time) learned from the whole stream, mean 1, so
      evening peaks, quiet nights and late weekend mornings are not spikes. Estimated as a hierarchy, each
      level a Gamma-Poisson shrinkage towards the one above it: a generic diurnal prior (quiet at night,
      busiest in the evening) -> one daily profile of all days -> one for weekdays and one for weekend days
      -> each hour of the week. A busy stream teaches the daily profiles within a day (the prior weighs
      ``shape_prior_posts_day`` posts per bin), the hours of the week over weeks
      (``shape_prior_posts_week``). Old weeks fade with ``shape_half_life_days``.
    * level: posts per second per unit of shape, a slow exponentially weighted ratio of counts to
      shape-weighted exposure, updated lazily whenever a key is touched in a new sub-bucket (a silent
      stretch is folded in as zeros in one step). What one sub-bucket may add to it is clipped at
      ``clip_ratio`` x its expectation, so a spike raises its own baseline only slowly (the level can grow
      by about (clip_ratio - 1) per baseline time constant, i.e. a sustained doubling takes about a day),
      and at ``episode_clip_ratio`` while the key's spike is open (a doubling then takes about four days:
      a spike that lasts all evening stays a spike, a lasting new normal is still learned; not in the
      first ``learning_hours``, when an open "spike" may well be the day's rhythm). The whole stream's
      counts, clipped at ``clip_ratio``, are also what the shape learns from.
    * a new key starts from a weak prior (``prior_rate_per_hour`` with the weight of ``prior_weight_hours``),
      so a hashtag nobody used before is expected at ~0.2 posts per 10 minutes: 40 posts in 10 minutes is
      news, 2 posts are not (``min_count``).
    * calendar: a known busy day from the playbooks multiplies the expectation, for the areas it names or,
      when it names none, for every key; its posts teach the level as if they were ordinary volume / factor.

When it fires
    A cheap pre-check on every post (window count >= ``min_count`` and >= ``min_ratio`` x expected) gates the
    exact test: the upper tail probability of the window count under a negative binomial whose mean is the
    expectation and whose size combines the stream's overdispersion (``dispersion``) with the uncertainty of
    the key's own level (a Gamma posterior with shape = the key's weighted count): a key with little history
    needs more posts to be significant. p < ``max_p_value`` opens an *episode*.

    The hot path is O(keys per post): a dict look-up and a few integer operations per key; folding,
    expectations and thresholds are recomputed once per key and sub-bucket, the tail probability only when
    the pre-check passes (and then again only after the count has grown by ~10%).

Episodes and alerts
    One alert per episode per key, with a stable id ``spike:<key>:<start minute UTC>``. While it grows (a new
    highest window count, or 10% more posts than the last revision said) the same id is sent again with
    ``revision + 1``, at most once per sub-bucket. An episode closes after the window count has stayed at
    most ``close_ratio`` x expected (or under half of ``min_count``) for ``close_after_minutes``; the closing
    revision says "Voorbij" and has ``details["state"] == "closed"``. A later spike on the same key is a
    new episode with a new id. Severity is the highest reached so far (an alert does not flicker down):
    medium from 5x and 20 posts, high from 10x and 50, critical from 30x and 150 (``severity_*``).

Related keys, and what the wall display gets
    A Project X evening lights up the area, its hashtag, several terms, a few cells and the whole stream at
    once. We let the area alert carry the story and hold back the others while the area explains them: a
    cell, hashtag or term alert is not sent while at least ``explain_share`` of its posts are about one area
    with an open (sent) area alert, and the whole-stream alert is not sent while open area alerts account
    for that share of its excess over expectation. Held-back episodes are still tracked; they appear under
    "Hangt samen met" in the area alert (``details["related"]``), and are sent after all if they outgrow the
    area (a hashtag that goes national). A hashtag reaches its small threshold before the area holding it
    reaches its larger one, so an alert whose posts are mostly about an area that is at least halfway to
    its own threshold waits up to ``explain_grace_seconds`` for that area's alert. An alert once sent keeps
    being updated. A stream without areas (e.g. a keyword-filtered Twitter collection) gets whole-stream,
    hashtag and term alerts. ``suppress_explained=False`` sends everything.

Starting
    A detector starts knowing nothing of its stream: the first hour (``warmup_minutes``) it only learns.
    Until it has seen ``learning_hours`` and a whole day of the current kind (weekday or weekend day), the
    profile is partly the prior's, and the day's own rhythm (the first morning, the first Monday) can look
    like a spike: such alerts say so in their explanation and have ``details["rhythm_known"] == False``.
    The state is in memory only; a service that restarts should warm a new detector by replaying the last
    week or two of stored posts through ``observe`` (event time makes that give the same state) and drop
    the alerts of that replay.

Terms
    Matched as whole words on the lower-cased text (``#rellen`` and ``rellen!`` count, ``rellenbouw`` does
    not); a multi-word term as a word sequence. Terms of one or two letters count only in capitals: the
    public-order lexicon's ``me`` is the riot police (ME), not every English "me".

Memory
    Whole-stream, area and term keys are bounded sets. Hashtag and cell keys expire after ``key_ttl_hours``
    without posts and, beyond ``max_keys``, the least recently seen go first. Each key keeps at most
    ``recent_posts_per_key`` recent posts, and only those of its current window (to seed an episode's
    members and examples); episodes keep at most ``MAX_MEMBERS`` member ids and bounded counters. A key
    costs about 1.2 kB, so a flood of one-off hashtags tops out around 60 MB at the default ``max_keys``.
"""

from __future__ import annotations

import math
import re
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy.special import betainc

from app.pipeline import wording
from app.pipeline.alerts import MAX_MEMBERS, Alert, AlertKind, Example, Severity
from app.pipeline.detector_settings import SpikeSettings
from app.playbooks import Lexicon, PlaybookSet
from streams.post import Post, key_of

HOUR = 3600.0
WEEK_HOURS = 168
WEEK = WEEK_HOURS * HOUR
# The Unix epoch fell on a Thursday: shifting by three days makes hour 0 of the week Monday 00:00.
_MONDAY_SHIFT = 3 * 24 * HOUR

# Generic diurnal prior, relative activity per local hour: the common shape of social-media posting (a
# trough around 4-5 in the morning at a fifth of the daytime level, a plateau by day, the peak in the
# evening). Coarse on purpose; the stream's own profile replaces it within a few days.
DIURNAL_PRIOR = (
    0.75, 0.45, 0.3, 0.2, 0.17, 0.2, 0.35, 0.6, 0.85, 1.0, 1.05, 1.1,
    1.15, 1.15, 1.1, 1.1, 1.15, 1.2, 1.3, 1.45, 1.6, 1.65, 1.5, 1.1,
)  # fmt: skip

ALL = "all"
AREA = "area"
CELL = "cell"
HASHTAG = "hashtag"
TERM = "term"
# Keys with a place, to which a calendar day naming areas can apply.
_PLACED = frozenset({AREA, CELL})
# Keys whose number grows with the stream; only these expire.
_EXPIRING = frozenset({CELL, HASHTAG})
# Emission order within a batch: area alerts first, so the others can see whether an area explains them.
_ORDER = {AREA: 0, TERM: 1, HASHTAG: 2, CELL: 3, ALL: 4}

_HASHTAG = re.compile(r"#(\w+)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Symbols that glue onto words in UTF-8: U+2000-U+2FFF (punctuation, arrows, dingbats), emoji (4-byte
# sequences), U+FE00-U+FFFF (variation selectors) and U+0080-U+00BF (nbsp, guillemets). Letters with
# diacritics (U+00C0 and up, two bytes) are kept.
_SYMBOLS = re.compile(rb"(?:[\xe2\xf0-\xf4][\x80-\xbf]+|\xef[\xb8-\xbf][\x80-\xbf]|\xc2[\x80-\xbf])")
# ASCII that is not a letter or digit becomes a space (so '#rellen' and 'rellen!' read as 'rellen').
_TO_SPACE = bytes(c if (c >= 128 or chr(c).isalnum()) else 32 for c in range(256))
MAX_HASHTAGS_PER_POST = 10

# Frequent words that say nothing about what drives a spike (Dutch and English, four letters and up).
_STOPWORDS = frozenset(
    word
    for line in (
        "aan al alle allemaal alles als altijd andere bent beetje best bij daar dan dat deze die dit doen",
        "doet door echt eens eigenlijk even geen gaan gaat gewoon gisteren goed hebben heeft heel hier hoor",
        "hun iedereen iets jullie kan kunnen laat maar maken meer mensen met mijn morgen naar niet niets nog",
        "nooit omdat onze ook over veel voor vandaag vanavond vanaf vanuit waar wanneer want waren wat weer",
        "wel welke werd wie wij wordt worden zal zeer zich zien zijn zelf zitten zoals zonder zouden",
        "about after again also been before being could does doing down from have having here just like",
        "more most much only other over same should some such than that their them then there these they",
        "this those through today tonight very were what when where which while will with would your yours",
        "into going right still http https www html status",
    )
    for word in line.split()
)
# Words (other than hashtags and playbook terms) are counted over an episode's latest posts, when an alert is
# written: what the spike is about now, at a cost per revision instead of per post.
WORD_SAMPLE = 200


class _TermMatcher:
    """Playbook spike terms as whole words (multi-word terms as word sequences).

    Works on UTF-8 bytes: one C-level translate and split per post is several times cheaper than a regex
    over the text. Terms of one or two letters (``me``: the Dutch riot police, ME) count only when written
    in capitals, or every English "me" would be a riot.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        self.single: set[bytes] = set()
        self.phrases: dict[bytes, list[tuple[bytes, ...]]] = {}
        self.acronyms: dict[bytes, re.Pattern[str]] = {}
        for term in terms:
            words = tuple(self.tokens(term))
            if not words:
                continue
            if len(words) == 1:
                self.single.add(words[0])
                if len(words[0]) <= 2:
                    self.acronyms[words[0]] = re.compile(rf"(?<!\w){re.escape(term.upper())}(?!\w)")
            else:
                self.phrases.setdefault(words[0], []).append(words)

    @staticmethod
    def tokens(text: str) -> list[bytes]:
        if "http" in text or "www." in text:
            text = _URL.sub(" ", text)
        data = text.lower().encode()
        if not text.isascii():
            data = _SYMBOLS.sub(b" ", data)
        return data.translate(_TO_SPACE).split()

    def terms(self, text: str, tokens: list[bytes]) -> tuple[str, ...]:
        found: list[str] = []
        if not self.single.isdisjoint(tokens):
            for token in self.single.intersection(tokens):
                acronym = self.acronyms.get(token)
                if acronym is None or acronym.search(text):
                    found.append(token.decode())
        if self.phrases and not self.phrases.keys().isdisjoint(tokens):
            for i, token in enumerate(tokens):
                for phrase in self.phrases.get(token, ()):
                    if tuple(tokens[i : i + len(phrase)]) == phrase:
                        joined = b" ".join(phrase).decode()
                        if joined not in found:
                            found.append(joined)
        return tuple(found)


def hashtags(text: str) -> tuple[str, ...]:
    """Lower-cased hashtags of a text, each once, at most MAX_HASHTAGS_PER_POST (spam carries dozens)."""
    if "#" not in text:
        return ()
    tags = dict.fromkeys(t.lower() for t in _HASHTAG.findall(text) if not t.isdigit())
    return tuple(tags)[:MAX_HASHTAGS_PER_POST]


class _WeekShape:
    """Hour-of-week activity profile (mean 1) of the whole stream, with its running integral."""

    def __init__(self, settings: SpikeSettings) -> None:
        prior = np.array(DIURNAL_PRIOR)
        self._prior = prior / prior.mean()
        # Learned counts and exposure per hour of the week (numpy: refit is vector work once an hour; the
        # per-post path only reads ``table`` and ``_cum``, plain lists, which index faster).
        self._count = np.zeros(WEEK_HOURS)
        self._seconds = np.zeros(WEEK_HOURS)
        # Kept above 0: the shrinkage divides by (exposure + weight); a bin never seen keeps its prior.
        self._prior_day = max(settings.shape_prior_posts_day, 1e-9)
        self._prior_week = max(settings.shape_prior_posts_week, 1e-9)
        self._hourly_decay = 0.5 ** (1.0 / (settings.shape_half_life_days * 24.0))
        self.table: list[float] = []
        self._cum: list[float] = []
        self._set(np.tile(self._prior, 7).tolist())

    def _set(self, table: list[float]) -> None:
        mean = sum(table) / WEEK_HOURS
        self.table = [v / mean for v in table]
        cum = [0.0]
        for v in self.table:
            cum.append(cum[-1] + v * HOUR)
        self._cum = cum

    def integral(self, u0: float, u1: float) -> float:
        """Integral of the shape from local time u0 to u1 (seconds since a Monday 00:00): shape-seconds."""
        hour = u0 // HOUR
        if u1 <= (hour + 1) * HOUR:
            # Within one hour (the common case: a sub-bucket or a window): one look-up.
            return (u1 - u0) * self.table[int(hour % WEEK_HOURS)]
        return self._at(u1) - self._at(u0)

    def _at(self, u: float) -> float:
        weeks, rem = divmod(u, WEEK)
        hour = int(rem // HOUR)
        return weeks * WEEK + self._cum[hour] + (rem - hour * HOUR) * self.table[hour]

    def add(self, u0: float, u1: float, count: float) -> None:
        """Learn from the whole stream: ``count`` posts over local time [u0, u1)."""
        if u1 - u0 > WEEK:
            u0 = u1 - WEEK
        self._count[int(u0 % WEEK // HOUR)] += count
        u = u0
        while u < u1:
            edge = min(u1, (u // HOUR + 1) * HOUR)
            self._seconds[int(u % WEEK // HOUR)] += edge - u
            u = edge

    def seen_hours(self, weekend: bool) -> float:
        """Hours of stream seen on this kind of day (weekday or weekend day), faded like the counts."""
        return float((self._seconds[120:] if weekend else self._seconds[:120]).sum()) / HOUR

    def refit(self, hours: int) -> None:
        """Fade old weeks and re-estimate; called once per hour of stream time.

        Each bin is a Gamma-Poisson estimate: (posts seen + m x prior) / (posts a flat profile predicts + m),
        with the prior weighing m posts. A busy stream outweighs the prior within a day; a quiet one's
        night hours, with a post or two, stay close to it instead of swinging on single posts.

        Hierarchy: prior -> one daily profile of all days -> a profile for weekdays and one for weekend days
        (mornings differ most) -> each hour of the week. Each level falls back on the one above where it has
        seen little, so the first Monday borrows the evening the weekend taught.
        """
        decay = self._hourly_decay ** max(1, hours)
        self._count *= decay
        self._seconds *= decay
        total_seconds = self._seconds.sum()
        rate = self._count.sum() / total_seconds if total_seconds > 0 else 0.0
        if rate <= 0:
            return
        m_day, m_week = self._prior_day, self._prior_week
        counts = self._count.reshape(7, 24)
        flat = rate * self._seconds.reshape(7, 24)
        pooled = (counts.sum(axis=0) + m_day * self._prior) / (flat.sum(axis=0) + m_day)
        weekday = (counts[:5].sum(axis=0) + m_day * pooled) / (flat[:5].sum(axis=0) + m_day)
        weekend = (counts[5:].sum(axis=0) + m_day * pooled) / (flat[5:].sum(axis=0) + m_day)
        daily = np.vstack([np.tile(weekday, (5, 1)), np.tile(weekend, (2, 1))])
        weekly = (counts + m_week * daily) / (flat + m_week)
        self._set(weekly.ravel().tolist())


@dataclass(slots=True, eq=False)
class _Item:
    """What the detector keeps of a post, shared by all its keys.

    Not the post itself: every key holds its window's recent items (to seed a spike's members, counts and
    examples), tens of thousands of them on a busy stream, and a whole Post (its field dict, pseudonym, id,
    links, counts) costs several times these fields. References to the post's own values cost nothing extra.
    """

    t: float
    tags: tuple[str, ...]
    terms: tuple[str, ...]
    text: str
    created_at: datetime
    platform: str
    post_id: str
    area: str | None
    cell: str | None
    places: tuple[str, ...]
    reshare: bool  # a repost: an example should rather be an original
    # Filled only for posts that join an episode (for its members and word counts): most posts never do,
    # and dropping nothing but short-lived objects keeps the garbage collector out of the hot path.
    tokens: list[bytes] | None = None
    content: list[bytes] | None = None
    key: str = ""

    def words(self) -> list[bytes]:
        if self.tokens is None:
            self.tokens = _TermMatcher.tokens(self.text)
        return self.tokens

    def content_words(self) -> list[bytes]:
        """Words of four letters and more: the ones worth counting as what a spike is about."""
        if self.content is None:
            self.content = [token for token in self.words() if len(token) >= 4]
        return self.content

    def post_key(self) -> str:
        if not self.key:
            self.key = key_of(self.platform, self.post_id)
        return self.key

    def example(self) -> Example:
        return Example.quoting(self.post_key(), self.created_at, self.text, self.area)


@dataclass(slots=True, eq=False)
class _Key:
    name: str
    kind: str
    label: str
    ring: list[int]
    bucket: int
    t_fold: float
    area: str | None = None
    total: int = 0
    n: float = 0.0
    d: float = 0.0
    n0: float = 0.0
    d0: float = 1.0
    factor: float = 1.0
    calendar: str | None = None
    expected: float = 0.0
    threshold: float = 0.0
    next_eval: int = 0
    last_seen: float = 0.0
    recent: list[_Item] = field(default_factory=list)
    episode: _Episode | None = None
    last_episode_id: str = ""


@dataclass(slots=True, eq=False)
class _Episode:
    id: str
    key: _Key
    first_t: float
    updated_t: float
    members: list[str] = field(default_factory=list)
    post_count: int = 0
    tags: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)
    places: Counter[str] = field(default_factory=Counter)
    areas: Counter[str] = field(default_factory=Counter)
    cells: Counter[str] = field(default_factory=Counter)
    related: Counter[str] = field(default_factory=Counter)
    first_items: list[_Item] = field(default_factory=list)
    last_items: deque[_Item] = field(default_factory=lambda: deque(maxlen=WORD_SAMPLE))
    rhythm_known: bool = True
    revision: int = 0
    emitted_posts: int = 0
    severity: Severity = Severity.LOW
    peak_observed: int = 0
    peak_expected: float = 0.0
    peak_p: float = 1.0
    peak_ratio: float = 0.0
    dirty: bool = True
    last_emit_bucket: int = -1
    quiet_since: float | None = None
    closed: bool = False


class SpikeDetector:
    """Streaming volume-spike detector; see the module docstring. Not thread-safe: one per pipeline."""

    def __init__(self, settings: SpikeSettings | None = None, playbooks: PlaybookSet | None = None) -> None:
        playbooks = playbooks if playbooks is not None else PlaybookSet(())
        self.settings = s = (settings or SpikeSettings()).with_playbooks(playbooks)
        self._calendar = playbooks.calendar()
        self._matcher = _TermMatcher(playbooks.lexicon(Lexicon.SPIKE_TERMS))
        self._tz = ZoneInfo(s.timezone)
        self._shape = _WeekShape(s)
        self._W = s.buckets
        self._step = s.bucket_seconds
        self._window = s.window_minutes * 60.0
        self._tau = s.baseline_half_life_hours * HOUR / math.log(2)
        self._recent_cap = s.recent_posts_per_key
        self._grace = s.explain_grace_seconds
        self._clip, self._episode_clip, self._clip_min = s.clip_ratio, s.episode_clip_ratio, s.clip_min_posts
        self._min_ratio, self._min_count = s.min_ratio, s.min_count

        self._keys: dict[str, _Key] = {}
        # The same keys by kind and plain value: the hot path looks them up without building a name.
        self._by_kind: dict[str, dict[str, _Key]] = {kind: {} for kind in _ORDER}
        self._areas, self._cells = self._by_kind[AREA], self._by_kind[CELL]
        self._tags, self._terms = self._by_kind[HASHTAG], self._by_kind[TERM]
        self._expiring = 0
        self._open: dict[str, _Episode] = {}
        self._clock = -1  # current sub-bucket index (event time)
        self._hour = -1
        self._offset = 0.0
        self._day: date | None = None
        self._factors: dict[str | None, tuple[float, str | None]] = {}
        self._wshape = 0.0
        self._armed_at = math.inf
        self._started = math.inf
        self._learned_at = math.inf
        self._next_sweep = 0.0
        self._next_review = 0.0
        self._all = self._new_key(ALL, ALL, "alle berichten", 0)

    # --- public ---------------------------------------------------------------------------------------------

    def observe(self, posts: list[Post]) -> list[Alert]:
        out: dict[str, Alert] = {}
        step, W = self._step, self._W
        count, tokenize, find_terms = self._count, self._matcher.tokens, self._matcher.terms
        areas, cells, tags, terms = self._areas, self._cells, self._tags, self._terms
        touched: list[_Episode] = []
        for post in posts:
            t = post.created_at.timestamp()
            b = int(t // step)
            if b > self._clock:
                self._tick(b, out)
            elif b <= self._clock - W:
                continue  # older than the window: too late to count
            text = post.text
            area = post.area
            words = tokenize(text)
            item = _Item(
                t,
                hashtags(text) if "#" in text else (),
                find_terms(text, words),
                text,
                post.created_at,
                post.platform,
                post.id,
                area,
                post.cell,
                post.places,
                post.repost_of is not None,
            )
            count(self._all, b, item, touched)
            if area:
                count(areas.get(area) or self._new_key(AREA, area, area, b), b, item, touched)
            if post.cell:
                key = cells.get(post.cell) or self._new_key(CELL, post.cell, post.cell, b)
                if area:
                    key.area = area
                count(key, b, item, touched)
            for tag in item.tags:
                count(tags.get(tag) or self._new_key(HASHTAG, tag, "#" + tag, b), b, item, touched)
            for term in item.terms:
                count(terms.get(term) or self._new_key(TERM, term, f"'{term}'", b), b, item, touched)
            if touched:
                # It joined a spike, whose revisions count its words: keep them, made once already.
                item.tokens = words
                if len(touched) > 1:
                    for episode in touched:
                        for other in touched:
                            if other is not episode:
                                episode.related[other.key.name] += 1
                touched.clear()
        for episode in sorted(
            (e for e in self._open.values() if e.dirty and e.last_emit_bucket != self._clock and _grown(e)),
            key=lambda e: _ORDER[e.key.kind],
        ):
            alert = self._emit(episode)
            if alert is not None:
                out[alert.id] = alert
        return list(out.values())

    def state_size(self) -> dict[str, int]:
        """What the detector holds, for tests and /status: keys, open episodes, buffered post references."""
        return {
            "keys": len(self._keys),
            "expiring_keys": self._expiring,
            "open_episodes": len(self._open),
            "buffered_posts": sum(len(k.recent) for k in self._keys.values()),
        }

    # --- keys and counting ----------------------------------------------------------------------------------

    def _new_key(self, kind: str, value: str, label: str, b: int) -> _Key:
        name = kind if kind == ALL else f"{kind}:{value}"
        key = _Key(name, kind, label, [0] * self._W, b, b * self._step)
        # The prior is for a key that appears in a running stream; the whole stream itself has no typical
        # size, so its prior weighs a minute and the first hour (the warm-up) sets its level.
        key.d0 = (1.0 / 60.0 if kind == ALL else self.settings.prior_weight_hours) * HOUR
        key.n0 = self.settings.prior_rate_per_hour * key.d0 / HOUR
        if kind == AREA:
            key.area = value
        self._keys[name] = key
        self._by_kind[kind][value] = key
        if kind in _EXPIRING:
            self._expiring += 1
            if self._expiring > self.settings.max_keys * 1.1:
                self._sweep(force=True)
        self._rebase(key)
        return key

    def _count(self, key: _Key, b: int, item: _Item, touched: list[_Episode]) -> None:
        if b != key.bucket:
            if b > key.bucket:
                self._advance(key, b)
            elif b <= key.bucket - self._W:
                return
        key.ring[b % self._W] += 1
        key.total += 1
        key.last_seen = item.t
        recent = key.recent
        recent.append(item)
        if len(recent) > 2 * self._recent_cap:
            del recent[: len(recent) - self._recent_cap]
        episode = key.episode
        if episode is not None:
            self._grow(episode, item)
            touched.append(episode)
        elif key.total >= key.threshold and key.total >= key.next_eval and item.t >= self._armed_at:
            p = self._p_value(key.total, key)
            if p < self.settings.max_p_value:
                touched.append(self._open_episode(key, item))
            else:
                # Re-test only after ~10% more posts: a near-miss costs one tail evaluation, not one per post.
                key.next_eval = key.total + max(1, key.total // 10)

    def _advance(self, key: _Key, b: int) -> None:
        """Move a key to sub-bucket b: fold its last active sub-bucket into the level, drop what left the
        window, and recompute its expectation and threshold. On a quiet stream this runs for almost every
        post of every key, hence the settings read from plain attributes."""
        W = self._W
        old = key.bucket
        until = b * self._step
        span = until - key.t_fold
        if span > 0 and key.factor > 1.0:
            # A known busy day (playbook calendar) teaches the level nothing: its factor holds for the whole
            # day, but the crowd comes for a few hours, so learning count / factor all day long pulled the
            # baseline far below normal for days after New Year's Eve (and gave false spikes).
            key.t_fold = until
        elif span > 0:
            u0 = key.t_fold + self._offset + _MONDAY_SHIFT
            exposure = self._shape.integral(u0, u0 + span) * key.factor
            count = key.ring[old % W]
            expected = (key.n + key.n0) / (key.d + key.d0) * exposure
            cap = self._clip * expected
            if cap < self._clip_min:
                cap = self._clip_min
            added = count if count < cap else cap
            if key is self._all:
                # The profile learns from every day at the ordinary clip, open spike or not: a first-day
                # "spike" that was just the evening peak must still teach the evening.
                self._shape.add(u0, u0 + span, added / key.factor)
            if key.episode is not None and key.episode.rhythm_known:
                tight = self._episode_clip * expected
                added = min(added, max(tight, self._clip_min))
            decay = math.exp(-span / self._tau)
            key.n = key.n * decay + added
            key.d = key.d * decay + exposure * (self._tau * (1.0 - decay) / span)
            key.t_fold = until
        if b - old >= W:
            key.ring = [0] * W
            key.total = 0
            if key.recent:
                key.recent = []
        else:
            ring = key.ring
            for i in range(old + 1, b + 1):
                slot = i % W
                key.total -= ring[slot]
                ring[slot] = 0
            recent = key.recent
            since = (b - W + 1) * self._step
            if recent and recent[0].t < since:
                i = 1
                while i < len(recent) and recent[i].t < since:
                    i += 1
                del recent[:i]
        key.bucket = b
        self._rebase(key)

    def _rebase(self, key: _Key) -> None:
        factor, key.calendar = self._factor(key.area if key.kind in _PLACED else None)
        key.factor = factor
        expected = key.expected = (key.n + key.n0) / (key.d + key.d0) * self._wshape * factor
        threshold = self._min_ratio * expected
        key.threshold = threshold if threshold > self._min_count else self._min_count
        key.next_eval = 0

    def _p_value(self, observed: int, key: _Key) -> float:
        """P(X >= observed) for X ~ NegBin(mean = expected, size = r): r combines the stream's
        overdispersion with the Gamma posterior of the key's own level (shape = its weighted count)."""
        mu = key.expected
        if observed <= 0 or mu <= 0:
            return 1.0
        r = 1.0 / (1.0 / (key.n + key.n0) + 1.0 / self.settings.dispersion)
        return float(betainc(observed, r, mu / (r + mu)))

    # --- time -----------------------------------------------------------------------------------------------

    def _tick(self, b: int, out: dict[str, Alert]) -> None:
        t = b * self._step
        if self._clock < 0:
            self._started = t
            self._learned_at = t + self.settings.learning_hours * HOUR
            self._armed_at = t + self.settings.warmup_minutes * 60.0
            self._next_sweep = t + self.settings.sweep_minutes * 60.0
            self._all.bucket, self._all.t_fold = b, t
        self._clock = b
        hour = int(t // HOUR)
        if hour != self._hour:
            if self._hour >= 0:
                self._shape.refit(min(hour - self._hour, 24 * 7 * 8))
            self._hour = hour
            moment = datetime.fromtimestamp(t, UTC).astimezone(self._tz)
            offset = moment.utcoffset()
            self._offset = offset.total_seconds() if offset else 0.0
            if moment.date() != self._day:
                self._day = moment.date()
                self._factors = {}
        u1 = (b + 1) * self._step + self._offset + _MONDAY_SHIFT
        self._wshape = self._shape.integral(u1 - self._window, u1)
        # Keys that did not move keep their last expectation until touched; the whole stream moves always.
        self._advance(self._all, b)
        if self._open and t >= self._next_review:
            # Closing needs minutes of calm, so once a minute is often enough to look.
            self._next_review = t + 60.0
            for episode in list(self._open.values()):
                self._review(episode, out)
        if t >= self._next_sweep:
            self._sweep(force=False)
            self._next_sweep = t + self.settings.sweep_minutes * 60.0

    def _rhythm_known(self, t: float) -> bool:
        """Past learning_hours, and a whole day of today's kind (weekday or weekend day) seen."""
        weekend = (t + self._offset + _MONDAY_SHIFT) % WEEK >= 5 * 24 * HOUR
        return t >= self._learned_at and self._shape.seen_hours(weekend) >= 24.0

    def _factor(self, area: str | None) -> tuple[float, str | None]:
        hit = self._factors.get(area)
        if hit is None:
            factor, name = 1.0, None
            if self._day is not None:
                for day in self._calendar:
                    if day.applies(self._day, area) and day.factor > factor:
                        factor, name = day.factor, day.name
            hit = self._factors[area] = (factor, name)
        return hit

    def _sweep(self, force: bool) -> None:
        """Drop hashtag and cell keys unused for key_ttl_hours; beyond max_keys, the least recently seen."""
        horizon = self._clock * self._step - self.settings.key_ttl_hours * HOUR
        for key in [
            k
            for k in self._keys.values()
            if k.kind in _EXPIRING and k.last_seen < horizon and k.episode is None
        ]:
            self._drop(key)
        limit = self.settings.max_keys
        if self._expiring > limit or (force and self._expiring > limit * 0.9):
            idle = sorted(
                (k for k in self._keys.values() if k.kind in _EXPIRING and k.episode is None),
                key=lambda k: k.last_seen,
            )
            for key in idle[: max(0, self._expiring - int(limit * 0.9))]:
                self._drop(key)

    def _drop(self, key: _Key) -> None:
        del self._keys[key.name]
        del self._by_kind[key.kind][key.name.partition(":")[2]]
        self._expiring -= 1

    # --- episodes -------------------------------------------------------------------------------------------

    def _open_episode(self, key: _Key, trigger: _Item) -> _Episode:
        start = datetime.fromtimestamp(trigger.t, UTC)
        alert_id = f"spike:{key.name}:{start:%Y-%m-%dT%H:%M}"
        if alert_id == key.last_episode_id:
            # Only possible with close_after_minutes ~ 0: a new episode in the same minute needs its own id.
            alert_id += f":{start:%S.%f}"
        key.last_episode_id = alert_id
        episode = _Episode(alert_id, key, trigger.t, trigger.t)
        episode.rhythm_known = self._rhythm_known(trigger.t)
        key.episode = episode
        self._open[key.name] = episode
        since = (key.bucket - self._W + 1) * self._step
        seen: set[int] = set()
        for item in key.recent:
            if item.t >= since and id(item) not in seen:
                seen.add(id(item))
                self._grow(episode, item)
        return episode

    def _grow(self, episode: _Episode, item: _Item) -> None:
        # Runs for every post of every open episode: plain loops, as Counter.update costs more than it saves
        # on the one or two elements most posts have.
        episode.post_count += 1
        if len(episode.members) < MAX_MEMBERS:
            episode.members.append(item.post_key())
        if item.t > episode.updated_t:
            episode.updated_t = item.t
        episode.dirty = True
        for tag in item.tags:
            episode.tags[tag] += 1
        for term in item.terms:
            episode.terms[term] += 1
        for place in item.places:
            episode.places[place] += 1
        if item.area:
            episode.areas[item.area] += 1
        if item.cell:
            episode.cells[item.cell] += 1
        if len(episode.first_items) < 20:
            episode.first_items.append(item)
        episode.last_items.append(item)

    def _review(self, episode: _Episode, out: dict[str, Alert]) -> None:
        """Close an episode whose window has looked normal for close_after_minutes."""
        key = episode.key
        if key.bucket < self._clock:
            self._advance(key, self._clock)
        now = self._clock * self._step
        normal = key.total <= max(self.settings.close_ratio * key.expected, self.settings.min_count / 2)
        if not normal:
            episode.quiet_since = None
            return
        if episode.quiet_since is None:
            # After a silence with no posts at all (no ticks to watch it), the window was empty from at most
            # one window length after the key's last post.
            episode.quiet_since = min(now, key.last_seen + self._window)
        if now - episode.quiet_since < self.settings.close_after_minutes * 60.0:
            return
        episode.closed = True
        key.episode = None
        del self._open[key.name]
        if episode.revision:
            alert = self._emit(episode)
            if alert is not None:
                out[alert.id] = alert

    def _waiting(self, episode: _Episode) -> bool:
        """Whether to hold a first alert back for a moment because its area's alert may be about to open.

        Yes while most of its posts are about one area whose counter is at least halfway to that area's
        threshold, for at most explain_grace_seconds. A hashtag with ten posts fires before the area that
        holds it reaches its own, larger, threshold; without this wait both would go on the display.
        """
        if episode.key.kind == AREA or not self.settings.suppress_explained or not episode.areas:
            return False
        if (self._clock + 1) * self._step - episode.first_t >= self._grace:
            return False
        area, count = episode.areas.most_common(1)[0]
        if count < self.settings.explain_share * episode.post_count:
            return False
        key = self._areas.get(area)
        return key is not None and key.episode is None and key.total >= 0.5 * key.threshold

    def _explained(self, episode: _Episode) -> bool:
        """Whether an open area alert already tells this episode's story (see the module docstring)."""
        kind = episode.key.kind
        if kind == AREA or not self.settings.suppress_explained:
            return False
        share = self.settings.explain_share
        if kind == ALL:
            areas = [e for e in self._open.values() if e.key.kind == AREA and e.revision]
            if not areas:
                return False
            excess = episode.key.total - episode.key.expected
            return excess <= 0 or sum(e.key.total - e.key.expected for e in areas) >= share * excess
        if not episode.areas:
            return False
        area, count = episode.areas.most_common(1)[0]
        area_episode = self._open.get(f"{AREA}:{area}")
        return count >= share * episode.post_count and area_episode is not None and area_episode.revision > 0

    def _emit(self, episode: _Episode) -> Alert | None:
        key = episode.key
        if not episode.revision:
            if self._explained(episode):
                episode.dirty = False
                return None
            if self._waiting(episode):
                return None  # still dirty: a later batch looks again
        episode.dirty = False
        observed, expected = key.total, key.expected
        p = self._p_value(observed, key)
        ratio = observed / expected if expected > 0 else math.inf
        if observed > episode.peak_observed:
            episode.peak_observed, episode.peak_expected, episode.peak_p = observed, expected, p
        if ratio > episode.peak_ratio and math.isfinite(ratio):
            episode.peak_ratio = ratio
        severity = self._severity(ratio, observed)
        if severity.rank > episode.severity.rank:
            episode.severity = severity
        episode.revision += 1
        episode.last_emit_bucket = self._clock
        episode.emitted_posts = episode.post_count
        return self._alert(episode, observed, expected, p, ratio)

    def _severity(self, ratio: float, observed: int) -> Severity:
        s = self.settings
        for level, (min_ratio, min_posts) in (
            (Severity.CRITICAL, s.severity_critical),
            (Severity.HIGH, s.severity_high),
            (Severity.MEDIUM, s.severity_medium),
        ):
            if ratio >= min_ratio and observed >= min_posts:
                return level
        return Severity.LOW

    # --- the alert ------------------------------------------------------------------------------------------

    def _alert(self, episode: _Episode, observed: int, expected: float, p: float, ratio: float) -> Alert:
        key = episode.key
        minutes = _num(self.settings.window_minutes)
        top_terms = self._top_terms(episode)
        top_words = self._top_words(episode)
        sampled = len(episode.last_items)
        top_places = episode.places.most_common(5)
        area = key.area if key.kind in (AREA, CELL) else None
        if area is None and episode.areas:
            top_area, count = episode.areas.most_common(1)[0]
            area = top_area if count >= 0.5 * episode.post_count else None
        related = [
            (name, shared)
            for name, shared in episode.related.most_common(6)
            if name != key.name and name in self._keys
        ]
        calendar = f" ({key.calendar})" if key.calendar else ""
        where = {ALL: "alle berichten", AREA: key.label, HASHTAG: key.label, TERM: key.label}.get(
            key.kind, f"cel {key.label}" + (f" ({key.area})" if key.area else "")
        )
        what = "" if key.kind == ALL else " berichten"
        peak, peak_expected = episode.peak_observed, episode.peak_expected
        peak_ratio = peak / peak_expected if peak_expected > 0 else math.inf
        if episode.closed:
            title = (
                f"Voorbij: piek in {where}: tot {_num(peak)}{what} in {minutes} min, "
                f"verwacht {_num(peak_expected)}"
            )
            first = (
                f"De piek ({_subject(key)}) is voorbij: nu {_num(observed)} in {minutes} minuten, verwacht "
                f"{_num(expected)}. Hoogste stand: {_num(peak)} in {minutes} minuten, verwacht "
                f"{_num(peak_expected)} ({_num(peak_ratio)}x zo veel; {_p(episode.peak_p)})."
            )
        else:
            title = (
                f"Piek in {where}: {_num(observed)}{what} in {minutes} min, "
                f"verwacht {_num(expected)}{calendar}"
            )
            first = (
                f"{_num(observed)} berichten ({_subject(key)}) in de laatste {minutes} minuten, verwacht "
                f"{_num(expected)} voor dit uur van de week: {_num(ratio)}x zo veel; kans daarop bij normaal "
                f"verloop {_p(p)}."
            )
            if peak > observed:
                first += f" Hoogste stand tot nu: {_num(peak)} in {minutes} minuten."
        local = datetime.fromtimestamp(episode.first_t, self._tz)
        lines = [first]
        if top_terms:
            lines.append("Aanleiding: " + ", ".join(f"{t} ({_num(c)})" for t, c in top_terms[:6]) + ".")
        if top_words:
            scope = f" (in de laatste {sampled} berichten)" if sampled < episode.post_count else ""
            words = ", ".join(f"{t} ({_num(c)})" for t, c in top_words[:6])
            lines.append(f"Veel gebruikte woorden{scope}: {words}.")
        if top_places:
            lines.append("Plaatsen: " + ", ".join(f"{t} ({_num(c)})" for t, c in top_places) + ".")
        if related:
            shared_with = (f"{self._keys[name].label} ({_num(n)} gedeelde berichten)" for name, n in related)
            lines.append("Hangt samen met: " + ", ".join(shared_with) + ".")
        if key.calendar:
            lines.append(f"Kalender: {key.calendar}, verwachting x{_num(key.factor)}.")
        learned = (episode.first_t - self._started) / HOUR
        if not episode.rhythm_known:
            lines.append(
                f"Let op: de detector liep pas {learned:.0f} uur toen dit begon en kent het dagritme van "
                "dit soort dag nog niet; dit kan gewone dagelijkse drukte zijn."
            )
        state = "voorbij" if episode.closed else "loopt"
        lines.append(f"Sinds {local:%H:%M} ({state}) {_num(episode.post_count)} berichten in deze piek.")

        examples = self._examples(episode, [t for t, _ in (top_terms or top_words)[:3]])
        details: dict[str, Any] = {
            "key": key.name,
            "observed": observed,
            "expected": round(expected, 3),
            "p_value": p,
            "ratio": round(ratio, 2) if math.isfinite(ratio) else None,
            "window_minutes": self.settings.window_minutes,
            "top_terms": [[t, c] for t, c in top_terms],
            "top_words": [[t, c] for t, c in top_words],
            "words_sample": sampled,
            "top_places": [[t, c] for t, c in top_places],
            "calendar_day": key.calendar,
            "calendar_factor": key.factor,
            "top_areas": [[t, c] for t, c in episode.areas.most_common(5)],
            "top_cells": [[t, c] for t, c in episode.cells.most_common(5)],
            "related": [[self._keys[name].name, shared] for name, shared in related],
            "peak_observed": episode.peak_observed,
            "peak_ratio": round(episode.peak_ratio, 2),
            "state": "closed" if episode.closed else "open",
            "baseline_hours": round(learned, 1),
            "rhythm_known": episode.rhythm_known,
        }
        return Alert(
            id=episode.id,
            kind=AlertKind.SPIKE,
            severity=episode.severity,
            title=title,
            explanation=" ".join(lines),
            area=area,
            first_seen=datetime.fromtimestamp(episode.first_t, UTC),
            updated_at=datetime.fromtimestamp(episode.updated_t, UTC),
            post_count=episode.post_count,
            member_ids=tuple(episode.members),
            examples=tuple(item.example() for item in examples),
            details=details,
            revision=episode.revision,
        )

    @staticmethod
    def _top_terms(episode: _Episode, limit: int = 10) -> list[tuple[str, int]]:
        """Hashtags and playbook spike terms over all the episode's posts, most frequent first."""
        top = [("#" + t, c) for t, c in episode.tags.most_common(limit) if c >= 2]
        top += [(t, c) for t, c in episode.terms.most_common(limit) if c >= 2]
        return sorted(top, key=lambda tc: -tc[1])[:limit]

    @staticmethod
    def _top_words(episode: _Episode, limit: int = 8) -> list[tuple[str, int]]:
        """The most frequent other words of the episode's latest WORD_SAMPLE posts."""
        # One C-level count over all the words: an update per item costs more than the counting itself.
        words = Counter(chain.from_iterable(item.content_words() for item in episode.last_items))
        taken = set(episode.tags) | set(episode.terms) | {p.lower() for p in episode.places}
        taken.add(episode.key.label.lower().strip("#'"))
        top = []
        for token, count in words.most_common(4 * limit):
            word = token.decode(errors="ignore")
            if count >= 2 and word not in taken and word not in _STOPWORDS and not word.isdigit():
                top.append((word, count))
        return top[:limit]

    @staticmethod
    def _examples(episode: _Episode, drivers: list[str]) -> list[_Item]:
        """Three posts with distinct texts, preferring originals that carry the top terms."""
        wanted = {d.lstrip("#").encode() for d in drivers}

        def score(item: _Item) -> tuple[int, bool, float]:
            return (len(wanted.intersection(item.words())), not item.reshare, -item.t)

        chosen: list[_Item] = []
        texts: set[str] = set()
        pool = {id(item): item for item in (*episode.first_items, *episode.last_items)}
        for item in sorted(pool.values(), key=score, reverse=True):
            if item.text not in texts:
                texts.add(item.text)
                chosen.append(item)
                if len(chosen) == 3:
                    break
        return sorted(chosen, key=lambda item: item.t)


def _grown(episode: _Episode) -> bool:
    """Worth a new revision: the first one, a new highest window count, or 10% more posts since the last.

    Every new post is growth, but a long evening would then send a revision per sub-bucket that says the
    same; the display needs the moments the picture changes.
    """
    return (
        episode.revision == 0
        or episode.key.total > episode.peak_observed
        or episode.post_count >= 1.1 * episode.emitted_posts
    )


def _subject(key: _Key) -> str:
    return {
        ALL: "alle berichten",
        AREA: f"over {key.label}",
        HASHTAG: f"met {key.label}",
        TERM: f"met het woord {key.label}",
    }.get(key.kind, f"uit cel {key.label}")


def _num(x: float) -> str:
    """Dutch number for people: 84, 3,1, 0,17."""
    if not math.isfinite(x):
        return "∞"
    if x >= 10 or float(x).is_integer():
        return wording.count(round(x))
    text = f"{x:.1f}" if x >= 1 else f"{x:.2f}"
    return text.replace(".", ",")


def _p(p: float) -> str:
    if p <= 0:
        return "p < 1e-300"
    if p < 0.001:
        return f"p = {p:.0e}"
    return f"p = {p:.3f}".replace(".", ",")
