"""What the crisis room reads and writes: rumour cases, incidents, cycle entries, audit entries.

These are the API's models too. Times named ``*_at`` without further note are wall-clock UTC; times that
belong to the stream (``first_seen``, ``published_at``, ``effective_at``) are event time, so a replayed
incident compares answers with the posts they answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.pipeline.alerts import Alert, Example, Severity
from app.playbooks import Channel

Text = Annotated[str, Field(max_length=20_000)]
Line = Annotated[str, Field(min_length=1, max_length=300)]


class CaseStatus(StrEnum):
    NEW = "new"
    CHECKING = "checking"
    CONFIRMED = "confirmed"
    DENIED = "denied"
    UNFOUNDED = "unfounded"
    ANSWERED = "answered"
    CLOSED = "closed"


_VERDICTS = {CaseStatus.CONFIRMED, CaseStatus.DENIED, CaseStatus.UNFOUNDED}

# The workflow runs new -> checking -> verdict -> answered -> closed. Steps may be skipped (a rumour can be
# denied on sight) and a case can go back to checking when new facts arrive; it never jumps back to new.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.CHECKING, *_VERDICTS, CaseStatus.CLOSED}),
    CaseStatus.CHECKING: frozenset({*_VERDICTS, CaseStatus.CLOSED}),
    CaseStatus.CONFIRMED: frozenset(
        {CaseStatus.CHECKING, *_VERDICTS, CaseStatus.ANSWERED, CaseStatus.CLOSED}
    ),
    CaseStatus.DENIED: frozenset({CaseStatus.CHECKING, *_VERDICTS, CaseStatus.ANSWERED, CaseStatus.CLOSED}),
    CaseStatus.UNFOUNDED: frozenset(
        {CaseStatus.CHECKING, *_VERDICTS, CaseStatus.ANSWERED, CaseStatus.CLOSED}
    ),
    CaseStatus.ANSWERED: frozenset({CaseStatus.CHECKING, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.CHECKING}),
}


class StanceMix(BaseModel):
    support: int = 0
    deny: int = 0
    query: int = 0
    comment: int = 0


# Width of a rumour case's spread buckets: ``SpreadPoint.start`` is a multiple of it (UTC epoch).
SPREAD_BUCKET = timedelta(minutes=10)


class SpreadPoint(BaseModel):
    """Posts of a rumour case in the bucket [start, start + SPREAD_BUCKET)."""

    start: datetime
    count: int


class Answer(BaseModel):
    """The official answer to a rumour, as published."""

    text: Annotated[str, Field(min_length=1, max_length=5000)]
    channel: Channel
    url: Annotated[str | None, Field(max_length=2048)] = None
    published_at: datetime = Field(description="event time of publication (stream time during a replay)")
    by: str
    recorded_at: datetime


class AnswerEffect(BaseModel):
    """Posts joining the case in the window before and after the answer."""

    window_minutes: int
    before: int
    after: int
    denials_before: int
    denials_after: int
    complete: bool = Field(default=False, description="the hour after has passed in the stream")


class SimilarCase(BaseModel):
    """Another open case that seems to tell the same claim in other words (see app.room.similar)."""

    case_id: str
    claim: str
    similarity: float = Field(description="share of the two cases' weighted terms they have in common")


class RumourCase(BaseModel):
    case_id: str
    origin: Literal["detector", "manual"]
    alert_id: str | None
    claim: str
    status: CaseStatus
    owner: str | None
    severity: Severity | None
    area: str | None
    first_seen: datetime | None
    updated_at: datetime | None
    post_count: int
    stance: StanceMix
    examples: list[Example]
    merged_into: str | None = None
    merged_from: list[str] = []
    answer: Answer | None = None
    similar: list[SimilarCase] = Field(
        default=[],
        description="open cases on the same page that seem to tell this claim in other words, most alike"
        " first: hints for a merge, only in the list of cases",
    )
    version: int = Field(description="send it back with a change; a stale version is refused (409)")


class RumourCasePage(BaseModel):
    total: int
    items: list[RumourCase]


class MapPoint(BaseModel):
    key: str
    lat: float
    lon: float
    area: str | None
    created_at: datetime | None = None


class RumourCaseDetail(RumourCase):
    member_keys: list[str]
    spread: list[SpreadPoint]
    areas: dict[str, int]
    points: list[MapPoint]
    posts: list[Example] = Field(
        default=[], description="member posts with their text, oldest first (capped)"
    )
    notes: list[AuditEntry]
    history: list[AuditEntry]
    effect: AnswerEffect | None = None


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


# --- Requests on cases ---------------------------------------------------------------------------------


class Versioned(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(default=None, description="the case version this change was made on")


class StatusChange(Versioned):
    status: CaseStatus
    reason: Annotated[str | None, Field(max_length=2000)] = None


class OwnerChange(Versioned):
    owner: Annotated[str | None, Field(max_length=128)] = Field(
        description="'me' to take the case, a name to hand it over, null to release it"
    )
    force: bool = Field(default=False, description="take a case someone else owns")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class MergeIn(Versioned):
    other: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="the case merged into this one"
    )


class SplitIn(Versioned):
    post_keys: Annotated[list[str], Field(min_length=1, max_length=500)]
    claim: Annotated[str | None, Field(max_length=300)] = None


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_key: Annotated[str, Field(min_length=1, max_length=200)]
    case_id: Annotated[str | None, Field(max_length=300)] = Field(
        default=None, description="add to this case; without it a new case is opened"
    )
    claim: Annotated[str | None, Field(max_length=300)] = None


class AnswerIn(Versioned):
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    channel: Channel
    url: Annotated[str | None, Field(max_length=2048)] = None
    published_at: AwareDatetime | None = Field(default=None, description="defaults to the stream's clock")
    incident_id: Annotated[int, Field(ge=1, le=2**53)] | None = Field(
        default=None, description="also record it as an 'act' entry there"
    )


# --- Incidents and their cycle ---------------------------------------------------------------------------


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CycleStep(StrEnum):
    ANALYSE = "analyse"
    ADVISE = "advise"
    ACT = "act"
    EVALUATE = "evaluate"


class Goal(StrEnum):
    """The three goals of Dutch crisis communication, under which the analysis is arranged."""

    INFORMATION_NEED = "information_need"  # informatievoorziening
    DAMAGE_LIMITATION = "damage_limitation"  # schadebeperking
    SENSE_MAKING = "sense_making"  # betekenisgeving


class Evidence(BaseModel):
    kind: Literal["post", "alert", "case"]
    ref: str
    text: str = ""


class Finding(BaseModel):
    text: Text
    evidence: list[Evidence] = []


class AnalyseBody(BaseModel):
    """An omgevingsanalyse: the automatic snapshot's figures, and the findings the adviser keeps."""

    model_config = ConfigDict(extra="forbid")
    summary: Text = ""
    goals: dict[Goal, list[Finding]] = Field(default_factory=lambda: {goal: [] for goal in Goal})
    figures: dict[str, Any] = Field(default_factory=dict, description="the snapshot's numbers, kept as taken")
    window: tuple[datetime, datetime] | None = None


