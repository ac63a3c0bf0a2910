"""The bus carries serialised records between producers and the service.

Two implementations share one small interface (:mod:`streams.bus.base`): :mod:`streams.bus.memory` for the
embedded single-machine default and :mod:`streams.bus.kafka` for Apache Kafka.
"""

from __future__ import annotations

from streams.bus.base import Bus


def make_bus(kafka_bootstrap: str | None) -> Bus:
    """Kafka when bootstrap servers are given (``"host:port[,host:port]"``), else the in-process bus."""
    if kafka_bootstrap and kafka_bootstrap.strip():
        # Imported here so the embedded mode never loads the Kafka client.
        from streams.bus.kafka import KafkaBus

        return KafkaBus(kafka_bootstrap)
    from streams.bus.memory import MemoryBus

    return MemoryBus()
