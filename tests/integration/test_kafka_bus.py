"""KafkaBus against a real Apache Kafka broker (scripts/kafka-local): commits, redelivery, topics, errors,
and the service's consumer thread on it."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaConfigurationError, KafkaError

from app.consumer import ConsumerWorker
from streams.bus import make_bus
from streams.bus.base import Message
from streams.bus.kafka import DeliveryError, KafkaBus, KafkaBusConsumer, ensure_topics
from streams.formats.base import RawRecord
from streams.replay import KafkaTarget


def drain(consumer: KafkaBusConsumer, until: int, timeout_s: float = 30.0) -> list[Message]:
    """Poll until ``until`` records came (failing after ``timeout_s``), then briefly for any extra."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < until:
        assert time.monotonic() < deadline, f"only {len(got)} of {until} records within {timeout_s} s"
        got.extend(consumer.poll(0.5))
    got.extend(consumer.poll(0.5))
    return got


def publish(bus: KafkaBus, topic: str, values: list[bytes]) -> None:
    for value in values:
        bus.publish(topic, value, key=value)
    bus.flush(30)


@pytest.fixture
def bus(kafka_bootstrap: str) -> KafkaBus:
    bus = KafkaBus(kafka_bootstrap)
    yield bus  # type: ignore[misc]
    bus.close()


@pytest.fixture
def topic(kafka_bootstrap: str, unique_topic_prefix: str) -> str:
    name = f"{unique_topic_prefix}.posts"
    ensure_topics(kafka_bootstrap, {name: 3})
    return name


def test_committed_records_are_not_seen_again_by_the_group(bus: KafkaBus, topic: str) -> None:
    sent = [f"post-{i}".encode() for i in range(30)]
    publish(bus, topic, sent)

    first = bus.consumer([topic], f"{topic}.g")
    got = drain(first, len(sent))
    assert sorted(m.value for m in got) == sorted(sent)
    assert {m.partition for m in got} <= {0, 1, 2}
    assert all(m.key == m.value and m.timestamp_ms > 0 for m in got)
    for partition in {m.partition for m in got}:
        offsets = [m.offset for m in got if m.partition == partition]
        assert offsets == sorted(offsets)
    first.commit()
    first.close()

    second = bus.consumer([topic], f"{topic}.g")
    # A marker proves the new member is assigned and fetching; only the marker may come, nothing committed.
    publish(bus, topic, [b"marker"])
    assert [m.value for m in drain(second, 1)] == [b"marker"]
    second.close()


def test_uncommitted_records_are_redelivered_to_a_new_member(bus: KafkaBus, topic: str) -> None:
    publish(bus, topic, [b"a", b"b", b"c"])
    first = bus.consumer([topic], f"{topic}.g")
    assert len(drain(first, 3)) == 3
    first.commit()
    publish(bus, topic, [b"d", b"e"])
    assert sorted(m.value for m in drain(first, 2)) == [b"d", b"e"]
    first.close()  # "crashed" after processing d and e, before committing them

    second = bus.consumer([topic], f"{topic}.g")
    assert sorted(m.value for m in drain(second, 2)) == [b"d", b"e"]
    second.close()


def test_ensure_topics_creates_missing_topics_once(kafka_bootstrap: str, unique_topic_prefix: str) -> None:
    wide, narrow = f"{unique_topic_prefix}.wide", f"{unique_topic_prefix}.narrow"
    assert sorted(ensure_topics(kafka_bootstrap, {wide: 3, narrow: 1})) == sorted([wide, narrow])
    assert ensure_topics(kafka_bootstrap, {wide: 5, narrow: 1}) == []  # existing ones are left alone

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([wide, narrow])}
    finally:
        admin.close()
    assert described == {wide: 3, narrow: 1}


