"""The thread that drives the pipeline from the bus, started and stopped by the FastAPI lifespan."""

from __future__ import annotations

import logging
import threading
import time

from app.pipeline.runner import Pipeline
from streams.bus.base import Bus, Consumer

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
MAX_BATCH = 1000
MAX_RETRY_WAIT_S = 30.0
MAX_COMMIT_WAIT_S = 5.0
# No records for this long: ask the broker whether any are waiting, and if so start over with a new consumer.
STALL_CHECK_S = 60.0


class ConsumerWorker(threading.Thread):
    """Poll -> process -> commit, forever. A failed batch is retried as it is, never skipped; a failed commit
    is tried again after the next poll."""

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
        self.healthy = True
        self.last_error: str | None = None

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout_s)

    def run(self) -> None:
        consumer = self._bus.consumer(self._topics, self._group)
        self.ready.set()
        uncommitted = False
        commit_wait = 0.5
        next_commit = 0.0
        last_records = time.monotonic()
        try:
            while not self._stopping.is_set():
                batch = consumer.poll(POLL_TIMEOUT_S, MAX_BATCH)
                if batch:
                    last_records = time.monotonic()
                    if not self._process_until_done(batch):
                        return  # stopping: the batch stays uncommitted and comes again
                    uncommitted, next_commit = True, 0.0  # commit right after every batch stored
                elif time.monotonic() - last_records >= self._stall_check_s:
                    last_records = time.monotonic()
                    if self._stalled(consumer):
                        if uncommitted:
                            self._commit(consumer, commit_wait)
                        consumer.close()  # what it polled but did not commit comes again to the new one
                        consumer = self._bus.consumer(self._topics, self._group)
                        uncommitted = False
                if uncommitted and time.monotonic() >= next_commit:
                    if self._commit(consumer, commit_wait):
                        uncommitted, commit_wait = False, 0.5
                    else:  # polling goes on meanwhile: that is what lets the consumer rejoin its group
                        next_commit = time.monotonic() + commit_wait
                        commit_wait = min(commit_wait * 2, MAX_COMMIT_WAIT_S)
        finally:
            consumer.close()

    def _process_until_done(self, batch: list) -> bool:  # type: ignore[type-arg]
        """Process the batch, retrying it as it is until it succeeds (True) or the worker stops (False)."""
        wait = 0.5
        while not self._stopping.is_set():
            try:
                self._pipeline.process(batch)
                return True
            except Exception as error:  # storage down: wait and retry the same batch
                self.healthy, self.last_error = False, f"{type(error).__name__}: {error}"
                log.exception("batch of %d failed; retrying in %.1f s", len(batch), wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
        return False

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
        self.healthy = False
        self.last_error = (
            f"no records for {self._stall_check_s:.0f} s while {waiting} wait for the group: reconnecting"
        )
        log.warning("consumer stalled: %s", self.last_error)
        return True

    def _commit(self, consumer: Consumer, wait: float) -> bool:
        """Commit what was processed so far; False when the bus refused.

        A failed commit is not retried in place: only the next ``poll`` lets the consumer rejoin its group
        (after a rebalance, or after it was dropped for not polling while storage was down), and until it
        has, every commit fails. The processed records are stored already; the next commit that succeeds
        covers them, or, if the partitions moved meanwhile, their new owner gets them again from the last
        commit and storage recognises them as duplicates.
        """
        try:
            consumer.commit()
        except Exception as error:
            self.healthy, self.last_error = False, f"commit failed: {type(error).__name__}: {error}"
            log.warning("committing offsets failed (%s); polling again, next commit in %.1f s", error, wait)
            return False
        self.healthy, self.last_error = True, None
        return True
