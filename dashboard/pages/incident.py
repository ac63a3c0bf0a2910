"""One incident: its alerts and rumour cases, and its timeline along the Dutch crisis-communication cycle —
analyse (omgevingsanalyse), advise, act, evaluate — with the audit trail and the evaluation dossier's export.

Nothing is edited in place: saving an edited analysis or advice adds a version (the API refuses a stale one
with 409, shown as it is), and every entry shows who wrote it and when, its earlier versions one click away.

Text written by strangers (posts, claims, alert titles) and by advisers is always a plain Dash child, never
markdown or HTML. Editors (text areas) live outside the parts the refresh re-renders, so a tick never eats
what the adviser is typing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import dash
import httpx
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import session_token
from dashboard.client import SEVERITIES
from dashboard.display import LOCAL_TZ, count, day_time, parse_time, plain
from dashboard.figures.incident import (
    CHANNELS,
    effect_figure,
    effect_summary,
    incident_volume_figure,
    pick_bucket,
)
from dashboard.room_api import Refused, RoomClient
from dashboard.settings import current_settings
from dashboard.ui import room_nav


def _title(incident_id: str | None = None, **_query: str) -> str:
    return f"Incident {incident_id} · Signaal" if incident_id else "Incident · Signaal"


dash.register_page(__name__, path_template="/incidents/<incident_id>", title=_title, name="Incident")

REFRESH_MS = 5_000
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False}
GOALS = {
    "information_need": ("Information need", "informatievoorziening"),
    "damage_limitation": ("Damage limitation", "schadebeperking"),
    "sense_making": ("Sense-making", "betekenisgeving"),
}
STEPS = {
    "analyse": ("Analyse", "omgevingsanalyse"),
    "advise": ("Advise", "advies aan burgemeester en crisisteam"),
    "act": ("Act", "communicatie-acties"),
    "evaluate": ("Evaluate", "effect van de acties"),
}
LANGS = {"nl": "Nederlands", "en": "English"}
EXPORTS = ("pdf", "html", "json", "csv")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
SNAPSHOT_HOURS = (1, 2, 4, 8, 24, 48)
AUDIT_SHOWN = 200


# --- small readers ---------------------------------------------------------------------------------------


def rumour_href(case_id: str) -> str:
    return "/rumours?case=" + quote(case_id, safe="")


def safe_url(url: Any) -> str | None:
    """An adviser-typed URL becomes a link only when it is http(s); anything else stays text."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url.strip()).scheme in ("http", "https") else None


def placeholders(message: str) -> list[str]:
    """The template {placeholders} still left in a message."""
    return sorted(set(PLACEHOLDER.findall(message or "")))


def parse_local(value: str | None) -> datetime | None:
    """'YYYY-MM-DD HH:MM' in Amsterdam time to UTC; empty gives None; anything else raises ValueError."""
    text = (value or "").strip()
    if not text:
        return None
    moment = datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M")
    return moment.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


def _error(error: Exception) -> str:
    if isinstance(error, Refused):
        return error.detail
    if isinstance(error, httpx.HTTPStatusError):
        return f"the service answered {error.response.status_code}"
    return f"the service did not answer ({type(error).__name__})"


def done(text: str) -> html.Span:
    """A success message (the message areas show refusals in red, these in green)."""
    return html.Span(text, className="ok")


def _client() -> RoomClient:
    return RoomClient(current_settings().api_url, timeout=15, token=session_token())


# --- entries ---------------------------------------------------------------------------------------------


def entry_meta(entry: Mapping[str, Any], versions: Sequence[Mapping[str, Any]] = ()) -> html.Div:
    """Who and when; for a later version also who wrote the first one."""
    version = int(entry.get("version") or 1)
    author = plain(entry.get("author"), 60)
    parts: list[Any] = []
    if version > 1:
        parts.append(html.Span(f"version {version}", className="version"))
        parts.append(html.Span(f"edited by {author} at {day_time(entry.get('written_at'))}", className="who"))
        first = next((v for v in versions if v.get("version") == 1), None)
        if first is not None:
            first_author, first_at = plain(first.get("author"), 60), day_time(first.get("written_at"))
            parts.append(html.Span(f"first written by {first_author} at {first_at}", className="first"))
    else:
        parts.append(html.Span(f"by {author} at {day_time(entry.get('written_at'))}", className="who"))
    parts.append(html.Span(f"stream time {day_time(entry.get('effective_at'))}", className="stream"))
    return html.Div(parts, className="entry-meta")


def evidence_item(evidence: Mapping[str, Any]) -> html.Li:
    kind, ref = str(evidence.get("kind")), str(evidence.get("ref") or "")
    text = plain(evidence.get("text"), 200) or ref
    if kind == "case":
        body: Any = dcc.Link(text, href=rumour_href(ref), title=f"rumour case {ref}")
    else:
        body = html.Span(text, title=ref)
    return html.Li([html.Span(kind, className=f"ev-kind ev-{kind}"), " ", body], className="evidence")


def finding_item(finding: Mapping[str, Any]) -> html.Li:
    evidence = finding.get("evidence") or []
    children: list[Any] = [html.Div(plain(finding.get("text")), className="finding-text")]
    if evidence:
        children.append(html.Ul([evidence_item(e) for e in evidence], className="evidence-list"))
    return html.Li(children, className="finding")


def figures_line(figures: Mapping[str, Any]) -> str:
    parts = []
    if figures.get("posts") is not None:
        parts.append(f"{count(figures['posts'])} posts")
    if figures.get("posts_per_hour") is not None:
        parts.append(f"{figures['posts_per_hour']:g}/hour")
    trend = figures.get("trend")
    if isinstance(trend, int | float):
        parts.append(f"trend {'+' if trend >= 0 else '−'}{abs(trend):.0%}")
    share = figures.get("question_share")
    if isinstance(share, int | float):
        parts.append(f"{share:.0%} questions")
    languages = figures.get("languages") or {}
    if languages:
        parts.append("languages " + ", ".join(f"{plain(str(k), 10)} {v}" for k, v in languages.items()))
    return " · ".join(parts)


def analysis_body(body: Mapping[str, Any], *, unfold: bool = False) -> list[Any]:
    goals = body.get("goals") or {}
    window = body.get("window") or [None, None]
    children: list[Any] = [html.P(str(body.get("summary") or "") or "(no summary)", className="summary")]
    figures = figures_line(body.get("figures") or {})
    if figures:
        children.append(
            html.Div(
                [figures, f" · window {day_time(window[0])} – {day_time(window[1])}" if window[0] else ""],
                className="figures",
            )
        )
    blocks, counts = [], []
    for goal, (name, dutch) in GOALS.items():
        findings = goals.get(goal) or []
        counts.append(f"{len(findings)} {name.lower()}")
        blocks.append(
            html.Div(
                className=f"goal goal-{goal}",
                children=[
                    html.H4([name, html.Span(f" {dutch}", className="nl")]),
                    html.Ul([finding_item(f) for f in findings], className="findings")
                    if findings
                    else html.P("no findings", className="none"),
                ],
            )
        )
    # Findings and their evidence are long: folded, so that the whole cycle stays in view.
    summary = html.Summary("Findings: " + " · ".join(counts))
    children.append(html.Details([summary, *blocks], className="findings-fold", open=unfold))
    return children


