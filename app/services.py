"""The long-lived parts of a running service, built once from the settings and shared by the routes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine, text

from app.config import Settings, check_for_production
from app.consumer import ConsumerWorker
from app.db.accounts import Accounts
from app.db.repository import Store
from app.db.room import RoomStore
from app.db.session import make_engine, make_sessionmaker, upgrade
from app.gc_tuning import tune_for_streaming
from app.live import LiveHub
from app.pipeline.alerts import Alert, AlertKind
from app.pipeline.detection import Detection
from app.pipeline.enrich import Enricher, nominatim_geocoder
from app.pipeline.runner import Pipeline
from app.pipeline.warmup import warm_up
from app.playbooks import PlaybookSet
from app.retention import RetentionWorker
from app.room.service import Room
from streams.bus import make_bus
from streams.bus.base import Bus
from streams.formats import Pseudonymiser
from streams.post import HandleSealer, Post, pseudonymise

log = logging.getLogger(__name__)


def live_summary(post: Post) -> dict[str, object]:
    """What a dashboard needs to draw a post, and no more (no author)."""
    return {
        "key": post.key,
        "created_at": post.created_at,  # written as ISO 8601 by the hub's encoder
        "text": post.text[:280],
        "lat": post.coordinates.lat if post.coordinates else None,
        "lon": post.coordinates.lon if post.coordinates else None,
        "area": post.area,
        "lang": post.lang,
        "platform": post.platform,
    }


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: Store
    bus: Bus
    hub: LiveHub
    pipeline: Pipeline
    playbooks: PlaybookSet
    worker: ConsumerWorker
    pseudonymiser: Pseudonymiser
    sealer: HandleSealer | None
    room: Room
    accounts: Accounts
    retention: RetentionWorker | None

    @classmethod
    def start(cls, settings: Settings, loop: asyncio.AbstractEventLoop) -> Services:
        check_for_production(settings)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        store = Store(sessions)
        room = Room(store, RoomStore(sessions), PlaybookSet.load(settings.playbook_dir))
        topics = [settings.topic_posts, settings.topic_deadletter, settings.topic_alerts]
        bus = make_bus(settings.kafka_bootstrap_servers)
        if settings.uses_kafka:
            from streams.bus.kafka import ensure_topics

            ensure_topics(settings.kafka_bootstrap_servers, dict.fromkeys(topics, settings.topic_partitions))
        hub = LiveHub()
        hub.bind(loop)
        geocode = nominatim_geocoder(settings.geocoder_url) if settings.geocoder_url else None

        playbooks = room.playbooks

        def push_posts(posts: list[Post]) -> None:
            # One message per stored batch: a WebSocket frame per post costs the event loop more than
            # storing the post does, and a burst is thousands of posts a second.
            if hub.client_count:
                hub.publish("posts", [live_summary(post) for post in posts])

        def push_alerts(alerts: list[Alert]) -> None:
            for alert in alerts:
                hub.publish("alert", alert.model_dump(mode="json"))
            try:
                for alert in alerts:
                    bus.publish(settings.topic_alerts, alert.model_dump_json().encode(), alert.id.encode())
                bus.flush(30)
            except Exception:
                # The alerts are stored (the record) and pushed live; failing the batch here would not
                # bring them back to the topic (a redelivered batch holds no new posts), only stall.
                log.warning(
                    "%d alert revisions stored but not published on %s",
                    len(alerts),
                    settings.topic_alerts,
                    exc_info=True,
                )
            # The room's follow-ups: open incidents collecting their area's alerts take these in; a rumour
            # alert goes to the boards as the case they show. The alerts are stored already; failing here
            # would only make the batch come back without new posts, so it is logged and the stream goes on.
            try:
                for incident_id in room.room.auto_link(alerts):
                    hub.publish("incident", {"incident_id": incident_id})
                if hub.client_count:
                    for alert in alerts:
                        if alert.kind == AlertKind.RUMOUR:
                            hub.publish("case", room.room.get_case(alert.id).model_dump(mode="json"))
            except Exception:
                log.exception("linking %d alerts to incidents or pushing their cases failed", len(alerts))

        pipeline = Pipeline(
            store,
            Enricher(settings.geo_cell_resolution, geocode).enrich_all,
            settings.topic_posts,
            settings.topic_deadletter,
            detection=Detection.standard(playbooks),
            on_stored=push_posts,
            on_alerts=push_alerts,
        )
        if settings.warm_start_hours and pipeline.detection is not None:
            warm_up(
                store,
                pipeline.detection,
                timedelta(hours=settings.warm_start_hours),
                settings.warm_start_max_posts,
            )
        worker = ConsumerWorker(
            bus, [settings.topic_posts, settings.topic_deadletter], settings.consumer_group, pipeline
        )
        tune_for_streaming()
        worker.start()
        worker.ready.wait(30)
        retention = RetentionWorker(sessions, settings.retention_days) if settings.retention_days else None
        if retention is not None:
            retention.start()
        return cls(
            settings=settings,
            engine=engine,
            store=store,
            bus=bus,
            hub=hub,
            pipeline=pipeline,
            playbooks=playbooks,
            worker=worker,
            pseudonymiser=partial(pseudonymise, key=settings.pseudonym_key_bytes),
            sealer=settings.sealer(),
            room=room,
            accounts=Accounts(sessions),
            retention=retention,
        )

    def stop(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        self.worker.stop(drain=not self.bus.durable)
        self.bus.close()
        self.engine.dispose()

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("database health check failed", exc_info=True)
            return False
