"""Playbooks: editable YAML per crisis type (``playbooks/*.yaml``), validated against the schema here.

A playbook says when it applies (``triggers`` on alerts), which words the detectors watch for
(``lexicons``, merged over all playbooks), known busy days (``calendar``), and what the advisers get when it
applies: an ``advice`` checklist and message ``templates``, in Dutch and English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from app.pipeline.alerts import Alert, AlertKind, Severity

PLAYBOOK_DIR = Path(__file__).resolve().parents[1] / "playbooks"


class PlaybookError(ValueError):
    """A playbook file that cannot be used; the message names the file and the field."""


# A word or phrase the detectors match: an empty one would match nearly everything (every post an
# invitation, every alert a trigger's), so blank terms are refused.
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Lexicon(StrEnum):
    SPIKE_TERMS = "spike_terms"
    INVITATION = "invitation"
    ESCALATION = "escalation"
    ENQUIRY = "enquiry"
    DENIAL = "denial"
    HEDGING = "hedging"


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nl: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: AlertKind
    min_severity: Severity = Severity.LOW
    terms_any: tuple[Term, ...] = Field(
        default=(),
        description=(
            "the alert's text (title, explanation, examples) has one of these; for a spike its title or a"
            " term that drives it (at least 5% of its posts); empty = any"
        ),
    )

    def matches(self, alert: Alert) -> bool:
        if alert.kind != self.detector or alert.severity.rank < self.min_severity.rank:
            return False
        if not self.terms_any:
            return True
        text = _trigger_text(alert)
        as_written, any_case = _term_patterns(self.terms_any)
        return bool(
            (as_written is not None and as_written.search(text))
            or (any_case is not None and any_case.search(text.lower()))
        )


# A spike is about the terms that drive it: a term carried by fewer of its posts than this share is an aside.
DRIVER_SHARE = 0.05
DRIVER_MIN_POSTS = 3


def _trigger_text(alert: Alert) -> str:
    """What a trigger's terms are looked for in. For a spike: its title and the hashtags and terms that carry
    a real share of its posts. Its explanation and examples name every term seen twice, and a Project X
    spike of 538 posts went to the fire playbook for two that said "brand"."""
    top_terms = alert.details.get("top_terms") if alert.kind == AlertKind.SPIKE else None
    if isinstance(top_terms, list):
        least = max(DRIVER_MIN_POSTS, DRIVER_SHARE * alert.post_count)
        drivers = [str(term) for term, count in top_terms if isinstance(count, int) and count >= least]
        return " ".join([alert.title, *drivers])
    return " ".join([alert.title, alert.explanation, *(e.text for e in alert.examples)])


@cache
def _term_patterns(terms: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One whole-word pattern for the terms written with capitals and one for the rest, compiled once per
    trigger (every alert update is matched against every trigger).

    A term written with capitals ("ME", the riot police) must match as written, else English "me" would
    trigger it; other terms match the lower-cased text. An alternation finds a match wherever one of its
    terms would on its own: it backtracks to the next term when one fails at the word boundary.
    """

    def pattern(group: list[str]) -> re.Pattern[str] | None:
        if not group:
            return None
        return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(term) for term in group)})(?!\w)")

    return (
        pattern([term for term in terms if term.lower() != term]),
        pattern([term for term in terms if term.lower() == term]),
    )


