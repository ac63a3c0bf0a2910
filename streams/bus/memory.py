"""An in-process bus for the embedded single-machine mode, with Kafka's delivery semantics.

What it keeps from Kafka, because the service is written against them:

* topics have partitions; a keyed message always lands in the same partition (stable hash of the key), so
  per-key order holds; unkeyed messages are spread round-robin;
* consumer groups: every group sees every message; within a group, partitions are divided among the live
  consumers and reassigned when one joins or leaves;
* at-least-once: a group remembers only what was *committed*. A consumer that closes (or is dropped) without
  committing leaves its records to the next consumer of the group, which starts from the committed offset.

Memory: messages live as long as the process. ``retain`` caps each partition: once a partition holds more,
the oldest messages that *every* interested group (one that has committed on the topic or has a live
consumer on it) has committed past are dropped, in batches of ``retain // 16`` so that trimming stays cheap.
Messages a group still needs are never dropped, so a stalled group makes its topics grow. A topic that no
group is interested in is simply cut to ``retain``, as Kafka's retention would.
"""

from __future__ import annotations

import itertools
import threading
import time
import zlib
from dataclasses import dataclass, field

from streams.bus.base import Message

DEFAULT_RETAIN = 100_000

_TopicPartition = tuple[str, int]


@dataclass(slots=True)
class _Partition:
    messages: list[Message] = field(default_factory=list)
    base_offset: int = 0  # offset of messages[0]; grows as old messages are trimmed

    @property
    def end_offset(self) -> int:
        return self.base_offset + len(self.messages)


@dataclass(slots=True)
class _Topic:
    partitions: list[_Partition]
    unkeyed: itertools.count[int] = field(default_factory=itertools.count)


