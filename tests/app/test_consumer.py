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
