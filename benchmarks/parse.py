"""How fast raw tweets become Posts: records/s for Twitter v1.1 records shaped like PHEME's (full API JSON).

    .venv/bin/python benchmarks/parse.py [--records 20000] [--repeat 3]

Records are generated from the hand-written fixture tests/streams/fixtures/twitter_v1_pheme.json (ids, handles
and times varied so nothing is cached), then measured three ways, best of ``--repeat`` runs:

- parse: ``parse_record`` on record texts already in memory (decode, validate, pseudonymise);
- array file: ``read_records`` + ``parse_record`` over a PHEME-style JSON array file, as a replay reads it;
- jsonl file: the same over JSON Lines with the format given, the reader's cheapest path.

Rates are per second of CPU time of this process, i.e. for one core.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.formats import RawRecord, parse_record, read_records
from streams.post import pseudonymise

TEMPLATE = Path(__file__).resolve().parents[1] / "tests" / "streams" / "fixtures" / "twitter_v1_pheme.json"
START = datetime(2018, 1, 6, 22, 0, tzinfo=UTC)


def generate(count: int) -> list[dict[str, Any]]:
    templates = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    tweets = []
    for number in range(count):
        tweet = copy.deepcopy(templates[number % len(templates)])
        tweet_id = 1_000_000_000_000_000_000 + number
        tweet["id"], tweet["id_str"] = tweet_id, str(tweet_id)
        tweet["user"]["screen_name"] = f"user_{number % 5000}"
        tweet["text"] = f"{tweet['text']} #{number}"
        moment = START + timedelta(seconds=number)
        tweet["created_at"] = moment.strftime("%a %b %d %H:%M:%S +0000 %Y")
        tweets.append(tweet)
    return tweets


def best_rate(count: int, repeat: int, prepare: Callable[[], Any], run: Callable[[Any], int]) -> float:
    """Best records/s over ``repeat`` runs of ``run(prepare())``, timing only ``run``.

    Time is this process's CPU time, so the figure means "on one core" even on a busy machine.
    """
    best = 0.0
    for _ in range(repeat):
        prepared = prepare()
        began = time.process_time()
        parsed = run(prepared)
        elapsed = time.process_time() - began
        if parsed != count:
            raise SystemExit(f"parsed {parsed} of {count} records")
        best = max(best, count / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    count, repeat = options.records, options.repeat

    texts = [json.dumps(tweet, ensure_ascii=False) for tweet in generate(count)]
    pseudonymiser = functools.partial(pseudonymise, key=b"benchmark key")
    average = sum(len(text.encode()) for text in texts) / count
    print(f"{count:,} Twitter v1.1 records, {average:,.0f} bytes each on average")

    def parse_all(records: Iterable[RawRecord]) -> int:
        return sum(1 for record in records if parse_record(record, "auto", pseudonymiser))

    def in_memory() -> list[RawRecord]:
        return [RawRecord(f"memory#{n}", text, "twitter_v1") for n, text in enumerate(texts)]

    with tempfile.TemporaryDirectory() as folder:
        array = Path(folder) / "pheme-shaped.json"
        array.write_text("[" + ",".join(texts) + "]", encoding="utf-8")
        lines = Path(folder) / "pheme-shaped.jsonl"
        lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
        rates = {
            "parse": best_rate(count, repeat, in_memory, parse_all),
            "array file": best_rate(count, repeat, lambda: read_records(array, "auto"), parse_all),
            "jsonl file": best_rate(count, repeat, lambda: read_records(lines, "twitter_v1"), parse_all),
        }
    for name, rate in rates.items():
        print(f"{name:<12}{rate:>10,.0f} records/s")


if __name__ == "__main__":
    main()