def advise_body(body: Mapping[str, Any], *, unfold: bool = False) -> list[Any]:
    checklist = body.get("checklist") or []
    children: list[Any] = [html.Div(["To: ", html.B(plain(body.get("to"), 300))], className="to")]
    if body.get("advice"):
        children.append(html.P(str(body["advice"]), className="advice-text"))
    if checklist:
        ticked = sum(bool(item.get("done")) for item in checklist)
        source = f" (playbook {plain(body['playbook'], 40)})" if body.get("playbook") else ""
        items = html.Ul(
            [
                html.Li(
                    className="check done" if item.get("done") else "check",
                    children=[
                        html.Span("☑" if item.get("done") else "☐", className="box"),
                        " ",
                        plain(item.get("item")),
                        html.Div(plain(item.get("note")), className="note") if item.get("note") else None,
                    ],
                )
                for item in checklist
            ],
            className="checklist",
        )
        summary = html.Summary(f"Checklist{source}: {ticked} of {len(checklist)} done")
        children.append(html.Details([summary, items], className="checklist-fold", open=unfold))
    return children


def act_label(entry: Mapping[str, Any]) -> str:
    body = entry.get("body") or {}
    channel = CHANNELS.get(str(body.get("channel")), plain(str(body.get("channel")), 20))
    return f"{channel} at {day_time(entry.get('effective_at'))}: {plain(body.get('message'), 70)}"


def act_body(body: Mapping[str, Any], cases: Mapping[str, str] | None = None) -> list[Any]:
    channel = CHANNELS.get(str(body.get("channel")), plain(str(body.get("channel")), 20))
    facts: list[Any] = [
        html.Span(channel, className="channel"),
        html.Span(LANGS.get(str(body.get("lang")), plain(str(body.get("lang")), 5)), className="lang"),
    ]
    if body.get("template"):
        facts.append(html.Span(f"template {plain(body['template'], 60)}", className="template"))
    url = body.get("url")
    if url:
        link = safe_url(url)
        facts.append(
            html.A(plain(url, 80), href=link, target="_blank", rel="noopener noreferrer")
            if link
            else html.Span(plain(url, 80))
        )
    children: list[Any] = [
        html.Div(facts, className="act-facts"),
        html.P(str(body.get("message") or ""), className="message-text"),
    ]
    case_id = body.get("case_id")
    if case_id:
        claim = (cases or {}).get(case_id) or case_id
        children.append(
            html.Div(
                ["answers rumour: ", dcc.Link(plain(claim, 120), href=rumour_href(case_id))], className="case"
            )
        )
    return children


def effect_table(effect: Mapping[str, Any]) -> html.Div:
    minutes = effect.get("window_minutes") or 60
    status = "measured" if effect.get("complete") else "still measuring"
    return html.Div(
        className="effect-numbers",
        children=[
            html.Span(f"{minutes} min before → after:", className="effect-head"),
            *[html.Span(line, className="effect-line") for line in effect_summary(effect)],
            html.Span(status, className="measuring" if not effect.get("complete") else "measured"),
        ],
    )


def evaluate_body(
    body: Mapping[str, Any], actions: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Any]:
    action = (actions or {}).get(str(body.get("action_entry_id")))
    label = act_label(action) if action else f"action {plain(str(body.get('action_entry_id')), 40)}"
    children: list[Any] = [html.Div(["Effect of ", html.B(label)], className="of-action")]
    effect = body.get("effect")
    if isinstance(effect, Mapping):
        children.append(effect_table(effect))
    if body.get("comment"):
        children.append(html.P(str(body["comment"]), className="comment"))
    return children


def step_body(
    entry: Mapping[str, Any], cases: Mapping[str, str], actions: Mapping[str, Mapping[str, Any]]
) -> list[Any]:
    body = entry.get("body") or {}
    step = entry.get("step")
    if step == "analyse":
        return analysis_body(body)
    if step == "advise":
        return advise_body(body)
    if step == "act":
        return act_body(body, cases)
    if step == "evaluate":
        return evaluate_body(body, actions)
    return [html.Pre(json.dumps(body, indent=1, ensure_ascii=False))]


def entry_card(
    entry: Mapping[str, Any],
    versions: Sequence[Mapping[str, Any]] = (),
    *,
    cases: Mapping[str, str] | None = None,
    actions: Mapping[str, Mapping[str, Any]] | None = None,
) -> html.Article:
    cases, actions = cases or {}, actions or {}
    entry_id = str(entry.get("entry_id"))
    head: list[Any] = [entry_meta(entry, versions)]
    if entry.get("step") in ("analyse", "advise"):
        head.append(
            html.Button("Edit (new version)", id={"type": "inc-edit", "entry": entry_id}, className="small")
        )
    children: list[Any] = [html.Div(head, className="entry-head"), *step_body(entry, cases, actions)]
    older = sorted(
        (v for v in versions if v.get("version", 0) < entry.get("version", 0)),
        key=lambda v: v.get("version", 0),
        reverse=True,
    )
    if older:
        children.append(
            html.Details(
                className="versions",
                children=[
                    html.Summary(f"earlier versions ({len(older)})"),
                    *[
                        html.Div(
                            [entry_meta(v), *step_body(v, cases, actions)],
                            className="old-version",
                            id={"type": "inc-old", "entry": entry_id, "version": int(v.get("version", 0))},
                        )
                        for v in older
                    ],
                ],
            )
        )
    return html.Article(
        children, className=f"entry entry-{entry.get('step')}", id={"type": "inc-entry", "entry": entry_id}
    )


def step_entries(
    entries: Sequence[Mapping[str, Any]],
    step: str,
    versions: Mapping[str, Sequence[Mapping[str, Any]]],
    cases: Mapping[str, str],
) -> list[Any]:
    """The saved entries of one step, newest first."""
    actions = {e["entry_id"]: e for e in entries if e.get("step") == "act"}
    mine = [e for e in entries if e.get("step") == step]
    mine.sort(key=lambda e: (str(e.get("effective_at")), str(e.get("written_at"))), reverse=True)
    if not mine:
        return [html.P("Nothing saved yet.", className="none")]
    return [entry_card(e, versions.get(e["entry_id"], ()), cases=cases, actions=actions) for e in mine]


# --- alerts, cases, audit --------------------------------------------------------------------------------


