"""How early and how precisely the rumour detector flags rumours: real threads, real non-rumours, scenarios.

    .venv/bin/python benchmarks/eval_rumours.py [--model heldout|shipped|none] [--seeds 1-5] [--groups ...]
    .venv/bin/python benchmarks/eval_rumours.py --speed [--speed-posts 200000]
    .venv/bin/python benchmarks/eval_rumours.py --memory [--memory-posts 1000000]

Data: ``$SIGNAAL_DATA_DIR`` (default ``<repo>/../shared/data``), read in place, never copied. Every replay
feeds the detector batches of one minute of event time, as a live consumer would see them; a case is dated
by the post that made it one (``details["alerted_at"]``).

rumoureval
    RumourEval 2017 training threads (263 distinct source tweets with their replies, every thread a rumour),
    one event at a time, all posts in time order. Per thread: minutes from the source post until the
    detector flags its claim (the source's claim becomes a rumour case; 0 if it already was one when the
    source appeared). Median, 90th percentile (of the flagged) and the share never flagged.
pheme_nonrumour
    PHEME non-rumour source tweets (ferguson, ottawashooting, sydneysiege, prince-toronto) replayed the
    same way: rumour alerts raised and posts in a flagged claim. Every one of them is a false flag.
pheme_posts
    PHEME rumour and non-rumour source tweets per event, replayed; the detector's label for each post at
    the end of the replay against the annotation, macro-F1 over rumour / non-rumour, twice: ``case`` (the
    post's claim became a rumour case: what the detector *says*) and ``score`` (the claim's score is at
    least ``min_score``, ignoring the size and signal thresholds). PHEME has only source tweets (no
    replies), so claims grow only by near-duplicate sources and hardly ever meet a case's thresholds: the
    ``score`` figure mostly measures the classifier inside the detector.
scenario
    The shared Project X cases (``benchmarks/scenario_cases.py``), enriched as the service does, per
    rumour (stabbing, army): minutes from its first post to the first alert about it (an alert is about a
    rumour when most of its members are that rumour's posts or its denials), minutes from the official
    denial until an alert about it counts a denial in ``details["stance"]``, alerts per rumour (wordings
    that share too few words, and the denials, are claims of their own), and false rumour alerts: mostly
    ordinary chatter and look-alikes (``false_background``), or mostly other incident posts
    (``false_incident``: the invitation cascade, the riot).

The classifier and leakage: the shipped model is trained on PHEME, whose events the RumourEval threads also
come from. ``--model heldout`` (the default) therefore fits, for each event, a model by the shipped recipe
without that event (:func:`app.pipeline.rumour_eval.fit_rumour_model`) and replays the event with it;
scenarios use the shipped model (they are not PHEME); ``none`` runs the detector on cue words alone.
Thresholds were set on scenario seeds 100-109 and never on the data reported here.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app.pipeline.alerts import Alert, AlertKind, Detector
from app.pipeline.enrich import Enricher
from app.pipeline.mobilisation import MobilisationDetector, MobilisationSettings
from app.pipeline.rumour_model import RumourModel
from app.pipeline.rumours import RumourDetector, RumourSettings
from app.playbooks import PlaybookSet
from app.room import similar
from benchmarks.scenario_cases import GROUPS, REPORT_SEEDS, Case, cases, enriched_posts, parse_seeds
from streams.formats import iter_posts
from streams.post import Post, pseudonymise

REPO = Path(__file__).resolve().parents[1]
PSEUDONYM_KEY = b"signaal-eval-rumours"
PHEME_EVENTS = ("charliehebdo", "ebola-essien", "ferguson", "ottawashooting", "prince-toronto", "sydneysiege")
NONRUMOUR_EVENTS = ("ferguson", "ottawashooting", "sydneysiege", "prince-toronto")
BATCH_SECONDS = 60.0

ModelFor = Callable[[str], RumourModel | None]


def data_dir() -> Path:
    return Path(os.environ.get("SIGNAAL_DATA_DIR") or REPO.parent / "shared" / "data")


# -- replay ------------------------------------------------------------------------------------------------


def minute_batches(posts: Sequence[Post], seconds: float = BATCH_SECONDS) -> Iterator[list[Post]]:
    """Posts (sorted by time) in batches of ``seconds`` of event time, as a polling consumer sees them."""
    batch: list[Post] = []
    end: datetime | None = None
    for post in posts:
        if end is not None and post.created_at >= end:
            yield batch
            batch = []
        if not batch:
            end = post.created_at + timedelta(seconds=seconds)
        batch.append(post)
    if batch:
        yield batch


def replay(detector: Detector, batches: Iterable[list[Post]]) -> list[Alert]:
    """Every alert revision the detector emits, in order."""
    alerts: list[Alert] = []
    for batch in batches:
        alerts.extend(detector.observe(batch))
    return alerts


def alerted_at(alert: Alert) -> datetime:
    """When the claim became a case: the event time of the post that made it one."""
    return datetime.fromisoformat(alert.details["alerted_at"])


def first_alert_times(alerts: Iterable[Alert]) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for alert in alerts:
        first.setdefault(alert.id, alerted_at(alert))
    return first


def _detector(model: RumourModel | None, settings: RumourSettings | None = None) -> RumourDetector:
    playbooks = PlaybookSet.load()
    return RumourDetector(settings or RumourSettings(), playbooks, model)


class BesideCalls:
    """The rumour detector as the service runs it (``Detection.standard``): after the mobilisation
    detector, which tells it whether a claim's first post passes a call on. Emits the rumour alerts only."""

    def __init__(self, model: RumourModel | None, settings: RumourSettings | None = None) -> None:
        playbooks = PlaybookSet.load()
        call_settings = MobilisationSettings(**playbooks.settings_for(AlertKind.MOBILISATION))
        self.calls = MobilisationDetector(call_settings, playbooks)
        self.rumours = RumourDetector(
            settings or RumourSettings(), playbooks, model, passes_on_a_call=self.calls.passes_on
        )

    def observe(self, posts: list[Post]) -> list[Alert]:
        self.calls.observe(posts)
        return self.rumours.observe(posts)


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # Nearest-rank: the smallest value with at least q of the data at or below it.
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


