"""Throughput and memory of the whole pipeline on one core: parse + enrich + all detectors.

    .venv/bin/python benchmarks/pipeline.py                # 1,000,000 posts
    .venv/bin/python benchmarks/pipeline.py --posts 200000

The input is a long generated stream: Project X scenarios for several towns and seeds one after another in
time (so detector state has to expire), as native JSON Lines held in memory one scenario at a time. Every
stage's CPU time is measured; generating the input is not. Next to it, in the same run and on the same
records, a reference loop that only parses each record into a Post (the same adapter) and tokenises its
text: the least any pipeline must do, so the ratio shows what enrichment and detection cost on top.
Memory is the process's resident set size after each scenario; it must stay flat as the stream grows.

``make benchmark`` measures the compiled build (``make compile``: the hot path compiled with mypyc, as the
Docker image installs it); run from a pure checkout it measures the pure Python. The first line of the
summary says which.
"""

from __future__ import annotations

import argparse
import gc
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import orjson

from app.gc_tuning import tune_for_streaming
from app.pipeline.detection import Detection
from app.pipeline.enrich import Enricher
from app.playbooks import PlaybookSet
from streams.compiled import build
from streams.formats import ParseError, Pseudonymiser, parse_record
from streams.post import pseudonymise
from streams.scenarios import projectx

TOWNS = ("Haren", "Zwolle", "Veghel", "Den Helder", "Assen", "Ede")
BATCH = 1000
WORD = re.compile(r"\w+")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def scenario_chunks(total: int, scale: float) -> Iterator[list[str]]:
    """JSON lines of consecutive scenarios, each shifted to start after the previous one, ids made unique."""
    produced = 0
    offset = timedelta(0)
    for number in range(10_000):
        scenario = projectx.generate(town=TOWNS[number % len(TOWNS)], seed=number + 1, scale=scale)
        lines = []
        for record in scenario.records[: total - produced]:
            record = dict(record)
            for link in ("id", "reply_to", "repost_of", "quote_of"):
                if record.get(link):
                    record[link] = f"{number}-{record[link]}"
            record["created_at"] = _shift(record["created_at"], offset)
            lines.append(orjson.dumps(record).decode())
        produced += len(lines)
        yield lines
        offset += timedelta(days=10)
        if produced >= total:
            return


def _shift(iso: str, offset: timedelta) -> str:
    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) + offset).isoformat()


def reference(lines: list[str], pseudonymiser: Pseudonymiser) -> int:
    tokens = 0
    for line in lines:
        tokens += len(WORD.findall(parse_record(line, "jsonl", pseudonymiser).text.lower()))
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=3.0, help="size of each generated scenario")
    args = parser.parse_args()

    pseudonymiser = partial(pseudonymise, key=b"benchmark")
    enrich = Enricher()
    detection = Detection.standard(PlaybookSet.load())
    cpu = {"parse": 0.0, "enrich": 0.0, "detect": 0.0, "reference": 0.0}
    posts = alerts = rejected = 0
    memory: list[tuple[int, float]] = []
    gc.collect()
    tune_for_streaming()  # as the service does before its consumer starts
    start_rss = rss_mb()
    for lines in scenario_chunks(args.posts, args.scale):
        for start in range(0, len(lines), BATCH):
            chunk = lines[start : start + BATCH]
            t0 = time.process_time()
            parsed = []
            for line in chunk:
                try:
                    parsed.append(parse_record(line, "jsonl", pseudonymiser))
                except ParseError:
                    rejected += 1
            t1 = time.process_time()
            enriched = enrich.enrich_all(parsed)
            t2 = time.process_time()
            alerts += len(detection.observe(enriched))
            t3 = time.process_time()
            reference(chunk, pseudonymiser)
            t4 = time.process_time()
            cpu["parse"] += t1 - t0
            cpu["enrich"] += t2 - t1
            cpu["detect"] += t3 - t2
            cpu["reference"] += t4 - t3
            posts += len(parsed)
        memory.append((posts, rss_mb()))
        print(f"  {posts:>9,} posts  rss {memory[-1][1]:7.1f} MB", flush=True)

    pipeline_cpu = cpu["parse"] + cpu["enrich"] + cpu["detect"]
    rate = posts / pipeline_cpu
    reference_rate = posts / cpu["reference"]
    print()
    print(f"build                      {build()}")
    print(f"posts                      {posts:,} ({rejected} rejected), {alerts:,} alert updates")
    print(f"pipeline                   {rate:,.0f} posts/s on one core (CPU time)")
    for stage in ("parse", "enrich", "detect"):
        print(f"  {stage:<8}                 {cpu[stage] / posts * 1e6:6.1f} µs/post")
    share = rate / reference_rate
    print(f"reference (parse+tokenise) {reference_rate:,.0f} posts/s; the pipeline runs at {share:.0%} of it")
    print(f"memory                     start {start_rss:.0f} MB, peak {max(m for _, m in memory):.0f} MB")
    tenth = memory[max(0, len(memory) // 10 - 1)]
    last = memory[-1]
    print(
        f"                           {tenth[1]:.0f} MB at {tenth[0]:,} posts, {last[1]:.0f} MB at {last[0]:,}"
    )


if __name__ == "__main__":
    main()
