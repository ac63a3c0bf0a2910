"""Drain rate: how fast one service process works off a backlog waiting on real Kafka, into PostgreSQL.

    .venv/bin/python -m benchmarks.drain                      # 200,000 posts
    .venv/bin/python -m benchmarks.drain --posts 100000 --repeat 3

The soak (``benchmarks/soak.py``) shows whether the service recovers from a burst within 30 s; that depends on
how many posts per second one process stores and detects while records wait, which this measures alone,
without producers or a WebSocket client competing for the same cores. ``--kafka`` and ``--database-url``
default to ``SIGNAAL_TEST_KAFKA`` and ``SIGNAAL_TEST_DATABASE_URL`` (what ``make test`` sets).

Each run: the soak's ordinary chatter (``Post`` JSON, as ``signaal replay`` sends it) is written to a fresh
topic first; then the service's parts start as ``signaal serve`` wires them (``Services.start``: consumer
worker, pipeline, detectors, live hub with one connected client that reads every message) on a fresh
database, and the clock runs from the first post stored until all are stored and the detectors have seen
them. Printed: posts/s, the process's CPU per post, and the seconds per post of each pipeline stage
(wall time on its thread: storing includes waiting for PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from benchmarks import soak


def fill_topic(bootstrap: str, topic: str, posts: int, partitions: int) -> None:
    from streams.bus.kafka import KafkaBus, ensure_topics

    ensure_topics(bootstrap, {topic: partitions})
    pool = soak.build_pool(soak.SoakConfig(kafka=bootstrap, database_url=""))
    bus = KafkaBus(bootstrap)
    # Event time an hour back, half a millisecond apart: a busy but ordinary evening.
    start = datetime.now(UTC) - timedelta(hours=1)
    try:
        for seq in range(posts):
            created = (start + timedelta(microseconds=500 * seq)).isoformat().encode()
            bus.publish(topic, soak.render(pool[seq % len(pool)], seq, len(pool), created), str(seq).encode())
        bus.flush(120)
    finally:
        bus.close()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drain_once(bootstrap: str, database_url: str, posts: int, partitions: int) -> dict[str, float]:
    from app.config import Settings
    from app.services import Services

    run = uuid.uuid4().hex[:10]
    topic = f"drain.{run}.posts"
    fill_topic(bootstrap, topic, posts, partitions)
    url, drop = soak.fresh_database(database_url, f"drain_{run}")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="drain-loop", daemon=True).start()
    services = reader = None
    try:
        settings = Settings(
            kafka_bootstrap_servers=bootstrap,
            database_url=url,
            topic_posts=topic,
            topic_deadletter=f"drain.{run}.deadletter",
            topic_alerts=f"drain.{run}.alerts",
            consumer_group=f"drain-{run}",
            topic_partitions=partitions,
            warm_start_hours=0,
        )
        services = Services.start(settings, loop)
        received = [0]

        async def client() -> None:  # one dashboard on the live feed, reading every message
            queue = services.hub.subscribe()
            while await queue.get() is not None:
                received[0] += 1

        reader = asyncio.run_coroutine_threadsafe(client(), loop)
        stats = services.pipeline.stats
        while stats.stored == 0:
            time.sleep(0.005)
        started, cpu_started = time.monotonic(), cpu_seconds()
        stages_started = dict(stats.stage_seconds)
        while stats.stored < posts or services.worker.detecting():
            time.sleep(0.005)
            if time.monotonic() - started > 600:
                raise TimeoutError(f"only {stats.stored} of {posts} stored after 10 minutes")
        seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
        stages = {k: (v - stages_started[k]) / stats.stored * 1e6 for k, v in stats.stage_seconds.items()}
        return {"posts_per_s": stats.stored / seconds, "cpu_us_per_post": cpu / stats.stored * 1e6, **stages}
    finally:
        if reader is not None:
            reader.cancel()
        if services is not None:
            services.stop()
        loop.call_soon_threadsafe(loop.stop)
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kafka", default=os.environ.get("SIGNAAL_TEST_KAFKA"))
    parser.add_argument("--database-url", default=os.environ.get("SIGNAAL_TEST_DATABASE_URL"))
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not args.kafka or not args.database_url:
        parser.error("needs --kafka and --database-url (or SIGNAAL_TEST_KAFKA / SIGNAAL_TEST_DATABASE_URL)")
    load = os.getloadavg()[0]
    print(f"drain: {args.posts:,} posts waiting on {args.partitions} partitions; load {load:.1f}")
    for _ in range(args.repeat):
        result = drain_once(args.kafka, args.database_url, args.posts, args.partitions)
        rate, cpu = result.pop("posts_per_s"), result.pop("cpu_us_per_post")
        stages = "  ".join(f"{stage} {us:.1f}" for stage, us in result.items())
        print(
            f"  {rate:8,.0f} posts/s   CPU {cpu:.0f} µs/post   stage wall µs/post: {stages}",
            flush=True,
        )


if __name__ == "__main__":
    main()