def alert_row(alert: Mapping[str, Any]) -> html.Li:
    severity = plain(str(alert.get("severity")), 10)
    return html.Li(
        className=f"linked alert sev-{severity}",
        children=[
            html.Div(
                className="alert-head",
                children=[
                    html.Span(severity.upper(), className=f"badge sev-{severity}"),
                    html.Span(plain(str(alert.get("kind")), 20), className="kind"),
                    html.Span(f"{count(alert.get('post_count', 0))} posts", className="count"),
                    html.Span(day_time(alert.get("first_seen")), className="time"),
                    html.Button(
                        "unlink",
                        id={"type": "inc-unlink-alert", "id": str(alert.get("id"))},
                        className="small link-button",
                        title="take this alert out of the incident",
                    ),
                ],
            ),
            html.Div(plain(alert.get("title"), 200), className="alert-title"),
        ],
    )


def alert_order(alert: Mapping[str, Any]) -> tuple[int, float]:
    """Most severe first, then the most recently seen."""
    rank = SEVERITIES.index(alert["severity"]) if alert.get("severity") in SEVERITIES else len(SEVERITIES)
    first = parse_time(alert.get("first_seen"))
    return rank, -(first.timestamp() if first else 0.0)


def case_row(case: Mapping[str, Any]) -> html.Li:
    case_id = str(case.get("case_id"))
    status = plain(str(case.get("status")), 20)
    return html.Li(
        className="linked case",
        children=[
            html.Div(
                className="alert-head",
                children=[
                    html.Span(status, className=f"status-chip case-{status}"),
                    html.Span(f"{count(case.get('post_count', 0))} posts", className="count"),
                    html.Span(
                        f"owner {plain(case.get('owner'), 40)}" if case.get("owner") else "no owner",
                        className="owner",
                    ),
                    html.Button(
                        "unlink",
                        id={"type": "inc-unlink-case", "id": case_id},
                        className="small link-button",
                        title="take this rumour case out of the incident",
                    ),
                ],
            ),
            dcc.Link(plain(case.get("claim"), 200) or case_id, href=rumour_href(case_id), className="claim"),
        ],
    )


def audit_rows(audit: Sequence[Mapping[str, Any]]) -> list[html.Tr]:
    """Newest first. The detail is shown as compact JSON text; the hash short (its first 12 characters)."""
    rows = []
    for item in sorted(audit, key=lambda a: a.get("seq", 0), reverse=True)[:AUDIT_SHOWN]:
        detail = json.dumps(item.get("detail") or {}, ensure_ascii=False, separators=(", ", ": "))
        rows.append(
            html.Tr(
                [
                    html.Td(str(item.get("seq")), className="num"),
                    html.Td(day_time(item.get("at"), seconds=True)),
                    html.Td(plain(item.get("actor"), 40)),
                    html.Td(plain(item.get("action"), 40), className="action"),
                    html.Td(plain(item.get("subject"), 80), className="subject"),
                    html.Td(plain(detail, 160), title=plain(detail, 2000), className="detail"),
                    html.Td(
                        str(item.get("hash") or "")[:12], title=str(item.get("hash") or ""), className="hash"
                    ),
                ]
            )
        )
    if not rows:
        rows.append(html.Tr(html.Td("No audit entries.", colSpan=7, className="none")))
    return rows


def effect_card(action: Mapping[str, Any], effect: Mapping[str, Any] | None) -> html.Div:
    entry_id = str(action.get("entry_id"))
    children: list[Any] = [html.Div(act_label(action), className="effect-action")]
    if effect is None:
        children.append(html.P("No measurement.", className="none"))
    else:
        if not effect.get("complete"):
            children.append(
                html.Div("still measuring: the hour after has not passed yet", className="measuring")
            )
        children.append(
            dcc.Graph(
                figure=effect_figure(effect),
                config=GRAPH_CONFIG,
                className="effect-graph",
                id={"type": "inc-effect", "entry": entry_id},
            )
        )
        children.append(effect_table(effect))
    return html.Div(children, className="effect-card")


def effect_cards(entries: Sequence[Mapping[str, Any]], effects: Mapping[str, Any]) -> list[Any]:
    actions = sorted(
        (e for e in entries if e.get("step") == "act"), key=lambda e: str(e.get("effective_at")), reverse=True
    )
    if not actions:
        return [html.P("No actions recorded yet: the effect of each action appears here.", className="none")]
    return [effect_card(a, effects.get(a["entry_id"])) for a in actions]


# --- the editors' bodies ---------------------------------------------------------------------------------


def analysis_editor_goals(body: Mapping[str, Any]) -> list[Any]:
    """A text area per finding (empty it to drop the finding) and an empty one per goal to add one."""
    goals = body.get("goals") or {}
    blocks = []
    for goal, (name, dutch) in GOALS.items():
        findings = goals.get(goal) or []
        items = []
        for i, finding in enumerate([*findings, {"text": "", "evidence": []}]):
            evidence = finding.get("evidence") or []
            items.append(
                html.Div(
                    className="finding-edit",
                    children=[
                        dcc.Textarea(
                            id={"type": "inc-finding", "goal": goal, "i": i},
                            value=str(finding.get("text") or ""),
                            placeholder="add a finding" if i == len(findings) else "",
                            className="finding-input",
                        ),
                        html.Ul([evidence_item(e) for e in evidence], className="evidence-list")
                        if evidence
                        else None,
                    ],
                )
            )
        blocks.append(
            html.Div(
                [html.H4([name, html.Span(f" {dutch}", className="nl")]), *items],
                className=f"goal goal-{goal}",
            )
        )
    return blocks


