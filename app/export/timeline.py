"""What happened, in order: one list of events every export format draws from.

The timeline is ordered by event time where the dossier has it (alerts, cases, answers, cycle entries), so a
replayed incident reads in the order the posts were written. Status changes and notes only carry the wall
clock of when they were recorded; they are marked ``basis="recorded"`` so a reader of a replay knows why
they sort after the stream's events. In a live incident both clocks are the same.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from app.room.models import (
    BODIES,
    ActBody,
    AdviseBody,
    AnalyseBody,
    AuditEntry,
    CycleEntry,
    CycleStep,
    Dossier,
    Effect,
    EvaluateBody,
    Goal,
    RumourCaseDetail,
)

# The Dutch terms staff use, shown next to the English ones.
STEP_LABELS: dict[CycleStep, str] = {
    CycleStep.ANALYSE: "Analysis (omgevingsanalyse)",
    CycleStep.ADVISE: "Advice (advies)",
    CycleStep.ACT: "Action (communicatie-actie)",
    CycleStep.EVALUATE: "Evaluation (evaluatie)",
}
GOAL_LABELS: dict[Goal, str] = {
    Goal.INFORMATION_NEED: "Information need (informatievoorziening)",
    Goal.DAMAGE_LIMITATION: "Damage limitation (schadebeperking)",
    Goal.SENSE_MAKING: "Sense-making (betekenisgeving)",
}


@dataclass(frozen=True)
class Event:
    at: datetime
    basis: str  # "event" (stream time) or "recorded" (wall clock of the recording)
    kind: str  # alert, rumour, case-status, note, answer, analyse, advise, act, evaluate, incident
    who: str
    what: str
    ref: str  # the alert id, case id or entry id this is about


def parse_body(entry: CycleEntry) -> BaseModel | None:
    """The entry's body as its typed model, or None when it no longer validates (an older schema)."""
    try:
        return BODIES[entry.step].model_validate(entry.body)
    except ValidationError:
        return None


def latest_entries(entries: list[CycleEntry]) -> list[CycleEntry]:
    """The latest version of each entry, in event-time order (the dossier holds every version)."""
    latest: dict[str, CycleEntry] = {}
    for entry in entries:
        known = latest.get(entry.entry_id)
        if known is None or entry.version > known.version:
            latest[entry.entry_id] = entry
    return sorted(latest.values(), key=lambda e: (e.effective_at, e.written_at, e.entry_id))


