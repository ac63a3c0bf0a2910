"""The bus carries serialised records between producers and the service.

Two implementations share one small interface (:mod:`streams.bus.base`): :mod:`streams.bus.memory` for the
embedded single-machine default and :mod:`streams.bus.kafka` for Apache Kafka.
"""
