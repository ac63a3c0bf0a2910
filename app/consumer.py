"""The thread that drives the pipeline from the bus, started and stopped by the FastAPI lifespan."""

from __future__ import annotations

import logging
import threading

from app.pipeline.runner import Pipeline
from streams.bus.base import Bus, Consumer

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
MAX_BATCH = 1000
MAX_RETRY_WAIT_S = 30.0


class ConsumerWorker(threading.Thread):
    """Poll -> process -> commit, forever. A failed batch is retried as it is, never skipped."""

    def __init__(self, bus: Bus, topics: list[str], group: str, pipeline: Pipeline) -> None:
        super().__init__(name="signaal-consumer", daemon=True)
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
        try:
            while not self._stopping.is_set():
                batch = consumer.poll(POLL_TIMEOUT_S, MAX_BATCH)
                if batch:
                    self._process_until_done(consumer, batch)
        finally:
            consumer.close()

    def _process_until_done(self, consumer: Consumer, batch: list) -> None:  # type: ignore[type-arg]
        wait = 0.5
        while not self._stopping.is_set():
            try:
                self._pipeline.process(batch)
                consumer.commit()
                self.healthy, self.last_error = True, None
                return
            except Exception as error:  # storage down, broker gone: wait and retry the same batch
                self.healthy, self.last_error = False, f"{type(error).__name__}: {error}"
                log.exception("batch of %d failed; retrying in %.1f s", len(batch), wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