class ChecklistItem(BaseModel):
    item: Text
    done: bool = False
    note: Text = ""


class AdviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Line = "mayor and crisis team"
    advice: Text = ""
    checklist: list[ChecklistItem] = []
    playbook: str | None = None


class ActBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    message: Annotated[str, Field(min_length=1, max_length=5000)]
    lang: Literal["nl", "en"] = "nl"
    url: Annotated[str | None, Field(max_length=2048)] = None
    template: str | None = None
    case_id: str | None = Field(default=None, description="the rumour case this answers, if any")


class Effect(BaseModel):
    """The hour before an action against the hour after, in the incident's area (or everywhere)."""

    window_minutes: int
    action_at: datetime
    posts_before: int
    posts_after: int
    rumour_posts_before: int
    rumour_posts_after: int
    question_share_before: float | None
    question_share_after: float | None
    complete: bool = Field(description="false while the hour after has not fully passed in the stream")


class EvaluateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action_entry_id: str
    effect: Effect | None = Field(default=None, description="measured by the service when saved")
    comment: Text = ""


BODIES: dict[CycleStep, type[BaseModel]] = {
    CycleStep.ANALYSE: AnalyseBody,
    CycleStep.ADVISE: AdviseBody,
    CycleStep.ACT: ActBody,
    CycleStep.EVALUATE: EvaluateBody,
}


class CycleEntry(BaseModel):
    entry_id: str
    incident_id: int
    step: CycleStep
    version: int
    author: str
    written_at: datetime
    effective_at: datetime = Field(description="event time the entry belongs to (stream time in a replay)")
    body: dict[str, Any]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: CycleStep
    body: dict[str, Any]
    effective_at: AwareDatetime | None = Field(default=None, description="defaults to the stream's clock")


class EntryEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: dict[str, Any]
    version: int = Field(description="the version being edited; a stale one is refused (409)")


class Incident(BaseModel):
    incident_id: int
    title: str
    area: str | None
    playbook: str | None
    status: IncidentStatus
    auto_link: bool
    alert_ids: list[str]
    case_ids: list[str]
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    entry_count: int = Field(default=0, description="cycle entries (latest versions)")


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Line
    area: Annotated[str | None, Field(max_length=200)] = None
    playbook: Annotated[str | None, Field(max_length=64)] = None
    auto_link: bool = Field(
        default=True, description="link new alerts in the area (or anywhere) as they come"
    )
    alert_ids: list[str] = []
    case_ids: list[str] = []


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Line | None = None
    status: IncidentStatus | None = None
    auto_link: bool | None = None
    link_alerts: list[str] = []
    unlink_alerts: list[str] = []
    link_cases: list[str] = []
    unlink_cases: list[str] = []


class IncidentDetail(Incident):
    alerts: list[Alert]
    cases: list[RumourCase]
    entries: list[CycleEntry] = Field(description="latest version of each entry, in event-time order")


RumourCaseDetail.model_rebuild()


# --- The evaluation dossier ------------------------------------------------------------------------------


class DossierPost(BaseModel):
    """A post as evidence: pseudonymised author, text as written (escape it wherever it is shown)."""

    key: str
    created_at: datetime
    author: str
    text: str
    area: str | None
    lat: float | None
    lon: float | None
    url: str | None


class Dossier(BaseModel):
    """Everything a post-incident evaluation needs, complete and machine-readable (the JSON export)."""

    format: Literal["signaal-dossier/1"] = "signaal-dossier/1"
    generated_at: datetime
    generated_by: str
    incident: Incident
    window: tuple[datetime, datetime] | None = Field(description="event time, first alert to last activity")
    alerts: list[Alert]
    alert_revisions: list[Alert] = Field(description="every revision of every linked alert")
    cases: list[RumourCaseDetail]
    entries: list[CycleEntry] = Field(description="every version of every cycle entry")
    volume: list[SpreadPoint] = Field(description="posts per bucket in the incident's area over the window")
    volume_bucket_minutes: int
    posts: list[DossierPost] = Field(description="the posts the alerts and cases name as members or examples")
    audit: list[AuditEntry]
    audit_chain_ok: bool = Field(description="the whole audit log verified when the dossier was made")
