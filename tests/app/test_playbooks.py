from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.pipeline.alerts import Alert, AlertKind, Example, Severity
from app.playbooks import CalendarDay, Lexicon, PlaybookError, PlaybookSet, load_playbook

T0 = dt.datetime(2012, 9, 21, 18, 0, tzinfo=dt.UTC)

MINIMAL = """
title: {nl: Test, en: Test}
description: {nl: Test, en: Test}
triggers: [{detector: spike}]
advice: [{nl: Doe iets, en: Do something}]
templates: [{id: t1, channel: website, nl: Tekst, en: Text}]
"""


def _alert(kind: AlertKind, text: str, severity: Severity = Severity.MEDIUM) -> Alert:
    example = Example(key="t:1", created_at=T0, text=text)
    return Alert(
        id="a", kind=kind, severity=severity, title="t", explanation="e", first_seen=T0, updated_at=T0,
        post_count=1, examples=(example,),
    )  # fmt: skip


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_playbooks_load_and_cover_the_four_crisis_types() -> None:
    playbooks = PlaybookSet.load()
    assert {p.id for p in playbooks.playbooks} >= {"projectx", "rumour", "fire", "public_order"}
    assert "kom allemaal" in playbooks.lexicon(Lexicon.INVITATION)
    assert "nep" in playbooks.lexicon(Lexicon.DENIAL)
    assert all(p.advice and p.templates for p in playbooks.playbooks)


def test_alerts_find_their_playbook() -> None:
    playbooks = PlaybookSet.load()
    assert playbooks.match(_alert(AlertKind.RUMOUR, "klopt dit?")).id == "rumour"
    assert playbooks.match(_alert(AlertKind.MOBILISATION, "feest")).id == "projectx"
    # public_order also takes critical calls, but a call that turns violent stays under its home playbook
    assert playbooks.match(_alert(AlertKind.MOBILISATION, "rellen", Severity.CRITICAL)).id == "projectx"
    assert playbooks.match(_alert(AlertKind.SPIKE, "Grote brand bij de haven, veel rook")).id == "fire"
    assert playbooks.match(_alert(AlertKind.SPIKE, "De ME charge bij het station")).id == "public_order"
    # English "me" is not the riot police, and a low spike about nothing in particular has no playbook
    assert playbooks.match(_alert(AlertKind.SPIKE, "this reminds me of summer")) is None
    assert playbooks.match(_alert(AlertKind.SPIKE, "brand", Severity.LOW)) is None


def _spike(title: str, top_terms: list[tuple[str, int]], posts: int) -> Alert:
    terms = ", ".join(f"{t} ({c})" for t, c in top_terms)
    example = Example(key="t:1", created_at=T0, text="brandweer en ME bij het feest")
    return Alert(
        id="s", kind=AlertKind.SPIKE, severity=Severity.HIGH, title=title,
        explanation=f"Aanleiding: {terms}.", first_seen=T0, updated_at=T0, post_count=posts,
        examples=(example,),
        details={"top_terms": [list(tc) for tc in top_terms]},
    )  # fmt: skip