# -- models ------------------------------------------------------------------------------------------------


def heldout_models() -> ModelFor:
    """A model per event, trained by the shipped recipe on PHEME without that event (C chosen on the rest)."""
    from app.pipeline.rumour_eval import fit_rumour_model  # training needs scikit-learn

    @functools.cache
    def model_for(event: str) -> RumourModel | None:
        excluded = (event,) if event in PHEME_EVENTS else ()
        return RumourModel(fit_rumour_model(data_dir(), exclude_events=excluded))

    return model_for


def shipped_model() -> ModelFor:
    model = RumourModel.load()
    return lambda event: model


def no_model() -> ModelFor:
    return lambda event: None


MODELS: dict[str, Callable[[], ModelFor]] = {
    "heldout": heldout_models,
    "shipped": shipped_model,
    "none": no_model,
}


# -- RumourEval 2017 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    event: str
    source_key: str
    source_at: datetime


def rumoureval_posts(path: Path | None = None) -> tuple[dict[str, list[Post]], list[Thread]]:
    """Posts per event (time order) and the threads, from ``rumoureval2017/threads_train.jsonl``."""
    path = path or data_dir() / "rumoureval2017" / "threads_train.jsonl"
    by_event: dict[str, list[Post]] = {}
    threads: list[Thread] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["id"] in seen:  # a tweet listed in two threads is one post in a stream
                continue
            seen.add(row["id"])
            post = Post(
                platform="twitter",
                id=row["id"],
                author=pseudonymise("twitter", row["user"], PSEUDONYM_KEY),
                created_at=datetime.fromisoformat(row["created_at"]),
                text=row["text"],
                lang=None if row["lang"] in (None, "und") else row["lang"],
                reply_to=None if row["is_source"] else row["in_reply_to"],
            )
            by_event.setdefault(row["event"], []).append(post)
            if row["is_source"]:
                threads.append(Thread(row["event"], post.key, post.created_at))
    for posts in by_event.values():
        posts.sort(key=lambda p: (p.created_at, p.id))
    return by_event, threads


