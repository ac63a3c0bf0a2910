"""Settings from the environment: one frozen object, read once.

Every setting has a working default for the embedded single-machine mode. Setting ``KAFKA_BOOTSTRAP_SERVERS``
switches the bus to Apache Kafka; a PostgreSQL ``DATABASE_URL`` switches storage.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

# Only for demos and tests. With it, pseudonyms can be recomputed by anyone who has this source code.
DEV_PSEUDONYM_KEY = "signaal-dev-only-pseudonym-key"
DEV_JWT_SECRET = "signaal-dev-only-token-secret"
REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_file=".env", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka brokers, e.g. 'kafka1:9092,kafka2:9092'; empty = in-process bus"
    )
    database_url: str = Field(
        default="sqlite:///signaal.db", description="SQLAlchemy URL; SQLite file by default"
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(DEV_PSEUDONYM_KEY),
        validation_alias="SIGNAAL_PSEUDONYM_KEY",
        description="secret for the keyed hash that replaces author handles",
    )
    topic_posts: str = Field(default="signaal.posts", validation_alias="SIGNAAL_TOPIC_POSTS")
    topic_deadletter: str = Field(default="signaal.deadletter", validation_alias="SIGNAAL_TOPIC_DEADLETTER")
    topic_alerts: str = Field(default="signaal.alerts", validation_alias="SIGNAAL_TOPIC_ALERTS")
    consumer_group: str = Field(default="signaal-service", validation_alias="SIGNAAL_CONSUMER_GROUP")
    topic_partitions: int = Field(default=3, ge=1, validation_alias="SIGNAAL_TOPIC_PARTITIONS")

    host: str = Field(default="127.0.0.1", validation_alias="SIGNAAL_HOST")
    port: int = Field(default=8000, validation_alias="SIGNAAL_PORT")
    api_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias="SIGNAAL_API_URL",
        description="where producers and the dashboard reach the service",
    )
    dashboard_port: int = Field(default=8050, validation_alias="SIGNAAL_DASHBOARD_PORT")
    map_style: str = Field(
        default="white-bg",
        validation_alias="SIGNAAL_MAP_STYLE",
        description="plotly map style; 'white-bg' needs no network, a tile URL style may be set",
    )
    geo_cell_resolution: int = Field(default=7, ge=0, le=15, validation_alias="SIGNAAL_GEO_CELL_RESOLUTION")
    geocoder_url: str | None = Field(
        default=None,
        validation_alias="SIGNAAL_GEOCODER_URL",
        description="optional self-hosted Nominatim for place names outside the gazetteer; off by default",
    )
    max_ingest_bytes: int = Field(default=50 * 1024 * 1024, validation_alias="SIGNAAL_MAX_INGEST_BYTES")
    ingest_rate: float = Field(
        default=20.0,
        ge=0,
        validation_alias="SIGNAAL_INGEST_RATE",
        description="ingest requests per second per client (a request holds many lines); 0 = no limit",
    )
    ingest_burst: int = Field(
        default=40,
        ge=1,
        validation_alias="SIGNAAL_INGEST_BURST",
        description="requests a client may send at once",
    )
    sign_in_rate: float = Field(
        default=0.2,
        ge=0,
        validation_alias="SIGNAAL_SIGN_IN_RATE",
        description="sign-in attempts per second per account (0.2: 12 a minute), against password guessing"
        " and argon2's 64 MiB per attempt; 0 = no limit",
    )
    sign_in_burst: int = Field(
        default=10,
        ge=1,
        validation_alias="SIGNAAL_SIGN_IN_BURST",
        description="attempts on one account at once",
    )
    playbook_dir: Path = Field(default=REPO_ROOT / "playbooks", validation_alias="SIGNAAL_PLAYBOOK_DIR")
    data_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data", validation_alias="SIGNAAL_DATA_DIR")
    environment: Literal["development", "production"] = Field(
        default="development",
        validation_alias="SIGNAAL_ENV",
        description="'production' refuses to start with development secrets or without authentication",
    )
    auth: bool | None = Field(
        default=None,
        validation_alias="SIGNAAL_AUTH",
        description="require accounts and tokens; default: on in production, off in development",
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        validation_alias="SIGNAAL_JWT_SECRET",
        description="signs access tokens; at least 32 characters in production",
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias="SIGNAAL_API_KEY",
        description="a producer's key for `signaal replay` to a service that requires sign-in",
    )
    dashboard_token: SecretStr | None = Field(
        default=None,
        validation_alias="SIGNAAL_DASHBOARD_TOKEN",
        description="the dashboard's read token (`signaal token <wall account>`) when sign-in is required",
    )
    dashboard_secret: SecretStr | None = Field(
        default=None,
        validation_alias="SIGNAAL_DASHBOARD_SECRET",
        description="signs dashboard session cookies",
    )
    token_hours: float = Field(default=12.0, gt=0, le=24 * 90, validation_alias="SIGNAAL_TOKEN_HOURS")
    reveal_key: SecretStr | None = Field(
        default=None,
        validation_alias="SIGNAAL_REVEAL_KEY",
        description="a Fernet key: keep handles encrypted so a coordinator can reveal one, with a reason",
    )
    warm_start_hours: float = Field(
        default=48.0,
        ge=0,
        validation_alias="SIGNAAL_WARM_START_HOURS",
        description="at start, replay this much of the stored stream through the detectors (0 = start cold)",
    )
    warm_start_max_posts: int = Field(default=300_000, ge=0, validation_alias="SIGNAAL_WARM_START_MAX_POSTS")
    retention_days: float | None = Field(
        default=None,
        gt=0,
        validation_alias="SIGNAAL_RETENTION_DAYS",
        description="delete posts and dead letters older than this; hourly counts, incident evidence stay",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        validation_alias="SIGNAAL_METRICS_TOKEN",
        description="when set, /metrics requires 'Authorization: Bearer <token>'; empty = open",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias="SIGNAAL_LOG_FORMAT", description="'json': one object per line"
    )

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable as an empty string; that must not become a token "".
        return None if value == "" else value

    @property
    def uses_kafka(self) -> bool:
        return bool(self.kafka_bootstrap_servers)

    @property
    def pseudonym_key_bytes(self) -> bytes:
        """The key for the code that pseudonymises; says once per process when it is the public one."""
        key = self.pseudonym_key.get_secret_value()
        if key == DEV_PSEUDONYM_KEY and not _warned_dev_key.is_set():
            _warned_dev_key.set()
            log.warning("SIGNAAL_PSEUDONYM_KEY is not set: using the development key (not for real data)")
        return key.encode()

    def sealer(self):  # type: ignore[no-untyped-def]
        """The handle sealer when revealing is enabled, else None."""
        if self.reveal_key is None:
            return None
        from streams.post import HandleSealer

        return HandleSealer(self.reveal_key.get_secret_value())

    @property
    def auth_required(self) -> bool:
        return self.auth if self.auth is not None else self.environment == "production"

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe for real data; production mode refuses to start with any."""
        problems = []
        if not self.auth_required:
            problems.append("SIGNAAL_AUTH is off: anyone who reaches the service would be an admin")
        if self.pseudonym_key.get_secret_value() == DEV_PSEUDONYM_KEY:
            problems.append("SIGNAAL_PSEUDONYM_KEY is the development key: pseudonyms could be reversed")
        if (
            self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
            or len(self.jwt_secret.get_secret_value()) < 32
        ):
            problems.append("SIGNAAL_JWT_SECRET is the development secret or shorter than 32 characters")
        return problems

    def production_warnings(self) -> list[str]:
        """What production mode allows but an operator should know is left to the network around it."""
        warnings = []
        if self.metrics_token is None:
            warnings.append(
                "SIGNAAL_METRICS_TOKEN is not set: /metrics answers anyone who reaches the service; "
                "let only the monitoring network reach it, or set the token and scrape with it"
            )
        return warnings


# Only the commands that pseudonymise warn about the development key: every command did, three times per demo.
_warned_dev_key = threading.Event()


class UnsafeSettings(RuntimeError):
    pass


def check_for_production(settings: Settings) -> None:
    if settings.environment != "production":
        if settings.auth_required and settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            # Sign-in on, but anyone who has read this source can sign their own admin token.
            log.warning(
                "sign-in is required but SIGNAAL_JWT_SECRET is the public development secret: anyone can "
                "forge tokens; set a secret of 32+ characters (production mode refuses to start without one)"
            )
        return
    if problems := settings.production_problems():
        raise UnsafeSettings("refusing to start in production mode:\n  - " + "\n  - ".join(problems))
    for warning in settings.production_warnings():
        log.warning("%s", warning)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