def build_analysis(
    draft: Mapping[str, Any],
    summary: str | None,
    values: Sequence[str | None],
    ids: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The analysis to save: the snapshot's figures and window as taken, the adviser's text, each kept
    finding with the evidence it came with."""
    goals = draft.get("goals") or {}
    edited: dict[str, list[dict[str, Any]]] = {goal: [] for goal in GOALS}
    for value, ident in sorted(zip(values, ids, strict=True), key=lambda pair: pair[1]["i"]):
        text = (value or "").strip()
        goal, i = ident["goal"], ident["i"]
        if not text or goal not in edited:
            continue
        original = goals.get(goal) or []
        evidence = original[i].get("evidence", []) if i < len(original) else []
        edited[goal].append({"text": text, "evidence": evidence})
    return {
        "summary": (summary or "").strip(),
        "goals": edited,
        "figures": draft.get("figures") or {},
        "window": draft.get("window"),
    }


def advice_checklist(body: Mapping[str, Any]) -> list[Any]:
    items = []
    for i, item in enumerate(body.get("checklist") or []):
        items.append(
            html.Div(
                className="check-edit",
                children=[
                    dcc.Checklist(
                        id={"type": "inc-check", "i": i},
                        options=[{"label": plain(item.get("item")), "value": "done"}],
                        value=["done"] if item.get("done") else [],
                        className="check-box",
                    ),
                    dcc.Input(
                        id={"type": "inc-check-note", "i": i},
                        value=str(item.get("note") or ""),
                        placeholder="note",
                        className="check-note",
                        type="text",
                    ),
                ],
            )
        )
    return items or [html.P("The playbook has no checklist for this incident.", className="none")]


def build_advice(
    draft: Mapping[str, Any],
    to: str | None,
    advice: str | None,
    checks: Sequence[list[str] | None],
    notes: Sequence[str | None],
) -> dict[str, Any]:
    checklist = []
    for i, item in enumerate(draft.get("checklist") or []):
        done = bool(checks[i]) and "done" in (checks[i] or []) if i < len(checks) else False
        note = (notes[i] or "").strip() if i < len(notes) else ""
        checklist.append({"item": item.get("item", ""), "done": done, "note": note})
    return {
        "to": (to or "").strip() or draft.get("to") or "mayor and crisis team",
        "advice": (advice or "").strip(),
        "checklist": checklist,
        "playbook": draft.get("playbook"),
    }


def insert_template(message: str | None, template: Mapping[str, Any], lang: str) -> str:
    """The template's text in ``lang`` added to the message, {placeholders} left for the adviser."""
    text = str(template.get(lang) or template.get("nl") or "")
    current = (message or "").rstrip()
    return f"{current}\n\n{text}" if current else text


def template_options(templates: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "label": f"{t['id']} · {CHANNELS.get(str(t.get('channel')), str(t.get('channel')))}",
            "value": str(t["id"]),
        }
        for t in templates
    ]


# --- the page --------------------------------------------------------------------------------------------


def head_children(detail: Mapping[str, Any]) -> list[Any]:
    status = plain(str(detail.get("status")), 20)
    area, playbook = detail.get("area"), detail.get("playbook")
    alerts, cases = len(detail.get("alert_ids") or []), len(detail.get("case_ids") or [])
    texts = [
        f"area {plain(area, 60)}" if area else "all areas",
        f"playbook {plain(playbook, 40)}" if playbook else "playbook from the alerts",
        f"opened by {plain(detail.get('opened_by'), 60)} at {day_time(detail.get('opened_at'))}",
        f"{alerts} alerts · {cases} rumour cases",
        "new alerts in the area are linked automatically" if detail.get("auto_link") else "linked by hand",
    ]
    if detail.get("closed_at"):
        texts.append(f"closed at {day_time(detail.get('closed_at'))}")
    facts = [html.Span(status, className=f"status-chip status-{status}")]
    facts += [html.Span(text, className="fact") for text in texts]
    return [
        html.H1(plain(detail.get("title"), 200), className="incident-title"),
        html.Div(facts, className="facts"),
    ]


def section(step: str, form: list[Any]) -> html.Section:
    name, dutch = STEPS[step]
    number = list(STEPS).index(step) + 1
    return html.Section(
        className=f"panel step step-{step}",
        id=f"inc-step-{step}",
        children=[
            html.H2([f"{number} · {name}", html.Span(f" {dutch}", className="nl")]),
            html.Div(form, className="step-form"),
            html.Div(id=f"inc-{step}-entries", className="entries"),
        ],
    )


def analyse_form() -> list[Any]:
    return [
        html.Div(
            className="form-row",
            children=[
                html.Button("Take a snapshot", id="inc-snap", className="primary", n_clicks=0),
                html.Label(
                    [
                        "of the last",
                        dcc.Dropdown(
                            id="inc-snap-hours",
                            value=2,
                            clearable=False,
                            searchable=False,
                            options=[
                                {"label": f"{h} hour{'s' if h > 1 else ''}", "value": h}
                                for h in SNAPSHOT_HOURS
                            ],
                            className="hours",
                        ),
                    ],
                    className="inline",
                ),
                html.Span(
                    "an automatic draft from the posts, alerts and rumour cases; edit it, then save it",
                    className="hint",
                ),
            ],
        ),
        html.Div(
            id="inc-analysis-editor",
            className="editor",
            hidden=True,
            children=[
                html.Div(id="inc-analysis-mode", className="editor-mode"),
                html.Label(["Summary", dcc.Textarea(id="inc-analysis-summary", className="summary-input")]),
                html.Div(id="inc-analysis-figures", className="figures"),
                html.Div(id="inc-analysis-goals", className="goals-edit"),
                html.Div(
                    className="form-row",
                    children=[
                        html.Button("Save analysis", id="inc-analysis-save", className="primary", n_clicks=0),
                        html.Button("Cancel", id="inc-analysis-cancel", n_clicks=0),
                    ],
                ),
            ],
        ),
        html.Div(id="inc-analysis-message", className="message", role="alert"),
    ]


def advise_form() -> list[Any]:
    return [
        html.Div(
            className="form-row",
            children=[
                html.Button(
                    "Start from the playbook checklist", id="inc-advice-load", className="primary", n_clicks=0
                ),
                dcc.RadioItems(
                    id="inc-advice-lang",
                    value="nl",
                    inline=True,
                    className="lang-choice",
                    options=[{"label": v, "value": k} for k, v in LANGS.items()],
                ),
            ],
        ),
        html.Div(
            id="inc-advice-editor",
            className="editor",
            hidden=True,
            children=[
                html.Div(id="inc-advice-mode", className="editor-mode"),
                html.Label(
                    ["To", dcc.Input(id="inc-advice-to", type="text", maxLength=300, className="wide")]
                ),
                html.Div(id="inc-advice-checklist", className="checklist-edit"),
                html.Label(
                    [
                        "Advice",
                        dcc.Textarea(
                            id="inc-advice-text",
                            className="advice-input",
                            placeholder="the advice, in your words",
                        ),
                    ]
                ),
                html.Div(
                    className="form-row",
                    children=[
                        html.Button("Save advice", id="inc-advice-save", className="primary", n_clicks=0),
                        html.Button("Cancel", id="inc-advice-cancel", n_clicks=0),
                    ],
                ),
            ],
        ),
        html.Div(id="inc-advice-message", className="message", role="alert"),
    ]