def test_a_spike_falls_under_the_playbook_of_the_terms_that_drive_it() -> None:
    playbooks = PlaybookSet.load()
    party = _spike("Piek in Haren", [("#projectxharen", 538), ("brandweer", 2), ("brand", 2)], posts=600)
    assert playbooks.match(party) is None  # two posts about a fire do not make a fire
    riot = _spike("Piek in Haren", [("#projectxharen", 538), ("rellen", 63), ("brand", 4)], posts=600)
    assert playbooks.match(riot).id == "public_order"
    fire = _spike("Piek in Moerdijk", [("brand", 120), ("rook", 80)], posts=150)
    assert playbooks.match(fire).id == "fire"
    assert playbooks.match(_spike("Piek in 'rook'", [], posts=40)).id == "fire"  # a term's own spike


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("detector: spike", "detector: earthquake"), "triggers.0.detector"),
        (lambda t: t.replace("advice: [{nl: Doe iets, en: Do something}]", "advice: []"), "advice"),
        (lambda t: t.replace("channel: website", "channel: pigeon"), "templates.0.channel"),
        (lambda t: t + "lexicons: {denial: [nep, false]}\n", "lexicons.denial.1"),
        (lambda t: t + "calendar: [{name: x, date: 2024-04-27, every_year: '04-27'}]\n", "either 'date' or"),
        (lambda t: t + "colour: red\n", "colour"),
        (lambda t: t + "  - [unclosed\n", "not valid YAML"),
        # An empty term matched nearly every post: ordinary posts started Project X calls.
        (lambda t: t + "lexicons: {invitation: [kom allemaal, '']}\n", "lexicons.invitation.1"),
        (lambda t: t.replace("{detector: spike}", "{detector: spike, terms_any: ['  ']}"), "terms_any.0"),
        (lambda t: t + "calendar: [{name: x, date: 2024-13-01}]\n", "month must be in 1..12"),
    ],
)
def test_validation_errors_name_the_file_and_the_field(tmp_path: Path, change, message: str) -> None:
    path = _write(tmp_path, "broken", change(MINIMAL))
    with pytest.raises(PlaybookError) as error:
        load_playbook(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_playbook_not_saved_as_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cafe.yaml"
    path.write_bytes((MINIMAL + "lexicons: {invitation: [café]}\n").encode("cp1252"))
    with pytest.raises(PlaybookError, match=r"cafe\.yaml: not UTF-8"):
        load_playbook(path)


@pytest.mark.parametrize(
    ("setting", "message"),
    [("{spike: {window_minutes: 0}}", "greater than 0"), ("{rumour: {min_scor: 0.4}}", "xtra inputs")],
)
def test_detector_settings_are_checked_when_loaded_naming_file_and_field(
    tmp_path: Path, setting: str, message: str
) -> None:
    # They were checked only when the service built its detectors, as a bare pydantic error.
    _write(tmp_path, "ok", MINIMAL)
    path = _write(tmp_path, "tuned", MINIMAL + f"detector_settings: {setting}\n")
    with pytest.raises(PlaybookError) as error:
        PlaybookSet.load(tmp_path)
    kind, name = setting.strip("{}").split(": {")[0], setting.split("{")[2].split(":")[0]
    assert f"{path}: detector_settings.{kind}.{name}" in str(error.value)
    assert message in str(error.value)


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="must equal the file name"):
        load_playbook(_write(tmp_path, "fire", "id: flood\n" + MINIMAL))


def test_a_detector_setting_belongs_to_one_playbook(tmp_path: Path) -> None:
    setting = "detector_settings: {spike: {min_count: 5}}\n"
    _write(tmp_path, "one", MINIMAL + setting)
    _write(tmp_path, "two", MINIMAL + setting)
    with pytest.raises(PlaybookError, match=r"spike.min_count is set by both 'one' and 'two'"):
        PlaybookSet.load(tmp_path)


def test_settings_and_calendar_are_merged(tmp_path: Path) -> None:
    _write(tmp_path, "one", MINIMAL + "detector_settings: {spike: {min_count: 5}}\n")
    _write(tmp_path, "two", MINIMAL + "calendar: [{name: Koningsdag, every_year: '04-27', factor: 3}]\n")
    playbooks = PlaybookSet.load(tmp_path)
    assert playbooks.settings_for(AlertKind.SPIKE) == {"min_count": 5}
    assert [day.name for day in playbooks.calendar()] == ["Koningsdag"]
    with pytest.raises(PlaybookError, match="no playbooks"):
        PlaybookSet.load(tmp_path / "empty")


def test_calendar_days_apply_on_their_date_and_area() -> None:
    koningsdag = CalendarDay(name="Koningsdag", every_year="04-27")
    match = CalendarDay(name="Derby", date=dt.date(2024, 9, 22), areas=("Groningen",))
    assert koningsdag.applies(dt.date(2031, 4, 27), None)
    assert not koningsdag.applies(dt.date(2031, 4, 28), None)
    assert match.applies(dt.date(2024, 9, 22), "Groningen")
    assert not match.applies(dt.date(2024, 9, 22), "Haren")
