"""The consumer thread: a failed batch is retried as it is, and a failed commit does not stall it.

kafka-python only rejoins a consumer group inside ``poll``: once a member is dropped (after a rebalance, or
when storage was down for longer than max.poll.interval.ms so the member stopped polling), every commit
fails until it has polled again. The fake consumer here behaves that way.
"""

from __future__ import annotations

import threading
import time

from app.consumer import ConsumerWorker
from streams.bus.base import Message


class CommitFailedError(Exception):
    pass


def _message(offset: int) -> Message:
    return Message("posts", 0, offset, None, b"{}", 0)


class DroppedMember:
    """Hands out one batch; is dropped from its group while that batch is in the pipeline."""

    def __init__(self) -> None:
        self.batches = [[_message(0), _message(1)]]
        self.in_group = True
        self.position = 0
        self.committed = 0
        self.lock = threading.Lock()

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        with self.lock:
            self.in_group = True  # poll rejoins the group, as kafka-python's does
            if self.batches:
                batch = self.batches.pop(0)
                self.position = batch[-1].offset + 1
                return batch
        time.sleep(timeout_s / 10)
        return []

    def commit(self) -> None:
        with self.lock:
            if not self.in_group:
                raise CommitFailedError("the consumer is not part of an active group")
            self.committed = self.position

    def backlog(self) -> int | None:
        return 0

    def close(self) -> None:
        pass


class Bus:
    def __init__(self, consumer: DroppedMember) -> None:
        self._consumer = consumer

    def consumer(self, topics: list[str], group: str) -> DroppedMember:
        return self._consumer


class StorageDownOnce:
    """Fails the first batch (storage down, long enough for the member to be dropped), then works."""

    def __init__(self, consumer: DroppedMember) -> None:
        self._consumer = consumer
        self.calls = 0

    def process(self, messages: list[Message]) -> list[object]:
        self.calls += 1
        if self.calls == 1:
            with self._consumer.lock:
                self._consumer.in_group = False
            raise ConnectionError("database unreachable")
        return []


def test_a_member_dropped_while_storage_was_down_rejoins_and_commits() -> None:
    consumer = DroppedMember()
    pipeline = StorageDownOnce(consumer)
    worker = ConsumerWorker(Bus(consumer), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (consumer.committed == 2 and worker.healthy):
            assert time.monotonic() < deadline, (
                f"stuck: committed {consumer.committed}, healthy {worker.healthy}, {worker.last_error}, "
                f"batch processed {pipeline.calls} times"
            )
            time.sleep(0.05)
        assert worker.last_error is None
        assert pipeline.calls == 2  # the failed batch once more, then no reprocessing to force a commit
    finally:
        worker.stop()
    assert not worker.is_alive()


class Stuck:
    """Polls forever without records although the broker holds some (kafka-python 3.0.12 after a member
    was dropped at start-up); ``backlog`` tells how many wait."""

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        self.closed = False

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        time.sleep(timeout_s / 10)
        return []

    def backlog(self) -> int | None:
        return self.waiting

    def commit(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Delivers(DroppedMember):
    def backlog(self) -> int | None:
        return len(self.batches[0]) if self.batches else 0


class Recording:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def process(self, messages: list[Message]) -> list[object]:
        self.seen += [m.offset for m in messages]
        return []


class Sequence:
    """Hands out the given consumers in turn, one per ``consumer`` call."""

    def __init__(self, *consumers: object) -> None:
        self.consumers = list(consumers)
        self.made = 0

    def consumer(self, topics: list[str], group: str) -> object:
        self.made += 1
        return self.consumers.pop(0)


def test_a_consumer_that_gets_nothing_while_records_wait_is_replaced() -> None:
    stuck, fresh = Stuck(waiting=2), Delivers()
    bus, pipeline = Sequence(stuck, fresh), Recording()
    worker = ConsumerWorker(bus, ["posts"], "g", pipeline, stall_check_s=0.3)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (pipeline.seen == [0, 1] and worker.healthy):
            assert time.monotonic() < deadline, f"not replaced: {worker.last_error}, made {bus.made}"
            time.sleep(0.05)
    finally:
        worker.stop()
    assert stuck.closed and bus.made == 2
    assert fresh.committed == 2


def test_an_idle_consumer_with_nothing_waiting_is_kept() -> None:
    idle = Stuck(waiting=0)
    bus = Sequence(idle)
    worker = ConsumerWorker(bus, ["posts"], "g", Recording(), stall_check_s=0.1)  # type: ignore[arg-type]
    worker.start()
    time.sleep(0.6)
    worker.stop()
    assert bus.made == 1 and worker.healthy and worker.last_error is None


class CannotTell(Stuck):
    def backlog(self) -> int | None:
        raise OSError("broker unreachable")


def test_a_failing_backlog_check_does_not_end_the_worker() -> None:
    consumer = CannotTell(waiting=0)
    worker = ConsumerWorker(Sequence(consumer), ["posts"], "g", Recording(), stall_check_s=0.05)  # type: ignore[arg-type]
    worker.start()
    time.sleep(0.4)
    assert worker.is_alive()
    worker.stop()
    assert not worker.is_alive() and consumer.closed
