"""The in-process bus keeps Kafka's promises: order per partition, groups, commits, redelivery."""

from __future__ import annotations

import threading
import time

import pytest

from streams.bus import make_bus
from streams.bus.memory import MemoryBus


def values(messages: list) -> list[bytes]:  # type: ignore[type-arg]
    return [m.value for m in messages]


def test_publish_then_poll_in_order_with_offsets() -> None:
    bus = MemoryBus()
    for i in range(5):
        bus.publish("posts", f"m{i}".encode(), key=b"k")
    consumer = bus.consumer(["posts"], "g")
    got = consumer.poll(0)
    assert values(got) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert [m.offset for m in got] == [0, 1, 2, 3, 4]
    assert {(m.topic, m.partition, m.key) for m in got} == {("posts", 0, b"k")}
    assert consumer.poll(0) == []


def test_max_records_splits_a_backlog_without_losing_any() -> None:
    bus = MemoryBus()
    for i in range(7):
        bus.publish("posts", bytes([i]))
    consumer = bus.consumer(["posts"], "g")
    first, second, third = consumer.poll(0, 3), consumer.poll(0, 3), consumer.poll(0, 3)
    assert [len(first), len(second), len(third)] == [3, 3, 1]
    assert values(first + second + third) == [bytes([i]) for i in range(7)]


def test_new_consumer_of_group_resumes_after_commit() -> None:
    bus = MemoryBus()
    for i in range(3):
        bus.publish("posts", f"a{i}".encode())
    first = bus.consumer(["posts"], "g")
    assert values(first.poll(0)) == [b"a0", b"a1", b"a2"]
    first.commit()
    first.close()
    bus.publish("posts", b"b0")
    second = bus.consumer(["posts"], "g")
    assert values(second.poll(0)) == [b"b0"]
    assert bus.committed("g", "posts") == 3


def test_backlog_counts_what_the_group_has_not_committed() -> None:
    bus = MemoryBus()
    for i in range(4):
        bus.publish("posts", f"m{i}".encode())
    consumer = bus.consumer(["posts"], "g")
    assert consumer.backlog() == 4
    assert values(consumer.poll(0, 3)) == [b"m0", b"m1", b"m2"]
    assert consumer.backlog() == 4  # polled is not done: only a commit is
    consumer.commit()
    assert consumer.backlog() == 1
    bus.publish("posts", b"m4")
    assert consumer.backlog() == 2


def test_uncommitted_records_are_redelivered_to_the_next_consumer() -> None:
    bus = MemoryBus()
    for i in range(4):
        bus.publish("posts", f"m{i}".encode())
    first = bus.consumer(["posts"], "g")
    assert values(first.poll(0, 2)) == [b"m0", b"m1"]
    first.commit()
    assert values(first.poll(0)) == [b"m2", b"m3"]
    first.close()  # died after processing m2, m3 but before committing them
    second = bus.consumer(["posts"], "g")
    assert values(second.poll(0)) == [b"m2", b"m3"]


def test_two_groups_each_see_everything_and_commit_independently() -> None:
    bus = MemoryBus()
    store, alerts = bus.consumer(["posts"], "store"), bus.consumer(["posts"], "alerts")
    bus.publish("posts", b"x")
    bus.publish("posts", b"y")
    assert values(store.poll(0)) == [b"x", b"y"]
    store.commit()
    assert values(alerts.poll(0)) == [b"x", b"y"]  # not committed by "alerts"
    alerts.close()
    assert values(bus.consumer(["posts"], "alerts").poll(0)) == [b"x", b"y"]
    assert bus.committed("store", "posts") == 2
    assert bus.committed("alerts", "posts") is None


def test_blocking_poll_wakes_on_publish() -> None:
    bus = MemoryBus()
    consumer = bus.consumer(["posts"], "g")
    got: list[bytes] = []
    waited: list[float] = []

    def poll() -> None:
        start = time.monotonic()
        got.extend(values(consumer.poll(10)))
        waited.append(time.monotonic() - start)

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # really waiting, not returning empty at once
    bus.publish("posts", b"late")
    thread.join(5)
    assert got == [b"late"]
    assert 0.15 < waited[0] < 5


