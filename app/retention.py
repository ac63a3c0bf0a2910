"""Retention: raw posts and dead letters are deleted after a set period; counts and incident evidence stay.

Posts are personal data kept for one purpose, the situational picture of now, so they go once they are
older than ``SIGNAAL_RETENTION_DAYS``. Before a post goes, it is counted into ``hourly_volume`` (hour, area,
platform), so trends over months remain. Posts that an incident's alerts or rumour cases name as evidence
are kept with the incident, and so are the posts of the incident's area over its time span (an hour either
side): its dossier's volume chart and each action's measured effect are made from them, and the dossier must
stay complete for the evaluation (delete the incident's posts by closing and exporting it, then lowering the
hold is a decision for the privacy officer, not this job).
Dead letters hold raw records — with real handles — and go after the same period. Each run is audited.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import audit
from app.db.repository import dialect_insert
from app.db.tables import (
    AlertRow,
    CycleEntryRow,
    DeadLetterRow,
    HourlyVolumeRow,
    IncidentRow,
    PostRow,
    RumourCaseRow,
)
from streams.post import key_of

log = logging.getLogger(__name__)

CHUNK = 5000
# How far before and after an incident's first and last moments its dossier reads posts: the volume chart
# adds an hour either side, and an action's effect is measured over the hour before and after it.
DOSSIER_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class RetentionReport:
    horizon: datetime
    posts_deleted: int
    posts_kept_as_evidence: int
    dead_letters_deleted: int
    dry_run: bool


def evidence_keys(session: Session) -> set[str]:
    """Post keys named by the alerts and rumour cases of any incident."""
    keys: set[str] = set()
    alert_ids: set[str] = set()
    case_ids: set[str] = set()
    for incident in session.scalars(select(IncidentRow)):
        alert_ids.update(incident.alert_ids)
        case_ids.update(incident.case_ids)
    for case in session.scalars(select(RumourCaseRow)):
        if case.case_id in case_ids or case.merged_into in case_ids:
            keys.update(case.added_keys)
            if case.alert_id:
                alert_ids.add(case.alert_id)
    for row in session.scalars(select(AlertRow).where(AlertRow.alert_id.in_(alert_ids))):
        keys.update(row.body.get("member_ids", []))
        keys.update(example["key"] for example in row.body.get("examples", []))
    return keys


@dataclass(frozen=True)
class HeldWindow:
    """Posts of ``area`` (every area when None) created in [start, end) belong to an incident's dossier."""

    start: datetime
    end: datetime
    area: str | None

    def holds(self, created_at: datetime, area: str | None) -> bool:
        return self.start <= created_at < self.end and (self.area is None or self.area == area)


def held_windows(session: Session) -> list[HeldWindow]:
    """Per incident, the span its dossier reads posts over: its alerts and its cycle entries, widened by
    the hour the volume chart adds and the hour an action's effect is measured over."""
    windows = []
    for incident in session.scalars(select(IncidentRow)):
        alert_ids = set(incident.alert_ids)
        cases = select(RumourCaseRow.alert_id).where(RumourCaseRow.case_id.in_(incident.case_ids))
        alert_ids.update(alert_id for alert_id in session.scalars(cases) if alert_id)
        # Event times only, as the dossier uses: a replayed incident's alerts are years before it was opened.
        times: list[datetime] = []
        for first_seen, updated_at in session.execute(
            select(AlertRow.first_seen, AlertRow.updated_at).where(AlertRow.alert_id.in_(alert_ids))
        ):
            times += [first_seen, updated_at]
        times += session.scalars(
            select(CycleEntryRow.effective_at).where(CycleEntryRow.incident_id == incident.incident_id)
        )
        if times:
            windows.append(
                HeldWindow(min(times) - DOSSIER_MARGIN, max(times) + DOSSIER_MARGIN, incident.area)
            )
    return windows


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _add_volume(session: Session, counts: Counter[tuple[datetime, str, str]]) -> None:
    if not counts:
        return
    rows = [{"hour": h, "area": a, "platform": p, "posts": n} for (h, a, p), n in counts.items()]
    statement = dialect_insert(session, HourlyVolumeRow.__table__, rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["hour", "area", "platform"],
            set_={"posts": HourlyVolumeRow.__table__.c.posts + statement.excluded.posts},
        )
    )


def apply_retention(
    sessions: sessionmaker[Session],
    days: float,
    actor: str,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    horizon = (now or datetime.now(UTC)) - timedelta(days=days)
    deleted = kept = 0
    with sessions() as session:
        protected = evidence_keys(session)
        held = held_windows(session)
    last_pk = 0
    while True:
        with sessions.begin() as session:  # chunks need no audit lock; only the run's trace does
            rows = session.execute(
                select(PostRow.pk, PostRow.platform, PostRow.post_id, PostRow.created_at, PostRow.area)
                .where(PostRow.created_at < horizon, PostRow.pk > last_pk)
                .order_by(PostRow.pk)
                .limit(CHUNK)
            ).all()
            if not rows:
                break
            last_pk = rows[-1].pk
            doomed = [
                r
                for r in rows
                if key_of(r.platform, r.post_id) not in protected
                and not any(w.holds(r.created_at, r.area) for w in held)
            ]
            kept += len(rows) - len(doomed)
            if dry_run:
                deleted += len(doomed)
            elif doomed:
                # Report and count what this DELETE removed, not what the SELECT saw: another run (a second
                # instance, or the command beside the service) may have removed some of these rows since.
                removed = session.execute(
                    delete(PostRow)
                    .where(PostRow.pk.in_([r.pk for r in doomed]))
                    .returning(PostRow.platform, PostRow.created_at, PostRow.area)
                ).all()
                deleted += len(removed)
                _add_volume(
                    session, Counter((_hour(r.created_at), r.area or "", r.platform) for r in removed)
                )
    with audit.AuditedTransaction(sessions) as session:
        old_letters = DeadLetterRow.received_at < horizon
        if dry_run:
            letters = session.scalar(select(func.count()).select_from(DeadLetterRow).where(old_letters)) or 0
        else:
            letters = session.execute(delete(DeadLetterRow).where(old_letters)).rowcount
        report = RetentionReport(horizon, deleted, kept, letters, dry_run)
        if not dry_run:
            audit.append(
                session,
                actor,
                "retention",
                "posts",
                {
                    "horizon": horizon.isoformat(),
                    "posts_deleted": deleted,
                    "posts_kept_as_evidence": kept,
                    "dead_letters_deleted": letters,
                },
            )
    return report


class RetentionWorker(threading.Thread):
    """Runs the retention job in the service, once at start and then every ``interval``."""

    def __init__(
        self, sessions: sessionmaker[Session], days: float, interval: timedelta = timedelta(hours=1)
    ):
        super().__init__(name="signaal-retention", daemon=True)
        self._sessions = sessions
        self._days = days
        self._interval = interval
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                report = apply_retention(self._sessions, self._days, actor="signaal")
                if report.posts_deleted or report.dead_letters_deleted:
                    log.info("retention: %s", report)
            except Exception:  # the database may be restarting; try again next round
                log.exception("retention run failed")
            self._stopping.wait(self._interval.total_seconds())
