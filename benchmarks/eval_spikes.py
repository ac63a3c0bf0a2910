"""How early, and how quietly, the spike detector fires: real crises (CrisisLex T6) and Project X scenarios.

    .venv/bin/python benchmarks/eval_spikes.py                    # everything below
    .venv/bin/python benchmarks/eval_spikes.py --part crisislex
    .venv/bin/python benchmarks/eval_spikes.py --part projectx [--seeds 1-5] [--groups main,busy,chatter]
    .venv/bin/python benchmarks/eval_spikes.py --part speed [--speed-posts 200000]

Settings: the detector's defaults, fixed before any CrisisLex replay was run; they were tuned on Project X
seeds 100-104 only (``TUNING_SEEDS``), the report uses seeds 1-5 and all six crises, none of which was used
for tuning. Both replays use the shipped playbooks (their spike terms and calendar).

CrisisLex T6 (``$SIGNAAL_DATA_DIR/crisislex_t6``, read in place): for each crisis its ~10,000 labelled
tweets (a sample of the keyword-tracked collection, on- and off-topic) are replayed in time order through a
fresh detector as Posts (platform twitter, id = tweet id, time from the snowflake, no language, no area), in
10-second batches as a live consumer would poll. The detector's time zone is the crisis's own. Scored:

onset
    Two definitions, reported side by side. *real*: the public start time of the event (below), when the
    collection covers it. *data*: the first moment at least 2 h into the collection at which the on-topic
    tweets of the trailing 60 minutes number at least max(30, 3 x their hourly mean over the 6 hours
    before); it needs the labels, which the detector never sees. Both are in UTC.
delay_all_min, delay_term_min, delay_any_min
    Minutes from the onset to the first alert opened at or after it: on the whole stream, on a playbook
    spike term, on any key (hashtags included). None: no such alert in the collection. An alert already
    open at the onset does not count as a detection; ``open_at_onset`` names such keys. The data onset
    trails the rise it marks by up to the hour it counts over, so there alerts from an hour before it
    count as detections (negative delays).
false_alarms_per_day
    Alerts opened between the end of the warm-up and the onset (for the data onset: an hour before it),
    per day of that stretch (``pre_onset_h`` hours long; only given from 6 hours on): with no crisis under
    way yet, every one of them is a false alarm.

Project X (``streams.scenarios.projectx``; groups as in ``eval_mobilisation``: four towns, a busy stream with
ten times the chatter, two weeks of chatter before the gathering). An alert is *about the incident* when
most of its member posts are of the incident's kinds (invitation, cascade, official, incident, rumour,
denial, aftermath), or it opened inside one of the truth's spike windows; every other alert is a false
alarm (``false_per_day``, per simulated day of the whole span; ``false_lookalike`` counts those whose members
are mostly a look-alike event's, e.g. the Oranje match in a café; ``false_cold_start`` those opened before the
detector had seen a whole day of the same kind, weekday or weekend day; such alerts say so on the display).

windows_hit
    Truth spike windows (whole UTC hours at >= 10 x the pre-invitation hourly mean) overlapped by an
    incident alert, of all windows.
riot_delay_min
    Minutes from the start of the riot's spike window (the one holding the hour after the announced time;
    a busy stream may have none: the riot is then under 10 x its hourly mean) to the opening of the first
    incident alert that overlaps it; negative when it opened before the window began.
day_vs_escalation_min
    Minutes from the first unrest post to the first incident alert opened on the day (from 12 hours before
    the announced time); negative = the arrivals were flagged before the unrest began.
escalation_new_min
    Minutes from the first unrest post to the first alert opened after it (typically a riot term); the
    area alert is usually open from the arrivals before.
warning_h
    Hours from the first incident alert to the announced gathering.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.pipeline.alerts import Alert
from app.pipeline.enrich import Enricher
from app.pipeline.spikes import SpikeDetector, SpikeSettings
from app.playbooks import PlaybookSet
from benchmarks.scenario_cases import REPORT_SEEDS, Case, cases, enriched_posts, parse_seeds
from streams.post import Post
from streams.scenarios.projectx import GroundTruth, generate

REPO = Path(__file__).resolve().parents[1]
BATCH_SECONDS = 10.0
TUNING_SEEDS = (100, 101, 102, 103, 104)
INCIDENT_KINDS = ("invitation", "cascade", "official", "incident", "rumour", "denial", "aftermath")
SPEED_BATCH = 1000


def data_dir() -> Path:
    return Path(os.environ.get("SIGNAAL_DATA_DIR") or REPO.parent / "shared" / "data")


def time_batches(posts: Iterable[Post], seconds: float = BATCH_SECONDS) -> Iterator[list[Post]]:
    """Posts grouped by event-time slices, as a live consumer polling every few seconds would see them."""
    batch: list[Post] = []
    current: int | None = None
    for post in posts:
        slot = int(post.created_at.timestamp() // seconds)
        if batch and slot != current:
            yield batch
            batch = []
        current = slot
        batch.append(post)
    if batch:
        yield batch


def replay(posts: Sequence[Post], settings: SpikeSettings, playbooks: PlaybookSet) -> dict[str, list[Alert]]:
    """Every revision of every alert over ``posts``, by alert id, in emission order."""
    detector = SpikeDetector(settings, playbooks)
    episodes: dict[str, list[Alert]] = {}
    for batch in time_batches(posts):
        for alert in detector.observe(batch):
            episodes.setdefault(alert.id, []).append(alert)
    return episodes


def _minutes(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 60.0, 1)


def _kind(alert: Alert) -> str:
    return str(alert.details["key"]).split(":")[0]


# --- CrisisLex T6 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crisis:
    event: str
    timezone: str
    real_onset: datetime | None
    note: str


CRISES = (
    Crisis(
        "2013_Boston_Bombings",
        "America/New_York",
        datetime(2013, 4, 15, 18, 49, tzinfo=UTC),
        "bombs at the marathon finish line, 14:49 EDT",
    ),
    Crisis(
        "2013_West_Texas_Explosion",
        "America/Chicago",
        # 19:50 CDT on 17 April is 00:50 UTC on 18 April; the collection's first on-topic tweets agree.
        datetime(2013, 4, 18, 0, 50, tzinfo=UTC),
        "fertilizer plant explosion, 19:50 CDT 17 April",
    ),
    Crisis(
        "2013_Oklahoma_Tornado",
        "America/Chicago",
        datetime(2013, 5, 20, 19, 56, tzinfo=UTC),
        "Moore tornado touches down, 14:56 CDT",
    ),
    Crisis(
        "2012_Sandy_Hurricane",
        "America/New_York",
        datetime(2012, 10, 29, 23, 30, tzinfo=UTC),
        "landfall in New Jersey; the storm was news for days before, the collection starts 28 Oct",
    ),
    Crisis(
        "2013_Alberta_Floods",
        "America/Edmonton",
        None,
        "flooding began 19-20 June; the collection starts 21 June 00:08 UTC, after it",
    ),
    Crisis(
        "2013_Queensland_Floods",
        "Australia/Brisbane",
        None,
        "ex-cyclone Oswald floods from ~25 January; the collection starts 27 January 00:01 UTC, after it",
    ),
)


def crisislex_posts(path: Path | None = None) -> dict[str, tuple[list[Post], list[float]]]:
    """Posts per crisis in time order, and the sorted times (epoch s) of its on-topic tweets."""
    path = path or data_dir() / "crisislex_t6" / "crisislex_t6_with_time.csv"
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["event"], []).append(row)
    out: dict[str, tuple[list[Post], list[float]]] = {}
    for event, event_rows in rows.items():
        posts = sorted(
            (
                Post(
                    platform="twitter",
                    id=row["tweet_id"],
                    author="p_crisislex",  # the data set has no authors; the detector does not use them
                    created_at=datetime.fromisoformat(row["created_at_snowflake"]),
                    text=row["text"],
                )
                for row in event_rows
            ),
            key=lambda p: p.created_at,
        )
        on_topic = sorted(
            datetime.fromisoformat(row["created_at_snowflake"]).timestamp()
            for row in event_rows
            if row["label"] == "on-topic"
        )
        out[event] = (posts, on_topic)
    return out


def data_onset(on_topic: Sequence[float], start: float) -> datetime | None:
    """See the module docstring: trailing-hour on-topic count >= max(30, 3 x the 6 hours before)."""
    for i, t in enumerate(on_topic):
        if t - start < 2 * 3600:
            continue
        last_hour = i - bisect.bisect_left(on_topic, t - 3600) + 1
        lo, hi = max(start, t - 7 * 3600), t - 3600
        before = (bisect.bisect_left(on_topic, hi) - bisect.bisect_left(on_topic, lo)) / ((hi - lo) / 3600)
        if last_hour >= max(30.0, 3.0 * before):
            return datetime.fromtimestamp(t, UTC)
    return None


def score_onset(
    episodes: dict[str, list[Alert]],
    onset: datetime | None,
    start: datetime,
    warmup: timedelta,
    lead: timedelta = timedelta(0),
) -> dict[str, Any]:
    """Delays from ``onset`` and false alarms before it; alerts from ``onset - lead`` on count as detections
    (negative delays), for an onset that is only known to lie within ``lead`` after the rise began."""
    if onset is None:
        return {"onset": None}
    firsts = [revisions[0] for revisions in episodes.values()]
    after = sorted((a for a in firsts if a.first_seen >= onset - lead), key=lambda a: a.first_seen)

    def first(kinds: tuple[str, ...] | None) -> Alert | None:
        return next((a for a in after if kinds is None or _kind(a) in kinds), None)

    # Opened before the onset and still taking posts after it: such an alert covers the onset, but we do not
    # count it as detecting it.
    open_at = sorted(
        {
            str(revisions[0].details["key"])
            for revisions in episodes.values()
            if revisions[0].first_seen < onset - lead <= revisions[-1].updated_at
        }
    )
    armed = start + warmup
    pre = [a for a in firsts if armed <= a.first_seen < onset - lead]
    pre_hours = max(0.0, (onset - lead - armed).total_seconds() / 3600)
    any_first = first(None)
    return {
        "onset": onset.strftime("%Y-%m-%d %H:%M"),
        "delay_all_min": _minutes(getattr(first(("all",)), "first_seen", None), onset),
        "delay_term_min": _minutes(getattr(first(("term",)), "first_seen", None), onset),
        "delay_any_min": _minutes(getattr(any_first, "first_seen", None), onset),
        "first_key": str(any_first.details["key"]) if any_first else None,
        "open_at_onset": open_at,
        "pre_onset_h": round(pre_hours, 1),
        "false_alarms": len(pre),
        "false_alarms_per_day": round(len(pre) / (pre_hours / 24), 2) if pre_hours >= 6 else None,
    }


def crisislex_rows(
    settings: SpikeSettings | None = None, playbooks: PlaybookSet | None = None, path: Path | None = None
) -> list[dict[str, Any]]:
    """One row per crisis and onset definition."""
    playbooks = playbooks or PlaybookSet.load()
    base = settings or SpikeSettings()
    data = crisislex_posts(path)
    rows: list[dict[str, Any]] = []
    for crisis in CRISES:
        posts, on_topic = data[crisis.event]
        settings_here = SpikeSettings.model_validate({**base.model_dump(), "timezone": crisis.timezone})
        episodes = replay(posts, settings_here, playbooks)
        start = posts[0].created_at
        warmup = timedelta(minutes=settings_here.warmup_minutes)
        common = {
            "crisis": crisis.event,
            "posts": len(posts),
            "span": f"{start:%Y-%m-%d %H:%M} .. {posts[-1].created_at:%Y-%m-%d %H:%M}",
            "alerts": len(episodes),
            "alerts_by_kind": dict(Counter(_kind(r[0]) for r in episodes.values())),
        }
        real = score_onset(episodes, crisis.real_onset, start, warmup) if crisis.real_onset else {}
        rows.append({**common, "onset_kind": "real", "note": crisis.note, **(real or {"onset": None})})
        found = data_onset(on_topic, start.timestamp())
        scored = score_onset(episodes, found, start, warmup, lead=timedelta(hours=1))
        rows.append({**common, "onset_kind": "data", "note": "on-topic rate", **scored})
    return rows


# --- Project X ----------------------------------------------------------------------------------------------


def score_case(case: Case, truth: GroundTruth, episodes: dict[str, list[Alert]]) -> dict[str, Any]:
    kinds = truth.kinds
    lookalike_ids = set(truth.lookalike_post_ids)
    prefix = "scenario:"
    incident: list[tuple[datetime, datetime, Alert]] = []
    false: list[Alert] = []
    false_lookalike = false_cold_start = 0
    for revisions in episodes.values():
        first, last = revisions[0], revisions[-1]
        members = [m.removeprefix(prefix) for m in last.member_ids]
        families = Counter(kinds.get(m, "background").split(":")[0] for m in members)
        about_incident = sum(families[k] for k in INCIDENT_KINDS) >= 0.5 * max(1, len(members))
        in_window = any(w.start <= first.first_seen < w.end for w in truth.spike_windows)
        if about_incident or in_window:
            incident.append((first.first_seen, last.updated_at, first))
            continue
        false.append(first)
        if sum(1 for m in members if m in lookalike_ids) >= 0.5 * max(1, len(members)):
            false_lookalike += 1
        if not first.details["rhythm_known"]:
            false_cold_start += 1
    incident.sort(key=lambda item: item[0])

    def overlapping(start: datetime, end: datetime) -> list[tuple[datetime, datetime, Alert]]:
        return [item for item in incident if item[0] < end and item[1] >= start]

    windows_hit = sum(1 for w in truth.spike_windows if overlapping(w.start, w.end))
    gathering, escalation = truth.gathering.at, truth.escalation_start
    riot = next((w for w in truth.spike_windows if w.start <= gathering + timedelta(hours=2) < w.end), None)
    riot_hit = overlapping(riot.start, riot.end) if riot else []
    on_the_day = next((item for item in incident if item[0] >= gathering - timedelta(hours=12)), None)
    escalation_new = next((item for item in incident if item[0] >= escalation), None)
    days = (truth.span_end - truth.span_start).total_seconds() / 86400
    return {
        "group": case.group,
        "town": case.town,
        "seed": case.seed,
        "posts": truth.counts["total"],
        "alerts": len(episodes),
        "incident_alerts": len(incident),
        "windows_hit": f"{windows_hit}/{len(truth.spike_windows)}",
        "riot_window": riot is not None,
        "riot_delay_min": _minutes(riot_hit[0][0], riot.start) if riot and riot_hit else None,
        "riot_first_key": str(riot_hit[0][2].details["key"]) if riot_hit else None,
        "day_vs_escalation_min": _minutes(on_the_day[0], escalation) if on_the_day else None,
        "day_first_key": str(on_the_day[2].details["key"]) if on_the_day else None,
        "escalation_new_min": _minutes(escalation_new[0], escalation) if escalation_new else None,
        "escalation_new_key": str(escalation_new[2].details["key"]) if escalation_new else None,
        "warning_h": round((gathering - incident[0][0]).total_seconds() / 3600, 1) if incident else None,
        "false": len(false),
        "false_lookalike": false_lookalike,
        "false_cold_start": false_cold_start,
        "false_per_day": round(len(false) / days, 3),
        "false_titles": [a.title for a in false],
        "days": round(days, 2),
    }


def projectx_rows(
    seeds: Iterable[int] = REPORT_SEEDS,
    groups: Iterable[str] = ("main", "busy", "chatter"),
    settings: SpikeSettings | None = None,
    playbooks: PlaybookSet | None = None,
) -> list[dict[str, Any]]:
    enricher = Enricher()
    playbooks = playbooks or PlaybookSet.load()
    rows = []
    for case in cases(seeds, groups):
        truth, posts = enriched_posts(case, enricher)
        rows.append(score_case(case, truth, replay(posts, settings or SpikeSettings(), playbooks)))
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per group: medians of the delays, total false alarms per simulated day."""
    out = []
    for group in dict.fromkeys(row["group"] for row in rows):
        mine = [row for row in rows if row["group"] == group]

        def median(name: str, rows: list[dict[str, Any]] = mine) -> float | None:
            values = [row[name] for row in rows if row[name] is not None]
            return round(statistics.median(values), 1) if values else None

        hit = [tuple(map(int, row["windows_hit"].split("/"))) for row in mine]
        days = sum(row["days"] for row in mine)
        out.append(
            {
                "group": group,
                "cases": len(mine),
                "windows_hit": f"{sum(h for h, _ in hit)}/{sum(n for _, n in hit)}",
                "riot_windows": sum(1 for row in mine if row["riot_window"]),
                "riot_missed": sum(1 for row in mine if row["riot_window"] and row["riot_delay_min"] is None),
                "riot_delay_min_median": median("riot_delay_min"),
                "day_vs_escalation_min_median": median("day_vs_escalation_min"),
                "escalation_new_min_median": median("escalation_new_min"),
                "warning_h_median": median("warning_h"),
                "false": sum(row["false"] for row in mine),
                "false_lookalike": sum(row["false_lookalike"] for row in mine),
                "false_cold_start": sum(row["false_cold_start"] for row in mine),
                "false_per_day": round(sum(row["false"] for row in mine) / days, 3),
            }
        )
    return out


