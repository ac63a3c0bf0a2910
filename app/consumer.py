"""The threads that drive the pipeline from the bus, started and stopped by the FastAPI lifespan.

The consumer thread polls, stores each batch (:meth:`Pipeline.store`) and commits; a second thread runs the
detectors over each stored batch, in order, and stores and pushes their alerts. Storing waits on the
database for a good part of its time, and the detectors use that time instead of waiting their turn: under a
backlog the service drains about a fifth faster. At most ``DETECT_QUEUE_BATCHES`` stored batches wait for
the detectors; the consumer waits when they are behind, so memory stays bounded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from app.pipeline.alerts import Alert
from app.pipeline.runner import Pipeline
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
DETECT_QUEUE_BATCHES = 2


class ConsumerWorker(threading.Thread):
    """Poll -> store -> commit, forever, with detection on a thread of its own. A batch that fails to store is
    retried as it is, never skipped; a failed commit is tried again after the next poll."""

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
        self._draining = threading.Event()
        self.ready = threading.Event()
        # Each thread reports on its own part; /readyz shows the two together.
        self._consumer_error: str | None = None
        self._alerts_error: str | None = None
        self._stored: queue.Queue[list[Post] | None] = queue.Queue(maxsize=DETECT_QUEUE_BATCHES)
        self._detector = threading.Thread(target=self._detect_forever, name="signaal-detect", daemon=True)

    @property
    def healthy(self) -> bool:
        detector_ok = self._detector.is_alive() or not self.ready.is_set() or self._stopping.is_set()
        return self._consumer_error is None and self._alerts_error is None and detector_ok

    @property
    def last_error(self) -> str | None:
        if self.ready.is_set() and not self._detector.is_alive() and not self._stopping.is_set():
            return "the detection thread ended"
        return self._consumer_error or self._alerts_error

    def stop(self, timeout_s: float = 10.0, drain: bool = False) -> None:
        """Stop polling; with ``drain``, first store and commit what the bus holds (up to ``timeout_s``).

        An in-process bus's records die with the process: posts that ingest accepted but the worker had not
        stored yet would be lost at a clean shutdown, so the service drains that bus before it stops.
        """
        if drain and self.is_alive():
            self._draining.set()
            self.join(timeout_s)
            if self.is_alive():
                log.warning("stopping before the bus was drained: %s", self.last_error or "still busy")
        self._stopping.set()
        self.join(timeout_s)

    def run(self) -> None:
        self._detector.start()
        try:
            self._consume()
        finally:
            # The detectors finish the batches stored so far, unless storage is down (then the warm start of
            # the next run makes their alerts good).
            self._hand_over(None, wait_while_stopping=True)
            self._detector.join(10.0)

    def _connect(self) -> Consumer | None:
        """A new consumer, trying again while the bus cannot make one (kafka-python raises while no broker
        answers); None if the worker stops first."""
        wait = 0.5
        while not self._stopping.is_set():
            try:
                consumer = self._bus.consumer(self._topics, self._group)
            except Exception as error:
                self._consumer_error = f"connecting failed: {_summary(error)}"
                log.warning("cannot connect to the bus (%s); trying again in %.1f s", error, wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
                continue
            if self._consumer_error and self._consumer_error.startswith("connecting failed"):
                self._consumer_error = None
            return consumer
        return None

    def _consume(self) -> None:
        consumer = self._connect()
        if consumer is None:
            return
        self.ready.set()
        uncommitted = False
        # A commit sent without waiting for its answer; confirmed by waiting for one when the stream is quiet.
        unconfirmed = False
        commit_wait = 0.5
        next_commit = 0.0
        last_records = time.monotonic()
        try:
            while not self._stopping.is_set():
                try:
                    batch = consumer.poll(POLL_TIMEOUT_S, MAX_BATCH)
                except Exception as error:  # kafka-python raises from poll while the broker is unreachable
                    self._consumer_error = f"polling failed: {_summary(error)}"
                    log.warning("polling failed (%s); polling again", error)
                    self._stopping.wait(POLL_TIMEOUT_S)
                    continue
                if self._consumer_error and self._consumer_error.startswith("polling failed"):
                    self._consumer_error = None
                if batch:
                    last_records = time.monotonic()
                    if not self._process_until_done(batch):
                        return  # stopping: the batch stays uncommitted and comes again
                    uncommitted, next_commit = True, 0.0  # commit right after every batch stored
                elif unconfirmed and not uncommitted:  # quiet now: commit once more, waiting this time
                    uncommitted, unconfirmed = True, False
                elif time.monotonic() - last_records >= self._stall_check_s:
                    last_records = time.monotonic()
                    if self._stalled(consumer):
                        if uncommitted or unconfirmed:
                            self._commit(consumer, commit_wait)
                        consumer.close()  # what it polled but did not commit comes again to the new one
                        replacement = self._connect()
                        if replacement is None:
                            return
                        consumer = replacement
                        uncommitted = unconfirmed = False
                if uncommitted and time.monotonic() >= next_commit:
                    # Under load, commit without waiting for the broker (the next commit raises a failure);
                    # once the stream is quiet, one waited-for commit confirms where the group stands.
                    wait = not batch or commit_wait > 0.5
                    if self._commit(consumer, commit_wait, wait):
                        uncommitted, unconfirmed, commit_wait = False, not wait, 0.5
                    else:  # polling goes on meanwhile: that is what lets the consumer rejoin its group
                        next_commit = time.monotonic() + commit_wait
                        commit_wait = min(commit_wait * 2, MAX_COMMIT_WAIT_S)
                if self._draining.is_set() and not batch and not (uncommitted or unconfirmed):
                    return  # drained: everything the bus held is stored and committed
        finally:
            consumer.close()

    def _process_until_done(self, batch: list) -> bool:  # type: ignore[type-arg]
        """Store the batch, retrying it as it is until it succeeds, and hand what was new to the detectors;
        False if the worker stops first."""
        wait = 0.5
        while not self._stopping.is_set():
            try:
                new_posts = self._pipeline.store(batch)
            except Exception as error:  # storage down: wait and retry the same batch
                self._consumer_error = _summary(error)
                log.exception("batch of %d failed; retrying in %.1f s", len(batch), wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
                continue
            if new_posts:
                self._hand_over(new_posts)
            return True
        return False

    def _hand_over(self, posts: list[Post] | None, wait_while_stopping: bool = False) -> None:
        """Queue stored posts (None: the end) for the detection thread, waiting while it is behind."""
        while self._detector.is_alive():
            try:
                self._stored.put(posts, timeout=0.5)
                return
            except queue.Full:
                if self._stopping.is_set() and not wait_while_stopping:
                    return

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
            alerts = []
        self._publish_until_done(alerts)
        self._pipeline.count_detected(len(posts))

    def detecting(self) -> bool:
        """Whether stored posts are still waiting for, or in, the detectors."""
        return self._stored.unfinished_tasks > 0

    def _publish_until_done(self, alerts: list[Alert]) -> None:
        wait = 0.5
        while True:
            try:
                self._pipeline.publish_alerts(alerts)
                self._alerts_error = None
                return
            except Exception as error:
                self._alerts_error = f"storing alerts: {_summary(error)}"
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

    def _commit(self, consumer: Consumer, retry_in: float, wait: bool = True) -> bool:
        """Commit what was processed so far; False when the bus refused.

        A failed commit is not retried in place: only the next ``poll`` lets the consumer rejoin its group
        (after a rebalance, or after it was dropped for not polling while storage was down), and until it
        has, every commit fails. The processed records are stored already; the next commit that succeeds
        covers them, or, if the partitions moved meanwhile, their new owner gets them again from the last
        commit and storage recognises them as duplicates.
        """
        try:
            consumer.commit(wait)
        except Exception as error:
            self._consumer_error = f"commit failed: {_summary(error)}"
            log.warning(
                "committing offsets failed (%s); polling again, next commit in %.1f s", error, retry_in
            )
            return False
        self._consumer_error = None
        return True


def _summary(error: BaseException) -> str:
    """The error's type and first line, for /readyz, which anyone can read: a database's detail lines and
    the statement after them can quote stored values (post texts, raw records, handles)."""
    first_line = str(error).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {first_line[:300]}"
