"""Reading and writing the crisis room's state: rumour cases, incidents, cycle entries, briefings.

Every change writes its trace to the audit log in the same transaction (:mod:`app.db.audit`), so the log
is the history of each case and incident. Cases and entries carry a version; a change made on a stale
version is refused with :class:`Conflict`, so two advisers never silently overwrite each other.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from app.db import audit
from app.db.repository import post_from_row
from app.db.tables import (
    AlertRevisionRow,
    AlertRow,
    AuditRow,
    CycleEntryRow,
    IncidentRow,
    PostRow,
    RumourCaseRow,
)
from app.pipeline.alerts import Alert, AlertKind, Example
from app.pipeline.signals import stance
from app.room.effects import spread_between
from app.room.models import (
    BODIES,
    SPREAD_BUCKET,
    TRANSITIONS,
    Answer,
    AnswerEffect,
    AnswerIn,
    AuditEntry,
    CaseStatus,
    CycleEntry,
    CycleStep,
    EntryEdit,
    EntryIn,
    FlagIn,
    Incident,
    IncidentIn,
    IncidentPatch,
    IncidentStatus,
    MapPoint,
    MergeIn,
    OwnerChange,
    RumourCase,
    RumourCaseDetail,
    SplitIn,
    SpreadPoint,
    StanceMix,
    StatusChange,
)
from streams.post import Post

SPREAD_MINUTES = int(SPREAD_BUCKET / timedelta(minutes=1))
EFFECT_MINUTES = 60
MAX_EXAMPLES = 5
VIEW_EVERY = timedelta(minutes=15)
MAX_VIEW_KEYS = 10_000
MAX_DETAIL_POSTS = 200  # member posts with their text in a case's detail, oldest first
SYSTEM = "signaal"  # the actor of changes the service makes by itself (auto-linking alerts)


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """The change was made on a stale version, or collides with someone else's work."""


class Invalid(ValueError):
    """The change is not allowed (e.g. a status transition the workflow does not have)."""


def audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def case_subject(case_id: str) -> str:
    return f"rumour:{case_id}"


def incident_subject(incident_id: int) -> str:
    return f"incident:{incident_id}"