def evaluate_rumoureval(model_for: ModelFor, settings: RumourSettings | None = None) -> dict[str, Any]:
    by_event, threads = rumoureval_posts()
    delays: list[float] = []
    never = 0
    per_event: dict[str, list[float | None]] = {}
    hints = {"cases": 0, "hinted_pairs": 0, "cases_with_hint": 0}
    for event, posts in sorted(by_event.items()):
        detector = _detector(model_for(event), settings)
        alerts = replay(detector, minute_batches(posts))
        first = first_alert_times(alerts)
        # Merge hints among all of the event's cases at once (no labels say which threads tell one story).
        final = {alert.id: alert for alert in alerts}
        found = similar.hints([(a.id, similar.texts_of(a.title, a.examples)) for a in final.values()])
        hints["cases"] += len(found)
        hints["hinted_pairs"] += sum(len(hs) for hs in found.values()) // 2
        hints["cases_with_hint"] += sum(1 for hs in found.values() if hs)
        for thread in (t for t in threads if t.event == event):
            label = detector.labels(thread.source_key)
            at = first.get(label.claim_id) if label is not None else None
            if at is None:
                never += 1
                per_event.setdefault(event, []).append(None)
                continue
            minutes = max(0.0, (at - thread.source_at).total_seconds() / 60)
            delays.append(minutes)
            per_event.setdefault(event, []).append(minutes)
    return {
        "threads": len(threads),
        "flagged": len(delays),
        "never_flagged_share": round(never / len(threads), 3) if threads else None,
        "median_min": _round(statistics.median(delays) if delays else None),
        "p90_min": _round(_quantile(delays, 0.9)),
        "merge_hints": hints,
        "per_event": {
            event: {
                "threads": len(values),
                "flagged": sum(v is not None for v in values),
                "median_min": _round(
                    statistics.median([v for v in values if v is not None])
                    if any(v is not None for v in values)
                    else None
                ),
            }
            for event, values in sorted(per_event.items())
        },
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# -- PHEME -------------------------------------------------------------------------------------------------


def pheme_posts(event: str, kind: str) -> list[Post]:
    """Source tweets of one PHEME file (``kind`` "rumours" or "non-rumours"), in time order."""
    path = data_dir() / "pheme" / f"{event}-all-rnr-threads.{kind}.json"
    if not path.exists():
        return []
    posts = [
        item
        for item in iter_posts(path, "auto", functools.partial(pseudonymise, key=PSEUDONYM_KEY))
        if isinstance(item, Post)
    ]
    return sorted(posts, key=lambda p: (p.created_at, p.id))


def evaluate_pheme_nonrumours(model_for: ModelFor, settings: RumourSettings | None = None) -> dict[str, Any]:
    rows = {}
    for event in NONRUMOUR_EVENTS:
        posts = pheme_posts(event, "non-rumours")
        detector = _detector(model_for(event), settings)
        alerts = replay(detector, minute_batches(posts))
        flagged = sum(1 for p in posts if (label := detector.labels(p.key)) is not None and label.rumour)
        rows[event] = {
            "posts": len(posts),
            "rumour_alerts": len(first_alert_times(alerts)),
            "flagged_posts": flagged,
        }
    total = {k: sum(r[k] for r in rows.values()) for k in ("posts", "rumour_alerts", "flagged_posts")}
    return {**total, "per_event": rows}


def macro_f1(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    scores = []
    for positive in (True, False):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == positive and p == positive)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != positive and p == positive)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == positive and p != positive)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / 2


