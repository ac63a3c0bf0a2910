"""The generated Project X incidents every detector evaluation runs on, so they all report on the same cases.

Groups: ``main`` (four towns of different size at the default volume), ``scale`` (a smaller and a bigger
incident), ``busy`` (ten times the ordinary chatter, look-alikes with it), ``chatter`` (two weeks of ordinary
life before the gathering). Report on seeds 1-5; tune on seeds from 100 up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.pipeline.enrich import Enricher
from streams.post import Post
from streams.scenarios.projectx import GroundTruth, generate

REPORT_SEEDS = (1, 2, 3, 4, 5)
TOWNS = ("Haren", "Zwolle", "Den Helder", "Veghel")
GROUPS = ("main", "scale", "busy", "chatter")


@dataclass(frozen=True)
class Case:
    town: str = "Haren"
    seed: int = 1
    scale: float = 1.0
    base_rate: float = 300.0
    days_before: float = 7.0
    group: str = "main"


def cases(seeds: Iterable[int] = REPORT_SEEDS, groups: Iterable[str] = GROUPS) -> list[Case]:
    seeds = tuple(seeds)
    out: list[Case] = []
    for group in groups:
        if group == "main":
            out += [Case(town, seed, group=group) for town in TOWNS for seed in seeds]
        elif group == "scale":
            out += [Case("Haren", seed, scale=scale, group=group) for scale in (0.2, 3.0) for seed in seeds]
        elif group == "busy":
            out += [
                Case(town, seed, base_rate=3000, group=group)
                for town in ("Zwolle", "Haren")
                for seed in seeds
            ]
        elif group == "chatter":
            out += [Case("Veghel", seed, days_before=14, group=group) for seed in seeds]
        else:
            raise ValueError(f"unknown group {group!r}; groups are {', '.join(GROUPS)}")
    return out


def enriched_posts(case: Case, enricher: Enricher) -> tuple[GroundTruth, list[Post]]:
    scenario = generate(
        case.town,
        seed=case.seed,
        scale=case.scale,
        base_rate_per_day=case.base_rate,
        days_before=case.days_before,
    )
    return scenario.truth, enricher.enrich_all([Post.model_validate(record) for record in scenario.records])


def parse_seeds(text: str) -> list[int]:
    """Seeds from a command line: "1-5", "100-109" or "1,3,7-9"."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds
