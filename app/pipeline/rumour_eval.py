"""Training and event-held-out evaluation of the rumour and stance models on the shared research data.

Needs scikit-learn (training only; the shipped scorer does not). Everything here reads the data folder
``SIGNAAL_DATA_DIR`` (default ``<repo>/../shared/data``, see :mod:`app.config`) and never writes to it.

Evaluation protocol, and why:

* Rumours: leave one PHEME event out. Each event is scored by a model that never saw it, and the one
  hyperparameter (the regularisation C) is chosen inside the training events by an inner leave-one-event-
  out, so no number is tuned on the event it reports. Random splits overstate this task by 0.15 or more
  because a rumour's story (names, places, hashtags) is shared by its tweets.
* Two PHEME events here are rumours only (charliehebdo, ebola-essien) and one has 4 non-rumours
  (prince-toronto), so a per-event macro-F1 is undefined or rests on four posts. We report, per event, n,
  rumour count, macro-F1 where both classes occur, rumour recall and AUC; the mean macro-F1 over the
  events with both classes, the mean over the three with at least 20 of each (ferguson, ottawashooting,
  sydneysiege), and the macro-F1 of all held-out predictions pooled.
* The Dutch CheckThat! 1B training tweets (verifiable factual claim or not) are in every training fold:
  they teach Dutch claim-ness, the PHEME data has no Dutch. They are a different event, so this does
  not leak.
* Stance: leave one RumourEval 2017 event out, C chosen the same nested way.
* Dutch: trained on PHEME + CheckThat 1B train, evaluated on the 1A and 1B dev splits (F1 of the positive
  class at the shipped threshold 0.5). Every 1A tweet is also a 1B claim, so 1A measures ranking among
  claims, which claim-ness cannot do; the all-positive baseline is printed beside it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.pipeline import rumour_model as rm
from app.pipeline.signals import STANCES, stance

THRESHOLD = 0.5
C_GRID = (1.0, 3.0)
MIN_PER_CLASS = 20
CHECKTHAT_FILES = {"1A": "CT22_dutch_1A_checkworthy", "1B": "CT22_dutch_1B_claim"}


def default_data_dir() -> Path:
    from app.config import Settings

    return Settings().data_dir


@dataclass(frozen=True)
class Example:
    text: str
    label: int | str
    group: str
    meta: dict[str, Any] = field(default_factory=dict)

    def features(self) -> rm.PostFeatures:
        return rm.featurize(self.text, **self.meta)


def load_pheme(data_dir: Path) -> list[Example]:
    """PHEME source tweets; label 1 = rumour. Metadata as a stream would have it at posting time."""
    files = sorted((data_dir / "pheme").glob("*-all-rnr-threads.*.json"))
    if not files:
        raise FileNotFoundError(f"no PHEME files under {data_dir / 'pheme'}")
    out: list[Example] = []
    for path in files:
        event, kind = path.name.split("-all-rnr-threads.")
        label = 1 if kind.startswith("rumours") else 0
        for tweet in json.loads(path.read_text(encoding="utf-8")):
            meta = {"is_reply": tweet.get("in_reply_to_status_id") is not None, "lang": tweet.get("lang")}
            out.append(Example(tweet["text"], label, event, meta))
    return out


def load_checkthat(data_dir: Path, task: str, split: str) -> list[Example]:
    path = data_dir / "dutch_checkthat" / f"{CHECKTHAT_FILES[task]}_{split}.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Example(r["tweet_text"], int(r["class_label"]), f"checkthat-{task}-{split}", {"lang": "nl"})
        for r in rows
    ]


def load_rumoureval(data_dir: Path) -> list[Example]:
    path = data_dir / "rumoureval2017" / "threads_train.jsonl"
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            out.append(Example(r["text"], r["stance"], r["event"]))
    return out


def _matrix(examples: Sequence[Example]) -> Any:
    return rm.feature_matrix(ex.features() for ex in examples)


class _OneVsRest:
    """Binary logistic regressions, one per class, with the ``coef_``/``predict`` a LinearModel needs.

    scikit-learn's liblinear no longer does several classes itself, and lbfgs' multinomial model is ~10x
    slower to fit here; one-vs-rest is also what :meth:`LinearModel.decision` computes.
    """

    def __init__(self, classes: np.ndarray, models: list[Any]) -> None:
        self.classes_ = classes
        self.coef_ = np.vstack([m.coef_ for m in models])
        self.intercept_ = np.concatenate([m.intercept_ for m in models])

    def predict(self, x: Any) -> np.ndarray:
        scores = np.asarray(x @ self.coef_.T) + self.intercept_
        return self.classes_[np.argmax(scores, axis=1)]


def _fit(x: Any, y: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y)
    if len(classes) > 2:
        return _OneVsRest(classes, [_fit(x, (y == k).astype(int), c) for k in classes])
    # liblinear: fast on sparse data. Balanced class weights put the decision threshold at 0.5 whatever
    # the training mix of rumours and non-rumours.
    model = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=0
    )
    # Only a few percent of the hash buckets occur in any training set; fitting on those columns alone
    # gives the same model (an unused column's weight stays 0 under L2) about twice as fast.
    x = x.tocsr()
    used = np.unique(x.indices)
    model.fit(x[:, used], y)
    coef = np.zeros((model.coef_.shape[0], x.shape[1]))
    coef[:, used] = model.coef_
    model.coef_ = coef
    model.n_features_in_ = x.shape[1]
    return model


def _predict(model: Any, x: Any) -> np.ndarray:
    """Rumour probability for a binary model, the label for a several-class one."""
    if isinstance(model, _OneVsRest):
        return model.predict(x)
    return model.predict_proba(x)[:, 1]


def _macro_f1(y: np.ndarray, pred: np.ndarray, labels: Sequence[Any]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=list(labels), average="macro", zero_division=0))


def _hard(pred: np.ndarray) -> np.ndarray:
    return (pred >= THRESHOLD).astype(int) if pred.dtype.kind == "f" else pred


@dataclass(frozen=True)
class _Data:
    x: Any
    y: np.ndarray
    groups: np.ndarray
    # Training rows that are never held out (the Dutch claims in the rumour task).
    extra_x: Any = None
    extra_y: np.ndarray | None = None

    def fit_without(self, held_out: Sequence[str], c: float) -> tuple[Any, np.ndarray]:
        from scipy.sparse import vstack

        train = ~np.isin(self.groups, held_out)
        x, y = self.x[train], self.y[train]
        if self.extra_x is not None and self.extra_y is not None:
            x, y = vstack([x, self.extra_x]).tocsr(), np.concatenate([y, self.extra_y])
        model = _fit(x, y, c)
        return model, _predict(model, self.x[~train]) if (~train).any() else np.empty(0)


def _nested_loeo(
    data: _Data, c_grid: Sequence[float], labels: Sequence[Any], n_jobs: int
) -> tuple[np.ndarray, dict[str, float]]:
    """Held-out predictions for every row, each group's C chosen by an inner leave-one-group-out.

    The inner split "train without groups a and b, predict b" is the same model for outer fold a and
    for outer fold b, so it is fitted once per pair and C: 15 pairs instead of 30 inner fits per C for
    six groups.
    """
    from joblib import Parallel, delayed

    names = sorted(set(data.groups.tolist()))
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    jobs = [(pair, c) for pair in pairs for c in c_grid]
    results = Parallel(n_jobs=n_jobs)(delayed(data.fit_without)(pair, c) for pair, c in jobs)
    inner: dict[tuple[str, str, float], np.ndarray] = {}  # (outer, inner group, C) -> predictions
    for ((a, b), c), (_, pred) in zip(jobs, results, strict=True):
        rows = data.groups[np.isin(data.groups, (a, b))]
        inner[(a, b, c)] = pred[rows == b]
        inner[(b, a, c)] = pred[rows == a]
    chosen: dict[str, float] = {}
    for outer in names:
        rest = [g for g in names if g != outer]
        y_rest = np.concatenate([data.y[data.groups == g] for g in rest])
        score = {
            c: _macro_f1(y_rest, _hard(np.concatenate([inner[(outer, g, c)] for g in rest])), labels)
            for c in c_grid
        }
        chosen[outer] = _choose_c(score)
    outer_results = Parallel(n_jobs=n_jobs)(delayed(data.fit_without)((g,), chosen[g]) for g in names)
    pred = np.empty(len(data.y), dtype=outer_results[0][1].dtype)
    for g, (_, p) in zip(names, outer_results, strict=True):
        pred[data.groups == g] = p
    return pred, chosen


def _choose_c(score_of_c: dict[float, float]) -> float:
    # Ties go to the smaller C, the stronger regularisation.
    return max(sorted(score_of_c), key=lambda c: score_of_c[c])


def _majority_c(chosen: dict[str, float]) -> float:
    """The C for the final model: the one the held-out folds chose most often (ties: the smaller)."""
    values = list(chosen.values())
    return max(sorted(set(values)), key=values.count)


def _rumour_data(data_dir: Path) -> _Data:
    pheme = load_pheme(data_dir)
    dutch = load_checkthat(data_dir, "1B", "train")
    return _Data(
        x=_matrix(pheme),
        y=np.array([ex.label for ex in pheme]),
        groups=np.array([ex.group for ex in pheme]),
        extra_x=_matrix(dutch),
        extra_y=np.array([ex.label for ex in dutch]),
    )


def fit_rumour_model(
    data_dir: Path | str | None = None,
    *,
    exclude_events: Sequence[str] = (),
    c: float | None = None,
    c_grid: Sequence[float] = C_GRID,
) -> rm.LinearModel:
    """The shipped recipe (PHEME + Dutch CheckThat 1B train), optionally without some PHEME events.

    For an honest score on an excluded event, C is chosen by leave-one-event-out over the remaining
    events unless given.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    full = _rumour_data(data_dir)
    unknown = set(exclude_events) - set(full.groups.tolist())
    if unknown:
        raise ValueError(f"no such PHEME events: {sorted(unknown)}")
    keep = ~np.isin(full.groups, list(exclude_events))
    data = _Data(full.x[keep], full.y[keep], full.groups[keep], full.extra_x, full.extra_y)
    if c is None:
        names = sorted(set(data.groups.tolist()))
        score = {}
        for cand in c_grid:
            prob = np.empty(len(data.y))
            for g in names:
                prob[data.groups == g] = data.fit_without((g,), cand)[1]
            score[cand] = _macro_f1(data.y, _hard(prob), (0, 1))
        c = _choose_c(score)
    model, _ = data.fit_without((), c)
    metadata = {"excluded_events": ",".join(exclude_events), "C": str(c)}
    return rm.LinearModel.from_arrays(("rumour",), model.coef_, model.intercept_, metadata)


