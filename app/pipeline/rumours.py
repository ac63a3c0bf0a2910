"""Rumour cases: claims that spread while people question, hedge or deny them.

Every post is put in a *claim*, the group of posts that carry the same statement:

* a repost joins the claim of its original directly (reposts of an original the detector never saw join
  each other), a quote joins the claim it quotes;
* a reply joins the claim of the post it answers as a *reaction*: it is counted for the crowd's stance
  (does it ask, deny, support?) but its words are not the claim;
* any other post is matched by its words against recent claims (exact repeats first, then MinHash + LSH,
  :mod:`app.pipeline.claims`) and joins the most similar one, or starts a claim of its own.

Scoring, as log-odds so that each piece of evidence moves the score the same way whatever the others say:
the rumour classifier's probability for the claim's first texts
(:class:`app.pipeline.rumour_model.RumourModel`; ``prior`` without one) is the starting point; the share
of the claim's posts that question or deny it (Zhao, Resnick and Mei, WWW 2015: enquiries flag rumours
early) adds up to ``evidence_contested``, the share of its carriers that hedge ("naar verluidt",
"reportedly") up to ``evidence_hedged``. Only reactions count as questioning: a post that asks a question
of its own ("anyone know a good dentist?") is a question, not a questioned claim; denials count wherever
they are. Reposts count in the share's denominator: a claim reposted by many and questioned by one is not
contested.

A claim becomes a *rumour case* at the post that gives it ``min_posts`` posts by ``min_authors``
accounts, at least ``min_signals`` posts that question, deny or hedge it, and a score of at least
``min_score``. By default one such post is needed whatever the classifier says: the classifier, trained
on English crisis tweets, is not sure-footed enough on Dutch everyday chatter to raise a case alone (see
``benchmarks/eval_rumours.py``). Posts that come out of event-time order (Kafka under backlog) are
judged as if they had come in order, so the interleaving of partitions does not decide whether a claim is a
case. A case is an :class:`Alert` with a stable id (``rumour:<key of its first
post>``), sent again with a higher revision as the claim grows (by ``update_growth``), gains a denial or
changes severity, never as a new alert while the claim is remembered. ``details["alerted_at"]`` is the
event time of the post that made it a case, however large the batch it came in.

A claim whose first post is a call to gather or talk of one (the playbooks' invitation lexicon, a day or
time, and no incident named: "Open feest in Haren zaterdag 20:00, iedereen welkom",
:mod:`app.pipeline.invitations`) never becomes a case: the questions under it ("Is dit echt?") ask whether
the party is on, and the mobilisation detector follows the call. A claim that denies a call ("het feest
gaat niet door, nep") or names an incident ("het leger komt zaterdag naar het feest") stays a candidate.
Nor does a claim whose first post passes a call on and names no incident: a post of the call in the
invitation lexicon's words ("Al 23.000 aanmeldingen voor het feest #projectxveghel"), travel talk ("Wij
komen met 50 man uit Rotterdam #projectxharen"), or a repost, quote or reply of one ("Dit wordt episch"
quoting an invitation this detector forgot days ago). Only the mobilisation detector knows that, so the
service hands its :meth:`MobilisationDetector.passes_on` to this one (``passes_on_a_call``), asked once per
claim, when it first passes the case thresholds. A post that joined the call by its hashtag alone ("Ze
sturen het leger naar Veghel #projectxveghel"), or answers such a post, is not call talk: the rumours of the
night look like that. ``calls_to_mobilisation: false`` in a playbook's rumour settings turns all this off.

Cue words come from :mod:`app.pipeline.signals` (bilingual, tuned there) plus whatever the playbooks add
to the enquiry, denial and hedging lexicons, so an adviser can teach the detector a local phrase without
a code change.

Costs: a post's text is tokenised once (and not at all for a repost of a known post); signatures for a
whole batch are a few numpy operations; the classifier, the expensive part, runs only once a claim has
the posts, accounts and signals of a case, on at most ``model_sample`` of its texts, or when
:meth:`RumourDetector.labels` asks for a score.

Memory: post links, exact-repeat keys, LSH buckets and anchors live in two generations of
``generation_minutes`` event time (or ``max_posts_per_generation`` posts, whichever comes first); a claim
nobody touched for two generations becomes unreachable and is freed. Per-post labels are kept for the last
``label_memory`` posts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import numpy as np

from app.pipeline import wording
from app.pipeline.alerts import MAX_MEMBERS, Alert, AlertKind, Example, Severity
from app.pipeline.claims import (
    Anchor,
    ClaimIndex,
    Generations,
    MinHasher,
    content_tokens,
    topic_tags,
)
from app.pipeline.detector_settings import RumourSettings
from app.pipeline.incidents import names_incident
from app.pipeline.invitations import InvitationLexicon
from app.pipeline.rumour_model import RumourModel
from app.pipeline.signals import STANCES, Stance, cue_counts, tokens
from app.playbooks import Lexicon, PlaybookSet
from streams.post import Post, key_of

Role = Literal["claim", "repost", "quote", "reaction"]

# Stance codes index STANCES: support, deny, query, comment.
_SUPPORT, _DENY, _QUERY, _COMMENT = (STANCES.index(s) for s in ("support", "deny", "query", "comment"))
# Cue flags per post, as bits.
_ENQ, _DEN, _HEDGE, _SUP = 1, 2, 4, 8
_ROLES: tuple[Role, ...] = ("claim", "repost", "quote", "reaction")
_CLAIM, _REPOST, _QUOTE, _REACTION = range(4)
# Most-shared bookkeeping per claim: enough carriers to find the one that travels, bounded.
_TRACKED_CARRIERS = 64
# Distinct authors are counted exactly up to this many; beyond, the figure is a lower bound.
_MAX_AUTHORS = 2 * MAX_MEMBERS
# Spread buckets kept per claim (a day of 10-minute buckets).
_MAX_SPREAD_BUCKETS = 144
_TITLE_CHARS = 120
# A classifier probability of 0 or 1 would make the crowd's evidence powerless either way.
_P_CLIP = 0.02
# Texts whose cues and claim words are remembered; cleared when full (a cache, results do not change).
_TEXT_CACHE = 10_000
# Reactions waiting for the post they react to, per generation: they hold whole posts, so few enough that a
# stream of replies to posts Signaal never sees (the common case) costs a few MB at most.
_MAX_ORPHANS = 10_000
# Posts per claim whose event time and evidence are kept until it becomes a case, so that a claim whose posts
# came out of order is judged as if they had come in order. One question makes a claim contested only while
# it has a handful of posts, so the first few dozen are what the judgement needs.
_HISTORY = 32


@dataclass(frozen=True, slots=True)
class PostLabel:
    """What the detector made of one post, for offline analysis (``signaal detect --posts-out``).

    ``rumour`` is true when the post's claim is a rumour case *now* (at the time of asking); asking right
    after a batch gives what an operator saw then, asking at the end of a replay gives hindsight.
    ``rumour_score`` is the claim's score on the same scale as ``min_score``.
    """

    rumour: bool
    rumour_score: float
    claim_id: str
    stance: Stance
    role: Role


@dataclass(frozen=True, slots=True)
class ScoreParts:
    score: float
    model: float | None
    enquiry_share: float
    denial_share: float
    contested_share: float
    hedged_share: float
    contested: float
    hedged: float


class _Claim:
    """Everything the detector keeps about one claim; bounded whatever its size.

    Most claims never get a second post, so a new claim holds its founder's figures in plain fields and
    its containers (members, spread, areas, shares) are made when a second post joins (:meth:`grow`).
    """

    __slots__ = (
        "alert_id",
        "anchor_generation",
        "anchors",
        "areas",
        "author",
        "authors",
        "bucket",
        "carriers",
        "case",
        "case_at",
        "contest",
        "denial",
        "enquiry",
        "first_denial",
        "first_seen",
        "founder",
        "founder_stance",
        "gathering",
        "hedged",
        "history",
        "is_denial",
        "last_seen",
        "members",
        "model_n",
        "model_sum",
        "offered",
        "pending",
        "posts",
        "quotes",
        "reactions",
        "reordered",
        "reposts",
        "revision",
        "sent_denied",
        "sent_posts",
        "sent_severity",
        "shared",
        "spread",
        "stance",
        "text_posts",
    )  # fmt: skip

    def __init__(self, founder: Post, key: str, bucket: int, stance: int, flags: int) -> None:
        self.alert_id = f"rumour:{key}"
        self.first_seen = self.last_seen = founder.created_at
        self.founder = (key, founder.created_at, founder.text[:500], founder.area)
        self.author = founder.author
        self.bucket = bucket
        self.posts = self.carriers = self.text_posts = 1
        self.reposts = self.quotes = self.reactions = 0
        self.enquiry = 1 if flags & _ENQ else 0
        self.denial = 1 if flags & _DEN else 0
        # A claim that something is false ("het bericht over de steekpartij klopt niet") is the correction
        # spreading: its carriers repeat the denial, they do not contest it. Counted as contesting, every
        # official denial became a rumour case of its own, fully "contested".
        self.is_denial = bool(flags & _DEN)
        self.contest = 0
        self.hedged = 1 if flags & _HEDGE else 0
        self.founder_stance = stance
        self.stance: list[int] | None = None
        self.first_denial = self.founder if flags & _DEN else None
        self.authors: set[str] | None = None
        self.areas: dict[str, int] | None = None
        self.spread: dict[int, int] | None = None
        self.members: list[str] | None = None
        self.shared: dict[str, list] | None = None
        self.anchors: tuple[Anchor, ...] = ()
        self.anchor_generation = -1
        self.pending: list[tuple[str, str | None, bool | None, bool]] | None = None
        self.model_sum = 0.0
        self.model_n = self.offered = 0
        self.case = False
        self.case_at: datetime | None = None
        # Per post, until the claim is a case: (event time, author, contests, hedges, carries).
        self.history: list[tuple[float, str, int, int, int]] | None = None
        self.reordered = False  # a post came with an earlier event time than one before it
        self.revision = self.sent_posts = 0
        self.sent_severity: Severity | None = None
        self.sent_denied = False
        self.gathering: bool | None = None  # whether the founder is a call to gather; known once asked

    def grow(self) -> None:
        """Make the containers a claim needs once it has more than its founder."""
        key, _, _, area = self.founder
        self.stance = [0, 0, 0, 0]
        self.stance[self.founder_stance] = 1
        self.authors = {self.author}
        self.areas = {area: 1} if area is not None else {}
        self.spread = {self.bucket: 1}
        self.members = [key]
        self.shared = {key: [0, self.founder]}
        self.history = [(self.first_seen.timestamp(), self.author, self.contest, self.hedged, 1)]

    def n_authors(self) -> int:
        return 1 if self.authors is None else len(self.authors)


def _event_time(entry: tuple[float, str, int, int, int]) -> float:
    return entry[0]


def _example_fields(post: Post) -> tuple[str, datetime, str, str | None]:
    return (post.key, post.created_at, post.text[:500], post.area)


def _example(fields: tuple[str, datetime, str, str | None]) -> Example:
    key, created_at, text, area = fields
    return Example(key=key, created_at=created_at, text=text, area=area)


class _Text(NamedTuple):
    """What a text says for the detector. A tuple of plain values, so the garbage collector stops
    scanning it after its first pass (a slotted class would be scanned for ever)."""

    flags: int
    words: bytes | None  # the claim words joined by spaces; None when too few to match a post by its words
    matched: bool  # whether ``words`` was worked out (it is not for replies to known posts)


class _Batch(NamedTuple):
    """A batch as _prepare leaves it: per post its key, its parent's key and its text (None for a repost
    of a known post), and for posts to be matched by their words, their band keys."""

    keys: list[str]
    parents: list[str | None]
    texts: list[_Text | None]
    lsh: dict[int, tuple[list[int], np.ndarray]]


class _PhraseMatcher:
    """Playbook phrases the built-in cue lexicons do not already catch, matched on token sequences."""

    def __init__(self, phrases: dict[int, Iterable[str]]) -> None:
        self._by_first: dict[bytes, list[tuple[tuple[bytes, ...], int]]] = {}
        for flag, words in phrases.items():
            for phrase in words:
                key = tuple(tokens(phrase))
                if key and not (_flags_of(list(key)) & flag):
                    self._by_first.setdefault(key[0], []).append((key, flag))
        self._firsts = frozenset(self._by_first)

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def flags(self, toks: list[bytes]) -> int:
        if self._firsts.isdisjoint(toks):
            return 0
        found = 0
        for i, tok in enumerate(toks):
            for key, flag in self._by_first.get(tok, ()):
                if tuple(toks[i : i + len(key)]) == key:
                    found |= flag
        return found


def _flags_of(toks: list[bytes]) -> int:
    enquiry, denial, hedging, support = cue_counts(toks)[:4]
    return (
        (_ENQ if enquiry else 0)
        | (_DEN if denial else 0)
        | (_HEDGE if hedging else 0)
        | (_SUP if support else 0)
    )


def stance_of(flags: int) -> int:
    """The decision list of :func:`app.pipeline.signals.stance`, on cue flags (deny > query > support)."""
    if flags & _DEN:
        return _DENY
    if flags & _ENQ:
        return _QUERY
    if flags & (_SUP | _HEDGE):
        return _SUPPORT
    return _COMMENT


class RumourDetector:
    """Streaming rumour-case detector; see the module docstring. Not thread-safe: one pipeline stage."""

    def __init__(
        self,
        settings: RumourSettings,
        playbooks: PlaybookSet,
        model: RumourModel | None = None,
        passes_on_a_call: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        invitation = playbooks.lexicon(Lexicon.INVITATION)
        self._calls = InvitationLexicon(invitation) if invitation and settings.calls_to_mobilisation else None
        self._passes_on_a_call = passes_on_a_call
        self._extra = _PhraseMatcher(
            {
                _ENQ: playbooks.lexicon(Lexicon.ENQUIRY),
                _DEN: playbooks.lexicon(Lexicon.DENIAL),
                _HEDGE: playbooks.lexicon(Lexicon.HEDGING),
            }
        )
        self.hasher = MinHasher(bands=settings.bands, rows=settings.rows)
        self.index: ClaimIndex[_Claim] = ClaimIndex(self.hasher, settings.min_similarity)
        # Post key -> (claim, stance code, role code): how reposts, quotes and replies find their claim.
        self._posts: Generations[str, tuple[_Claim, int, int]] = Generations()
        # Claim words -> claim, for exact repeats, which then skip MinHash entirely.
        self._exact: Generations[bytes, _Claim] = Generations()
        # Parent key -> replies and quotes that came before it and could not be placed by words ("Klopt
        # dit??"). Kafka orders records per partition only, so under backlog a reaction is often handled
        # before the post it reacts to; when that post comes, they join its claim after all.
        self._orphans: Generations[str, list[Post]] = Generations()
        self._orphan_count = 0  # in the current generation
        self._texts: dict[str, _Text] = {}
        self._generation_start: float | None = None
        self._generation_end = -math.inf  # the first post starts the first generation
        self._generation_posts = 0
        self._generation_cap = settings.max_posts_per_generation
        self._clock = -math.inf
        self._labels: dict[str, tuple[_Claim, int, int]] = {}
        self._label_order: deque[str] = deque()
        self._spread_s = settings.spread_minutes * 60.0
        self._growth_buckets = max(1, round(settings.growth_minutes / settings.spread_minutes))

    # -- streaming -------------------------------------------------------------------------------------

    def observe(self, posts: list[Post]) -> list[Alert]:
        if not posts:
            return []
        keys, parents, texts, lsh = self._prepare(posts)
        touched: dict[int, _Claim] = {}
        min_posts = self.settings.min_posts
        remember = self.settings.label_memory > 0
        # The loop below runs for every post, so it works on local names (a few percent of the budget).
        for i, post in enumerate(posts):
            key = keys[i]
            parent_key = parents[i]
            ts = post.created_at.timestamp()
            if ts > self._clock:
                self._clock = ts
            if self._clock >= self._generation_end or self._generation_posts >= self._generation_cap:
                self._tick()
            current = self._posts.current
            parent = None
            if parent_key is not None:
                parent = current.get(parent_key)
                if parent is None:
                    parent = self._posts.previous.get(parent_key)
                    if parent is not None:
                        # A post people still react to stays findable however old: touch it forward.
                        current[parent_key] = parent
            if parent is not None:
                claim, parent_stance, _ = parent
                info = texts[i]
                flags = info.flags if info is not None else 0
                if post.repost_of is not None:
                    role, stance = _REPOST, parent_stance
                elif post.quote_of is not None:
                    role, stance = _QUOTE, stance_of(flags)
                else:
                    role, stance = _REACTION, stance_of(flags)
                self._join(claim, post, key, ts, role, stance, flags, parent_key)
                entry = (claim, stance, role)
            else:
                claim, flags, stance, new = self._claim_for(post, key, texts[i], lsh.get(i), ts)
                if not new:
                    self._join(claim, post, key, ts, _CLAIM, stance, flags, parent_key)
                entry = (claim, stance, _CLAIM)
                if parent_key is not None and post.repost_of is not None:
                    # Later reposts of the same unseen original join this claim directly.
                    current[parent_key] = entry
                elif parent_key is not None and new and self._orphan_count < _MAX_ORPHANS:
                    # A reaction whose post is not here yet: in order it would have joined that post's claim,
                    # so it waits for it, and moves there if nothing joined its own claim meanwhile.
                    self._orphans.current.setdefault(parent_key, []).append(post)
                    self._orphan_count += 1
            if self._orphans.current or self._orphans.previous:
                self._adopt_orphans(key, claim, remember)
            if not claim.case and claim.posts >= min_posts:
                self._becomes_case(claim, post.created_at)
            # One tuple serves both the link map and the labels: a post costs the collector one object.
            current[key] = entry
            self._generation_posts += 1
            if remember:
                self._remember(key, entry)
            touched[id(claim)] = claim
        alerts = []
        for claim in touched.values():
            alert = self._check(claim)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _adopt_orphans(self, key: str, claim: _Claim, remember: bool) -> None:
        """Reactions that came before the post ``key`` move from their lone claims to its claim."""
        orphans = self._orphans.current.pop(key, None) or self._orphans.previous.pop(key, None)
        if not orphans:
            return
        for orphan in orphans:
            orphan_key = orphan.key
            placed = self._posts.get(orphan_key)
            if placed is None or placed[0] is claim or placed[0].posts != 1:
                continue  # forgotten, or its lone claim was joined after all: it stays where it is
            lone = placed[0]
            lone.posts = 0  # never a case now: its only post moved
            info = self._text(orphan.text, False)
            role = _QUOTE if orphan.quote_of is not None else _REACTION
            stance = stance_of(info.flags)
            ts = orphan.created_at.timestamp()
            self._join(claim, orphan, orphan_key, ts, role, stance, info.flags, key)
            entry = (claim, stance, role)
            self._posts.current[orphan_key] = entry
            if remember:
                self._remember(orphan_key, entry)

    def labels(self, post_key: str) -> PostLabel | None:
        """The label of one of the last ``label_memory`` posts, or None if it is older or unknown.

        Scoring the claim may run the classifier on its pending texts (at most ``model_sample``).
        """
        entry = self._labels.get(post_key)
        if entry is None:
            return None
        claim, stance, role = entry
        return PostLabel(
            rumour=claim.case,
            rumour_score=round(self.score(claim).score, 4),
            claim_id=claim.alert_id,
            stance=STANCES[stance],
            role=_ROLES[role],
        )

    # -- per post --------------------------------------------------------------------------------------

    def _text(self, text: str, with_words: bool) -> _Text:
        """Cue flags and (if asked) claim words of a text, cached: streams repeat texts (bots, news).

        A reply to a known post needs only its cues; its words are not looked up, so not made.
        """
        cached = self._texts.get(text)
        if cached is not None and (cached.matched or not with_words):
            return cached
        toks = tokens(text)
        flags = _flags_of(toks)
        if self._extra:
            flags |= self._extra.flags(toks)
        words: bytes | None = None
        if with_words:
            content = content_tokens(toks, topic_tags(text))
            if len(content) >= self.settings.min_words:
                words = b" ".join(content)
        info = _Text(flags, words, with_words)
        if len(self._texts) >= _TEXT_CACHE:
            self._texts.clear()
        self._texts[text] = info
        return info

    def _prepare(self, posts: list[Post]) -> _Batch:
        """Per post: its key, its parent's key, its text's cues and words, and MinHash band keys if needed.

        Signatures are computed here for the whole batch at once, for the posts that will be matched by
        their words: those without a known parent and whose exact words are not already a claim. That is
        a guess made before placing anything; a post for which it turns out wrong gets its signature on
        the spot in _claim_for.
        """
        keys = [p.key for p in posts]
        batch_keys = set(keys)
        exact = self._exact
        parents: list[str | None] = []
        texts: list[_Text | None] = []
        new_words: set[bytes] = set()
        rows: list[bytes] = []
        row_of: list[int] = []
        for i, post in enumerate(posts):
            parent = post.repost_of or post.quote_of or post.reply_to
            parent_key = key_of(post.platform, parent) if parent is not None else None
            parents.append(parent_key)
            known = parent_key is not None and (
                parent_key in batch_keys or self._posts.get(parent_key) is not None
            )
            if post.repost_of is not None and known:
                texts.append(None)
                continue
            info = self._text(post.text, not known)
            texts.append(info)
            words = info.words
            if known or words is None or words in new_words or exact.get(words) is not None:
                continue
            new_words.add(words)
            rows.append(words)
            row_of.append(i)
        lsh: dict[int, tuple[list[int], np.ndarray]] = {}
        if rows:
            band_keys = self.hasher.band_keys(self.hasher.signatures(rows))
            for i, as_list, as_array in zip(row_of, band_keys.tolist(), band_keys, strict=True):
                lsh[i] = (as_list, as_array)
        return _Batch(keys, parents, texts, lsh)

    def _tick(self) -> None:
        """Rotate generations when the current one's time is up or it is full."""
        span = self.settings.generation_minutes * 60.0
        if self._generation_start is None:
            self._generation_start = self._clock
        elif self._clock >= self._generation_start + span:
            elapsed = int((self._clock - self._generation_start) // span)
            for _ in range(min(elapsed, 2)):
                self._rotate()
            self._generation_start += elapsed * span
        else:
            self._rotate()  # full before its time
            self._generation_start = self._clock
        self._generation_end = self._generation_start + span

    def _rotate(self) -> None:
        self._posts.rotate()
        self._exact.rotate()
        self._orphans.rotate()
        self._orphan_count = 0
        self._generation_posts = 0
        self.index.rotate()

    def _claim_for(
        self, post: Post, key: str, info: _Text | None, lsh: tuple[list[int], np.ndarray] | None, ts: float
    ) -> tuple[_Claim, int, int, bool]:
        """The claim a post without a known parent carries: same words, similar words, or a new one."""
        if info is None or not info.matched:
            info = self._text(post.text, True)
        stance = stance_of(info.flags)
        if stance == _COMMENT:
            stance = _SUPPORT  # a post that states a claim without comment asserts it
        words = info.words
        claim: _Claim | None = None
        if words is not None:
            claim = self._exact.get(words)
            if claim is None and lsh is None:
                # Expected to have a parent or a twin, and has neither: match it by itself.
                band_keys = self.hasher.band_keys(self.hasher.signatures([words]))
                lsh = (band_keys[0].tolist(), band_keys[0])
        hits = self.hasher.bands  # an exact repeat
        if claim is None and lsh is not None:
            found = self.index.find(lsh[0])
            if found is not None:
                claim, hits = found
        new = claim is None
        if claim is None:
            claim = _Claim(post, key, int(ts // self._spread_s), stance, info.flags)
            self._offer(claim, post)
            hits = 0
        self._refresh(claim)
        if lsh is not None and hits < self.hasher.bands and len(claim.anchors) < self.settings.max_anchors:
            # A differently worded carrier widens what the claim is matched on (up to max_anchors).
            claim.anchors += (self.index.add(claim, lsh[1]),)
        if words is not None:
            self._exact[words] = claim
        return claim, info.flags, stance, new

    def _refresh(self, claim: _Claim) -> None:
        if claim.anchor_generation != self.index.generation:
            if claim.anchors:
                claim.anchors = self.index.refresh(claim, claim.anchors)
            claim.anchor_generation = self.index.generation

    def _join(
        self,
        c: _Claim,
        post: Post,
        key: str,
        ts: float,
        role: int,
        stance: int,
        flags: int,
        parent: str | None,
    ) -> None:
        if c.anchor_generation != self.index.generation:
            self._refresh(c)
        if c.members is None:
            c.grow()
        c.posts += 1
        created = post.created_at
        if created > c.last_seen:
            c.last_seen = created
        elif created < c.last_seen:
            c.reordered = True
        history = c.history
        if history is not None and len(history) < _HISTORY:
            if role == _CLAIM:
                contests = 1 if flags & _DEN and not c.is_denial else 0
                history.append((ts, post.author, contests, 1 if flags & _HEDGE else 0, 1))
            elif role == _REPOST:
                history.append((ts, post.author, 0, 0, 0))
            else:
                history.append((ts, post.author, 1 if flags & (_ENQ | _DEN) else 0, 0, 0))
        c.stance[stance] += 1  # type: ignore[index]
        authors = c.authors
        if len(authors) < _MAX_AUTHORS:  # type: ignore[arg-type]
            authors.add(post.author)  # type: ignore[union-attr]
        area = post.area
        if area is not None:
            c.areas[area] = c.areas.get(area, 0) + 1  # type: ignore[index, union-attr]
        spread = c.spread
        bucket = int(ts // self._spread_s)
        spread[bucket] = spread.get(bucket, 0) + 1  # type: ignore[index, union-attr]
        if len(spread) > _MAX_SPREAD_BUCKETS:  # type: ignore[arg-type]
            del spread[min(spread)]  # type: ignore[arg-type, union-attr]
        members = c.members
        if len(members) < MAX_MEMBERS:  # type: ignore[arg-type]
            members.append(key)  # type: ignore[union-attr]
        shared = c.shared
        if role == _REPOST:
            c.reposts += 1
            tracked = shared.get(parent)  # type: ignore[arg-type, union-attr]
            if tracked is not None:
                tracked[0] += 1
            if stance == _DENY and c.first_denial is None:
                # The denial's own words, not the repost's (often empty, or "RT @x: ...").
                c.first_denial = tracked[1] if tracked is not None else _example_fields(post)
            return
        # Posts with words of their own: the cue shares are over these, so reposts do not dilute them.
        c.text_posts += 1
        if flags & _ENQ:
            c.enquiry += 1
        if flags & _DEN:
            c.denial += 1
            if c.first_denial is None:
                c.first_denial = _example_fields(post)
        if role == _CLAIM:
            c.carriers += 1
            if flags & _HEDGE:
                c.hedged += 1
            if flags & _DEN and not c.is_denial:
                # Someone stating that a claim is false is a sign of a rumour; asking a question in one's
                # own post is not ("anyone know a good dentist?"), so carriers' enquiries do not count.
                c.contest += 1
            if len(shared) < _TRACKED_CARRIERS:  # type: ignore[arg-type]
                shared[key] = [0, _example_fields(post)]  # type: ignore[index]
            self._offer(c, post)
            return
        if flags & (_ENQ | _DEN):
            c.contest += 1
        if role == _QUOTE:
            c.quotes += 1
            tracked = shared.get(parent)  # type: ignore[arg-type, union-attr]
            if tracked is not None:
                tracked[0] += 1
        else:
            c.reactions += 1

    def _offer(self, c: _Claim, post: Post) -> None:
        """Keep a carrier's text for the classifier, which scores at most ``model_sample`` per claim."""
        if self.model is not None and c.offered < self.settings.model_sample:
            c.offered += 1
            if c.pending is None:
                c.pending = []
            c.pending.append(
                (post.text, post.lang, post.reply_to is not None or None, post.quote_of is not None)
            )

    def _remember(self, key: str, entry: tuple[_Claim, int, int]) -> None:
        if key not in self._labels:
            self._label_order.append(key)
        self._labels[key] = entry
        while len(self._label_order) > self.settings.label_memory:
            self._labels.pop(self._label_order.popleft(), None)

    # -- scoring and alerts ----------------------------------------------------------------------------

    def score(self, claim: _Claim) -> ScoreParts:
        """The claim's score and its parts; scores pending texts with the classifier first."""
        s = self.settings
        model = self._model_score(claim)
        text_posts = max(1, claim.text_posts)
        # Over all the claim's posts, reposts included: a repost endorses the claim, so a claim reposted by
        # many and questioned by one is not contested. A few neutral pseudo-posts keep one "klopt dit?"
        # under a two-post claim from counting as a contested claim.
        contested_share = claim.contest / (claim.posts + s.prior_posts)
        hedged_share = claim.hedged / max(1, claim.carriers)
        contested = min(1.0, contested_share / s.contested_full)
        hedged = min(1.0, hedged_share / s.hedged_full)
        return ScoreParts(
            score=self._combine(model, contested, hedged),
            model=model,
            enquiry_share=claim.enquiry / text_posts,
            denial_share=claim.denial / text_posts,
            contested_share=contested_share,
            hedged_share=hedged_share,
            contested=contested,
            hedged=hedged,
        )

    def _model_score(self, claim: _Claim) -> float | None:
        if claim.pending and self.model is not None:
            for text, lang, is_reply, is_quote in claim.pending:
                claim.model_sum += self.model.score(text, is_reply=is_reply, is_quote=is_quote, lang=lang)
                claim.model_n += 1
            claim.pending.clear()
        return claim.model_sum / claim.model_n if claim.model_n else None

    def _combine(self, model: float | None, contested: float, hedged: float) -> float:
        """The classifier's probability for the claim's words is the prior; what the crowd does with the
        claim (asking, denying) and how its carriers word it (hedging) move it, as log-odds evidence."""
        s = self.settings
        start = s.prior if model is None else min(max(model, _P_CLIP), 1.0 - _P_CLIP)
        z = math.log(start / (1.0 - start)) + s.evidence_contested * contested + s.evidence_hedged * hedged
        return 1.0 / (1.0 + math.exp(-z))

    def _becomes_case(self, claim: _Claim, at: datetime) -> None:
        """Mark the claim a case if it passes every threshold now; called after each post it gets, so a
        case is dated by the post that made it one, however large the batch."""
        s = self.settings
        reordered, claim.reordered = claim.reordered, False
        if (
            claim.posts < s.min_posts
            or claim.contest + claim.hedged < s.min_signals
            or claim.n_authors() < s.min_authors
        ):
            return
        if s.calls_to_mobilisation:
            if claim.gathering is None:
                # A denial ("Het feest in Haren gaat NIET door") is a claim about the call: still a candidate.
                claim.gathering = not claim.is_denial and self._about_a_call(claim)
            if claim.gathering:
                return
        if self.score(claim).score >= s.min_score:
            claim.case, claim.case_at = True, at
        elif reordered:
            claim.case_at = self._case_in_event_order(claim)
            claim.case = claim.case_at is not None
        if claim.case:
            claim.history = None

    def _about_a_call(self, claim: _Claim) -> bool:
        """The claim's first post calls people to gather, or passes a call on (see the module docstring)."""
        key, created_at, text, _ = claim.founder
        if self._calls is not None and self._calls.is_call(text, created_at):
            return True
        passes_on = self._passes_on_a_call
        return passes_on is not None and passes_on(key) and not names_incident(text)

    def _case_in_event_order(self, claim: _Claim) -> datetime | None:
        """When the claim would have become a case had its posts come in event-time order, or None.

        Under backlog, Kafka interleaves partitions unevenly, so a question can come after reposts that
        were posted later. The contested share falls as reposts come in, so the arrival order would decide
        whether a claim is a case. Judging every event-time prefix of the claim's first posts instead gives
        the answer an in-order stream (and ``signaal detect``) gives, whatever the interleaving.
        """
        s = self.settings
        model = self._model_score(claim)
        posts = contest = hedged = carriers = 0
        authors: set[str] = set()
        for ts, author, contests, hedges, carries in sorted(claim.history or (), key=_event_time):
            posts += 1
            contest += contests
            hedged += hedges
            carriers += carries
            authors.add(author)
            if posts < s.min_posts or contest + hedged < s.min_signals or len(authors) < s.min_authors:
                continue
            contested = min(1.0, contest / (posts + s.prior_posts) / s.contested_full)
            hedge = min(1.0, hedged / max(1, carriers) / s.hedged_full)
            if self._combine(model, contested, hedge) >= s.min_score:
                return datetime.fromtimestamp(ts, UTC)
        return None

    def _check(self, claim: _Claim) -> Alert | None:
        """The alert to send for a claim touched by this batch, if it is a case that is new or has grown."""
        if not claim.case:
            return None
        parts = self.score(claim)
        if claim.revision:
            s = self.settings
            grown = (
                claim.posts >= claim.sent_posts * (1.0 + s.update_growth) and claim.posts > claim.sent_posts
            )
            denied_now = claim.stance[_DENY] > 0 and not claim.sent_denied  # type: ignore[index]
            if not (grown or denied_now or self._severity(claim, parts) != claim.sent_severity):
                return None
        return self._alert(claim, parts)

    def _growth(self, claim: _Claim) -> tuple[int, int]:
        """Posts in the last growth window (up to the claim's latest post) and in the window before it."""
        last = int(claim.last_seen.timestamp() // self._spread_s)
        w = self._growth_buckets
        spread: dict[int, int] = claim.spread or {}
        recent = sum(spread.get(b, 0) for b in range(last - w + 1, last + 1))
        before = sum(spread.get(b, 0) for b in range(last - 2 * w + 1, last - w + 1))
        return recent, before

    def _severity(self, claim: _Claim, parts: ScoreParts) -> Severity:
        s = self.settings
        recent, before = self._growth(claim)
        fast = recent >= s.min_posts and recent >= s.growth_factor * max(before, 1)
        if claim.posts >= s.critical_posts and (fast or parts.score >= s.high_score):
            return Severity.CRITICAL
        if claim.posts >= s.high_posts and parts.score >= s.high_score:
            return Severity.HIGH
        if claim.posts >= s.medium_posts or fast:
            return Severity.MEDIUM
        return Severity.LOW

    def _alert(self, claim: _Claim, parts: ScoreParts) -> Alert:
        s = self.settings
        c = claim
        # A case has at least min_posts >= 2 posts, so its containers exist (see _Claim.grow).
        assert c.members is not None and c.spread is not None and c.shared is not None and c.areas is not None
        assert c.authors is not None and c.stance is not None
        severity = self._severity(c, parts)
        recent, before = self._growth(c)
        c.revision += 1
        c.sent_posts = c.posts
        c.sent_severity = severity
        c.sent_denied = c.stance[_DENY] > 0
        stance = dict(zip(STANCES, c.stance, strict=True))
        area = max(c.areas.items(), key=lambda kv: (kv[1], kv[0]))[0] if c.areas else None
        examples = [_example(c.founder)]
        if c.shared:
            count, fields = max(c.shared.values(), key=lambda t: t[0])
            if count > 0 and fields[0] != c.founder[0]:
                examples.append(_example(fields))
        if c.first_denial is not None:
            examples.append(_example(c.first_denial))
        deny_share = c.stance[_DENY] / c.posts if c.posts else 0.0
        authors = len(c.authors)
        spread = {
            datetime.fromtimestamp(b * self._spread_s, UTC).isoformat(): n
            for b, n in sorted(c.spread.items())
        }
        details = {
            "alerted_at": c.case_at.isoformat() if c.case_at else None,
            "score": round(parts.score, 4),
            "components": {
                "model": None if parts.model is None else round(parts.model, 4),
                "enquiry_share": round(parts.enquiry_share, 4),
                "denial_share": round(parts.denial_share, 4),
                "contested_share": round(parts.contested_share, 4),
                "hedged_share": round(parts.hedged_share, 4),
                "contested": round(parts.contested, 4),
                "hedged": round(parts.hedged, 4),
            },
            "evidence": {"prior": s.prior, "contested": s.evidence_contested, "hedged": s.evidence_hedged},
            "stance": stance,
            "denied": c.stance[_DENY] > 0,
            "deny_share": round(deny_share, 4),
            "authors": authors,
            "authors_capped": authors >= _MAX_AUTHORS,
            "carriers": c.carriers,
            "reposts": c.reposts,
            "quotes": c.quotes,
            "reactions": c.reactions,
            "growth": {"minutes": s.growth_minutes, "recent": recent, "before": before},
            "spread_minutes": s.spread_minutes,
            "spread": spread,
        }
        return Alert(
            id=c.alert_id,
            kind=AlertKind.RUMOUR,
            severity=severity,
            title=_title(c.founder[2]),
            explanation=self._explain(c, parts, authors, recent),
            area=area,
            first_seen=c.first_seen,
            updated_at=c.last_seen,
            post_count=c.posts,
            member_ids=tuple(c.members),
            examples=tuple(examples),
            details=details,
            revision=c.revision,
        )

    def _explain(self, c: _Claim, parts: ScoreParts, authors: int, recent: int) -> str:
        s = self.settings
        n = wording.count
        more = "+" if authors >= _MAX_AUTHORS else ""
        text = (
            f"Een bewering verspreidt zich: {n(c.posts)} berichten van {n(authors)}{more} accounts sinds "
            f"{wording.day_and_time(c.first_seen)}, {n(recent)} in de laatste {s.growth_minutes} minuten "
            f"({n(c.reposts)} reposts, {n(c.quotes)} citaten, {n(c.reactions)} reacties). "
            f"Van de {n(c.text_posts)} berichten in eigen woorden vragen er {n(c.enquiry)} of het waar is en "
            f"ontkennen {n(c.denial)} het; {n(c.hedged)} van de {n(c.carriers)} die het beweren, doen dat "
            f"met voorbehoud. Geruchtscore {wording.decimal(parts.score, 2)} "
            f"(drempel {wording.decimal(s.min_score, 2)})"
        )
        if parts.model is not None:
            text += f"; tekstmodel {wording.decimal(parts.model, 2)}"
        return text + "."


def _title(text: str) -> str:
    words = text.split()
    # A retweet prefix and leading @handles say who, not what.
    if words[:1] == ["RT"] and len(words) > 1 and words[1].startswith("@"):
        words = words[2:]
    while words and words[0].startswith("@"):
        words = words[1:]
    line = " ".join(words) or text.strip()
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"