# --- speed --------------------------------------------------------------------------------------------------


def measure_speed(target_posts: int = 200_000, repeat: int = 3) -> dict[str, float]:
    """CPU µs per post of the detector alone over an enriched, busy Project X stream (best of ``repeat``).

    The stream is one scenario with 20,000 ordinary posts a day and a five-fold incident (~226,000 posts for
    the default span), cut to ``target_posts``; enrichment is done beforehand and not timed.
    """
    scenario = generate("Haren", seed=7, scale=5.0, base_rate_per_day=20_000)
    enricher = Enricher()
    posts = enricher.enrich_all([Post.model_validate(r) for r in scenario.records[:target_posts]])
    playbooks = PlaybookSet.load()

    def best_of(settings: SpikeSettings) -> tuple[float, SpikeDetector]:
        best, detector = float("inf"), SpikeDetector(settings, playbooks)
        for _ in range(repeat):
            detector = SpikeDetector(settings, playbooks)
            began = time.process_time()
            for i in range(0, len(posts), SPEED_BATCH):
                detector.observe(posts[i : i + SPEED_BATCH])
            best = min(best, time.process_time() - began)
        return best, detector

    best, detector = best_of(SpikeSettings())
    # The same stream with episodes switched off: the cost of counting alone.
    no_episodes, _ = best_of(SpikeSettings(min_count=10**9))
    return {
        "posts": len(posts),
        "us_per_post": round(best / len(posts) * 1e6, 2),
        "us_per_post_without_episodes": round(no_episodes / len(posts) * 1e6, 2),
        "posts_per_s": round(len(posts) / best),
        **{f"state_{k}": v for k, v in detector.state_size().items()},
    }


def _print(rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("all", "crisislex", "projectx", "speed"), default="all")
    parser.add_argument("--seeds", default="1-5")
    parser.add_argument("--groups", default="main,busy,chatter")
    parser.add_argument("--speed-posts", type=int, default=200_000)
    parser.add_argument(
        "--cases", action="store_true", help="print every Project X case, not only the summary"
    )
    options = parser.parse_args(argv)
    if options.part in ("all", "crisislex"):
        print("CrisisLex T6 (default settings, shipped playbooks; no crisis used for tuning)")
        _print(crisislex_rows())
    if options.part in ("all", "projectx"):
        rows = projectx_rows(parse_seeds(options.seeds), options.groups.split(","))
        print(f"Project X, seeds {options.seeds}")
        if options.cases:
            _print({k: v for k, v in row.items() if k != "false_titles"} for row in rows)
            for row in rows:
                for title in row["false_titles"]:
                    print(f"    false alarm {row['town']} seed {row['seed']}: {title}")
        _print(summarise(rows))
    if options.part in ("all", "speed"):
        print("Speed (detector alone, one core)")
        _print([measure_speed(options.speed_posts)])


if __name__ == "__main__":
    main()
