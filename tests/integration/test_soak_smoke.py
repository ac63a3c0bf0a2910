"""The load-and-soak benchmark's core, briefly and gently: it must measure, not judge speed.

`benchmarks/soak.py` runs `signaal serve` on real Kafka and PostgreSQL for minutes at thousands of posts per
second. Here its core runs ~20 s at a low rate with a small burst, and the test checks that the figures are
sane (every post seen on /ws/live, lag back to 0, alerts matched to their patterns, memory sampled). Speed
goals are measured by the benchmark and never asserted here: a busy CI machine must not fail this.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.soak import SoakConfig, analyse, run_soak, table


def test_soak_core_measures_a_short_run(kafka_bootstrap: str, postgres_url: str) -> None:
    config = SoakConfig(
        kafka=kafka_bootstrap,
        database_url=postgres_url,
        minutes=20 / 60,
        rate=40.0,
        burst_factor=3.0,
        burst_seconds=4.0,
        warmup=3.0,
        recovery=4.0,
        pattern_every=5.0,
        producers=1,
        sample_every=2.0,
        drain_timeout=120.0,
        pool_towns=("Haren",),
        base_rate_per_day=500.0,
    )
    run = run_soak(config, log=lambda line: None)
    result = analyse(run)
    print(table(result))

    sent = result["producer"]["sent"]
    assert sent == result["producer"]["scheduled"] > 0
    assert result["post_to_ws"]["seen"] == sent, "every post handed to the producer must reach /ws/live"
    assert result["post_to_ws"]["ws"]["duplicates"] == 0
    assert result["lag"]["drain_after_last_post_s"] is not None, "lag must return to 0 after the last post"
    assert run.lag and run.lag[-1]["lag"] == 0

    latencies = run.received - run.sent
    assert np.all(latencies > 0) and np.all(np.isfinite(latencies))
    for phase in ("steady", "burst"):
        stats = result["post_to_ws"][phase]
        assert stats["n"] == stats["sent"] > 0
        assert 0 < stats["p50"] <= stats["p99"] <= stats["max"] < math.inf

    patterns = result["post_to_alert"]["patterns"]
    assert {p["kind"] for p in patterns} == {"mobilisation", "rumour"}
    found = [p for p in patterns if p["latency"] is not None]
    assert found, "the injected patterns must be matched to their alerts"
    assert all(p["latency"] > 0 and p["alert_id"] for p in found)

    memory = result["memory"]
    assert memory["first_mb"] > 0 and memory["max_mb"] >= memory["last_mb"] > 0
    assert len(result["series"]["lag"]) >= 15
    assert result["metrics_last"]["signaal_pipeline_stored_total"] >= sent
