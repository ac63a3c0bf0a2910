"""The consumer thread: a failed batch is retried as it is, and a failed commit does not stall it; the
detection thread takes stored batches in order and retries storing their alerts without detecting twice.

kafka-python only rejoins a consumer group inside ``poll``: once a member is dropped (after a rebalance, or
when storage was down for longer than max.poll.interval.ms so the member stopped polling), every commit
fails until it has polled again. The fake consumer here behaves that way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.consumer import DETECT_QUEUE_BATCHES, ConsumerWorker
from streams.bus.base import Message
from streams.bus.memory import MemoryBus


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

    def commit(self, wait: bool = True) -> None:
        with self.lock:
            if not self.in_group:
                raise CommitFailedError("the consumer is not part of an active group")
            self.committed = self.position

    def backlog(self) -> int | None:
        return 0

    def close(self) -> None:
        pass


class AnswersLater(DroppedMember):
    """Like Kafka: a commit sent without waiting fails later, and the next commit raises that failure."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.failed: Exception | None = None
        self.waited: list[bool] = []

    def commit(self, wait: bool = True) -> None:
        with self.lock:
            failed, self.failed = self.failed, None
            if failed is not None:
                raise failed
            self.waited.append(wait)
            if self.failures:
                self.failures -= 1
                if not wait:
                    self.failed = CommitFailedError("the group rebalanced")
                    return
                raise CommitFailedError("the group rebalanced")
            self.committed = self.position


class Bus:
    def __init__(self, consumer: DroppedMember) -> None:
        self._consumer = consumer

    def consumer(self, topics: list[str], group: str) -> DroppedMember:
        return self._consumer


class NoDetectors:
    def detect(self, posts: list[object]) -> list[object]:
        return []

    def publish_alerts(self, alerts: list[object]) -> None:
        pass

    def count_detected(self, posts: int) -> None:
        pass


class StorageDownOnce(NoDetectors):
    """Fails the first batch (storage down, long enough for the member to be dropped), then works."""

    def __init__(self, consumer: DroppedMember) -> None:
        self._consumer = consumer
        self.calls = 0

    def store(self, messages: list[Message]) -> list[object]:
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