def evaluate_pheme_posts(model_for: ModelFor, settings: RumourSettings | None = None) -> dict[str, Any]:
    settings = settings or RumourSettings()
    rows: dict[str, dict[str, Any]] = {}
    for event in NONRUMOUR_EVENTS:
        rumours = pheme_posts(event, "rumours")
        others = pheme_posts(event, "non-rumours")
        truth = {p.key: True for p in rumours} | {p.key: False for p in others}
        posts = sorted(rumours + others, key=lambda p: (p.created_at, p.id))
        detector = _detector(model_for(event), settings)
        replay(detector, minute_batches(posts))
        labels = [detector.labels(p.key) for p in posts]
        gold = [truth[p.key] for p in posts]
        case = [bool(label and label.rumour) for label in labels]
        scored = [bool(label and label.rumour_score >= settings.min_score) for label in labels]
        rows[event] = {
            "rumours": len(rumours),
            "non_rumours": len(others),
            "case_macro_f1": round(macro_f1(gold, case), 3),
            "score_macro_f1": round(macro_f1(gold, scored), 3),
            "flagged_rumours": sum(c for c, g in zip(case, gold, strict=True) if g),
            "flagged_non_rumours": sum(c for c, g in zip(case, gold, strict=True) if not g),
        }
    return rows


# -- scenarios ---------------------------------------------------------------------------------------------


@dataclass
class RumourRow:
    case: Case
    rumour: str
    posts: int
    alert_min: float | None  # first rumour post -> the first alert about it becoming a case
    denial_in_stance: bool
    denial_seen_min: float | None  # official denial -> first alert revision about it counting a denial
    alerts_about: int


@dataclass
class ScenarioResult:
    case: Case
    posts: int
    span_weeks: float
    rumours: list[RumourRow]
    false_background: list[str]
    false_incident: list[str]
    # Each case (rumour alert) for the room's merge hints: its id, claim and example texts, and what it is
    # about (a rumour's key, or "" for a false alert).
    hint_cases: list[tuple[str, list[str], str]]


def evaluate_case(
    case: Case, model: RumourModel | None, settings: RumourSettings | None = None
) -> ScenarioResult:
    truth, posts = enriched_posts(case, _enricher())
    # Generated incidents are Project X nights: the calls the rumour detector leaves to the mobilisation
    # detector are only known with that detector running beside it.
    alerts = replay(BesideCalls(model, settings), minute_batches(posts))
    by_id: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_id.setdefault(alert.id, []).append(alert)
    topic_of: dict[str, str] = {}
    for rumour in truth.rumours:
        for pid in (*rumour.member_ids, *rumour.denial_ids):
            topic_of[pid] = rumour.key
    about: dict[str, list[list[Alert]]] = {}
    false_background: list[str] = []
    false_incident: list[str] = []
    hint_cases = []
    for revisions in by_id.values():
        last = revisions[-1]
        ids = [key.split(":", 1)[1] for key in last.member_ids]
        top, count = Counter(topic_of.get(pid, "") for pid in ids).most_common(1)[0]
        is_about = bool(top) and count * 2 > len(ids)
        hint_cases.append((last.id, similar.texts_of(last.title, last.examples), top if is_about else ""))
        if is_about:
            about.setdefault(top, []).append(revisions)
            continue
        kinds = Counter(truth.kinds.get(pid, "background").split(":")[0] for pid in ids)
        chatter = kinds["background"] + kinds["lookalike"]
        (false_background if chatter * 2 > len(ids) else false_incident).append(revisions[-1].title)
    rows = []
    for rumour in truth.rumours:
        groups = about.get(rumour.key, [])
        firsts = [alerted_at(g[0]) for g in groups]
        alert_min = min(((t - rumour.first_post_at).total_seconds() / 60 for t in firsts), default=None)
        denied = [a.updated_at for g in groups for a in g if a.details["stance"]["deny"] > 0]
        seen = [(t - rumour.denial_at).total_seconds() / 60 for t in denied if t >= rumour.denial_at]
        rows.append(
            RumourRow(
                case=case,
                rumour=rumour.key,
                posts=len(rumour.member_ids),
                alert_min=_round(alert_min),
                denial_in_stance=bool(denied),
                denial_seen_min=_round(min(seen, default=None)),
                alerts_about=len(groups),
            )
        )
    weeks = (truth.span_end - truth.span_start).total_seconds() / (7 * 86400)
    return ScenarioResult(case, len(posts), weeks, rows, false_background, false_incident, hint_cases)