def act_form(templates: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [
        html.Div(
            className="form-row",
            children=[
                html.Button("Record an action", id="inc-act-open", className="primary", n_clicks=0),
                html.Span(
                    "what was published where and when: website, social media, NL-Alert, press",
                    className="hint",
                ),
            ],
        ),
        html.Div(id="inc-act-editor", className="editor", hidden=True, children=act_fields(templates)),
        html.Div(id="inc-act-message-out", className="message", role="alert"),
    ]


def act_fields(templates: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [
        html.Div(
            className="form-grid",
            children=[
                html.Label(
                    [
                        "Channel",
                        dcc.Dropdown(
                            id="inc-act-channel",
                            clearable=False,
                            value="social",
                            options=[{"label": v, "value": k} for k, v in CHANNELS.items()],
                        ),
                    ]
                ),
                html.Label(
                    [
                        "Language",
                        dcc.RadioItems(
                            id="inc-act-lang",
                            value="nl",
                            inline=True,
                            options=[{"label": v, "value": k} for k, v in LANGS.items()],
                        ),
                    ]
                ),
                html.Label(
                    [
                        "Template",
                        dcc.Dropdown(
                            id="inc-act-template",
                            options=template_options(templates),
                            placeholder="a message template from the playbook",
                        ),
                    ]
                ),
                html.Button("Insert template", id="inc-act-insert", n_clicks=0, className="align-end"),
            ],
        ),
        html.Label(
            [
                "Message (as published)",
                dcc.Textarea(
                    id="inc-act-message",
                    className="message-input",
                    placeholder="what was published; fill in the {placeholders} of a template",
                ),
            ]
        ),
        html.Div(
            className="form-grid",
            children=[
                html.Label(
                    ["URL", dcc.Input(id="inc-act-url", type="url", maxLength=2048, placeholder="https://…")]
                ),
                html.Label(["Answers rumour case", dcc.Dropdown(id="inc-act-case", placeholder="none")]),
                html.Label(
                    [
                        "Published at (local time)",
                        dcc.Input(id="inc-act-at", type="text", placeholder="YYYY-MM-DD HH:MM, empty = now"),
                    ]
                ),
                html.Div(
                    [
                        html.Button("Save action", id="inc-act-save", className="primary", n_clicks=0),
                        html.Button("Cancel", id="inc-act-cancel", n_clicks=0),
                    ],
                    className="align-end buttons",
                ),
            ],
        ),
    ]


def evaluate_form() -> list[Any]:
    return [
        html.Div(id="inc-effects", className="effects"),
        html.Div(
            className="form-grid eval-form",
            children=[
                html.Label(
                    ["Action", dcc.Dropdown(id="inc-eval-action", placeholder="the action evaluated")]
                ),
                html.Label(
                    [
                        "Comment",
                        dcc.Textarea(
                            id="inc-eval-comment",
                            className="comment-input",
                            placeholder="what the numbers mean; the service stores the measured effect",
                        ),
                    ]
                ),
                html.Button("Save evaluation", id="inc-eval-save", className="primary align-end", n_clicks=0),
            ],
        ),
        html.Div(id="inc-eval-message", className="message", role="alert"),
    ]


def link_picker(dropdown_id: str, placeholder: str) -> html.Div:
    """A dropdown of what can be linked to the incident and its Link button (``<dropdown_id>-go``)."""
    return html.Div(
        className="form-row",
        children=[
            dcc.Dropdown(id=dropdown_id, placeholder=placeholder, className="grow"),
            html.Button("Link", id=f"{dropdown_id}-go", n_clicks=0),
        ],
    )


def side_panels() -> list[Any]:
    return [
        html.Section(
            className="panel volume",
            children=[
                html.H2(id="inc-volume-title", children="Posts in the area"),
                dcc.Graph(id="inc-volume", config=GRAPH_CONFIG, className="incident-volume"),
            ],
        ),
        html.Section(
            className="panel links",
            children=[
                html.H2("Alerts"),
                link_picker("inc-link-alert", "link an alert…"),
                html.Ul(id="inc-alerts", className="linked-list"),
                html.H2("Rumour cases"),
                link_picker("inc-link-case", "link a rumour case…"),
                html.Ul(id="inc-cases", className="linked-list"),
                html.Div(id="inc-link-message", className="message", role="alert"),
            ],
        ),
        html.Section(
            className="panel export",
            children=[
                html.H2("Evaluation dossier"),
                html.Div(
                    className="form-row",
                    children=[
                        html.Button(f"Export {fmt.upper()}", id=f"inc-export-{fmt}", n_clicks=0)
                        for fmt in EXPORTS
                    ],
                ),
                html.Div(id="inc-export-message", className="message", role="alert"),
                dcc.Download(id="inc-download"),
            ],
        ),
        html.Section(
            className="panel audit",
            children=[
                html.H2("Audit trail"),
                html.Div(
                    className="audit-scroll",
                    children=html.Table(
                        className="audit-table",
                        children=[
                            html.Thead(
                                html.Tr(
                                    [
                                        html.Th(h)
                                        for h in ("#", "when", "who", "what", "subject", "detail", "hash")
                                    ]
                                )
                            ),
                            html.Tbody(id="inc-audit"),
                        ],
                    ),
                ),
            ],
        ),
    ]


def layout(incident_id: str | None = None, **_query: str) -> html.Div:
    try:
        number = int(incident_id or "")
    except ValueError:
        number = None
    detail, templates, problem = None, [], None
    if number is not None:
        try:
            with _client() as api:
                detail = api.incident(number)
                templates = api.templates(number)
        except (Refused, httpx.HTTPError) as error:
            problem = _error(error)
    if detail is None:
        return html.Div(
            className="room-page incident-page",
            children=[
                html.Header(
                    className="room-header", children=[html.H1("Signaal · Incident"), room_nav("/incidents")]
                ),
                html.P(
                    f"No incident {plain(incident_id, 20)}: {problem or 'not a number'}.",
                    className="message error",
                ),
                dcc.Link("All incidents", href="/incidents"),
            ],
        )
    status_label = "Close incident" if detail.get("status") == "open" else "Reopen incident"
    return html.Div(
        className="room-page incident-page",
        children=[
            dcc.Store(id="inc-id", data=number),
            dcc.Store(id="inc-seen", data={}),
            dcc.Store(id="inc-live-seen"),
            dcc.Store(id="inc-saved"),
            dcc.Store(id="inc-analysis-draft"),
            dcc.Store(id="inc-advice-draft"),
            dcc.Store(id="inc-templates", data=templates),
            dcc.Store(id="inc-act-used"),
            dcc.Interval(id="inc-tick", interval=REFRESH_MS),
            html.Header(
                className="room-header",
                children=[
                    html.Div(head_children(detail), id="inc-head", className="incident-head"),
                    html.Div(
                        [
                            room_nav("/incidents"),
                            html.Button(status_label, id="inc-status-toggle", n_clicks=0, className="small"),
                        ],
                        className="head-side",
                    ),
                ],
            ),
            html.Div(
                className="incident-grid",
                children=[
                    html.Div(
                        className="cycle",
                        children=[
                            section("analyse", analyse_form()),
                            section("advise", advise_form()),
                            section("act", act_form(templates)),
                            section("evaluate", evaluate_form()),
                        ],
                    ),
                    html.Div(side_panels(), className="side"),
                ],
            ),
        ],
    )


# --- refresh ---------------------------------------------------------------------------------------------


def _digest(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@callback(
    Output("inc-head", "children"),
    Output("inc-status-toggle", "children"),
    Output("inc-analyse-entries", "children"),
    Output("inc-advise-entries", "children"),
    Output("inc-act-entries", "children"),
    Output("inc-evaluate-entries", "children"),
    Output("inc-eval-action", "options"),
    Output("inc-act-case", "options"),
    Output("inc-alerts", "children"),
    Output("inc-cases", "children"),
    Output("inc-link-alert", "options"),
    Output("inc-link-case", "options"),
    Output("inc-audit", "children"),
    Output("inc-seen", "data"),
    Input("inc-tick", "n_intervals"),
    Input("inc-saved", "data"),
    State("inc-id", "data"),
    State("inc-seen", "data"),
)
def refresh(_tick: int | None, _saved: Any, incident_id: int, seen: dict[str, str] | None) -> tuple[Any, ...]:
    """Re-render only the parts whose data changed, so an open 'earlier versions' stays open."""
    seen = dict(seen or {})
    out: list[Any] = [no_update] * 13
    try:
        with _client() as api:
            detail = api.incident(incident_id)
            audit = api.audit(incident_id)
            head_key = _digest({k: v for k, v in detail.items() if k not in ("alerts", "cases", "entries")})
            if seen.get("head") != head_key:
                out[0] = head_children(detail)
                out[1] = "Close incident" if detail.get("status") == "open" else "Reopen incident"
                seen["head"] = head_key
            entries = detail.get("entries") or []
            cases = {c["case_id"]: c.get("claim") or c["case_id"] for c in detail.get("cases") or []}
            entries_key = _digest([entries, sorted(cases.items())])
            if seen.get("entries") != entries_key:
                versions = {
                    e["entry_id"]: api.entry_versions(incident_id, e["entry_id"])
                    for e in entries
                    if int(e.get("version") or 1) > 1
                }
                for index, step in enumerate(STEPS, start=2):
                    out[index] = step_entries(entries, step, versions, cases)
                actions = sorted(
                    (e for e in entries if e.get("step") == "act"), key=lambda e: str(e.get("effective_at"))
                )
                out[6] = [{"label": act_label(a), "value": a["entry_id"]} for a in actions]
                out[7] = [{"label": plain(claim, 90), "value": case_id} for case_id, claim in cases.items()]
                seen["entries"] = entries_key
            links_key = _digest([detail.get("alerts"), detail.get("cases")])
            if seen.get("links") != links_key:
                linked_alerts = set(detail.get("alert_ids") or [])
                linked_cases = set(detail.get("case_ids") or [])
                alerts = sorted(detail.get("alerts") or [], key=alert_order)
                out[8] = [alert_row(a) for a in alerts] or [html.Li("No alerts linked.", className="none")]
                out[9] = [case_row(c) for c in detail.get("cases") or []] or [
                    html.Li("No rumour cases linked.", className="none")
                ]
                recent = api.alerts(limit=100).get("items") or []
                out[10] = [
                    {
                        "label": plain(
                            f"{a.get('kind')} · {a.get('area') or 'no area'} · {a.get('title')}", 100
                        ),
                        "value": a["id"],
                    }
                    for a in recent
                    if a.get("id") not in linked_alerts
                ]
                open_cases = api.cases(active=True, limit=100).get("items") or []
                out[11] = [
                    {"label": plain(f"{c.get('status')} · {c.get('claim')}", 100), "value": c["case_id"]}
                    for c in open_cases
                    if c.get("case_id") not in linked_cases
                ]
                seen["links"] = links_key
            audit_key = _digest([a.get("seq") for a in audit])
            if seen.get("audit") != audit_key:
                out[12] = audit_rows(audit)
                seen["audit"] = audit_key
    except (Refused, httpx.HTTPError):
        return (*out, no_update)  # the next tick tries again; what is shown stays
    changed = any(part is not no_update for part in out)
    return (*out, seen if changed else no_update)


def volume_window(detail: Mapping[str, Any], stream_now: datetime | None) -> tuple[datetime, datetime]:
    """From an hour before the first alert or entry to the stream's newest post (or the last activity)."""
    times = [parse_time(a.get("first_seen")) for a in detail.get("alerts") or []]
    times += [parse_time(a.get("updated_at")) for a in detail.get("alerts") or []]
    times += [parse_time(e.get("effective_at")) for e in detail.get("entries") or []]
    known = [t for t in times if t is not None]
    end = max([*known, *([stream_now] if stream_now else [])], default=datetime.now(UTC))
    start = min(known, default=end - timedelta(hours=6)) - timedelta(hours=1)
    start = max(start, end - timedelta(days=7))
    return start, end


@callback(
    Output("inc-volume", "figure"),
    Output("inc-volume-title", "children"),
    Output("inc-effects", "children"),
    Output("inc-live-seen", "data"),
    Input("inc-tick", "n_intervals"),
    Input("inc-saved", "data"),
    State("inc-id", "data"),
    State("inc-live-seen", "data"),
)
def refresh_live(_tick: int | None, _saved: Any, incident_id: int, seen: str | None) -> tuple[Any, ...]:
    """The numbers that move with the stream: the area's volume and each action's measured effect."""
    try:
        with _client() as api:
            detail = api.incident(incident_id)
            effects = api.effects(incident_id)
            newest = (api.posts(limit=1).get("items") or [{}])[0]
            stream_now = parse_time(newest.get("created_at"))
            start, end = volume_window(detail, stream_now)
            bucket = pick_bucket(end - start)
            revisions = [a.get("revision") for a in detail.get("alerts") or []]
            versions = [(e["entry_id"], e["version"]) for e in detail.get("entries") or []]
            key = _digest([effects, revisions, versions, stream_now, bucket])
            if key == seen:
                return no_update, no_update, no_update, no_update
            volume = api.area_volume(
                detail.get("area"), since=start, until=end + timedelta(seconds=1), bucket=bucket * 60
            )
    except (Refused, httpx.HTTPError):
        return no_update, no_update, no_update, no_update
    entries = detail.get("entries") or []
    actions = [e for e in entries if e.get("step") == "act"]
    figure = incident_volume_figure(
        volume.get("points") or [],
        detail.get("alerts") or [],
        actions,
        bucket_minutes=bucket,
        area=detail.get("area"),
    )
    where = plain(detail.get("area"), 60) or "all areas"
    title = f"Posts in {where} · per {bucket} min · alerts and actions marked"
    return figure, title, effect_cards(entries, effects), key


# --- analyse ---------------------------------------------------------------------------------------------


@callback(
    Output("inc-analysis-draft", "data"),
    Output("inc-advice-draft", "data"),
    Output("inc-analysis-message", "children"),
    Output("inc-advice-message", "children"),
    Input("inc-snap", "n_clicks"),
    Input("inc-advice-load", "n_clicks"),
    Input({"type": "inc-edit", "entry": ALL}, "n_clicks"),
    Input("inc-analysis-cancel", "n_clicks"),
    Input("inc-advice-cancel", "n_clicks"),
    State("inc-snap-hours", "value"),
    State("inc-advice-lang", "value"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def load_editor(*args: Any) -> tuple[Any, ...]:
    hours, lang, incident_id = args[-3:]
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update, no_update, no_update  # a re-rendered edit button, not a click
    if trigger == "inc-analysis-cancel":
        return None, no_update, "", no_update
    if trigger == "inc-advice-cancel":
        return no_update, None, no_update, ""
    try:
        with _client() as api:
            if trigger == "inc-snap":
                draft = api.analysis_draft(incident_id, float(hours or 2))
                return (
                    {"body": draft, "edit": None, "taken": datetime.now(UTC).isoformat()},
                    no_update,
                    "",
                    no_update,
                )
            if trigger == "inc-advice-load":
                draft = api.advice_draft(incident_id, lang or "nl")
                return no_update, {"body": draft, "edit": None}, no_update, ""
            if isinstance(trigger, Mapping) and trigger.get("type") == "inc-edit":
                entry = next(e for e in api.entries(incident_id) if e["entry_id"] == trigger["entry"])
                store = {
                    "body": entry["body"],
                    "edit": {"entry_id": entry["entry_id"], "version": entry["version"]},
                }
                if entry["step"] == "analyse":
                    return store, no_update, "", no_update
                return no_update, store, no_update, ""
    except (Refused, httpx.HTTPError, StopIteration) as error:
        message = (
            "That entry is gone." if isinstance(error, StopIteration) else f"Could not load: {_error(error)}"
        )
        return no_update, no_update, message, no_update
    return no_update, no_update, no_update, no_update


def save_draft(
    incident_id: int, step: str, store: Mapping[str, Any], body: dict[str, Any], what: str
) -> tuple[Any, ...]:
    """Save the analysis or advice in the editor: a new entry, or the next version of the one being edited.

    Returns the editor's message, its cleared draft and the save time (refused: the reason, draft kept)."""
    edit = store.get("edit")
    try:
        with _client() as api:
            if edit:
                saved = api.edit_entry(incident_id, edit["entry_id"], body, edit["version"])
            else:
                saved = api.add_entry(incident_id, step, body)
    except (Refused, httpx.HTTPError) as error:
        return f"Not saved: {_error(error)}", no_update, no_update
    return done(f"{what} saved (version {saved['version']})."), None, time.time()


def _mode(store: Mapping[str, Any], what: str) -> str:
    edit = store.get("edit")
    if edit:
        version = edit["version"]
        return (
            f"Editing {what} (version {version}): saving adds version {version + 1}; the earlier one stays."
        )
    return f"New {what}: not saved yet."


@callback(
    Output("inc-analysis-editor", "hidden"),
    Output("inc-analysis-mode", "children"),
    Output("inc-analysis-summary", "value"),
    Output("inc-analysis-figures", "children"),
    Output("inc-analysis-goals", "children"),
    Input("inc-analysis-draft", "data"),
)
def show_analysis_editor(store: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if not store:
        return True, "", "", "", []
    body = store.get("body") or {}
    window = body.get("window") or [None, None]
    figures = figures_line(body.get("figures") or {})
    shown = f"Snapshot: {figures}" + (
        f" · window {day_time(window[0])} – {day_time(window[1])}" if window[0] else ""
    )
    return False, _mode(store, "analysis"), body.get("summary") or "", shown, analysis_editor_goals(body)


@callback(
    Output("inc-analysis-message", "children", allow_duplicate=True),
    Output("inc-analysis-draft", "data", allow_duplicate=True),
    Output("inc-saved", "data", allow_duplicate=True),
    Input("inc-analysis-save", "n_clicks"),
    State("inc-analysis-draft", "data"),
    State("inc-analysis-summary", "value"),
    State({"type": "inc-finding", "goal": ALL, "i": ALL}, "value"),
    State({"type": "inc-finding", "goal": ALL, "i": ALL}, "id"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def save_analysis(
    clicks: int,
    store: Mapping[str, Any] | None,
    summary: str | None,
    values: list[str | None],
    ids: list[dict[str, Any]],
    incident_id: int,
) -> tuple[Any, ...]:
    if not clicks or not store:
        return no_update, no_update, no_update
    body = build_analysis(store.get("body") or {}, summary, values, ids)
    return save_draft(incident_id, "analyse", store, body, "Analysis")


# --- advise ----------------------------------------------------------------------------------------------


@callback(
    Output("inc-advice-editor", "hidden"),
    Output("inc-advice-mode", "children"),
    Output("inc-advice-to", "value"),
    Output("inc-advice-checklist", "children"),
    Output("inc-advice-text", "value"),
    Input("inc-advice-draft", "data"),
)
def show_advice_editor(store: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if not store:
        return True, "", "", [], ""
    body = store.get("body") or {}
    source = f" Checklist from playbook {plain(body.get('playbook'), 40)}." if body.get("playbook") else ""
    return (
        False,
        _mode(store, "advice") + source,
        body.get("to") or "",
        advice_checklist(body),
        body.get("advice") or "",
    )


@callback(
    Output("inc-advice-message", "children", allow_duplicate=True),
    Output("inc-advice-draft", "data", allow_duplicate=True),
    Output("inc-saved", "data", allow_duplicate=True),
    Input("inc-advice-save", "n_clicks"),
    State("inc-advice-draft", "data"),
    State("inc-advice-to", "value"),
    State("inc-advice-text", "value"),
    State({"type": "inc-check", "i": ALL}, "value"),
    State({"type": "inc-check-note", "i": ALL}, "value"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def save_advice(
    clicks: int,
    store: Mapping[str, Any] | None,
    to: str | None,
    advice: str | None,
    checks: list[list[str] | None],
    notes: list[str | None],
    incident_id: int,
) -> tuple[Any, ...]:
    if not clicks or not store:
        return no_update, no_update, no_update
    body = build_advice(store.get("body") or {}, to, advice, checks, notes)
    return save_draft(incident_id, "advise", store, body, "Advice")


# --- act -------------------------------------------------------------------------------------------------


@callback(
    Output("inc-act-editor", "hidden"),
    Input("inc-act-open", "n_clicks"),
    Input("inc-act-cancel", "n_clicks"),
    prevent_initial_call=True,
)
def open_act_editor(_open: int, _cancel: int) -> bool:
    return ctx.triggered_id != "inc-act-open"


@callback(
    Output("inc-act-message", "value"),
    Output("inc-act-channel", "value"),
    Output("inc-act-used", "data"),
    Input("inc-act-insert", "n_clicks"),
    State("inc-act-template", "value"),
    State("inc-act-lang", "value"),
    State("inc-act-message", "value"),
    State("inc-templates", "data"),
    prevent_initial_call=True,
)
def use_template(
    clicks: int,
    template_id: str | None,
    lang: str | None,
    message: str | None,
    templates: list[dict[str, Any]] | None,
) -> tuple[Any, ...]:
    template = next((t for t in templates or [] if t.get("id") == template_id), None)
    if not clicks or template is None:
        return no_update, no_update, no_update
    return insert_template(message, template, lang or "nl"), template.get("channel"), template_id


def build_act(
    channel: str | None,
    message: str | None,
    lang: str | None,
    url: str | None,
    case_id: str | None,
    template: str | None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "message": (message or "").strip(),
        "lang": lang or "nl",
        "url": (url or "").strip() or None,
        "template": template or None,
        "case_id": case_id or None,
    }


@callback(
    Output("inc-act-message-out", "children"),
    Output("inc-act-message", "value", allow_duplicate=True),
    Output("inc-act-used", "data", allow_duplicate=True),
    Output("inc-saved", "data", allow_duplicate=True),
    Output("inc-act-editor", "hidden", allow_duplicate=True),
    Output("inc-act-url", "value", allow_duplicate=True),
    Output("inc-act-case", "value", allow_duplicate=True),
    Output("inc-act-at", "value", allow_duplicate=True),
    Input("inc-act-save", "n_clicks"),
    State("inc-act-channel", "value"),
    State("inc-act-message", "value"),
    State("inc-act-lang", "value"),
    State("inc-act-url", "value"),
    State("inc-act-case", "value"),
    State("inc-act-at", "value"),
    State("inc-act-used", "data"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def save_action(*args: Any) -> tuple[Any, ...]:
    """Saved, the form closes and empties, all of it: a publication time left in it dated the next action
    too, and its effect was then measured over the wrong hour. Refused, it stays as typed with the reason
    above it."""
    message, text, used, saved = record_action(*args)
    if saved is no_update:
        return message, text, used, saved, no_update, no_update, no_update, no_update
    return message, text, used, saved, True, "", None, ""


def record_action(
    clicks: int,
    channel: str | None,
    message: str | None,
    lang: str | None,
    url: str | None,
    case_id: str | None,
    at: str | None,
    template: str | None,
    incident_id: int,
) -> tuple[Any, ...]:
    as_typed = (no_update, no_update, no_update)  # message, template used, save time: all left as they are
    if not clicks:
        return no_update, *as_typed
    body = build_act(channel, message, lang, url, case_id, template)
    if not body["message"]:
        return "Write the message that was published.", *as_typed
    left = placeholders(body["message"])
    if left:
        return f"Fill in {', '.join(left)} first: the record says what was published.", *as_typed
    try:
        published = parse_local(at)
    except ValueError:
        return "Published at: write it as YYYY-MM-DD HH:MM (local time), or leave it empty.", *as_typed
    try:
        with _client() as api:
            api.add_entry(incident_id, "act", body, published)
    except (Refused, httpx.HTTPError) as error:
        return f"Not saved: {_error(error)}", *as_typed
    return done("Action saved; its effect is measured below (Evaluate)."), "", None, time.time()


# --- evaluate --------------------------------------------------------------------------------------------


@callback(
    Output("inc-eval-message", "children"),
    Output("inc-eval-comment", "value"),
    Output("inc-saved", "data", allow_duplicate=True),
    Input("inc-eval-save", "n_clicks"),
    State("inc-eval-action", "value"),
    State("inc-eval-comment", "value"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def save_evaluation(
    clicks: int, action: str | None, comment: str | None, incident_id: int
) -> tuple[Any, ...]:
    if not clicks:
        return no_update, no_update, no_update
    if not action:
        return "Choose the action you evaluate.", no_update, no_update
    try:
        with _client() as api:
            saved = api.add_entry(
                incident_id, "evaluate", {"action_entry_id": action, "comment": (comment or "").strip()}
            )
    except (Refused, httpx.HTTPError) as error:
        return f"Not saved: {_error(error)}", no_update, no_update
    effect = saved["body"].get("effect") or {}
    state = "" if effect.get("complete") else " (the hour after was still running: measured so far)"
    return done(f"Evaluation saved with the measured effect{state}."), "", time.time()


# --- links, status, export -------------------------------------------------------------------------------


@callback(
    Output("inc-link-message", "children"),
    Output("inc-saved", "data", allow_duplicate=True),
    Input("inc-link-alert-go", "n_clicks"),
    Input("inc-link-case-go", "n_clicks"),
    Input({"type": "inc-unlink-alert", "id": ALL}, "n_clicks"),
    Input({"type": "inc-unlink-case", "id": ALL}, "n_clicks"),
    Input("inc-status-toggle", "n_clicks"),
    State("inc-link-alert", "value"),
    State("inc-link-case", "value"),
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def change_links(*args: Any) -> tuple[Any, ...]:
    alert, case, incident_id = args[-3:]
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update
    changes: dict[str, Any] = {}
    if trigger == "inc-link-alert-go" and alert:
        changes = {"link_alerts": [alert]}
    elif trigger == "inc-link-case-go" and case:
        changes = {"link_cases": [case]}
    elif isinstance(trigger, Mapping) and trigger.get("type") == "inc-unlink-alert":
        changes = {"unlink_alerts": [trigger["id"]]}
    elif isinstance(trigger, Mapping) and trigger.get("type") == "inc-unlink-case":
        changes = {"unlink_cases": [trigger["id"]]}
    try:
        with _client() as api:
            if trigger == "inc-status-toggle":
                current = api.incident(incident_id).get("status")
                changes = {"status": "closed" if current == "open" else "open"}
            if not changes:
                return "Choose what to link first.", no_update
            api.patch_incident(incident_id, **changes)
    except (Refused, httpx.HTTPError) as error:
        return f"Not changed: {_error(error)}", no_update
    return "", time.time()


@callback(
    Output("inc-download", "data"),
    Output("inc-export-message", "children"),
    *[Input(f"inc-export-{fmt}", "n_clicks") for fmt in EXPORTS],
    State("inc-id", "data"),
    prevent_initial_call=True,
)
def export(*args: Any) -> tuple[Any, ...]:
    incident_id = args[-1]
    trigger = ctx.triggered_id
    if not isinstance(trigger, str) or not ctx.triggered[0].get("value"):
        return no_update, no_update
    fmt = trigger.removeprefix("inc-export-")
    try:
        with _client() as api:
            content, name = api.export(incident_id, fmt)
    except (Refused, httpx.HTTPError) as error:
        return no_update, f"Export failed: {_error(error)}."
    message = done(f"{name} ({count(len(content))} bytes) downloaded; the export is in the audit trail.")
    return dcc.send_bytes(content, name), message