def versions_by_entry(entries: list[CycleEntry]) -> dict[str, list[CycleEntry]]:
    grouped: dict[str, list[CycleEntry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.entry_id].append(entry)
    for versions in grouped.values():
        versions.sort(key=lambda e: e.version)
    return dict(grouped)


def shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def effect_line(effect: Effect) -> str:
    line = (
        f"{effect.window_minutes} min before/after: posts {effect.posts_before} → {effect.posts_after}, "
        f"rumour posts {effect.rumour_posts_before} → {effect.rumour_posts_after}"
    )
    if effect.question_share_before is not None and effect.question_share_after is not None:
        line += f", questions {effect.question_share_before:.0%} → {effect.question_share_after:.0%}"
    if not effect.complete:
        line += " (hour after not yet complete)"
    return line


def entry_summary(entry: CycleEntry, limit: int = 200) -> str:
    """One line on what the entry says, for timelines and tables."""
    body = parse_body(entry)
    if isinstance(body, AnalyseBody):
        findings = sum(len(items) for items in body.goals.values())
        head = body.summary or "Environment analysis"
        return shorten(f"{head} ({findings} finding{'s' if findings != 1 else ''})", limit)
    if isinstance(body, AdviseBody):
        done = sum(item.done for item in body.checklist)
        tail = f" [checklist {done}/{len(body.checklist)}]" if body.checklist else ""
        return shorten(f"To {body.to}: {body.advice}", limit - len(tail)) + tail
    if isinstance(body, ActBody):
        case = f" (answers {body.case_id})" if body.case_id else ""
        return shorten(f"Via {body.channel.value}{case}: {body.message}", limit)
    if isinstance(body, EvaluateBody):
        measured = effect_line(body.effect) if body.effect else "effect not measured"
        comment = f" — {body.comment}" if body.comment else ""
        return shorten(f"Effect of {body.action_entry_id}: {measured}{comment}", limit)
    return shorten(json.dumps(entry.body, ensure_ascii=False, default=str), limit)


def detail_text(detail: dict[str, Any]) -> str:
    """An audit entry's detail as ``key: value`` pairs (the keys are the service's, values anyone's)."""
    parts = []
    for key, value in detail.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def _audit_event(kind: str, entry: AuditEntry, ref: str, prefix: str = "") -> Event:
    what = entry.action + (f" — {detail_text(entry.detail)}" if entry.detail else "")
    return Event(entry.at, "recorded", kind, entry.actor, shorten(prefix + what, 300), ref)


def build_timeline(dossier: Dossier) -> list[Event]:
    events: list[Event] = []
    incident = dossier.incident
    events.append(
        Event(
            incident.opened_at,
            "recorded",
            "incident",
            incident.opened_by,
            f"Incident opened: {incident.title}",
            str(incident.incident_id),
        )
    )
    if incident.closed_at is not None:
        events.append(
            Event(
                incident.closed_at, "recorded", "incident", "", "Incident closed", str(incident.incident_id)
            )
        )
    for alert in dossier.alerts:
        revisions = [r for r in dossier.alert_revisions if r.id == alert.id]
        tail = f"; {len(revisions)} revisions" if len(revisions) > 1 else ""
        events.append(
            Event(
                alert.detected_at or alert.first_seen,
                "event",
                "alert",
                f"detector ({alert.kind.value})",
                f"{alert.severity.value.upper()} {alert.kind.value} alert: {alert.title} "
                f"({plural(alert.post_count, 'post')}{tail})",
                alert.id,
            )
        )
    for case in dossier.cases:
        opened = case.first_seen or (case.history[0].at if case.history else None)
        if opened is not None:
            who = "detector" if case.origin == "detector" else "staff"
            if case.origin == "manual" and case.history:
                who = case.history[0].actor
            events.append(
                Event(
                    opened,
                    "event" if case.first_seen else "recorded",
                    "rumour",
                    who,
                    shorten(f"Rumour case opened: “{case.claim}” ({plural(case.post_count, 'post')})", 300),
                    case.case_id,
                )
            )
        events.extend(_audit_event("case-status", h, case.case_id) for h in case.history)
        events.extend(_audit_event("note", n, case.case_id, "Note: ") for n in case.notes)
        if case.answer is not None:
            answer = case.answer
            events.append(
                Event(
                    answer.published_at,
                    "event",
                    "answer",
                    answer.by,
                    shorten(f"Answer via {answer.channel.value}: {answer.text}", 300),
                    case.case_id,
                )
            )
    versions = versions_by_entry(dossier.entries)
    for entry in latest_entries(dossier.entries):
        edits = versions[entry.entry_id]
        edited = f" [edited: {len(edits)} versions]" if len(edits) > 1 else ""
        events.append(
            Event(
                entry.effective_at,
                "event",
                entry.step.value,
                entry.author,
                entry_summary(entry, 280) + edited,
                entry.entry_id,
            )
        )
    # Stable: equal times keep the order above (incident, alerts, cases, entries).
    events.sort(key=lambda e: e.at)
    return events


def decisions(dossier: Dossier) -> list[Event]:
    """Who decided what and when: advice given, actions taken and verdicts on rumours."""
    chosen = [e for e in build_timeline(dossier) if e.kind in ("advise", "act", "answer")]
    for case in dossier.cases:
        for h in case.history:
            status = h.detail.get("status") or h.detail.get("to")
            if status in ("confirmed", "denied", "unfounded", "closed"):
                chosen.append(
                    Event(
                        h.at,
                        "recorded",
                        "verdict",
                        h.actor,
                        shorten(
                            f"Rumour “{case.claim}” marked {status}"
                            + (f": {h.detail['reason']}" if h.detail.get("reason") else ""),
                            300,
                        ),
                        case.case_id,
                    )
                )
    chosen.sort(key=lambda e: e.at)
    return chosen


# --- clock time for people ---------------------------------------------------------------------------------

# The crisis room reads clock time, not UTC; the machine formats (JSON, CSV) keep UTC.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


def local(moment: datetime | None, *, date: bool = True, seconds: bool = False, weekday: bool = True) -> str:
    """Dutch clock time with its zone (CET/CEST), e.g. ``Fri 21 Sep 2012 20:40 CEST``."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # stored times are UTC; a naive one is read as such
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(LOCAL_TZ)
    day = "%a %d %b %Y " if weekday else "%d %b %Y "
    pattern = (day if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return f"{moment.strftime(pattern)} {moment.tzname()}"


def stamp(moment: datetime | None, seconds: bool = False) -> str:
    """The short form for table cells."""
    return local(moment, weekday=False, seconds=seconds)


def period(dossier: Dossier) -> str:
    if dossier.window is None:
        return "no activity recorded"
    start, end = dossier.window
    same_day = start.astimezone(LOCAL_TZ).date() == end.astimezone(LOCAL_TZ).date()
    return f"{local(start)} – {local(end, date=not same_day)}"


def iso(moment: datetime) -> str:
    """UTC in ISO 8601 the way pydantic writes it (``Z``), so the CSV tables agree with each other."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def thousands(n: int) -> str:
    """A whole number with its thousands set apart by a no-break space: 1 888. The dossier is in English and
    its readers Dutch: "1,888" reads as one point eight to them, "1.888" as one point eight to English
    readers; a space reads the same to both, as on the dashboard. A Latin-1 character, so that the PDF's
    fallback font has it too."""
    return f"{n:,}".replace(",", "\u00a0")


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{thousands(count)} {word if count == 1 else (words or word + 's')}"


def key_figures(dossier: Dossier) -> list[tuple[str, str]]:
    """The numbers a reader wants first, as (label, value) rows."""
    rows: list[tuple[str, str]] = [("Period (event time)", period(dossier))]
    kinds = Counter(a.kind.value for a in dossier.alerts)
    worst = max(dossier.alerts, key=lambda a: a.severity.rank, default=None)
    alerts = plural(len(dossier.alerts), "alert")
    if kinds:
        alerts += " (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"
    if worst is not None:
        alerts += f"; highest severity {worst.severity.value}"
    rows.append(("Alerts", alerts))
    statuses = Counter(c.status.value for c in dossier.cases)
    cases = plural(len(dossier.cases), "rumour case")
    if statuses:
        cases += " (" + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ")"
    answered = sum(c.answer is not None for c in dossier.cases)
    rows.append(("Rumours (geruchten)", f"{cases}; {answered} answered publicly"))
    if dossier.volume:
        peak = max(dossier.volume, key=lambda p: p.count)
        total = sum(p.count for p in dossier.volume)
        rows.append(
            (
                "Posts in the area",
                f"{thousands(total)} in the window; peak {thousands(peak.count)} per "
                f"{dossier.volume_bucket_minutes} min at {local(peak.start)}",
            )
        )
    else:
        rows.append(("Posts in the area", "no volume recorded"))
    geotagged = sum(p.lat is not None and p.lon is not None for p in dossier.posts)
    rows.append(("Evidence posts", f"{len(dossier.posts)} ({geotagged} geotagged), authors pseudonymised"))
    latest = latest_entries(dossier.entries)
    steps = Counter(e.step for e in latest)
    edits = len(dossier.entries) - len(latest)
    rows.append(
        (
            "Cycle entries",
            ", ".join(
                [
                    f"{steps[CycleStep.ANALYSE]} analyses",
                    f"{steps[CycleStep.ADVISE]} advice",
                    f"{steps[CycleStep.ACT]} actions",
                    f"{steps[CycleStep.EVALUATE]} evaluations",
                ]
            )
            + (f"; {plural(edits, 'later edit')}" if edits else ""),
        )
    )
    rows.append(
        (
            "Audit log",
            f"{plural(len(dossier.audit), 'entry', 'entries')}; hash chain "
            + ("verified" if dossier.audit_chain_ok else "NOT verified"),
        )
    )
    return rows


def cases_by_weight(dossier: Dossier) -> list[RumourCaseDetail]:
    """Rumour cases, biggest first; merged-away cases last (their posts live on in the case they joined)."""
    return sorted(dossier.cases, key=lambda c: (c.merged_into is not None, -c.post_count, c.case_id))