@functools.cache
def _enricher() -> Enricher:
    return Enricher()


def evaluate_scenarios(
    seeds: Sequence[int] = REPORT_SEEDS,
    groups: Sequence[str] = GROUPS,
    model: RumourModel | None = None,
    settings: RumourSettings | None = None,
) -> list[ScenarioResult]:
    return [evaluate_case(case, model, settings) for case in cases(seeds, groups)]


def summarise_scenarios(results: Sequence[ScenarioResult]) -> list[dict[str, Any]]:
    """One row per case group and rumour, plus the false alerts of the group."""
    out = []
    for group in dict.fromkeys(r.case.group for r in results):
        mine = [r for r in results if r.case.group == group]
        weeks = sum(r.span_weeks for r in mine)
        row: dict[str, Any] = {"group": group, "cases": len(mine)}
        for key in sorted({row.rumour for r in mine for row in r.rumours}):
            rows = [x for r in mine for x in r.rumours if x.rumour == key]
            delays = [x.alert_min for x in rows if x.alert_min is not None]
            seen = [x.denial_seen_min for x in rows if x.denial_seen_min is not None]
            row[key] = {
                "alerted": f"{len(delays)}/{len(rows)}",
                "alert_min_median": _round(statistics.median(delays) if delays else None),
                "alert_min_max": _round(max(delays, default=None)),
                "denial_in_stance": f"{sum(x.denial_in_stance for x in rows)}/{len(rows)}",
                "denial_seen_min_median": _round(statistics.median(seen) if seen else None),
                "alerts_per_rumour": round(sum(x.alerts_about for x in rows) / len(rows), 1),
            }
        background = sum(len(r.false_background) for r in mine)
        incident = sum(len(r.false_incident) for r in mine)
        row["false_background"] = background
        row["false_background_per_week"] = round(background / weeks, 2) if weeks else None
        row["false_incident"] = incident
        out.append(row)
    return out


