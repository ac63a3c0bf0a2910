"""The bus on Apache Kafka, through kafka-python.

Delivery is at-least-once end to end: the producer waits for all in-sync replicas and retries idempotently
(no duplicates from its own retries), and consumers never auto-commit, so an offset is committed only after
the service has stored what it polled.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaConfigurationError, KafkaError, TopicAlreadyExistsError

from streams.bus.base import Message

# Short enough that a dead broker is reported within seconds, long enough for a busy single node.
log = logging.getLogger(__name__)

DEFAULT_TIMEOUTS_MS = {
    "request_timeout_ms": 15_000,
    "delivery_timeout_ms": 60_000,
    "max_block_ms": 30_000,
}


class DeliveryError(RuntimeError):
    """Records could not be delivered; ``topics`` names where they were going."""

    def __init__(self, message: str, topics: list[str]) -> None:
        super().__init__(message)
        self.topics = topics


def bootstrap_list(bootstrap: str) -> list[str]:
    """``"a:9092, b:9092"`` -> ``["a:9092", "b:9092"]``; an empty string is a configuration error."""
    servers = [s.strip() for s in bootstrap.split(",") if s.strip()]
    if not servers:
        raise ValueError("no Kafka bootstrap servers given")
    return servers


class KafkaBus:
    """A producer shared by all publishers of the process, and consumers made on demand.

    ``publish`` only queues: a record that cannot be delivered (broker gone, topic refused, too large) is
    reported by the next ``flush``, which raises :class:`DeliveryError` naming the topics. The producer is
    made on first use, so a process that only consumes never opens one.
    """

    durable = True

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "signaal",
        producer_config: Mapping[str, Any] | None = None,
        consumer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self._servers = bootstrap_list(bootstrap)
        self._client_id = client_id
        self._producer_config = {**DEFAULT_TIMEOUTS_MS, **(producer_config or {})}
        self._consumer_config = dict(consumer_config or {})
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        # Records sent but not yet acknowledged, and failures not yet reported, per topic. The producer's
        # I/O thread updates them from its callbacks, hence the lock.
        self._pending: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._first_error: BaseException | None = None
        self._generation = 0  # of the producer; raised when one is dropped
        self._closed = False

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the bus is closed")
            self._pending[topic] += 1
        try:
            producer = self._producer_or_connect()
        except KafkaConfigurationError:
            with self._lock:
                self._pending[topic] -= 1
            raise
        except KafkaError as error:
            # No producer without a broker, and each try blocks for the bootstrap timeout: fail the caller's
            # batch now, instead of blocking that long again for every record of it.
            with self._lock:
                self._pending[topic] -= 1
            raise DeliveryError(
                f"Kafka at {','.join(self._servers)} is unreachable, nothing sent to {topic}: {error}",
                [topic],
            ) from error
        try:
            future = producer.send(topic, value=value, key=key)
        except KafkaConfigurationError:
            self._settle(topic, None)
            raise
        except KafkaError as error:  # broker unreachable, no metadata within max_block_ms, record too large
            self._settle(topic, error)
            return
        except Exception:  # a caller's mistake (e.g. str instead of bytes): say so now, not at flush
            with self._lock:
                self._pending[topic] -= 1
            raise
        generation = self._generation
        future.add_callback(lambda _metadata: self._settle(topic, None, generation))
        future.add_errback(lambda error: self._settle(topic, error, generation))

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until what was published is acknowledged, for ``timeout_s`` or by default the delivery
        timeout and one request more; raises DeliveryError otherwise.

        Never without a limit: after the broker was away for a minute, kafka-python 3.0.12's producer was
        seen to sit idle with its records unsent, and an unlimited flush (a replay's) then waited for good.
        A producer that runs out of time is dropped with what it holds, and the next publish makes a new one:
        the caller sends its batch again, which storage de-duplicates.
        """
        if timeout_s is None:
            config = self._producer_config
            timeout_s = (config["delivery_timeout_ms"] + config["request_timeout_ms"]) / 1000
        producer = self._producer
        if producer is not None:
            try:
                producer.flush(timeout=timeout_s)
            except KafkaError as error:  # the timeout ran out with records still in flight
                with self._lock:
                    waiting = sorted(t for t, n in self._pending.items() if n > 0)
                    self._drop_producer()
                raise DeliveryError(
                    f"Kafka at {','.join(self._servers)} did not acknowledge records for topic(s) "
                    f"{', '.join(waiting)} within {timeout_s:g} s: {error}",
                    waiting,
                ) from error
        with self._lock:
            failed, first = dict(self._failed), self._first_error
            self._failed.clear()
            self._first_error = None
        if failed:
            topics = sorted(failed)
            counts = ", ".join(f"{failed[t]} to {t!r}" for t in topics)
            raise DeliveryError(
                f"Kafka at {','.join(self._servers)} did not accept {sum(failed.values())} record(s) "
                f"({counts}): {type(first).__name__}: {first}",
                topics,
            ) from first

    def reachable(self, timeout_s: float = 1.0) -> bool:
        """A broker of the bootstrap list accepts a TCP connection. Shallow on purpose: readiness probes
        run often, and a metadata round trip through kafka-python can block for its full timeouts."""
        for server in self._servers:
            host, _, port = server.rpartition(":")
            address = (host.strip("[]") or "localhost", int(port) if port.isdigit() else 9092)
            try:
                with socket.create_connection(address, timeout=timeout_s):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def consumer(self, topics: list[str], group: str) -> KafkaBusConsumer:
        return KafkaBusConsumer(
            KafkaConsumer(
                *topics,
                bootstrap_servers=self._servers,
                client_id=f"{self._client_id}-{group}",
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                **self._consumer_config,
            ),
            servers=self._servers,
            topics=topics,
            group=group,
        )

    def close(self) -> None:
        """Deliver what is queued (best effort) and release the producer; failures are not raised here."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=self._producer_config["request_timeout_ms"] / 1000)

    def _producer_or_connect(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                config = dict(self._producer_config)
                self._producer = KafkaProducer(
                    bootstrap_servers=self._servers,
                    client_id=f"{self._client_id}-producer",
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=config.pop("linger_ms", 5),
                    bootstrap_timeout_ms=config.pop("bootstrap_timeout_ms", config["max_block_ms"]),
                    **config,
                )
            return self._producer

    def _drop_producer(self) -> None:
        """Forget the producer and what it still holds (the caller has the lock); its late answers are
        ignored, as they belong to records the caller sends again."""
        stale, self._producer = self._producer, None
        self._generation += 1
        self._pending.clear()
        self._failed.clear()
        self._first_error = None
        if stale is not None:
            threading.Thread(target=_close_quietly, args=(stale,), daemon=True).start()

    def _settle(self, topic: str, error: BaseException | None, generation: int | None = None) -> None:
        with self._lock:
            if generation is not None and generation != self._generation:
                return  # an answer of a producer that was dropped
            self._pending[topic] -= 1
            if error is not None:
                self._failed[topic] += 1
                self._first_error = self._first_error or error


def _close_quietly(producer: KafkaProducer) -> None:
    """Close a dropped producer at once; it holds nothing anyone waits for, so its errors are only noted."""
    try:
        producer.close(timeout=0)
    except Exception as error:  # closing flushes first, and a wedged producer fails that too
        log.debug("closing a dropped producer: %s", error)


class KafkaBusConsumer:
    """A KafkaConsumer behind the bus interface; like it, meant for one thread."""

    def __init__(self, consumer: KafkaConsumer, *, servers: list[str], topics: list[str], group: str) -> None:
        self._consumer = consumer
        self._servers, self._topics, self._group = servers, topics, group
        # Set by kafka-python's network thread when a commit sent with wait=False fails.
        self._commit_failure: BaseException | None = None

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return [
            Message(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                value=r.value,
                timestamp_ms=r.timestamp,
            )
            for records in batches.values()
            for r in records
        ]

    def commit(self, wait: bool = True) -> None:
        """Commit the position after everything ``poll`` returned, on the partitions this member still owns.

        After a rebalance the partitions it lost are not committed: their new owner starts from the last
        commit and delivers those records again, which is the at-least-once promise. ``wait=False`` sends
        the commit without waiting for the broker's answer (a round trip that took a tenth of the consumer
        thread's time under backlog); a failure of such a commit is raised by the next call.
        """
        failure, self._commit_failure = self._commit_failure, None
        if failure is not None:
            raise failure
        if wait:
            self._consumer.commit()
        else:
            self._consumer.commit_async(callback=self._commit_answered)

    def _commit_answered(self, offsets: object, response: object) -> None:
        if isinstance(response, BaseException):
            self._commit_failure = response

    def backlog(self) -> int | None:
        """End offsets minus the group's committed offsets, asked of the broker with an admin client of its
        own: the consumer's own view may be exactly what is stuck."""
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self._servers, client_id=f"signaal-backlog-{self._group}"
            )
        except KafkaError:
            return None
        try:
            owned = list(self._consumer.assignment())
            if not owned:
                for topic in admin.describe_topics(self._topics):
                    name = topic["name"]
                    owned += [TopicPartition(name, p["partition_index"]) for p in topic["partitions"]]
            if not owned:
                return None
            ends, done = group_offsets(admin, self._group, owned)
            return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())
        except KafkaError:
            return None
        finally:
            admin.close()

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def group_offsets(
    admin: KafkaAdminClient, group: str, partitions: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """End offsets of ``partitions`` and the offsets ``group`` committed on them (those it committed)."""
    from kafka.admin import OffsetSpec

    latest = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.LATEST))
    committed = admin.list_group_offsets({group: partitions}).get(group, {})
    ends = {tp: value.offset for tp, value in latest.items()}
    return ends, {tp: m.offset for tp, m in committed.items() if m is not None and m.offset >= 0}


def ensure_topics(bootstrap: str, topics: Mapping[str, int], replication_factor: int = 1) -> list[str]:
    """Create the topics that do not exist yet, with the given partition counts; return the ones created.

    An existing topic is left as it is, even with another partition count: adding partitions would move
    keys to other partitions and break per-key order for records already written.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_list(bootstrap), client_id="signaal-admin")
    try:
        existing = set(admin.list_topics())
        missing = {name: n for name, n in topics.items() if name not in existing}
        created: list[str] = []
        for name, partitions in missing.items():
            try:
                admin.create_topics(
                    {name: {"num_partitions": partitions, "replication_factor": replication_factor}},
                    wait_for_metadata=True,
                )
                created.append(name)
            except TopicAlreadyExistsError:  # another process won the race
                pass
        return created
    finally:
        admin.close()