class CalendarDay(BaseModel):
    """A day known in advance to be busy; expected volumes are multiplied by ``factor`` on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    date: dt.date | None = Field(default=None, description="a single date, e.g. a match day")
    every_year: Annotated[str | None, Field(pattern=r"^\d\d-\d\d$")] = Field(
        default=None, description="month-day each year, e.g. '04-27' (Koningsdag) or '12-31'"
    )
    factor: Annotated[float, Field(ge=1.0, le=100.0)] = 2.0
    areas: tuple[str, ...] = Field(default=(), description="municipalities it applies to; empty = everywhere")

    @model_validator(mode="after")
    def _one_kind_of_date(self) -> CalendarDay:
        if (self.date is None) == (self.every_year is None):
            raise ValueError("give either 'date' or 'every_year'")
        return self

    def applies(self, day: dt.date, area: str | None) -> bool:
        on_day = self.date == day if self.date else self.every_year == day.strftime("%m-%d")
        return on_day and (not self.areas or area in self.areas)


class Channel(StrEnum):
    WEBSITE = "website"
    SOCIAL = "social"
    NL_ALERT = "nl-alert"
    PRESS = "press"


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    channel: Channel
    nl: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
    title: Bilingual
    description: Bilingual
    triggers: Annotated[tuple[Trigger, ...], Field(min_length=1)]
    lexicons: dict[Lexicon, tuple[Term, ...]] = Field(default_factory=dict)
    detector_settings: dict[AlertKind, dict[str, Any]] = Field(
        default_factory=dict, description="overrides of a detector's thresholds; one playbook per setting"
    )
    calendar: tuple[CalendarDay, ...] = ()
    advice: Annotated[tuple[Bilingual, ...], Field(min_length=1)]
    templates: Annotated[tuple[Template, ...], Field(min_length=1)]

    def matches(self, alert: Alert) -> bool:
        return any(trigger.matches(alert) for trigger in self.triggers)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def load_playbook(path: Path) -> Playbook:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise PlaybookError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from error
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a date YAML reads but cannot be, 2024-13-01
        raise PlaybookError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: a playbook is a mapping of fields, got {type(data).__name__}")
    data.setdefault("id", path.stem)
    if data["id"] != path.stem:
        raise PlaybookError(f"{path}: id {data['id']!r} must equal the file name {path.stem!r}")
    try:
        return Playbook.model_validate(data)
    except ValidationError as error:
        raise PlaybookError(f"{path}: {error.error_count()} problem(s)\n{_describe(error)}") from error


class PlaybookSet:
    """All playbooks together: merged lexicons and calendar, settings per detector, and alert matching."""

    def __init__(self, playbooks: Iterable[Playbook]) -> None:
        self.playbooks = tuple(sorted(playbooks, key=lambda p: p.id))
        self._settings: dict[AlertKind, dict[str, Any]] = {}
        owner: dict[tuple[AlertKind, str], str] = {}
        for playbook in self.playbooks:
            for kind, values in playbook.detector_settings.items():
                for name, value in values.items():
                    if (kind, name) in owner:
                        raise PlaybookError(
                            f"detector setting {kind}.{name} is set by both {owner[kind, name]!r} "
                            f"and {playbook.id!r}; keep it in one playbook"
                        )
                    owner[kind, name] = playbook.id
                    self._settings.setdefault(kind, {})[name] = value
        self._owner = owner

    @classmethod
    def load(cls, directory: Path = PLAYBOOK_DIR) -> PlaybookSet:
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise PlaybookError(f"no playbooks (*.yaml) in {directory}")
        playbooks = cls(load_playbook(path) for path in files)
        playbooks.check_settings(directory)
        return playbooks

    def check_settings(self, directory: Path = PLAYBOOK_DIR) -> None:
        """Validate the merged ``detector_settings`` against each detector's own settings, at load time and
        naming the file and field: a typo or a zero window would otherwise surface as a bare pydantic
        error when the service builds its detectors."""
        # Imported here: the settings module imports this one for PlaybookSet.
        from app.pipeline.detector_settings import MobilisationSettings, RumourSettings, SpikeSettings

        models: dict[AlertKind, type[BaseModel]] = {
            AlertKind.SPIKE: SpikeSettings,
            AlertKind.MOBILISATION: MobilisationSettings,
            AlertKind.RUMOUR: RumourSettings,
        }
        for kind, values in self._settings.items():
            model = models.get(kind)
            if model is None:
                continue
            try:
                model(**values)
            except ValidationError as error:
                problems = []
                for problem in error.errors():
                    name = str(problem["loc"][0]) if problem["loc"] else ""
                    owner = self._owner.get((kind, name), "?")
                    where = f"{directory / owner}.yaml: detector_settings.{kind.value}.{name}"
                    problems.append(f"  {where}: {problem['msg']}")
                raise PlaybookError("invalid detector settings\n" + "\n".join(problems)) from error

    def lexicon(self, name: Lexicon) -> tuple[str, ...]:
        words = {word.lower() for playbook in self.playbooks for word in playbook.lexicons.get(name, ())}
        return tuple(sorted(words))

    def calendar(self) -> tuple[CalendarDay, ...]:
        return tuple(day for playbook in self.playbooks for day in playbook.calendar)

    def settings_for(self, kind: AlertKind) -> dict[str, Any]:
        return dict(self._settings.get(kind, {}))

    def match(self, alert: Alert) -> Playbook | None:
        """The playbook an alert falls under. A trigger naming terms is more specific than one that does
        not; among those, the playbook that takes the detector's alerts from the lowest severity up is the
        detector's home (a Project X call stays under 'projectx' when it turns critical)."""
        best: tuple[tuple[bool, int], Playbook] | None = None
        for playbook in self.playbooks:
            for trigger in playbook.triggers:
                if trigger.matches(alert):
                    rank = (bool(trigger.terms_any), -trigger.min_severity.rank)
                    if best is None or rank > best[0]:
                        best = (rank, playbook)
        return best[1] if best else None

    def get(self, playbook_id: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == playbook_id), None)
