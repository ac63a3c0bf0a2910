"""What operators watch: Prometheus metrics on ``/metrics`` and structured (JSON) logs.

Counters of the pipeline are read from its own statistics at scrape time (a custom collector), so the hot
path keeps no second set of counters. Each app gets its own registry: tests build many apps in one process,
and the global registry would refuse the second one's metrics.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import SecretStr

if TYPE_CHECKING:
    from app.services import Services

_PIPELINE_COUNTERS = {
    "received": "posts and records taken from the bus",
    "stored": "posts stored for the first time",
    "duplicates": "posts already stored (redelivered or replayed)",
    "rejected": "records dead-lettered",
    "alert_updates": "alert revisions produced by the detectors",
}


class ServiceCollector(Collector):
    def __init__(self, services: Callable[[], Services | None]) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services()
        if services is None:
            return
        stats = services.pipeline.stats.snapshot()
        for name, help_text in _PIPELINE_COUNTERS.items():
            counter = CounterMetricFamily(f"signaal_pipeline_{name}", help_text)
            counter.add_metric([], float(stats[name]))  # type: ignore[arg-type]
            yield counter
        lag = GaugeMetricFamily("signaal_ingest_lag_seconds", "bus-to-storage delay of the last batch")
        lag.add_metric([], float(stats["ingest_lag_seconds"] or 0.0))  # type: ignore[arg-type]
        yield lag
        with services.pipeline.stats.lock:
            stages = dict(services.pipeline.stats.stage_seconds)
        timing = CounterMetricFamily(
            "signaal_stage_seconds", "time spent per pipeline stage", labels=["stage"]
        )
        for stage, seconds in stages.items():
            timing.add_metric([stage], seconds)
        yield timing
        detection = services.pipeline.detection
        if detection is not None:
            detectors = CounterMetricFamily(
                "signaal_detector_seconds", "time spent in each detector", labels=["detector"]
            )
            for name, seconds in dict(detection.seconds).items():
                detectors.add_metric([name], seconds)
            yield detectors
        healthy = GaugeMetricFamily("signaal_consumer_healthy", "1 while the consumer processes batches")
        healthy.add_metric([], 1.0 if services.worker.is_alive() and services.worker.healthy else 0.0)
        yield healthy
        clients = GaugeMetricFamily("signaal_live_clients", "WebSocket clients connected")
        clients.add_metric([], float(services.hub.client_count))
        yield clients
        alerts = GaugeMetricFamily("signaal_alerts", "alerts stored, by kind", labels=["kind"])
        for kind, count in services.store.alert_counts().items():
            alerts.add_metric([kind], float(count))
        yield alerts


def _bearer_matches(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    # Constant time, so the response time does not tell how much of a guess was right.
    return scheme.lower() == "bearer" and secrets.compare_digest(given.encode(), token.encode())


def install_metrics(app: FastAPI, token: SecretStr | None = None) -> None:
    """``/metrics`` for Prometheus; with ``token`` (SIGNAAL_METRICS_TOKEN) only for ``Bearer <token>``."""
    registry = CollectorRegistry()
    registry.register(ServiceCollector(lambda: getattr(app.state, "services", None)))
    latency = Histogram(
        "signaal_http_request_seconds",
        "HTTP request duration by route template and status",
        ["method", "route", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route's template, never the raw path: ids in paths would make unbounded label sets.
        template = getattr(route, "path", "unmatched")
        latency.labels(request.method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if token is not None and not _bearer_matches(
            request.headers.get("authorization", ""), token.get_secret_value()
        ):
            return Response(
                "scrape with the metrics token", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_TOKEN_IN_QUERY = re.compile(r"([?&](?:token|access_token)=)[^&\s\"']+")


class HideTokens(logging.Filter):
    """Browsers put the live feed's token in its URL (``/ws/live?token=``), and uvicorn logs that URL when
    a socket opens or is refused: whoever reads the logs would get working credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "token=" in a for a in record.args):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[hidden]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[hidden]", record.msg)
        return True


def configure_logging(level: int, json_logs: bool) -> None:
    """Text for people at a terminal; one JSON object per line for log collectors (``SIGNAAL_LOG_FORMAT``)."""
    handler = logging.StreamHandler()
    if json_logs:
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(HideTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python narrates every connection at INFO; its warnings and errors are what an operator needs.
    logging.getLogger("kafka").setLevel(max(level, logging.WARNING))
    # uvicorn's own loggers carry their own handlers; route them through ours so every line has one format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