def summarise_hints(results: Sequence[ScenarioResult]) -> dict[str, Any]:
    """How well the room's merge hints (:mod:`app.room.similar`) pair a scenario's cases of one rumour.

    All cases of a scenario are compared at once, as if all were open on the board together. ``precision``:
    hinted pairs whose two cases are about the same rumour (a false alert is about nothing else);
    ``pair_recall``: pairs of cases of one rumour that are hinted; ``cases_with_right_hint``: cases of a
    rumour that has several that get at least one hint to a case of the same rumour.
    """
    hinted = right = same = several = served = across = cases = 0
    for result in results:
        about = {case_id: rumour for case_id, _, rumour in result.hint_cases}
        found = similar.hints([(case_id, texts) for case_id, texts, _ in result.hint_cases])
        pairs = {tuple(sorted((a, h.case_id))) for a, hs in found.items() for h in hs}
        sizes = Counter(rumour for rumour in about.values() if rumour)
        cases += len(about)
        hinted += len(pairs)
        right += sum(1 for a, b in pairs if about[a] and about[a] == about[b])
        across += sum(1 for a, b in pairs if about[a] and about[b] and about[a] != about[b])
        same += sum(n * (n - 1) // 2 for n in sizes.values())
        for case_id, rumour in about.items():
            if rumour and sizes[rumour] > 1:
                several += 1
                served += any(about[h.case_id] == rumour for h in found[case_id])
    return {
        "cases": cases,
        "hinted_pairs": hinted,
        "precision": round(right / hinted, 3) if hinted else None,
        "pair_recall": round(right / same, 3) if same else None,
        "cases_with_right_hint": round(served / several, 3) if several else None,
        "hints_across_rumours": across,
    }


# -- speed -------------------------------------------------------------------------------------------------


def measure_speed(
    target_posts: int = 200_000, model: RumourModel | None = None, repeat: int = 3
) -> dict[str, float]:
    """Detector cost per post: CPU time of this process (one core), best of ``repeat``, posts made beforehand.

    ``scenario``: one Project X scenario scaled to about ``target_posts`` posts: templated texts, so exact
    repeats are common (the detector's cheap case). ``real_mixed``: real PHEME and RumourEval tweets as a
    stream with the shape of crisis Twitter: RumourEval threads with their real replies, and reposts of the
    source tweets (about 45% reposts, 27% replies, 28% posts with their own claim). ``real_originals``: the
    same texts, every one a post of its own (every post is tokenised, cue-matched, MinHashed and looked
    up: the expensive case). Real texts are repeated to reach the size, each round half a day later so the
    detector has forgotten the last one, as it would in a real stream, and with a word added so no text
    repeats exactly.
    """
    from streams.scenarios.projectx import generate

    scenario = generate(seed=7, scale=target_posts / 11_000)
    streams = {
        "scenario": [Post.model_validate(r) for r in scenario.records[:target_posts]],
        "real_mixed": real_stream(target_posts, mixed=True),
        "real_originals": real_stream(target_posts, mixed=False),
    }
    out: dict[str, float] = {}
    for name, posts in streams.items():
        batches = [posts[i : i + 1000] for i in range(0, len(posts), 1000)]
        best = float("inf")
        for _ in range(repeat):
            detector = _detector(model)
            started = time.process_time()
            for batch in batches:
                detector.observe(batch)
            best = min(best, time.process_time() - started)
        out[f"{name}_posts"] = len(posts)
        out[f"{name}_us_per_post"] = round(best / len(posts) * 1e6, 2)
    return out


def real_stream(count: int, mixed: bool) -> list[Post]:
    """The first ``count`` posts of :func:`real_posts`."""
    return list(itertools.islice(real_posts(mixed), count))


def real_posts(mixed: bool) -> Iterator[Post]:
    """PHEME and RumourEval tweets, repeated for ever in rounds half a day apart (see measure_speed)."""
    by_event, _ = rumoureval_posts()
    units: list[list[Post]] = [
        [p] for event in PHEME_EVENTS for kind in ("rumours", "non-rumours") for p in pheme_posts(event, kind)
    ]
    for posts in by_event.values():
        if not mixed:
            units.extend([p.model_copy(update={"reply_to": None})] for p in posts)
            continue
        threads: dict[str, list[Post]] = {}
        root: dict[str, str] = {}
        for p in posts:  # in time order, so a parent comes before its replies
            root[p.id] = p.id if p.reply_to is None else root.get(p.reply_to, p.reply_to)
            threads.setdefault(root[p.id], []).append(p)
        units.extend(threads.values())
    start = datetime.fromisoformat("2024-09-21T18:00:00+00:00")
    for round_number in itertools.count():
        at = start + timedelta(hours=12 * round_number)
        for n, unit in enumerate(units):
            for p in unit:
                at += timedelta(seconds=0.5)
                copy = p.model_copy(
                    update={
                        "id": f"{round_number}-{p.id}",
                        "created_at": at,
                        "reply_to": f"{round_number}-{p.reply_to}" if p.reply_to else None,
                        # A new word each round, so no cache of an earlier round's texts helps.
                        "text": f"{p.text} r{round_number}",
                    }
                )
                yield copy
                if not mixed or p.reply_to is not None:
                    continue
                for k in range((0, 0, 1, 2, 5)[n % 5]):  # 1.6 reposts per original, skewed
                    at += timedelta(seconds=0.5)
                    yield Post(
                        platform=p.platform,
                        id=f"{copy.id}-rt{k}",
                        author=f"p_reposter{(n * 7 + k) % 5000}",
                        created_at=at,
                        text=f"RT {copy.text}",
                        repost_of=copy.id,
                    )


def measure_memory(
    total: int = 1_000_000, every: int = 100_000, model: RumourModel | None = None
) -> list[float]:
    """MB the detector holds (tracemalloc, after a full collection) every ``every`` posts of the real mixed
    stream, ``total`` posts in all; posts are made on the fly and dropped after their batch. Flat: bounded."""
    import gc
    import tracemalloc

    detector = _detector(model)
    stream = real_posts(mixed=True)
    stream = itertools.chain(
        [next(stream)], stream
    )  # the source tweets it repeats are loaded now, not counted
    sizes = []
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for done in range(0, total, 1000):
        detector.observe(list(itertools.islice(stream, 1000)))
        if (done + 1000) % every == 0:
            gc.collect()
            sizes.append(round((tracemalloc.get_traced_memory()[0] - base) / 2**20, 1))
    tracemalloc.stop()
    return sizes


# -- report ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="heldout")
    parser.add_argument("--seeds", default="1-5", help="scenario seeds: 1-5 (report) or 100-109 (tuning)")
    parser.add_argument("--groups", default=",".join(GROUPS), help="scenario case groups")
    parser.add_argument("--only", default="rumoureval,pheme_nonrumour,pheme_posts,scenario")
    parser.add_argument("--speed", action="store_true", help="measure the detector's cost per post instead")
    parser.add_argument("--speed-posts", type=int, default=200_000)
    parser.add_argument(
        "--memory", action="store_true", help="measure the detector's memory over a long stream"
    )
    parser.add_argument("--memory-posts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    model_for = MODELS[args.model]()
    if args.speed:
        # Speed with the shipped model: there is nothing to hold out in timing.
        model = None if args.model == "none" else _shipped_or_none()
        for key, value in measure_speed(args.speed_posts, model).items():
            print(f"{key:>26}: {value}")
        return
    if args.memory:
        model = None if args.model == "none" else _shipped_or_none()
        sizes = measure_memory(args.memory_posts, model=model)
        step = args.memory_posts // len(sizes)
        print("detector state, MB after every", f"{step:,} posts:", sizes)
        return
    only = set(args.only.split(","))
    print(f"model: {args.model}")
    if "rumoureval" in only:
        print("rumoureval", evaluate_rumoureval(model_for))
    if "pheme_nonrumour" in only:
        print("pheme_nonrumour", evaluate_pheme_nonrumours(model_for))
    if "pheme_posts" in only:
        for event, row in evaluate_pheme_posts(model_for).items():
            print("pheme_posts", event, row)
    if "scenario" in only:
        # Scenarios are not PHEME: the shipped model is honest there; held-out has no event to hold out.
        scenario_model = None if args.model == "none" else _shipped_or_none()
        results = evaluate_scenarios(parse_seeds(args.seeds), args.groups.split(","), scenario_model)
        for row in summarise_scenarios(results):
            print("scenario", row)
        titles = Counter(t for r in results for t in (*r.false_background, *r.false_incident))
        for title, n in titles.most_common(10):
            print(f"  false alert x{n}: {title}")
        print("merge hints", summarise_hints([r for r in results if r.case.group == "main"]))


def _shipped_or_none() -> RumourModel | None:
    try:
        return RumourModel.load()
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    main()