def evaluate_loeo(
    data_dir: Path | str | None = None, *, c_grid: Sequence[float] = C_GRID, n_jobs: int = 1
) -> dict[str, Any]:
    """Leave-one-PHEME-event-out evaluation of the rumour scorer (see the module docstring).

    Returns ``{"events": {event: {n, rumours, macro_f1, rumour_recall, auc, C}}, "mean_macro_f1"
    (events with both classes), "mean_macro_f1_main" (events with >= 20 of each class), "pooled_macro_f1",
    "pooled_auc", "final_c", "threshold", ...}``. ``macro_f1`` and ``auc`` are None for an event with
    one class.
    """
    from sklearn.metrics import roc_auc_score

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    data = _rumour_data(data_dir)
    prob, chosen = _nested_loeo(data, c_grid, (0, 1), n_jobs)
    y, groups = data.y, data.groups
    events: dict[str, dict[str, Any]] = {}
    for group in sorted(chosen):
        mask = groups == group
        yg, p = y[mask], prob[mask]
        pred = _hard(p)
        both = len(set(yg.tolist())) == 2
        events[group] = {
            "n": int(mask.sum()),
            "rumours": int(yg.sum()),
            "macro_f1": _macro_f1(yg, pred, (0, 1)) if both else None,
            "rumour_recall": float(pred[yg == 1].mean()) if yg.sum() else None,
            "auc": float(roc_auc_score(yg, p)) if both else None,
            "C": chosen[group],
        }
    main = [g for g in events if MIN_PER_CLASS <= events[g]["rumours"] <= events[g]["n"] - MIN_PER_CLASS]
    two_class = [g for g in events if events[g]["macro_f1"] is not None]
    return {
        "events": events,
        "mean_macro_f1": float(np.mean([events[g]["macro_f1"] for g in two_class])),
        "two_class_events": two_class,
        "mean_macro_f1_main": float(np.mean([events[g]["macro_f1"] for g in main])),
        "main_events": main,
        "pooled_macro_f1": _macro_f1(y, _hard(prob), (0, 1)),
        "pooled_auc": float(roc_auc_score(y, prob)),
        "final_c": _majority_c(chosen),
        "threshold": THRESHOLD,
    }