class MemoryBus:
    """Thread-safe; one lock guards all state, and one condition wakes waiting consumers."""

    durable = False

    def __init__(self, partitions: int = 1, retain: int | None = DEFAULT_RETAIN) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        if retain is not None and retain < 1:
            raise ValueError("retain must be at least 1 (or None for no limit)")
        self._default_partitions = partitions
        self._retain = retain
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._topics: dict[str, _Topic] = {}
        self._committed: dict[str, dict[_TopicPartition, int]] = {}
        self._members: dict[str, list[MemoryConsumer]] = {}
        self._closed = False

    # -- Bus -------------------------------------------------------------------------------------------------

    def create_topic(self, topic: str, partitions: int) -> None:
        """Create ``topic`` with a given partition count; an existing topic keeps the count it has."""
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        with self._lock:
            self._topic(topic, partitions)

    def reachable(self, timeout_s: float = 1.0) -> bool:
        return True  # in-process: there while the process is

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        with self._lock:
            self._check_open()
            state = self._topic(topic)
            count = len(state.partitions)
            index = _partition_for(key, count) if key is not None else next(state.unkeyed) % count
            partition = state.partitions[index]
            partition.messages.append(
                Message(
                    topic=topic,
                    partition=index,
                    offset=partition.end_offset,
                    key=key,
                    value=value,
                    timestamp_ms=time.time_ns() // 1_000_000,
                )
            )
            self._trim(topic, index)
            self._changed.notify_all()

    def flush(self, timeout_s: float | None = None) -> None:
        """Nothing to wait for: a publish is complete when it returns."""
        with self._lock:
            self._check_open()

    def consumer(self, topics: list[str], group: str) -> MemoryConsumer:
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        with self._lock:
            self._check_open()
            for topic in topics:
                self._topic(topic)
            member = MemoryConsumer(self, tuple(dict.fromkeys(topics)), group)
            self._members.setdefault(group, []).append(member)
            self._rebalance(group)
            return member

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._changed.notify_all()

    # -- introspection, for tests and health pages ---------------------------------------------------------

    def committed(self, group: str, topic: str, partition: int = 0) -> int | None:
        with self._lock:
            return self._committed.get(group, {}).get((topic, partition))

    def retained(self, topic: str, partition: int = 0) -> tuple[int, int]:
        """``(first, end)`` offsets still held for a partition; ``end`` is the next offset to be written."""
        with self._lock:
            state = self._topics[topic].partitions[partition]
            return state.base_offset, state.end_offset

    # -- internals; all called with the lock held ----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")

    def _topic(self, name: str, partitions: int | None = None) -> _Topic:
        state = self._topics.get(name)
        if state is None:
            count = partitions or self._default_partitions
            state = self._topics[name] = _Topic([_Partition() for _ in range(count)])
        return state

    def _rebalance(self, group: str) -> None:
        """Give each partition of each subscribed topic to one live member, round-robin in join order.

        A member keeps its position on a partition it still owns; a partition it gains starts at the group's
        committed offset, so records another member polled but did not commit are delivered again.
        """
        members = self._members.get(group, [])
        owners: dict[_TopicPartition, MemoryConsumer] = {}
        topics = sorted({t for m in members for t in m.topics})
        for topic in topics:
            subscribed = [m for m in members if topic in m.topics]
            for index in range(len(self._topics[topic].partitions)):
                owners[(topic, index)] = subscribed[index % len(subscribed)]
        committed = self._committed.get(group, {})
        for member in members:
            mine = {tp for tp, owner in owners.items() if owner is member}
            for tp in list(member.positions):
                if tp not in mine:
                    del member.positions[tp]
            for tp in sorted(mine - member.positions.keys()):
                member.positions[tp] = committed.get(tp, 0)
        self._changed.notify_all()

    def _leave(self, member: MemoryConsumer) -> None:
        members = self._members.get(member.group, [])
        if member in members:
            members.remove(member)
            member.positions.clear()
            self._rebalance(member.group)

    def _fetch(self, member: MemoryConsumer, max_records: int) -> list[Message]:
        out: list[Message] = []
        owned = list(member.positions)
        if not owned:
            return out
        # Start at a rotating partition so one busy partition cannot starve the others.
        start = member.next_start % len(owned)
        member.next_start += 1
        for tp in owned[start:] + owned[:start]:
            if len(out) >= max_records:
                break
            state = self._topics[tp[0]].partitions[tp[1]]
            # Like auto_offset_reset='earliest': a position that was trimmed away moves to the oldest kept.
            position = max(member.positions[tp], state.base_offset)
            first = position - state.base_offset
            taken = state.messages[first : first + max_records - len(out)]
            out.extend(taken)
            member.positions[tp] = position + len(taken)
        return out

    def _commit(self, member: MemoryConsumer) -> None:
        group = self._committed.setdefault(member.group, {})
        group.update(member.positions)
        for topic, index in member.positions:
            self._trim(topic, index)

    def _trim(self, topic: str, index: int) -> None:
        if self._retain is None:
            return
        state = self._topics[topic].partitions[index]
        excess = len(state.messages) - self._retain
        if excess < max(1, self._retain // 16):
            return
        interested = {g for g, offsets in self._committed.items() if any(t == topic for t, _ in offsets)}
        interested |= {g for g, members in self._members.items() if any(topic in m.topics for m in members)}
        keep_from = min(
            (self._committed.get(g, {}).get((topic, index), 0) for g in interested), default=state.end_offset
        )
        drop = min(excess, keep_from - state.base_offset)
        if drop > 0:
            del state.messages[:drop]
            state.base_offset += drop


class MemoryConsumer:
    """One member of a consumer group. Not for use from several threads at once (nor is KafkaConsumer)."""

    def __init__(self, bus: MemoryBus, topics: tuple[str, ...], group: str) -> None:
        self._bus = bus
        self.topics = topics
        self.group = group
        # The next offset to hand out, per partition this member owns; only the bus changes the key set.
        self.positions: dict[_TopicPartition, int] = {}
        self.next_start = 0
        self._closed = False

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        deadline = time.monotonic() + max(timeout_s, 0.0)
        with self._bus._changed:
            while True:
                if self._closed:
                    raise RuntimeError("the consumer is closed")
                self._bus._check_open()
                records = self._bus._fetch(self, max_records)
                remaining = deadline - time.monotonic()
                if records or remaining <= 0:
                    return records
                self._bus._changed.wait(remaining)

    def commit(self, wait: bool = True) -> None:
        """In memory a commit is done at once, so ``wait`` makes no difference."""
        with self._bus._lock:
            if self._closed:
                raise RuntimeError("the consumer is closed")
            self._bus._commit(self)

    def backlog(self) -> int | None:
        with self._bus._lock:
            committed = self._bus._committed.get(self.group, {})
            owned = list(self.positions) or [
                (topic, index)
                for topic in self.topics
                if topic in self._bus._topics
                for index in range(len(self._bus._topics[topic].partitions))
            ]
            return sum(
                max(0, self._bus._topics[t].partitions[i].end_offset - committed.get((t, i), 0))
                for t, i in owned
            )

    def close(self) -> None:
        """Leave the group without committing: whatever was polled since the last commit is redelivered."""
        with self._bus._lock:
            if not self._closed:
                self._closed = True
                self._bus._leave(self)


def _partition_for(key: bytes, partitions: int) -> int:
    # crc32, not hash(): Python salts hash() per process, and a key must map to the same partition every run.
    return zlib.crc32(key) % partitions