def _split_key(key: str) -> tuple[str, str]:
    platform, _, post_id = key.partition(":")
    return platform, post_id


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    """Slices of an IN list, so a statement stays within the database's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _bucket(moment: datetime, minutes: int = SPREAD_MINUTES) -> datetime:
    seconds = minutes * 60
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


class ChangeMarks(NamedTuple):
    audit_seq: int  # every change in the crisis room (cases, incidents, entries, retention) is audited
    post_pk: int
    alert_revision_pk: int


class RoomStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._views: dict[tuple[str, str], datetime] = {}
        self._views_lock = threading.Lock()

    # --- writing with a trace ----------------------------------------------------------------------------

    def _write(self):  # type: ignore[no-untyped-def]
        """A transaction that may append to the audit log (holds the audit lock for its whole length)."""
        return audit.AuditedTransaction(self._sessions)

    # --- posts and alerts --------------------------------------------------------------------------------

    def _posts(self, session: Session, keys: Iterable[str]) -> dict[str, Post]:
        wanted = [_split_key(k) for k in dict.fromkeys(keys)]
        found: dict[str, Post] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            # (platform, post_id) together, so the lookup uses the unique index instead of a table scan.
            rows = session.scalars(
                select(PostRow).where(tuple_(PostRow.platform, PostRow.post_id).in_(chunk))
            )
            for row in rows:
                post = post_from_row(row)
                found[post.key] = post
        return found

    def posts(self, keys: Iterable[str]) -> dict[str, Post]:
        with self._sessions() as session:
            return self._posts(session, keys)

    @staticmethod
    def _alerts(session: Session, alert_ids: Iterable[str]) -> dict[str, Alert]:
        found: dict[str, Alert] = {}
        for chunk in _chunks(list(dict.fromkeys(alert_ids))):
            for row in session.scalars(select(AlertRow).where(AlertRow.alert_id.in_(chunk))):
                found[row.alert_id] = Alert.model_validate(row.body)
        return found

    @staticmethod
    def _alert(session: Session, alert_id: str | None) -> Alert | None:
        if alert_id is None:
            return None
        row = session.scalar(select(AlertRow).where(AlertRow.alert_id == alert_id))
        return Alert.model_validate(row.body) if row else None

    def source_rates(self, until: datetime, minutes: int = 10) -> dict[str, float]:
        """Posts per minute per platform over the ``minutes`` before ``until`` (event time)."""
        with self._sessions() as session:
            rows = session.execute(
                select(PostRow.platform, func.count())
                .where(PostRow.created_at >= until - timedelta(minutes=minutes), PostRow.created_at <= until)
                .group_by(PostRow.platform)
            ).all()
        return {str(platform): round(n / minutes, 2) for platform, n in rows}

    def change_marks(self) -> ChangeMarks:
        """The newest audit entry, stored post and alert revision: a change anywhere moves one of them."""
        with self._sessions() as session:
            audit_seq, post_pk, alert_revision_pk = session.execute(
                select(
                    select(func.max(AuditRow.seq)).scalar_subquery(),
                    select(func.max(PostRow.pk)).scalar_subquery(),
                    select(func.max(AlertRevisionRow.pk)).scalar_subquery(),
                )
            ).one()
        return ChangeMarks(int(audit_seq or 0), int(post_pk or 0), int(alert_revision_pk or 0))

    # --- rumour cases ------------------------------------------------------------------------------------

    def _case_row(self, session: Session, case_id: str) -> RumourCaseRow | None:
        return session.scalar(select(RumourCaseRow).where(RumourCaseRow.case_id == case_id))

    def _ensure_case_row(self, session: Session, case_id: str, actor: str) -> RumourCaseRow:
        """The workflow row of a case; a detector case gets one on its first human action."""
        row = self._case_row(session, case_id)
        if row is not None:
            return row
        alert = self._alert(session, case_id)
        if alert is None or alert.kind != AlertKind.RUMOUR:
            raise NotFound(f"no rumour case {case_id!r}")
        # Version 0: the case as shown before anyone touched it; the first change makes it 1.
        row = _new_case_row(case_id, alert_id=case_id, claim=None, keys=[], actor=actor, version=0)
        session.add(row)
        session.flush()
        return row

    def _build_case(self, session: Session, case_id: str, row: RumourCaseRow | None) -> RumourCase:
        built = self._build_cases(session, [case_id], {case_id: row} if row is not None else {})
        if case_id not in built:
            raise NotFound(f"no rumour case {case_id!r}")
        return built[case_id]

    def _build_cases(
        self, session: Session, case_ids: Sequence[str], rows: dict[str, RumourCaseRow] | None = None
    ) -> dict[str, RumourCase]:
        """The cases named, in that order; ids that are no case are left out. ``rows`` are the workflow rows
        the caller has already read (then none are looked up). Rows, merged cases, alerts and added posts are
        each read for all cases at once: the board and the incident page poll this, and one query per case
        made them slow down as cases piled up."""
        ids = list(dict.fromkeys(case_ids))
        if rows is None:
            rows = {}
            for chunk in _chunks(ids):
                query = select(RumourCaseRow).where(RumourCaseRow.case_id.in_(chunk))
                rows.update((r.case_id, r) for r in session.scalars(query))
        rows = {c: rows[c] for c in ids if c in rows}  # a caller may pass every row it has
        merged_into: dict[str, list[RumourCaseRow]] = {case_id: [] for case_id in ids}
        for chunk in _chunks(ids):
            for merged in session.scalars(
                select(RumourCaseRow).where(RumourCaseRow.merged_into.in_(chunk)).order_by(RumourCaseRow.pk)
            ):
                merged_into[str(merged.merged_into)].append(merged)
        alert_ids = [rows[c].alert_id if c in rows else c for c in ids]
        alert_ids += [m.alert_id for group in merged_into.values() for m in group]
        alerts = self._alerts(session, [a for a in alert_ids if a])
        all_rows = [*rows.values(), *(m for group in merged_into.values() for m in group)]
        posts = self._posts(session, [k for r in all_rows for k in r.added_keys])

        built: dict[str, RumourCase] = {}
        for case_id in ids:
            row = rows.get(case_id)
            alert_id = row.alert_id if row else case_id
            alert = alerts.get(alert_id) if alert_id else None
            if row is None and (alert is None or alert.kind != AlertKind.RUMOUR):
                continue
            parts = [(alert, row)] + [
                (alerts.get(m.alert_id) if m.alert_id else None, m) for m in merged_into[case_id]
            ]
            built[case_id] = _assemble_case(case_id, row, alert, parts, merged_into[case_id], posts)
        return built

    def list_cases(
        self,
        *,
        active: bool = False,
        status: CaseStatus | None = None,
        include_merged: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[RumourCase]]:
        """Cases, most recent activity first. ``active`` leaves out closed ones."""
        with self._sessions() as session:
            rows = {r.case_id: r for r in session.scalars(select(RumourCaseRow))}
            alerts = session.execute(
                select(AlertRow.alert_id, AlertRow.updated_at).where(AlertRow.kind == AlertKind.RUMOUR.value)
            ).all()
            activity: dict[str, datetime] = {alert_id: updated for alert_id, updated in alerts}
            for case_id, row in rows.items():
                activity[case_id] = max(activity.get(case_id, row.updated_at), row.updated_at)

            def keep(case_id: str) -> bool:
                row = rows.get(case_id)
                state = CaseStatus(row.status) if row else CaseStatus.NEW
                if row is not None and row.merged_into and not include_merged:
                    return False
                if active and state == CaseStatus.CLOSED:
                    return False
                return status is None or state == status

            ordered = sorted((c for c in activity if keep(c)), key=lambda c: (activity[c], c), reverse=True)
            page = ordered[offset : offset + limit]
            built = self._build_cases(session, page, rows)
            return len(ordered), [built[c] for c in page if c in built]

    def get_case(self, case_id: str) -> RumourCase:
        with self._sessions() as session:
            return self._build_case(session, case_id, self._case_row(session, case_id))

    def cases(self, case_ids: Sequence[str]) -> list[RumourCase]:
        """The named cases in that order, leaving out ids that are no (longer a) case."""
        with self._sessions() as session:
            built = self._build_cases(session, case_ids)
        return [built[c] for c in dict.fromkeys(case_ids) if c in built]

    def case_detail(self, case_id: str, clock: datetime | None = None) -> RumourCaseDetail:
        """Everything the board shows of one case; ``clock`` (stream time) says whether an answer's hour
        after has passed."""
        with self._sessions() as session:
            row = self._case_row(session, case_id)
            case = self._build_case(session, case_id, row)
            alert_ids = [case.alert_id] if case.alert_id else []
            merged = session.scalars(select(RumourCaseRow).where(RumourCaseRow.merged_into == case_id)).all()
            alert_ids += [r.alert_id for r in merged if r.alert_id]
            alerts = [a for a in (self._alert(session, i) for i in alert_ids) if a is not None]
            removed = {k for r in [row, *merged] if r for k in r.removed_keys}
            added = [k for r in [row, *merged] if r for k in r.added_keys if k not in removed]
            members = list(
                dict.fromkeys([k for a in alerts for k in a.member_ids if k not in removed] + added)
            )
            posts = self._posts(session, members)

            spread: Counter[datetime] = Counter()
            for alert in alerts:
                # Narrower detector buckets fold onto the board's grid; a wider one lands on its start.
                for start, n in alert.details.get("spread", {}).items():
                    spread[_bucket(datetime.fromisoformat(start))] += n
            for key in added:
                if key in posts:
                    spread[_bucket(posts[key].created_at)] += 1
            for post in self._posts(
                session, [k for a in alerts for k in a.member_ids if k in removed]
            ).values():
                spread[_bucket(post.created_at)] -= 1  # split off: no longer this case's spread

            subjects = [case_subject(case_id)] + [case_subject(r.case_id) for r in merged]
            # The case's own history is what was done to it; who looked is in the audit trail (and dossier).
            history = [
                audit_entry(r)
                for r in session.scalars(
                    select(AuditRow)
                    .where(AuditRow.subject.in_(subjects), AuditRow.action.not_in(("viewed", "note")))
                    .order_by(AuditRow.seq)
                )
            ]
        effect = None
        if case.answer is not None:
            effect = _answer_effect(case.answer.published_at, spread, posts.values(), clock)
        return RumourCaseDetail(
            **case.model_dump(),
            member_keys=members,
            spread=[SpreadPoint(start=s, count=max(n, 0)) for s, n in sorted(spread.items())],
            areas=dict(Counter(p.area for p in posts.values() if p.area).most_common()),
            points=[
                MapPoint(
                    key=p.key,
                    lat=p.coordinates.lat,
                    lon=p.coordinates.lon,
                    area=p.area,
                    created_at=p.created_at,
                )
                for p in posts.values()
                if p.coordinates is not None
            ],
            posts=[
                Example.of(p) for p in sorted(posts.values(), key=lambda p: p.created_at)[:MAX_DETAIL_POSTS]
            ],
            notes=self.audit_for(subjects, actions=("note",)),
            history=history,
            effect=effect,
        )

    def _changed(  # type: ignore[no-untyped-def]
        self, case_id: str, actor: str, version: int | None, action: str, detail: dict[str, Any], change
    ) -> RumourCase:
        """Apply ``change(session, row)`` to a case under the audit lock, check its version, trace it."""
        with self._write() as session:
            row = self._ensure_case_row(session, case_id, actor)
            if version is not None and version != row.version:
                raise Conflict(f"case {case_id!r} changed since version {version} (now {row.version})")
            extra = change(session, row) or {}
            row.version += 1
            row.updated_at = datetime.now(UTC)
            audit.append(session, actor, action, case_subject(case_id), {**detail, **extra})
            session.flush()
            return self._build_case(session, case_id, row)

    def change_status(self, case_id: str, change: StatusChange, actor: str) -> RumourCase:
        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            current = CaseStatus(row.status)
            if change.status == current:
                raise Invalid(f"case is already {current}")
            if change.status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current]))
                raise Invalid(f"a {current} case can go to {allowed}, not {change.status}")
            if change.status == CaseStatus.ANSWERED and not row.answer:
                raise Invalid("record the answer to mark a case answered")
            row.status = change.status.value
            return {"from": current.value}

        detail = {"to": change.status.value, "reason": change.reason}
        return self._changed(case_id, actor, change.version, "status", detail, apply)

    def change_owner(self, case_id: str, change: OwnerChange, actor: str) -> RumourCase:
        new_owner = actor if change.owner == "me" else change.owner

        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            previous = row.owner
            # Taking over or releasing someone else's case is done explicitly (force), after talking.
            if previous and previous != new_owner and previous != actor and not change.force:
                raise Conflict(f"{previous} is on this case; take it over explicitly (force) after talking")
            row.owner = new_owner
            return {"from": previous}

        return self._changed(case_id, actor, change.version, "owner", {"to": new_owner}, apply)

    def add_note(self, case_id: str, text: str, actor: str) -> RumourCase:
        return self._changed(case_id, actor, None, "note", {"text": text}, lambda s, r: None)

    def merge(self, case_id: str, merge: MergeIn, actor: str) -> RumourCase:
        if merge.other == case_id:
            raise Invalid("a case cannot be merged into itself")

        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            if row.merged_into:
                raise Invalid(f"this case is merged into {row.merged_into}; merge into that one")
            other = self._ensure_case_row(session, merge.other, actor)
            if other.merged_into:
                raise Invalid(f"{merge.other} is already merged into {other.merged_into}")
            # Cases merged into the other one move along, so merges never chain.
            for child in session.scalars(
                select(RumourCaseRow).where(RumourCaseRow.merged_into == other.case_id)
            ):
                child.merged_into = case_id
            other.merged_into = case_id
            other.version += 1
            other.updated_at = datetime.now(UTC)
            audit.append(session, actor, "merged", case_subject(other.case_id), {"into": case_id})
            return {}

        return self._changed(case_id, actor, merge.version, "merge", {"other": merge.other}, apply)

    def split(self, case_id: str, split: SplitIn, actor: str) -> RumourCase:
        """Move posts out of a case into a new case of their own; returns the new case."""
        new_id = f"manual:{uuid.uuid4().hex[:12]}"

        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            parts = [row, *session.scalars(select(RumourCaseRow).where(RumourCaseRow.merged_into == case_id))]
            alerts = [self._alert(session, part.alert_id) for part in parts]
            for key in split.post_keys:
                # Out of the part of the case that holds it (a merged case's post leaves that case).
                for part, alert in zip(parts, alerts, strict=True):
                    if key in part.added_keys:
                        part.added_keys = [k for k in part.added_keys if k != key]
                    elif alert is not None and key in alert.member_ids and key not in part.removed_keys:
                        part.removed_keys = sorted({*part.removed_keys, key})
                    else:
                        continue
                    if part is not row:
                        part.version += 1
                    break
                else:
                    # Splitting another case's post off this one made it count in both.
                    raise Invalid(f"{key} is not in this case; split it off the case that holds it")
            self._new_manual_case(
                session, new_id, split.post_keys, split.claim, actor, {"split_from": case_id}
            )
            return {"new_case": new_id}

        self._changed(case_id, actor, split.version, "split", {"post_keys": split.post_keys}, apply)
        return self.get_case(new_id)

    def _new_manual_case(
        self,
        session: Session,
        case_id: str,
        keys: list[str],
        claim: str | None,
        actor: str,
        why: dict[str, Any],
    ) -> RumourCaseRow:
        found = self._posts(session, keys)
        missing = [k for k in keys if k not in found]
        if missing:
            raise NotFound(f"no stored post {missing[0]!r}")
        row = _new_case_row(case_id, alert_id=None, claim=claim, keys=keys, actor=actor, version=1)
        session.add(row)
        session.flush()
        audit.append(
            session, actor, "opened", case_subject(case_id), {"post_keys": keys, "claim": claim, **why}
        )
        return row

    def flag(self, flag: FlagIn, actor: str) -> RumourCase:
        """Flag a post as a rumour by hand: a new case, or one more post in an existing case."""
        if flag.case_id is None:
            case_id = f"manual:{uuid.uuid4().hex[:12]}"
            with self._write() as session:
                self._new_manual_case(session, case_id, [flag.post_key], flag.claim, actor, {"flagged": True})
            return self.get_case(case_id)

        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            if not self._posts(session, [flag.post_key]):
                raise NotFound(f"no stored post {flag.post_key!r}")
            alert = self._alert(session, row.alert_id)
            detector_member = alert is not None and flag.post_key in alert.member_ids
            if flag.post_key in row.removed_keys:  # split off earlier: it comes back
                row.removed_keys = [k for k in row.removed_keys if k != flag.post_key]
                if not detector_member:  # a post added by hand was dropped from added_keys by the split
                    row.added_keys = [*row.added_keys, flag.post_key]
            elif flag.post_key in row.added_keys or detector_member:
                raise Invalid(f"{flag.post_key} is already in this case")
            else:
                row.added_keys = [*row.added_keys, flag.post_key]
            # A post is in one case at a time: another case that holds it by hand (the one it was split
            # into, say) lets it go, or it would count in both.
            moved_from = []
            for other in session.scalars(select(RumourCaseRow).where(RumourCaseRow.case_id != row.case_id)):
                if flag.post_key in other.added_keys and other.merged_into != row.case_id:
                    other.added_keys = [k for k in other.added_keys if k != flag.post_key]
                    other.version += 1
                    moved_from.append(other.case_id)
            return {"moved_from": moved_from} if moved_from else {}

        return self._changed(flag.case_id, actor, None, "flag", {"post_key": flag.post_key}, apply)

    def answer(self, case_id: str, answer: AnswerIn, actor: str, clock: datetime) -> RumourCase:
        """Record the official answer; the case becomes 'answered' (from a verdict, or directly)."""
        if answer.incident_id is not None:
            self.incident(answer.incident_id)  # refuse (404) before anything is written
        record = Answer(
            text=answer.text,
            channel=answer.channel,
            url=answer.url,
            published_at=answer.published_at or clock,
            by=actor,
            recorded_at=datetime.now(UTC),
        )

        def apply(session: Session, row: RumourCaseRow) -> dict[str, Any]:
            previous = CaseStatus(row.status)
            if previous == CaseStatus.CLOSED:
                raise Invalid("the case is closed; reopen it (checking) before answering")
            row.answer = record.model_dump(mode="json")
            row.status = CaseStatus.ANSWERED.value
            return {"from": previous.value}

        detail = record.model_dump(mode="json")
        case = self._changed(case_id, actor, answer.version, "answer", detail, apply)
        if answer.incident_id is not None:
            body = {
                "channel": answer.channel.value,
                "message": answer.text,
                "url": answer.url,
                "case_id": case_id,
            }
            self.add_entry(
                answer.incident_id,
                EntryIn(step=CycleStep.ACT, body=body, effective_at=record.published_at),
                actor,
                clock,
            )
        return case

    # --- incidents ---------------------------------------------------------------------------------------

    @staticmethod
    def _incident(row: IncidentRow) -> Incident:
        return Incident(
            incident_id=row.incident_id,
            title=row.title,
            area=row.area,
            playbook=row.playbook,
            status=IncidentStatus(row.status),
            auto_link=row.auto_link,
            alert_ids=list(row.alert_ids),
            case_ids=list(row.case_ids),
            opened_at=row.opened_at,
            opened_by=row.opened_by,
            closed_at=row.closed_at,
        )

    def _incident_row(self, session: Session, incident_id: int) -> IncidentRow:
        row = session.get(IncidentRow, incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        return row

    def open_incident(self, new: IncidentIn, actor: str) -> Incident:
        with self._write() as session:
            row = IncidentRow(
                title=new.title,
                area=new.area,
                playbook=new.playbook,
                status=IncidentStatus.OPEN.value,
                auto_link=new.auto_link,
                alert_ids=list(dict.fromkeys(new.alert_ids)),
                case_ids=list(dict.fromkeys(new.case_ids)),
                opened_at=datetime.now(UTC),
                opened_by=actor,
                closed_at=None,
            )
            session.add(row)
            session.flush()
            audit.append(
                session, actor, "opened", incident_subject(row.incident_id), new.model_dump(mode="json")
            )
            return self._incident(row)

    def incidents(self) -> list[Incident]:
        with self._sessions() as session:
            counts = dict(
                session.execute(
                    select(
                        CycleEntryRow.incident_id, func.count(func.distinct(CycleEntryRow.entry_id))
                    ).group_by(CycleEntryRow.incident_id)
                ).all()
            )
            rows = session.scalars(select(IncidentRow).order_by(IncidentRow.incident_id.desc()))
            return [
                self._incident(r).model_copy(update={"entry_count": int(counts.get(r.incident_id, 0))})
                for r in rows
            ]

    def incident(self, incident_id: int) -> Incident:
        with self._sessions() as session:
            return self._incident(self._incident_row(session, incident_id))

    def patch_incident(self, incident_id: int, patch: IncidentPatch, actor: str) -> Incident:
        with self._write() as session:
            row = self._incident_row(session, incident_id)
            detail = patch.model_dump(mode="json", exclude_defaults=True)
            if patch.title is not None:
                row.title = patch.title
            if patch.auto_link is not None:
                row.auto_link = patch.auto_link
            if patch.status is not None and patch.status.value != row.status:
                row.status = patch.status.value
                row.closed_at = datetime.now(UTC) if patch.status == IncidentStatus.CLOSED else None
            alerts = [a for a in row.alert_ids if a not in set(patch.unlink_alerts)]
            row.alert_ids = list(dict.fromkeys(alerts + patch.link_alerts))
            cases = [c for c in row.case_ids if c not in set(patch.unlink_cases)]
            row.case_ids = list(dict.fromkeys(cases + patch.link_cases))
            audit.append(session, actor, "changed", incident_subject(incident_id), detail)
            return self._incident(row)

    @staticmethod
    def _alert_span(session: Session, alert_ids: list[str]) -> tuple[datetime, datetime] | None:
        """From the first post to the last update of an incident's alerts, in event time."""
        firsts, lasts = [], []
        for chunk in _chunks(alert_ids):
            first, last = session.execute(
                select(func.min(AlertRow.first_seen), func.max(AlertRow.updated_at)).where(
                    AlertRow.alert_id.in_(chunk)
                )
            ).one()
            if first is not None and last is not None:
                firsts.append(first)
                lasts.append(last)
        return (min(firsts), max(lasts)) if firsts else None

    @classmethod
    def _collected(cls, session: Session, row: IncidentRow, alerts: Sequence[Alert]) -> list[Alert]:
        """The alerts an open incident takes: in its area, not linked yet, and near its own in time."""
        linked = set(row.alert_ids)
        candidates = [a for a in alerts if (row.area is None or a.area == row.area) and a.id not in linked]
        if not candidates:
            return []
        span = cls._alert_span(session, row.alert_ids)
        return [a for a in candidates if _near(a, span)]

    def auto_link(self, alerts: Sequence[Alert]) -> list[int]:
        """Link new alerts (and rumour cases) to the open incidents collecting them; returns those changed."""
        changed: list[int] = []
        with self._sessions() as session:
            open_rows = session.scalars(
                select(IncidentRow).where(
                    IncidentRow.status == IncidentStatus.OPEN.value, IncidentRow.auto_link
                )
            ).all()
            wanted = {row.incident_id: self._collected(session, row, alerts) for row in open_rows}
        if not any(wanted.values()):
            return changed
        with self._write() as session:
            for incident_id, new in wanted.items():
                if not new:
                    continue
                row = self._incident_row(session, incident_id)
                if row.status != IncidentStatus.OPEN.value or not row.auto_link:
                    continue  # closed, or switched to linking by hand, since it was read without the lock
                ids = [a.id for a in new if a.id not in set(row.alert_ids)]
                if not ids:
                    continue
                row.alert_ids = [*row.alert_ids, *ids]
                cases = [a.id for a in new if a.kind == AlertKind.RUMOUR and a.id not in set(row.case_ids)]
                row.case_ids = [*row.case_ids, *cases]
                audit.append(session, SYSTEM, "linked", incident_subject(incident_id), {"alerts": ids})
                changed.append(incident_id)
        return changed

    # --- cycle entries -----------------------------------------------------------------------------------

    @staticmethod
    def _entry(row: CycleEntryRow) -> CycleEntry:
        return CycleEntry(
            entry_id=row.entry_id,
            incident_id=row.incident_id,
            step=CycleStep(row.step),
            version=row.version,
            author=row.author,
            written_at=row.written_at,
            effective_at=row.effective_at,
            body=row.body,
        )

    @staticmethod
    def _validated(step: CycleStep, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return BODIES[step].model_validate(body).model_dump(mode="json")
        except ValidationError as error:
            raise Invalid(f"{step} entry: {error.errors()[0]['loc']}: {error.errors()[0]['msg']}") from error

    def add_entry(  # type: ignore[no-untyped-def]
        self, incident_id: int, entry: EntryIn, actor: str, clock: datetime, body_fixup=None
    ) -> CycleEntry:
        body = self._validated(entry.step, entry.body)
        if body_fixup is not None:
            body = body_fixup(body)
        with self._write() as session:
            self._incident_row(session, incident_id)
            row = CycleEntryRow(
                entry_id=uuid.uuid4().hex[:16],
                version=1,
                incident_id=incident_id,
                step=entry.step.value,
                author=actor,
                written_at=datetime.now(UTC),
                effective_at=entry.effective_at or clock,
                body=body,
            )
            session.add(row)
            session.flush()
            detail = {"entry_id": row.entry_id, "step": row.step, "version": 1}
            audit.append(session, actor, "entry", incident_subject(incident_id), detail)
            return self._entry(row)

    def edit_entry(self, entry_id: str, edit: EntryEdit, actor: str) -> CycleEntry:
        with self._write() as session:
            latest = session.scalar(
                select(CycleEntryRow)
                .where(CycleEntryRow.entry_id == entry_id)
                .order_by(CycleEntryRow.version.desc())
            )
            if latest is None:
                raise NotFound(f"no entry {entry_id!r}")
            if edit.version != latest.version:
                raise Conflict(f"entry {entry_id} is at version {latest.version}, not {edit.version}")
            row = CycleEntryRow(
                entry_id=entry_id,
                version=latest.version + 1,
                incident_id=latest.incident_id,
                step=latest.step,
                author=actor,
                written_at=datetime.now(UTC),
                effective_at=latest.effective_at,
                body=self._validated(CycleStep(latest.step), edit.body),
            )
            session.add(row)
            session.flush()
            detail = {"entry_id": entry_id, "step": row.step, "version": row.version}
            audit.append(session, actor, "entry edited", incident_subject(latest.incident_id), detail)
            return self._entry(row)

    def entry(self, entry_id: str) -> CycleEntry:
        versions = self.entry_versions(entry_id)
        if not versions:
            raise NotFound(f"no entry {entry_id!r}")
        return versions[-1]

    def entry_versions(self, entry_id: str) -> list[CycleEntry]:
        with self._sessions() as session:
            rows = session.scalars(
                select(CycleEntryRow)
                .where(CycleEntryRow.entry_id == entry_id)
                .order_by(CycleEntryRow.version)
            )
            return [self._entry(r) for r in rows]

    def entries(self, incident_id: int, *, all_versions: bool = False) -> list[CycleEntry]:
        """The incident's entries in event-time order: the latest version of each, or every version."""
        with self._sessions() as session:
            rows = session.scalars(
                select(CycleEntryRow)
                .where(CycleEntryRow.incident_id == incident_id)
                .order_by(CycleEntryRow.effective_at, CycleEntryRow.pk)
            ).all()
        if all_versions:
            return [self._entry(r) for r in rows]
        latest: dict[str, CycleEntryRow] = {}
        for row in rows:
            if row.entry_id not in latest or row.version > latest[row.entry_id].version:
                latest[row.entry_id] = row
        return [self._entry(r) for r in sorted(latest.values(), key=lambda r: (r.effective_at, r.pk))]

    # --- audit and briefings -----------------------------------------------------------------------------

    def audit_for(
        self,
        subjects: Iterable[str] | None = None,
        since: datetime | None = None,
        actions: Iterable[str] | None = None,
        leave_out: Iterable[str] = (),
    ) -> list[AuditEntry]:
        with self._sessions() as session:
            query = select(AuditRow).order_by(AuditRow.seq)
            if actions is not None:
                query = query.where(AuditRow.action.in_(list(actions)))
            if leave_out:
                query = query.where(AuditRow.action.not_in(list(leave_out)))
            if subjects is not None:
                query = query.where(AuditRow.subject.in_(list(subjects)))
            if since is not None:
                query = query.where(AuditRow.at >= since)
            return [audit_entry(r) for r in session.scalars(query)]

    def verify_audit(self) -> audit.Verification:
        with self._sessions() as session:
            return audit.verify(session.scalars(select(AuditRow).order_by(AuditRow.seq)).all())

    def record_view(self, actor: str, subject: str, every: timedelta = VIEW_EVERY) -> None:
        """Trace that someone looked at a case or an incident, once per ``every`` per person and subject:
        pages refresh every few seconds, and the trail should say who saw what, not count refreshes."""
        now = datetime.now(UTC)
        key = (actor, subject)
        with self._views_lock:
            last = self._views.get(key)
            if last is not None and now - last < every:
                return
            self._views[key] = now
            while len(self._views) > MAX_VIEW_KEYS:
                self._views.pop(next(iter(self._views)))
        self.record(actor, "viewed", subject)

    def record(
        self, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
    ) -> AuditEntry:
        """Trace an action that changes nothing stored (an export, a briefing mark)."""
        with self._write() as session:
            return audit_entry(audit.append(session, actor, action, subject, detail))

    def briefing(self) -> AuditEntry | None:
        with self._sessions() as session:
            row = session.scalar(
                select(AuditRow)
                .where(AuditRow.subject == "room", AuditRow.action == "briefing")
                .order_by(AuditRow.seq.desc())
                .limit(1)
            )
            return audit_entry(row) if row else None

    def alerts_since(self, since: datetime) -> tuple[list[Alert], list[Alert]]:
        """Alerts first stored at or after ``since`` (wall time), and older alerts revised since."""
        with self._sessions() as session:
            rows = session.execute(
                select(AlertRevisionRow.alert_id, func.min(AlertRevisionRow.revision))
                .where(AlertRevisionRow.stored_at >= since)
                .group_by(AlertRevisionRow.alert_id)
            ).all()
            new: list[Alert] = []
            updated: list[Alert] = []
            for alert_id, first_revision in rows:
                alert = self._alert(session, alert_id)
                if alert is None:
                    continue
                (new if first_revision == 1 else updated).append(alert)
        key = lambda a: a.updated_at  # noqa: E731
        return sorted(new, key=key, reverse=True), sorted(updated, key=key, reverse=True)

    def entries_since(self, since: datetime) -> list[CycleEntry]:
        with self._sessions() as session:
            rows = session.scalars(
                select(CycleEntryRow)
                .where(CycleEntryRow.written_at >= since)
                .order_by(CycleEntryRow.written_at)
            )
            return [self._entry(r) for r in rows]


def _assemble_case(
    case_id: str,
    row: RumourCaseRow | None,
    alert: Alert | None,
    parts: list[tuple[Alert | None, RumourCaseRow | None]],
    merged_rows: list[RumourCaseRow],
    posts: dict[str, Post],
) -> RumourCase:
    """One case from what :meth:`RoomStore._build_cases` read: its own and its merged cases' alerts and rows,
    and the posts added by hand (``posts`` may hold other cases' posts too)."""
    # Each part's removals apply to its own posts only: a post split off case A into case C and C merged back
    # into A is A's again through C, and A's removal must not hide it.
    added = {k for _, r in parts if r for k in r.added_keys if k not in r.removed_keys}
    # In the order the posts were read, as when each case looked up its own added posts.
    added_posts = {k: p for k, p in posts.items() if k in added}

    post_count = 0
    stance_mix: Counter[str] = Counter()
    examples: list[Example] = []
    firsts: list[datetime] = []
    lasts: list[datetime] = []
    severity = None
    area = None
    for part_alert, part_row in parts:
        if part_alert is None:
            continue
        removed = set(part_row.removed_keys) if part_row else set()
        post_count += part_alert.post_count - len(removed.intersection(part_alert.member_ids))
        stance_mix.update(part_alert.details.get("stance", {}))
        examples.extend(e for e in part_alert.examples if e.key not in removed)
        firsts.append(part_alert.first_seen)
        lasts.append(part_alert.updated_at)
        if severity is None or part_alert.severity.rank > severity.rank:
            severity = part_alert.severity
        area = area or part_alert.area
    for post in added_posts.values():
        post_count += 1
        stance_mix[stance(post.text)] += 1
        examples.append(Example.of(post))
        firsts.append(post.created_at)
        lasts.append(post.created_at)
        area = area or post.area

    claim = (row.claim if row else None) or (alert.title if alert else None)
    if claim is None:
        claim = examples[0].text[:200] if examples else "(no posts)"
    return RumourCase(
        case_id=case_id,
        origin="detector" if (row is None or row.alert_id) else "manual",
        alert_id=alert.id if alert else None,
        claim=claim,
        status=CaseStatus(row.status) if row else CaseStatus.NEW,
        owner=row.owner if row else None,
        severity=severity,
        area=area,
        first_seen=min(firsts) if firsts else None,
        updated_at=max(lasts) if lasts else None,
        post_count=max(post_count, 0),
        stance=StanceMix(**{k: v for k, v in stance_mix.items() if k in StanceMix.model_fields}),
        examples=list({e.key: e for e in reversed(examples)}.values())[::-1][:MAX_EXAMPLES],
        merged_into=row.merged_into if row else None,
        merged_from=[r.case_id for r in merged_rows],
        answer=Answer.model_validate(row.answer) if row and row.answer else None,
        version=row.version if row else 0,
    )


def _new_case_row(
    case_id: str, *, alert_id: str | None, claim: str | None, keys: list[str], actor: str, version: int
) -> RumourCaseRow:
    now = datetime.now(UTC)
    return RumourCaseRow(
        case_id=case_id,
        alert_id=alert_id,
        claim=claim,
        status=CaseStatus.NEW.value,
        owner=None,
        merged_into=None,
        added_keys=list(dict.fromkeys(keys)),
        removed_keys=[],
        answer=None,
        created_at=now,
        created_by=actor,
        updated_at=now,
        version=version,
    )


# An incident collects alerts active within this long of its own alerts (event time): a replay of another
# year's posts, or a new incident weeks later, is not part of it. A coordinator can still link by hand.
LINK_GAP = timedelta(days=2)


def _near(alert: Alert, span: tuple[datetime, datetime] | None) -> bool:
    if span is None:  # the first alert sets the incident's time
        return True
    first, last = span
    return alert.updated_at >= first - LINK_GAP and alert.first_seen <= last + LINK_GAP


def _answer_effect(
    at: datetime, spread: Counter[datetime], posts: Iterable[Post], clock: datetime | None
) -> AnswerEffect:
    window = timedelta(minutes=EFFECT_MINUTES)
    points = [SpreadPoint(start=s, count=max(n, 0)) for s, n in spread.items()]
    before = spread_between(points, at - window, at)
    after = spread_between(points, at, at + window)
    denials = [p.created_at for p in posts if stance(p.text) == "deny"]
    return AnswerEffect(
        window_minutes=EFFECT_MINUTES,
        before=max(before, 0),
        after=max(after, 0),
        denials_before=sum(at - window <= t < at for t in denials),
        denials_after=sum(at <= t < at + window for t in denials),
        complete=clock is not None and clock >= at + window,
    )