def evaluate_stance(
    data_dir: Path | str | None = None, *, c_grid: Sequence[float] = (0.3, 1.0), n_jobs: int = 1
) -> dict[str, Any]:
    """Leave-one-RumourEval-event-out macro-F1 of :class:`StanceModel` (cue rules, then the linear model),
    of the linear model alone, and of :func:`app.pipeline.signals.stance` (the rules alone).

    ``events`` holds the linear model alone per held-out event.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    posts = load_rumoureval(data_dir)
    data = _Data(
        x=_matrix(posts),
        y=np.array([ex.label for ex in posts], dtype=object),
        groups=np.array([ex.group for ex in posts]),
    )
    pred, chosen = _nested_loeo(data, c_grid, STANCES, n_jobs)
    y, groups = data.y, data.groups
    events = {
        g: {
            "n": int((groups == g).sum()),
            "macro_f1": _macro_f1(y[groups == g], pred[groups == g], STANCES),
            "C": chosen[g],
        }
        for g in sorted(chosen)
    }
    rules = np.array([stance(ex.text) for ex in posts], dtype=object)
    # As StanceModel.predict combines them: a deny or query cue decides, else the model.
    shipped = np.where(np.isin(rules, ("deny", "query")), rules, pred)
    return {
        "events": events,
        "pooled_macro_f1": _macro_f1(y, shipped, STANCES),
        "model_only_pooled_macro_f1": _macro_f1(y, pred, STANCES),
        "rules_pooled_macro_f1": _macro_f1(y, rules, STANCES),
        "per_class_f1": {
            s: _macro_f1((y == s).astype(int), (shipped == s).astype(int), (1,)) for s in STANCES
        },
        "final_c": _majority_c(chosen),
    }


def evaluate_checkthat(model: rm.LinearModel, data_dir: Path) -> dict[str, Any]:
    """F1 of the positive class on Dutch CheckThat! 1A and 1B dev, scored by the exported model."""
    from sklearn.metrics import f1_score, roc_auc_score

    scorer = rm.RumourModel(model)
    out: dict[str, Any] = {}
    for task in ("1A", "1B"):
        dev = load_checkthat(data_dir, task, "dev")
        yd = np.array([ex.label for ex in dev])
        p = np.array([scorer.score(ex.text, **ex.meta) for ex in dev])
        base = yd.mean()
        out[task] = {
            "n": len(dev),
            "positives": int(yd.sum()),
            "f1": float(f1_score(yd, (p >= THRESHOLD).astype(int))),
            "auc": float(roc_auc_score(yd, p)),
            "all_positive_f1": float(2 * base / (1 + base)),
        }
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train_rumour_model(data_dir: Path, c: float, extra_metadata: dict[str, str]) -> rm.LinearModel:
    data = _rumour_data(data_dir)
    model, _ = data.fit_without((), c)
    pheme_events = ", ".join(sorted(set(data.groups.tolist())))
    metadata = {
        "name": "rumour_v1",
        "task": "P(post spreads an unverified claim), single post at posting time",
        "training_data": f"PHEME source tweets (events: {pheme_events}); "
        "CLEF-2022 CheckThat! 1B Dutch train (verifiable claim = 1)",
        "trained_on": dt.date.today().isoformat(),
        "code_commit": _git_commit(),
        "feature_spec": rm.FEATURE_SPEC,
        "classifier": f"sklearn LogisticRegression liblinear C={c} class_weight=balanced",
        "threshold": str(THRESHOLD),
        "n_train": str(len(data.y) + len(data.extra_y if data.extra_y is not None else ())),
        **extra_metadata,
    }
    return rm.LinearModel.from_arrays(("rumour",), model.coef_, model.intercept_, metadata)


def train_stance_model(data_dir: Path, c: float, extra_metadata: dict[str, str]) -> rm.LinearModel:
    posts = load_rumoureval(data_dir)
    y = np.array([ex.label for ex in posts], dtype=object)
    model = _fit(_matrix(posts), y, c)
    metadata = {
        "name": "stance_v1",
        "task": "stance of a reaction post: support / deny / query / comment",
        "training_data": "RumourEval 2017 (SemEval-2017 Task 8) training threads, all events",
        "trained_on": dt.date.today().isoformat(),
        "code_commit": _git_commit(),
        "feature_spec": rm.FEATURE_SPEC,
        "classifier": f"sklearn LogisticRegression liblinear one-vs-rest C={c} class_weight=balanced",
        "n_train": str(len(y)),
        **extra_metadata,
    }
    classes = [str(cl) for cl in model.classes_]
    return rm.LinearModel.from_arrays(classes, model.coef_, model.intercept_, metadata)
