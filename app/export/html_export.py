"""The dossier as one self-contained, printable HTML page.

Everything strangers wrote (posts, claims, examples, notes, even alert titles that quote posts) goes through
Jinja2's autoescape; the only markup we mark safe is the SVG matplotlib drew for us (text as paths). Links
are made only for http(s) URLs, so a ``javascript:`` URL in a post is shown as text, never followed. No
external resources: styles inline, charts inline, and a Content-Security-Policy that forbids scripts and any
fetch, as a second line of defence should something slip through.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from app.export import charts
from app.export.timeline import (
    GOAL_LABELS,
    STEP_LABELS,
    build_timeline,
    cases_by_weight,
    decisions,
    detail_text,
    effect_line,
    iso,
    key_figures,
    local,
    parse_body,
    period,
    versions_by_entry,
)
from app.room.models import CycleStep, Dossier


def safe_url(url: str | None) -> str | None:
    """The URL if a browser may follow it from an evaluation document: http(s) only."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="Signaal {{ d.format }}">
<title>Evaluation dossier — {{ d.incident.title }}</title>
<style>
  @page { size: A4; margin: 16mm 14mm; }
  body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; font-size: 10.5pt; color: #1f2a33;
         max-width: 190mm; margin: 0 auto; line-height: 1.4; }
  h1 { font-size: 20pt; margin: 0 0 4pt; }
  h2 { font-size: 14pt; border-bottom: 2px solid #1f2a33; padding-bottom: 2pt; margin-top: 22pt;
       break-after: avoid; }
  h3 { font-size: 11.5pt; margin: 14pt 0 4pt; break-after: avoid; }
  table { border-collapse: collapse; width: 100%; margin: 4pt 0 10pt; }
  th, td { text-align: left; vertical-align: top; padding: 3pt 5pt; border-bottom: 1px solid #d9dde1; }
  th { background: #eef1f4; font-weight: 600; }
  tr { break-inside: avoid; }
  td.when, td.num { white-space: nowrap; }
  td.num { text-align: right; }
  .muted { color: #5b6670; }
  .small { font-size: 8.5pt; }
  .quote { white-space: pre-wrap; overflow-wrap: anywhere; }
  .badge { display: inline-block; padding: 1pt 6pt; border-radius: 3pt; font-size: 9pt; font-weight: 600;
           background: #eef1f4; }
  .ok { background: #dff0d8; color: #2e6b30; }
  .bad { background: #f8d7da; color: #8a1c24; }
  .sev-critical { background: #ead7f0; color: #5a1273; } .sev-high { background: #f8d7da; color: #8a1c24; }
  .sev-medium { background: #fde7d2; color: #8a4b0b; } .sev-low { background: #eef1f4; }
  .card { border: 1px solid #d9dde1; border-radius: 4pt; padding: 6pt 10pt; margin: 8pt 0;
          break-inside: avoid; }
  .superseded { color: #5b6670; border-style: dashed; }
  figure { margin: 6pt 0; } figure svg { width: 100%; height: auto; }
  .cover { border-bottom: 3px solid #1f2a33; padding-bottom: 10pt; margin-bottom: 10pt; }
  code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
  @media print { h2 { break-before: page; } h2.first { break-before: auto; } a { color: inherit; } }
</style>
</head>
<body>
{%- macro link(url) -%}
  {%- if url and safe_url(url) -%}<a href="{{ url }}" rel="noopener noreferrer">{{ url }}</a>
  {%- elif url -%}<span class="mono">{{ url }}</span> <span class="muted small">(not a web link)</span>
  {%- endif -%}
{%- endmacro -%}

<header class="cover">
  <div class="muted">Signaal — evaluation dossier (evaluatiedossier)</div>
  <h1>{{ d.incident.title }}</h1>
  <div>Incident {{ d.incident.incident_id }}{% if d.incident.area %} · {{ d.incident.area }}{% endif %}
    · {{ d.incident.status.value }}{% if d.incident.playbook %} · playbook {{ d.incident.playbook }}
      {% endif %}</div>
  <div>Period (event time): {{ period(d) }}</div>
  <div>Opened {{ local(d.incident.opened_at) }} by {{ d.incident.opened_by }}
    {%- if d.incident.closed_at %}; closed {{ local(d.incident.closed_at) }}{% endif %}</div>
  <div>Generated {{ local(d.generated_at) }} by {{ d.generated_by }} ·
    Audit chain: {% if d.audit_chain_ok %}<span class="badge ok">verified</span>
    {%- else %}<span class="badge bad">NOT verified</span>{% endif %}</div>
  <div class="muted small">Times are Dutch clock time. Post texts are quoted as written by members of the
    public; authors are pseudonymised.</div>
</header>

<h2 class="first">Summary</h2>
<table>
{%- for label, value in figures %}
  <tr><th style="width:28%">{{ label }}</th><td>{{ value }}</td></tr>
{%- endfor %}
</table>

<h3>Top rumours</h3>
{% if cases %}
<table>
  <tr><th>Claim</th><th>Status</th><th class="num">Posts</th><th>Answer</th></tr>
  {%- for c in cases[:5] %}
  <tr><td class="quote">{{ c.claim }}</td><td>{{ c.status.value }}</td><td class="num">{{ c.post_count }}</td>
    <td>{% if c.answer %}{{ c.answer.channel.value }}, {{ local(c.answer.published_at) }}
      {%- if c.effect %}<br><span class="small">posts {{ c.effect.before }} → {{ c.effect.after }} in
      {{ c.effect.window_minutes }} min</span>{% endif %}
    {%- else %}<span class="muted">none</span>{% endif %}</td></tr>
  {%- endfor %}
</table>
{% else %}<p class="muted">No rumour cases.</p>{% endif %}

<h3>Decisions</h3>
{% if decided %}
<table>
  <tr><th>When</th><th>Who</th><th>What</th></tr>
  {%- for e in decided %}
  <tr><td class="when">{{ local(e.at) }}</td><td>{{ e.who }}</td><td class="quote">{{ e.what }}</td></tr>
  {%- endfor %}
</table>
{% else %}<p class="muted">No decisions recorded.</p>{% endif %}

<h2>Volume and map</h2>
<figure>{{ volume_svg }}</figure>
{% if marks %}
<table class="small">
  <tr><th>Mark</th><th>When</th><th>What</th></tr>
  {%- for m in marks %}
  <tr><td><b style="color:{{ m.colour }}">{{ m.label }}</b></td><td class="when">{{ local(m.at) }}</td>
    <td>{{ m.text }}</td></tr>
  {%- endfor %}
</table>
{% endif %}
<figure>{{ map_svg }}</figure>

<h2>Timeline</h2>
<table>
  <tr><th>When</th><th>What kind</th><th>Who</th><th>What</th></tr>
  {%- for e in timeline %}
  <tr><td class="when">{{ local(e.at) }}{% if e.basis == "recorded" %}<span class="muted">*</span>
    {% endif %}</td>
    <td>{{ e.kind }}</td><td>{{ e.who }}</td><td class="quote">{{ e.what }}</td></tr>
  {%- endfor %}
</table>
<p class="muted small">* recorded time (wall clock); other times are when it happened in the stream.</p>

<h2>Crisis-communication cycle</h2>
{% for step in steps %}
<h3>{{ step_labels[step] }}</h3>
{% set chosen = entries_by_step[step] %}
{% if not chosen %}<p class="muted">None.</p>{% endif %}
{% for versions in chosen %}
  {% for v in versions|reverse %}
  {% set body = parse_body(v) %}
  <div class="card{% if not loop.first %} superseded{% endif %}">
    <div><b>{{ v.entry_id }}</b> · version {{ v.version }}{% if not loop.first %} (superseded){% endif %}
      · {{ local(v.effective_at) }} · by {{ v.author }}
      <span class="muted small">(written {{ local(v.written_at) }})</span></div>
    {% if body is none %}
      <pre class="mono">{{ v.body|tojson(indent=2) }}</pre>
    {% elif step == "analyse" %}
      {% if body.summary %}<p class="quote">{{ body.summary }}</p>{% endif %}
      {% for goal, findings in body.goals.items() %}{% if findings %}
        <div><b>{{ goal_labels[goal] }}</b></div>
        <ul>{% for f in findings %}<li class="quote">{{ f.text }}
          {%- for ev in f.evidence %}<br><span class="small muted">{{ ev.kind }} {{ ev.ref }}
          {%- if ev.text %}: “{{ ev.text }}”{% endif %}</span>{% endfor %}</li>{% endfor %}</ul>
      {% endif %}{% endfor %}
      {% if body.figures %}<div class="small">Figures: {% for k, val in body.figures.items() %}{{ k }} =
        {{ val }}
        {%- if not loop.last %}; {% endif %}{% endfor %}</div>{% endif %}
    {% elif step == "advise" %}
      <div>To: {{ body.to }}{% if body.playbook %} · playbook {{ body.playbook }}{% endif %}</div>
      <p class="quote">{{ body.advice }}</p>
      {% if body.checklist %}<ul>{% for item in body.checklist %}
        <li>{{ "☑" if item.done else "☐" }} {{ item.item }}{% if item.note %} — <i>{{ item.note }}</i>
          {% endif %}</li>
      {% endfor %}</ul>{% endif %}
    {% elif step == "act" %}
      <div>Channel: {{ body.channel.value }} · language {{ body.lang }}
        {%- if body.case_id %} · answers {{ body.case_id }}{% endif %}
        {%- if body.template %} · template {{ body.template }}{% endif %}</div>
      <p class="quote">{{ body.message }}</p>
      {% if body.url %}<div class="small">{{ link(body.url) }}</div>{% endif %}
    {% elif step == "evaluate" %}
      <div>Action evaluated: {{ body.action_entry_id }}</div>
      {% if body.effect %}<div>Measured effect: {{ effect_line(body.effect) }}</div>
      {% else %}<div class="muted">Effect not measured.</div>{% endif %}
      {% if body.comment %}<p class="quote">{{ body.comment }}</p>{% endif %}
    {% endif %}
  </div>
  {% endfor %}
{% endfor %}
{% endfor %}

<h2>Rumour cases</h2>
{% if not cases %}<p class="muted">No rumour cases.</p>{% endif %}
{% for c in cases %}
<div class="card">
  <div><b>{{ c.case_id }}</b> · <span class="badge">{{ c.status.value }}</span>
    {%- if c.severity %} <span class="badge sev-{{ c.severity.value }}">{{ c.severity.value }}</span>
      {% endif %}
    · {{ c.origin }}{% if c.owner %} · owner {{ c.owner }}{% endif %}{% if c.area %} · {{ c.area }}{% endif %}
    {%- if c.merged_into %} · merged into {{ c.merged_into }}{% endif %}</div>
  <p class="quote"><b>Claim:</b> {{ c.claim }}</p>
  <div class="small">First seen {{ local(c.first_seen) }} · {{ c.post_count }} posts · stance: support
    {{ c.stance.support }}, deny {{ c.stance.deny }}, query {{ c.stance.query }}, comment
      {{ c.stance.comment }}</div>
  {% if c.answer %}
  <div><b>Answer</b> ({{ c.answer.channel.value }}, {{ local(c.answer.published_at) }}, by
    {{ c.answer.by }}):</div>
  <p class="quote">{{ c.answer.text }}</p>
  {% if c.answer.url %}<div class="small">{{ link(c.answer.url) }}</div>{% endif %}
  {% endif %}
  {% if c.effect %}<div>Effect of the answer ({{ c.effect.window_minutes }} min before/after): posts
    {{ c.effect.before }} → {{ c.effect.after }}, denials {{ c.effect.denials_before }} →
    {{ c.effect.denials_after }}</div>{% endif %}
  {% if c.history or c.notes %}
  <table class="small">
    <tr><th>Recorded</th><th>Who</th><th>What</th></tr>
    {%- for h in (c.history + c.notes)|sort(attribute="seq") %}
    <tr><td class="when">{{ local(h.at) }}</td><td>{{ h.actor }}</td>
      <td class="quote">{{ h.action }}{% if h.detail %} — {{ detail_text(h.detail) }}{% endif %}</td></tr>
    {%- endfor %}
  </table>
  {% endif %}
  {% if c.examples %}<div class="small"><b>Examples</b></div><ul class="small">
    {% for ex in c.examples %}<li class="quote">{{ local(ex.created_at) }}: {{ ex.text }}</li>
      {% endfor %}</ul>{% endif %}
</div>
{% endfor %}

<h2>Alerts</h2>
{% if not d.alerts %}<p class="muted">No alerts.</p>{% endif %}
<table>
{%- if d.alerts %}<tr><th>Raised</th><th>Alert</th><th class="num">Posts</th>
  <th class="num">Revisions</th></tr>{% endif %}
{%- for a in d.alerts %}
  <tr><td class="when">{{ local(a.detected_at or a.first_seen) }}</td>
    <td><span class="badge sev-{{ a.severity.value }}">{{ a.severity.value }}</span> {{ a.kind.value }} ·
      <b>{{ a.title }}</b>{% if a.area %} · {{ a.area }}{% endif %}<br><span class="small">
        {{ a.explanation }}</span>
      <br><span class="small muted mono">{{ a.id }}</span></td>
    <td class="num">{{ a.post_count }}</td><td class="num">{{ revisions[a.id] }}</td></tr>
{%- endfor %}
</table>

<h2>Evidence posts</h2>
{% if not d.posts %}<p class="muted">No posts.</p>{% endif %}
<table class="small">
{%- if d.posts %}<tr><th>Written</th><th>Author</th><th>Text</th><th>Area</th></tr>{% endif %}
{%- for p in d.posts %}
  <tr><td class="when">{{ local(p.created_at) }}</td><td class="mono">{{ p.author }}</td>
    <td class="quote">{{ p.text }}{% if p.url %}<br>{{ link(p.url) }}{% endif %}</td><td>
      {{ p.area or "" }}</td></tr>
{%- endfor %}
</table>

<h2>Appendix: audit log</h2>
<p>Hash chain {% if d.audit_chain_ok %}<span class="badge ok">verified</span> when this dossier was made.
  {%- else %}<span class="badge bad">NOT verified</span> — the log may have been altered.{% endif %}</p>
<table class="small">
{%- if d.audit %}<tr><th class="num">#</th><th>Recorded</th><th>Who</th><th>Action</th><th>Subject</th>
  <th>Detail</th>
  <th>Hash</th></tr>{% endif %}
{%- for a in d.audit %}
  <tr><td class="num">{{ a.seq }}</td><td class="when">{{ iso(a.at) }}</td><td>{{ a.actor }}</td><td>
    {{ a.action }}</td>
    <td class="mono">{{ a.subject }}</td><td class="quote">{{ detail_text(a.detail) }}</td>
    <td class="mono" title="{{ a.hash }}">{{ a.hash[:12] }}…</td></tr>
{%- endfor %}
</table>
<p class="muted small">Generated by Signaal at
  {{ iso(d.generated_at) }}. The complete data is in the JSON and CSV
  exports of this dossier.</p>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def render_html(dossier: Dossier) -> bytes:
    versions = versions_by_entry(dossier.entries)
    by_step: dict[CycleStep, list[list[Any]]] = {step: [] for step in CycleStep}
    for entry_versions in sorted(versions.values(), key=lambda vs: (vs[-1].effective_at, vs[-1].entry_id)):
        by_step[entry_versions[-1].step].append(entry_versions)
    revisions: dict[str, int] = {}
    for revision in dossier.alert_revisions:
        revisions[revision.id] = revisions.get(revision.id, 0) + 1
    html = _TEMPLATE.render(
        d=dossier,
        figures=key_figures(dossier),
        cases=cases_by_weight(dossier),
        decided=decisions(dossier),
        timeline=build_timeline(dossier),
        marks=charts.markers(dossier),
        # Our own drawing, text as paths: the one piece of markup not escaped.
        volume_svg=Markup(charts.svg(charts.volume_figure, dossier)),
        map_svg=Markup(charts.svg(charts.map_figure, dossier)),
        steps=list(CycleStep),
        entries_by_step=by_step,
        step_labels=STEP_LABELS,
        goal_labels=GOAL_LABELS,
        revisions={**{a.id: 1 for a in dossier.alerts}, **revisions},
        local=local,
        iso=iso,
        period=period,
        parse_body=parse_body,
        effect_line=effect_line,
        detail_text=detail_text,
        safe_url=safe_url,
    )
    return html.encode("utf-8")
