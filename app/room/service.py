"""The crisis room's use cases on top of storage: analysis drafts, advice from playbooks, measured effects,
the dossier. Routes and the ``signaal export`` command call these; they hold no state of their own.

Time: during a replay the stream's clock is years behind the wall clock, so everything that compares
actions with posts uses :meth:`Room.clock` — the newest post's time when the stream lags by more than
:data:`REPLAY_LAG`, else now.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.repository import PostQuery, Store
from app.db.room import Invalid, NotFound, RoomStore, case_subject, incident_subject
from app.playbooks import Lexicon, Playbook, PlaybookSet, Template
from app.room import analysis, effects
from app.room.models import (
    AdviseBody,
    AnalyseBody,
    ChecklistItem,
    CycleEntry,
    CycleStep,
    Dossier,
    DossierPost,
    Effect,
    EntryIn,
    IncidentDetail,
    SpreadPoint,
)
from streams.post import Post

REPLAY_LAG = timedelta(minutes=30)
STREAM_REFRESH = timedelta(minutes=1)  # how far measured effects may trail new posts (see Room.effects)
MAX_CACHED_INCIDENTS = 256
MAX_ANALYSED_POSTS = 20_000
VOLUME_BUCKET_MINUTES = 10
# Whom advice goes to, in the language of the checklist it comes with.
ADVICE_TO = {"nl": "burgemeester en crisisteam", "en": "mayor and crisis team"}


@dataclass(frozen=True)
class _CachedEffects:
    audit_seq: int
    stream: tuple[int, int]  # newest post and alert revision when measured
    measured_at: float  # Room._monotonic()
    effects: dict[str, Effect]

    def still_valid(self, audit_seq: int, stream: tuple[int, int], clock: datetime, now: float) -> bool:
        if audit_seq != self.audit_seq:
            return False
        if stream != self.stream and now - self.measured_at >= STREAM_REFRESH.total_seconds():
            return False
        return all(
            e.complete == (clock >= e.action_at + timedelta(minutes=e.window_minutes))
            for e in self.effects.values()
        )


class Room:
    def __init__(
        self,
        store: Store,
        room: RoomStore,
        playbooks: PlaybookSet,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.room = room
        self.playbooks = playbooks
        self._monotonic = monotonic
        self._effects_cache: dict[int, _CachedEffects] = {}
        self._effects_lock = threading.Lock()

    # --- time --------------------------------------------------------------------------------------------

    def clock(self) -> datetime:
        now = datetime.now(UTC)
        latest = self.store.latest_post_time()
        return latest if latest is not None and now - latest > REPLAY_LAG else now

    # --- incidents ---------------------------------------------------------------------------------------

    def detail(self, incident_id: int) -> IncidentDetail:
        incident = self.room.incident(incident_id)
        alerts = self.store.get_alerts(incident.alert_ids)
        cases = self.room.cases(incident.case_ids)  # a linked case that is gone is left out
        # A case merged into another linked case is inside that one already; listing both counts it twice.
        linked = {c.case_id for c in cases}
        cases = [c for c in cases if c.merged_into not in linked]
        return IncidentDetail(
            **incident.model_dump(), alerts=alerts, cases=cases, entries=self.room.entries(incident_id)
        )

    def playbook_for(self, incident_id: int) -> Playbook | None:
        """The incident's own playbook, else the one most of its alerts fall under."""
        detail = self.detail(incident_id)
        if detail.playbook:
            return self.playbooks.get(detail.playbook)
        votes = Counter(a.playbook for a in detail.alerts if a.playbook)
        return self.playbooks.get(votes.most_common(1)[0][0]) if votes else None

    def _posts_between(self, start: datetime, end: datetime, area: str | None) -> tuple[int, list[Post]]:
        """How many posts there are, and the newest MAX_ANALYSED_POSTS of them in time order: counts come
        from the first, shares and terms from the second."""
        total, posts = self.store.find_posts(
            PostQuery(since=start, until=end, area=area, limit=MAX_ANALYSED_POSTS)
        )
        return total, sorted(posts, key=lambda p: p.created_at)

    def analysis_draft(self, incident_id: int, hours: float = 2.0) -> AnalyseBody:
        detail = self.detail(incident_id)
        end = self.clock()
        start = end - timedelta(hours=hours)
        middle = end - (end - start) / 2
        earlier, _ = self.store.find_posts(PostQuery(since=start, until=middle, area=detail.area, limit=1))
        total, posts = self._posts_between(start, end + timedelta(microseconds=1), detail.area)  # the newest
        return analysis.snapshot(
            posts,
            detail.alerts,
            detail.cases,
            window=(start, end),
            escalation_terms=self.playbooks.lexicon(Lexicon.ESCALATION),
            counts=(earlier, total - earlier),
        )

    def advice_draft(self, incident_id: int, lang: str = "nl") -> AdviseBody:
        playbook = self.playbook_for(incident_id)
        to = ADVICE_TO.get(lang, AdviseBody().to)
        if playbook is None:
            return AdviseBody(to=to)
        items = [ChecklistItem(item=getattr(advice, lang)) for advice in playbook.advice]
        return AdviseBody(to=to, checklist=items, playbook=playbook.id)

    def templates(self, incident_id: int) -> list[Template]:
        playbook = self.playbook_for(incident_id)
        seen = {t.id for t in playbook.templates} if playbook else set()
        rest = [t for p in self.playbooks.playbooks for t in p.templates if t.id not in seen]
        return [*(playbook.templates if playbook else ()), *rest]

    def rumour_spread(self, case_ids: list[str]) -> list[SpreadPoint]:
        """Posts per bucket over the given cases; pass the incident's cases after merges (see detail)."""
        points: Counter[datetime] = Counter()
        for case_id in case_ids:
            try:
                for point in self.room.case_detail(case_id).spread:
                    points[point.start] += point.count
            except NotFound:
                continue
        return [SpreadPoint(start=s, count=n) for s, n in sorted(points.items())]

    def effect(self, entry: CycleEntry) -> Effect:
        if entry.step != CycleStep.ACT:
            raise Invalid("effects are measured for 'act' entries")
        incident = self.room.incident(entry.incident_id)
        at = entry.effective_at
        window = effects.WINDOW
        return effects.measure(
            at,
            self._posts_between(at - window, at, incident.area),
            self._posts_between(at, at + window, incident.area),
            self.rumour_spread([c.case_id for c in self.detail(entry.incident_id).cases]),
            self.clock(),
            window,
        )

    def effects(self, incident_id: int) -> dict[str, Effect]:
        """Each action's effect, measured again only when something it depends on changed.

        The incident page polls this every few seconds per viewer, and a measure reads two hours of the
        area's posts and every linked case. What can change an effect, and how the cache notices:

        - the room (actions and their edits, linked alerts and cases, case merges and splits, retention):
          every such change appends to the audit log, so the newest audit seq covers all of them, in every
          service instance sharing the database; it is exact;
        - the clock: only ``complete`` depends on it, so a cached effect is dropped once its hour after
          has passed;
        - the stream (new posts, new alert revisions that make the rumour spread): these arrive with every
          batch while an incident is live, so they count at most once per :data:`STREAM_REFRESH`. The
          numbers then trail the stream by up to a minute on a one-hour window.
        """
        marks = self.room.change_marks()
        stream = (marks.post_pk, marks.alert_revision_pk)
        clock = self.clock()
        with self._effects_lock:
            cached = self._effects_cache.get(incident_id)
        if cached is not None and cached.still_valid(marks.audit_seq, stream, clock, self._monotonic()):
            return dict(cached.effects)
        measured_at = self._monotonic()
        measured = {
            e.entry_id: self.effect(e) for e in self.room.entries(incident_id) if e.step == CycleStep.ACT
        }
        with self._effects_lock:
            # The marks were read before measuring: a change made meanwhile shows as a newer mark next time.
            self._effects_cache[incident_id] = _CachedEffects(marks.audit_seq, stream, measured_at, measured)
            while len(self._effects_cache) > MAX_CACHED_INCIDENTS:
                self._effects_cache.pop(next(iter(self._effects_cache)))
        return dict(measured)

    def add_entry(self, incident_id: int, entry: EntryIn, actor: str) -> CycleEntry:
        def measured(body: dict[str, Any]) -> dict[str, Any]:
            if entry.step != CycleStep.EVALUATE:
                return body
            action = self.room.entry(body["action_entry_id"])
            if action.incident_id != incident_id:
                raise Invalid("an evaluation measures an action of the same incident")
            return {**body, "effect": self.effect(action).model_dump(mode="json")}

        return self.room.add_entry(incident_id, entry, actor, self.clock(), body_fixup=measured)

    # --- the dossier -------------------------------------------------------------------------------------

    def dossier(self, incident_id: int, actor: str) -> Dossier:
        """Everything about one incident for its evaluation. Making it is itself audited."""
        self.room.record(actor, "exported", incident_subject(incident_id), {})
        detail = self.detail(incident_id)
        clock = self.clock()
        cases = [self.room.case_detail(c.case_id, clock) for c in detail.cases]
        revisions = [r for a in detail.alerts for r in self.store.alert_history(a.id)]
        entries = self.room.entries(incident_id, all_versions=True)

        times = [a.first_seen for a in detail.alerts] + [a.updated_at for a in detail.alerts]
        times += [e.effective_at for e in entries]
        window = (min(times), max(times)) if times else None

        volume: list[SpreadPoint] = []
        if window is not None:
            points, _ = self.store.volume(
                PostQuery(
                    since=window[0] - timedelta(hours=1),
                    until=window[1] + timedelta(hours=1),
                    area=detail.area,
                ),
                VOLUME_BUCKET_MINUTES * 60,
            )
            volume = [SpreadPoint(start=s, count=n) for s, n in points]

        keys = {e.key for a in detail.alerts for e in a.examples}
        keys |= {k for a in detail.alerts for k in a.member_ids}
        keys |= {k for c in cases for k in c.member_keys}
        posts = self.room.posts(keys)

        subjects = [incident_subject(incident_id)] + [case_subject(c.case_id) for c in cases]
        subjects += [case_subject(m) for c in cases for m in c.merged_from]
        return Dossier(
            generated_at=datetime.now(UTC),
            generated_by=actor,
            incident=self.room.incident(incident_id),
            window=window,
            alerts=detail.alerts,
            alert_revisions=revisions,
            cases=cases,
            entries=entries,
            volume=volume,
            volume_bucket_minutes=VOLUME_BUCKET_MINUTES,
            posts=[_dossier_post(p) for p in sorted(posts.values(), key=lambda p: (p.created_at, p.key))],
            audit=self.room.audit_for(subjects),
            audit_chain_ok=self.room.verify_audit().ok,
        )


def _dossier_post(post: Post) -> DossierPost:
    return DossierPost(
        key=post.key,
        created_at=post.created_at,
        author=post.author,
        text=post.text,
        area=post.area,
        lat=post.coordinates.lat if post.coordinates else None,
        lon=post.coordinates.lon if post.coordinates else None,
        url=post.url,
    )