def test_poll_returns_empty_after_its_timeout() -> None:
    consumer = MemoryBus().consumer(["posts"], "g")
    start = time.monotonic()
    assert consumer.poll(0.2) == []
    assert 0.15 < time.monotonic() - start < 2


def test_keyed_messages_stay_on_one_partition_and_in_order() -> None:
    bus = MemoryBus(partitions=4)
    for i in range(40):
        bus.publish("posts", f"{i % 5}:{i}".encode(), key=f"user{i % 5}".encode())
    got = bus.consumer(["posts"], "g").poll(0, 1000)
    assert len(got) == 40
    by_key: dict[bytes | None, set[int]] = {}
    for m in got:
        by_key.setdefault(m.key, set()).add(m.partition)
    assert all(len(partitions) == 1 for partitions in by_key.values())
    for key in by_key:
        seq = [int(m.value.split(b":")[1]) for m in got if m.key == key]
        assert seq == sorted(seq)
    # Stable across bus instances (and so across restarts): the same key picks the same partition.
    again = MemoryBus(partitions=4)
    again.publish("posts", b"x", key=b"user3")
    assert again.consumer(["posts"], "g").poll(0)[0].partition == next(iter(by_key[b"user3"]))


def test_group_members_split_partitions_and_take_over_on_close() -> None:
    bus = MemoryBus(partitions=2)
    a = bus.consumer(["posts"], "g")
    b = bus.consumer(["posts"], "g")
    for i in range(10):
        bus.publish("posts", str(i).encode())  # unkeyed: round-robin over both partitions
    from_a, from_b = a.poll(0), b.poll(0)
    assert {m.partition for m in from_a}.isdisjoint({m.partition for m in from_b})
    assert sorted(values(from_a + from_b)) == sorted(str(i).encode() for i in range(10))
    a.commit()
    b.close()  # b's records were not committed: a gets them again
    assert sorted(values(a.poll(0))) == sorted(values(from_b))


def test_retain_trims_only_what_every_group_committed() -> None:
    bus = MemoryBus(retain=16)  # trims once 1 (= 16 // 16) message over the limit
    fast, slow = bus.consumer(["posts"], "fast"), bus.consumer(["posts"], "slow")
    for i in range(30):
        bus.publish("posts", str(i).encode())
    fast.poll(0, 1000)
    fast.commit()
    assert bus.retained("posts") == (0, 30)  # "slow" has committed nothing: everything stays

    assert len(slow.poll(0, 20)) == 20
    slow.commit()  # both groups are past offset 20 now, so the oldest 14 may go (30 - 16)
    assert bus.retained("posts") == (14, 30)
    assert values(slow.poll(0, 1000)) == [str(i).encode() for i in range(20, 30)]

    # A group that subscribes later starts at the oldest message kept.
    late = bus.consumer(["posts"], "late")
    assert late.poll(0, 1000)[0].offset == 14


def test_retain_cuts_a_topic_nobody_reads() -> None:
    bus = MemoryBus(retain=16)
    for i in range(100):
        bus.publish("audit", str(i).encode())
    first, end = bus.retained("audit")
    assert end == 100
    assert 16 <= end - first <= 17


def test_closed_consumer_and_bus_refuse_work() -> None:
    bus = MemoryBus()
    consumer = bus.consumer(["posts"], "g")
    consumer.close()
    with pytest.raises(RuntimeError, match="closed"):
        consumer.poll(0)
    bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("posts", b"x")


def test_close_wakes_a_blocked_poll() -> None:
    bus = MemoryBus()
    consumer = bus.consumer(["posts"], "g")
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            consumer.poll(30)
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.1)
    bus.close()
    thread.join(5)
    assert not thread.is_alive()
    assert errors


def test_make_bus_without_kafka_is_the_memory_bus() -> None:
    assert isinstance(make_bus(None), MemoryBus)
    assert isinstance(make_bus("  "), MemoryBus)