def test_publishing_to_an_unreachable_broker_fails_the_batch_at_once(unused_tcp_port: int) -> None:
    # No producer can be made without a broker, and each try blocks for max_block_ms: that used to happen
    # again for every record of a batch (30 s each by default), and a replay of 500 blocked for hours.
    bus = KafkaBus(
        f"127.0.0.1:{unused_tcp_port}",
        producer_config={"max_block_ms": 1000, "request_timeout_ms": 1000, "delivery_timeout_ms": 2000},
    )
    start = time.monotonic()
    with pytest.raises(DeliveryError, match=r"signaal\.posts") as caught:
        for _ in range(5):
            bus.publish("signaal.posts", b"x")
    assert caught.value.topics == ["signaal.posts"]
    assert f"127.0.0.1:{unused_tcp_port}" in str(caught.value)
    assert time.monotonic() - start < 3
    bus.flush(1)  # nothing is left waiting
    bus.close()


def test_a_replay_holds_its_batch_says_so_and_gives_up_at_its_deadline(
    unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    bus = KafkaBus(f"127.0.0.1:{unused_tcp_port}", producer_config={"max_block_ms": 300})
    target = KafkaTarget(bus, "p", "d", lambda platform, handle: "p_x", retry_for_s=2.0, sleep=lambda s: None)
    line = '{"platform": "x", "id": "%d", "author": "a", "created_at": "2024-01-01T00:00:00Z", "text": "t"}'
    records = [RawRecord(source=f"f:{n}", text=line % n, fmt="jsonl") for n in range(50)]
    start = time.monotonic()
    with caplog.at_level("WARNING"), pytest.raises(DeliveryError):
        target.send(records)
    assert time.monotonic() - start < 6  # a few tries of the whole batch, not one per record
    assert "holding them and retrying" in caplog.text
    bus.close()


def test_a_producer_that_cannot_deliver_in_time_is_replaced(bus: KafkaBus, topic: str) -> None:
    # After the broker was away for a minute, kafka-python's producer was seen to sit idle with its records
    # unsent, and a replay's unlimited flush waited for good. Its wedge is stood in for here: its flush
    # runs out of time; the bus must drop it, and the batch sent again must arrive through a new producer.
    from kafka.errors import KafkaTimeoutError

    publish(bus, topic, [b"before"])
    wedged = bus._producer
    assert wedged is not None

    def never(timeout: float | None = None) -> None:
        raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")

    wedged.flush = never  # type: ignore[method-assign]
    bus.publish(topic, b"again", key=b"again")
    with pytest.raises(DeliveryError, match=topic):
        bus.flush()
    publish(bus, topic, [b"again"])  # what the replay does: the whole batch once more
    assert bus._producer is not None and bus._producer is not wedged
    consumer = bus.consumer([topic], f"{topic}.g")
    assert b"again" in {m.value for m in drain(consumer, 2)}
    consumer.close()
    del wedged.flush  # its own again, for when it is collected


def test_flush_names_the_topic_when_the_broker_refuses_a_record(kafka_bootstrap: str, topic: str) -> None:
    # The producer lets 4 MB through; the broker's limit (message.max.bytes) is about 1 MB.
    bus = KafkaBus(kafka_bootstrap, producer_config={"max_request_size": 4 * 1024 * 1024})
    bus.publish(topic, b"ok")
    bus.publish(topic, b"x" * (2 * 1024 * 1024))
    with pytest.raises(DeliveryError, match=r"1 record\(s\).*TooLarge") as caught:
        bus.flush(30)
    assert caught.value.topics == [topic]
    bus.close()


def test_a_configuration_mistake_is_raised_at_once(kafka_bootstrap: str) -> None:
    bus = KafkaBus(kafka_bootstrap, producer_config={"retries": 0})  # contradicts idempotence
    with pytest.raises(KafkaConfigurationError):
        bus.publish("signaal.unused", b"x")
    bus.flush(1)  # nothing was queued, nothing to report
    bus.close()


def test_make_bus_with_bootstrap_is_kafka(kafka_bootstrap: str) -> None:
    bus = make_bus(f" {kafka_bootstrap} ,{kafka_bootstrap}")
    assert isinstance(bus, KafkaBus)
    bus.close()


class _StorageDownFor:
    """A pipeline whose storage is down for the first ``seconds`` after the first batch, then works."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._down_until: float | None = None
        self.stored: set[bytes] = set()

    def store(self, messages: list[Message]) -> list[Message]:
        if self._down_until is None:
            self._down_until = time.monotonic() + self._seconds
        if time.monotonic() < self._down_until:
            raise ConnectionError("database unreachable")
        self.stored.update(m.value for m in messages)
        return messages

    def detect(self, posts: list[Message]) -> list[object]:
        return []

    def publish_alerts(self, alerts: list[object]) -> None:
        pass

    def count_detected(self, posts: int) -> None:
        pass


def test_the_worker_rejoins_after_storage_was_down_longer_than_max_poll_interval(
    kafka_bootstrap: str, topic: str
) -> None:
    """While a batch fails the worker does not poll, so kafka-python drops it from the group after
    max.poll.interval.ms; once storage is back its commits fail until a poll rejoins. It must not stall."""
    bus = KafkaBus(kafka_bootstrap, consumer_config={"max_poll_interval_ms": 2000})
    sent = [f"post-{i}".encode() for i in range(20)]
    publish(bus, topic, sent)
    pipeline = _StorageDownFor(seconds=6)
    worker = ConsumerWorker(bus, [topic], f"{topic}.g", pipeline)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 90
        while not (pipeline.stored == set(sent) and worker.healthy):
            assert time.monotonic() < deadline, f"the worker stalled: {worker.last_error}"
            time.sleep(0.2)
    finally:
        worker.stop()
    assert not worker.is_alive()

    # Committed: a new member of the group gets only what comes next.
    after = bus.consumer([topic], f"{topic}.g")
    publish(bus, topic, [b"marker"])
    assert [m.value for m in drain(after, 1)] == [b"marker"]
    after.close()
    bus.close()


def test_backlog_is_what_the_group_has_not_committed(bus: KafkaBus, topic: str) -> None:
    publish(bus, topic, [f"post-{i}".encode() for i in range(5)])
    consumer = bus.consumer([topic], f"{topic}.g")
    # None while it cannot tell: on a fresh broker the group coordinator is still being set up.
    deadline = time.monotonic() + 30
    while (waiting := consumer.backlog()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert waiting == 5  # before it owns partitions: over all of the topic's
    assert len(drain(consumer, 5)) == 5
    assert consumer.backlog() == 5  # polled, not committed
    consumer.commit()
    assert consumer.backlog() == 0
    publish(bus, topic, [b"one more"])
    assert consumer.backlog() == 1
    consumer.close()


def test_a_commit_not_waited_for_lands(bus: KafkaBus, topic: str) -> None:
    publish(bus, topic, [f"post-{i}".encode() for i in range(4)])
    consumer = bus.consumer([topic], f"{topic}.g")
    assert len(drain(consumer, 4)) == 4
    consumer.commit(wait=False)
    deadline = time.monotonic() + 20
    while consumer.backlog() != 0:
        assert time.monotonic() < deadline, "the commit sent without waiting never reached the broker"
        consumer.poll(0.1)
    consumer.commit()  # nothing failed, so nothing is raised
    consumer.close()


def test_a_failed_commit_not_waited_for_is_raised_by_the_next_commit(
    kafka_bootstrap: str, topic: str
) -> None:
    bus = KafkaBus(kafka_bootstrap, consumer_config={"max_poll_interval_ms": 2000})
    publish(bus, topic, [b"a", b"b"])
    consumer = bus.consumer([topic], f"{topic}.g")
    assert len(drain(consumer, 2)) == 2
    time.sleep(4)  # not polling for longer than max.poll.interval.ms: the member leaves its group
    deadline = time.monotonic() + 20
    with pytest.raises(KafkaError):
        while time.monotonic() < deadline:
            consumer.commit(wait=False)
            time.sleep(0.2)
    consumer.close()
    bus.close()
