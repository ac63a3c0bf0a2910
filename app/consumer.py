"""The threads that drive the pipeline from the bus, started and stopped by the FastAPI lifespan.

Three threads hand each batch on, in order: the consumer thread polls, decodes and enriches
(:meth:`Pipeline.prepare`) and commits what is stored; the store thread stores (:meth:`Pipeline.store`); the
detection thread runs the detectors over the new posts and stores and pushes their alerts. Storing and
committing wait on PostgreSQL and Kafka for much of their time, and the other steps use that time instead of
waiting their turn. At most ``STORE_QUEUE_BATCHES`` prepared and ``DETECT_QUEUE_BATCHES`` stored batches wait
between the threads; a thread waits when the next one is behind, so memory stays bounded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from app.pipeline.alerts import Alert
from app.pipeline.runner import Pipeline, Prepared
from streams.bus.base import Bus, Consumer
from streams.post import Post

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
MAX_BATCH = 1000
MAX_RETRY_WAIT_S = 30.0
MAX_COMMIT_WAIT_S = 5.0
# No records for this long: ask the broker whether any are waiting, and if so start over with a new consumer.
# A group rebalances in seconds; a stuck consumer (see _stalled) costs the room this long of silence.
STALL_CHECK_S = 20.0
STORE_QUEUE_BATCHES = 2
DETECT_QUEUE_BATCHES = 2

T = TypeVar("T")


class ConsumerWorker(threading.Thread):
    """Poll -> prepare -> store -> commit, forever, with detection on a thread of its own. A batch that fails
    to prepare or store is retried as it is, never skipped; a failed commit is tried again after the next
    poll."""

    def __init__(
        self,
        bus: Bus,
        topics: list[str],
        group: str,
        pipeline: Pipeline,
        stall_check_s: float = STALL_CHECK_S,
    ) -> None:
        super().__init__(name="signaal-consumer", daemon=True)
        self._stall_check_s = stall_check_s
        self._bus = bus
        self._topics = topics
        self._group = group
        self._pipeline = pipeline
        self._stopping = threading.Event()
        self.ready = threading.Event()
        # Each thread reports on its own part; /readyz shows them together.
        self._consumer_error: str | None = None
        self._store_error: str | None = None
        self._alerts_error: str | None = None
        self._prepared: queue.Queue[Prepared | None] = queue.Queue(maxsize=STORE_QUEUE_BATCHES)
        self._stored: queue.Queue[list[Post] | None] = queue.Queue(maxsize=DETECT_QUEUE_BATCHES)
        # Offsets after the batches stored so far, per (topic, partition), for the consumer thread to commit.
        self._stored_positions: dict[tuple[str, int], int] = {}
        self._positions_lock = threading.Lock()
        self._storer = threading.Thread(target=self._store_forever, name="signaal-store", daemon=True)
        self._detector = threading.Thread(target=self._detect_forever, name="signaal-detect", daemon=True)

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    @property
    def last_error(self) -> str | None:
        if self.ready.is_set() and not self._stopping.is_set():
            for thread in (self, self._storer, self._detector):
                if not thread.is_alive():
                    return f"the {thread.name} thread ended"
        return self._consumer_error or self._store_error or self._alerts_error

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout_s)

    def busy(self) -> bool:
        """Whether polled records are still on their way through storage and the detectors."""
        return self._prepared.unfinished_tasks > 0 or self._stored.unfinished_tasks > 0

    def run(self) -> None:
        self._detector.start()
        self._storer.start()
        try:
            self._consume()
        finally:
            # The store thread stores what is prepared and the detectors finish what is stored, unless
            # storage is down (then the next run gets those records again, and its warm start makes their
            # alerts good).
            _put(self._prepared, None, self._storer, lambda: False)
            self._storer.join(10.0)
            self._detector.join(10.0)

    def _consume(self) -> None:
        consumer = self._bus.consumer(self._topics, self._group)
        self.ready.set()
        to_commit: dict[tuple[str, int], int] = {}
        # Sent without waiting for the broker's answer; confirmed by one waited-for commit when the stream
        # is quiet (a failure of an unconfirmed commit is raised by the next one).
        unconfirmed: dict[tuple[str, int], int] = {}
        confirming = False
        commit_wait = 0.5
        next_commit = 0.0
        last_records = time.monotonic()
        try:
            while not self._stopping.is_set():
                batch = consumer.poll(POLL_TIMEOUT_S, MAX_BATCH)
                if batch:
                    last_records = time.monotonic()
                    prepared = self._until_done(
                        partial(self._pipeline.prepare, batch), "preparing", len(batch)
                    )
                    if prepared is None or not _put(
                        self._prepared, prepared, self._storer, self._stopping.is_set
                    ):
                        return  # stopping: what is not stored stays uncommitted and comes again
                elif unconfirmed and not to_commit:
                    to_commit, unconfirmed, confirming = unconfirmed, {}, True
                elif time.monotonic() - last_records >= self._stall_check_s:
                    last_records = time.monotonic()
                    if self._stalled(consumer):
                        to_commit |= unconfirmed | self._take_stored_positions()
                        if to_commit:
                            self._commit(consumer, commit_wait, True, to_commit)
                        consumer.close()  # what it polled but did not commit comes again to the new one
                        consumer = self._bus.consumer(self._topics, self._group)
                        to_commit, unconfirmed = {}, {}
                stored = self._take_stored_positions()
                if stored:
                    to_commit |= stored
                    next_commit = 0.0  # commit right after every batch stored
                if to_commit and time.monotonic() >= next_commit:
                    # Batches just stored are committed without waiting for the broker; retries and the
                    # confirmation wait for its answer.
                    wait = confirming or commit_wait > 0.5
                    if self._commit(consumer, commit_wait, wait, to_commit):
                        unconfirmed = {} if wait else unconfirmed | to_commit
                        to_commit, commit_wait, confirming = {}, 0.5, False
                    else:  # polling goes on meanwhile: that is what lets the consumer rejoin its group
                        next_commit = time.monotonic() + commit_wait
                        commit_wait = min(commit_wait * 2, MAX_COMMIT_WAIT_S)
        finally:
            consumer.close()

    def _until_done(self, step: Callable[[], T], what: str, size: int) -> T | None:
        """``step()``, retried as it is (waiting longer each time) until it works; None if the worker stops
        first. Errors show in /readyz meanwhile."""
        wait = 0.5
        while not self._stopping.is_set():
            try:
                result = step()
            except Exception as error:  # storage down: wait and retry the same batch
                self._store_error = f"{what} a batch: {type(error).__name__}: {error}"
                log.exception("%s a batch of %d failed; retrying in %.1f s", what, size, wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
                continue
            self._store_error = None
            return result
        return None

    def _store_forever(self) -> None:
        """Store thread: store each prepared batch in turn, hand its new posts to the detectors and report
        its offsets for the consumer thread to commit."""
        try:
            while True:
                prepared = self._prepared.get()
                try:
                    if prepared is None:
                        return
                    new_posts = self._until_done(
                        partial(self._pipeline.store, prepared), "storing", len(prepared.posts)
                    )
                    if new_posts is None:
                        return  # stopping while storage is down
                    if new_posts:
                        _put(self._stored, new_posts, self._detector, self._stopping.is_set)
                    with self._positions_lock:
                        for where, offset in prepared.positions.items():
                            self._stored_positions[where] = max(offset, self._stored_positions.get(where, 0))
                finally:
                    self._prepared.task_done()
        finally:
            _put(self._stored, None, self._detector, lambda: False)

    def _take_stored_positions(self) -> dict[tuple[str, int], int]:
        with self._positions_lock:
            positions, self._stored_positions = self._stored_positions, {}
        return positions

    def _detect_forever(self) -> None:
        """Detection thread: run the detectors over each stored batch in turn, then store and push the
        alerts, retrying that until it succeeds or the worker stops."""
        while True:
            posts = self._stored.get()
            try:
                if posts is None:
                    return
                self._detect(posts)
            finally:
                self._stored.task_done()

    def _detect(self, posts: list[Post]) -> None:
        try:
            alerts = self._pipeline.detect(posts)
        except Exception:  # a detector's bug must not stop the others or the stream
            log.exception("the detectors failed on a batch of %d stored posts", len(posts))
            return
        self._publish_until_done(alerts)

    def _publish_until_done(self, alerts: list[Alert]) -> None:
        wait = 0.5
        while True:
            try:
                self._pipeline.publish_alerts(alerts)
                self._alerts_error = None
                return
            except Exception as error:
                self._alerts_error = f"storing alerts: {type(error).__name__}: {error}"
                if self._stopping.is_set():
                    log.warning("%d alert updates not stored at shutdown: %s", len(alerts), error)
                    return
                log.exception("storing %d alert updates failed; retrying in %.1f s", len(alerts), wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)

    def _stalled(self, consumer: Consumer) -> bool:
        """True when records wait for the group although polling gave none for ``stall_check_s``.

        kafka-python 3.0.12 can end up there after a rebalance at start-up: the broker dropped the member
        (no heartbeats), while the client polls on, busy, and never rejoins. A new consumer joins afresh.
        """
        try:
            waiting = consumer.backlog()
        except Exception:  # a check that fails must not end the consumer thread
            log.warning("could not ask the broker for the group's backlog", exc_info=True)
            return False
        if not waiting:
            return False
        self._consumer_error = (
            f"no records for {self._stall_check_s:.0f} s while {waiting} wait for the group: reconnecting"
        )
        log.warning("consumer stalled: %s", self._consumer_error)
        return True

    def _commit(
        self, consumer: Consumer, retry_in: float, wait: bool, positions: dict[tuple[str, int], int]
    ) -> bool:
        """Commit ``positions`` (of stored batches); False when the bus refused.

        A failed commit is not retried in place: only the next ``poll`` lets the consumer rejoin its group
        (after a rebalance, or after it was dropped for not polling while storage was down), and until it
        has, every commit fails. The processed records are stored already; the next commit that succeeds
        covers them, or, if the partitions moved meanwhile, their new owner gets them again from the last
        commit and storage recognises them as duplicates.
        """
        try:
            consumer.commit(wait, positions)
        except Exception as error:
            self._consumer_error = f"commit failed: {type(error).__name__}: {error}"
            log.warning(
                "committing offsets failed (%s); polling again, next commit in %.1f s", error, retry_in
            )
            return False
        self._consumer_error = None
        return True


def _put(into: queue.Queue[T], item: T, taker: threading.Thread, give_up: Callable[[], bool]) -> bool:
    """Queue ``item`` for the ``taker`` thread, waiting while it is behind; False if it ended or, while it
    is behind, ``give_up()`` says so."""
    while taker.is_alive():
        try:
            into.put(item, timeout=0.5)
            return True
        except queue.Full:
            if give_up():
                return False
    return False