def test_a_failed_commit_not_waited_for_is_noticed_and_made_good() -> None:
    consumer = AnswersLater(failures=1)
    pipeline = Recording()
    worker = ConsumerWorker(Bus(consumer), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (consumer.committed == 2 and worker.healthy):
            assert time.monotonic() < deadline, f"not committed: {consumer.waited}, {worker.last_error}"
            time.sleep(0.05)
    finally:
        worker.stop()
    assert consumer.waited[0] is False  # right after the batch: sent without waiting
    assert consumer.waited[-1] is True  # made good by a commit that waits for the broker's answer
    assert pipeline.seen == [0, 1]  # and the batch was not processed again for it


def test_a_commit_not_waited_for_is_confirmed_once_the_stream_is_quiet() -> None:
    consumer = AnswersLater(failures=0)
    worker = ConsumerWorker(Bus(consumer), ["posts"], "g", Recording())  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while consumer.waited != [False, True]:
            assert time.monotonic() < deadline, f"commits: {consumer.waited}"
            time.sleep(0.05)
        time.sleep(0.3)
        assert consumer.waited == [False, True]  # confirmed once, not on every idle poll
    finally:
        worker.stop()


class PollFailsOnce(DroppedMember):
    """kafka-python 3.0.12 raises from poll when the broker is down while it looks for the coordinator."""

    def __init__(self) -> None:
        super().__init__()
        self.raised = False

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        if not self.raised:
            self.raised = True
            raise ConnectionRefusedError("111 ECONNREFUSED")
        return super().poll(timeout_s, max_records)


def test_a_poll_that_raises_while_the_broker_is_down_does_not_end_the_consumer() -> None:
    consumer = PollFailsOnce()
    pipeline = Recording()
    worker = ConsumerWorker(Bus(consumer), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (consumer.committed == 2 and worker.healthy):
            assert worker.is_alive(), "the consumer thread ended"
            assert time.monotonic() < deadline, f"committed {consumer.committed}, {worker.last_error}"
            time.sleep(0.05)
    finally:
        worker.stop()
    assert consumer.raised and pipeline.seen == [0, 1]


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

    def commit(self, wait: bool = True) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Delivers(DroppedMember):
    def backlog(self) -> int | None:
        return len(self.batches[0]) if self.batches else 0


class Recording(NoDetectors):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def store(self, messages: list[Message]) -> list[object]:
        self.seen += [m.offset for m in messages]
        return []


class Sequence:
    """Hands out the given consumers in turn, one per ``consumer`` call."""

    def __init__(self, *consumers: object) -> None:
        self.consumers = list(consumers)
        self.made = 0

    def consumer(self, topics: list[str], group: str) -> object:
        self.made += 1
        made = self.consumers.pop(0)
        if isinstance(made, Exception):
            raise made
        return made


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


def test_a_consumer_that_cannot_be_made_while_the_broker_is_down_is_made_later() -> None:
    # kafka-python raises from the constructor when no broker answers: at start-up, and when a stuck
    # consumer is replaced. Either used to end the consumer thread for good.
    down = OSError("no broker available")
    stuck, fresh = Stuck(waiting=2), Delivers()
    bus, pipeline = Sequence(down, stuck, down, down, fresh), Recording()
    worker = ConsumerWorker(bus, ["posts"], "g", pipeline, stall_check_s=0.3)  # type: ignore[arg-type]
    worker.start()
    seen_error = None
    try:
        deadline = time.monotonic() + 15
        while not (pipeline.seen == [0, 1] and worker.healthy):
            assert worker.is_alive(), "the consumer thread ended"
            assert time.monotonic() < deadline, f"made {bus.made}: {worker.last_error}"
            seen_error = seen_error or worker.last_error
            time.sleep(0.02)
    finally:
        worker.stop()
    assert bus.made == 5 and fresh.committed == 2
    assert seen_error is not None and seen_error.startswith("connecting failed: OSError")


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


class Batches(DroppedMember):
    """Hands out ``count`` batches of one record each, offsets 0, 1, 2, ..."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.batches = [[_message(offset)] for offset in range(count)]


class SlowDetectors:
    """Stores at once; the detectors are slow, and storing alerts fails the first ``failures`` times."""

    def __init__(self, failures: int = 0, detect_s: float = 0.0) -> None:
        self.stored: list[int] = []
        self.detected: list[int] = []
        self.published: list[list[str]] = []
        self.failures = failures
        self.detect_s = detect_s
        self.most_ahead = 0  # how many batches storing ever ran ahead of detection
        self.lock = threading.Lock()

    def store(self, messages: list[Message]) -> list[int]:
        with self.lock:
            self.stored += [m.offset for m in messages]
            self.most_ahead = max(self.most_ahead, len(self.stored) - len(self.detected))
        return [m.offset for m in messages]

    def detect(self, posts: list[int]) -> list[str]:
        time.sleep(self.detect_s)
        with self.lock:
            self.detected += posts
        return [f"alert after {posts[-1]}"]

    def publish_alerts(self, alerts: list[str]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        self.published.append(alerts)

    def count_detected(self, posts: int) -> None:
        pass


def _run_until(worker: ConsumerWorker, done: Callable[[], bool], what: str) -> None:
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not done():
            assert time.monotonic() < deadline, f"{what}: {worker.last_error}"
            time.sleep(0.02)
    finally:
        worker.stop()


def test_stored_batches_reach_the_detectors_in_order_and_alerts_are_retried_without_detecting_again() -> None:
    pipeline = SlowDetectors(failures=2)
    worker = ConsumerWorker(Bus(Batches(5)), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    _run_until(worker, lambda: len(pipeline.published) == 5, "alerts not all stored")
    assert pipeline.detected == [0, 1, 2, 3, 4]  # each batch detected once, in order
    assert pipeline.published == [[f"alert after {n}"] for n in range(5)]


def test_storing_waits_when_the_detectors_are_behind() -> None:
    pipeline = SlowDetectors(detect_s=0.05)
    consumer = Batches(12)
    worker = ConsumerWorker(Bus(consumer), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    _run_until(worker, lambda: len(pipeline.detected) == 12, "not all detected")
    # One batch in the detectors, DETECT_QUEUE_BATCHES queued, one stored and waiting to be queued.
    assert pipeline.most_ahead <= DETECT_QUEUE_BATCHES + 2
    assert consumer.committed == 12


def test_failing_alert_storage_shows_in_health_until_it_works() -> None:
    pipeline = SlowDetectors(failures=1_000_000)
    worker = ConsumerWorker(Bus(Batches(1)), ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while worker.healthy:
            assert time.monotonic() < deadline, "alert storage failing, yet healthy"
            time.sleep(0.02)
        assert "storing alerts" in (worker.last_error or "")
        pipeline.failures = 0
        while not (pipeline.published and worker.healthy):
            assert time.monotonic() < deadline, f"did not recover: {worker.last_error}"
            time.sleep(0.02)
    finally:
        worker.stop()


def test_a_clean_stop_drains_an_in_process_bus_first() -> None:
    # The in-process bus's records die with the process: what ingest accepted must be stored before a
    # clean shutdown ends it, and committed, so nothing is left for a consumer that will never come.
    bus = MemoryBus(partitions=2)
    for number in range(500):
        bus.publish("posts", b"{}", str(number).encode())
    pipeline = Recording()
    worker = ConsumerWorker(bus, ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    worker.stop(drain=True)
    assert not worker.is_alive()
    assert len(pipeline.seen) == 500
    assert bus.consumer(["posts"], "g").backlog() == 0


def test_a_stop_without_draining_leaves_the_rest_to_the_next_consumer() -> None:
    bus = MemoryBus()
    for number in range(5_000):
        bus.publish("posts", b"{}", str(number).encode())
    pipeline = SlowStore()
    worker = ConsumerWorker(bus, ["posts"], "g", pipeline)  # type: ignore[arg-type]
    worker.start()
    worker.stop(timeout_s=5)
    assert not worker.is_alive() and len(pipeline.seen) < 5_000
    assert bus.consumer(["posts"], "g").backlog() == 5_000 - len(pipeline.seen)


class SlowStore(Recording):
    def store(self, messages: list[Message]) -> list[object]:
        time.sleep(0.05)
        return super().store(messages)
