"""The dossier as a PDF a mayor reads: title page, one-page summary, charts and map, timeline, the cycle,
the rumour cases, and appendices (alerts, evidence posts, audit log).

reportlab's Paragraph parses a mini-HTML, so every text that is not ours goes through :func:`esc` (``&``,
``<``, ``>`` escaped, control characters dropped). Text is set in DejaVu Sans (Latin, Greek, Cyrillic,
Arabic and Hebrew letters, a few emoji); a symbol it has no glyph for is written as its Unicode name, so
"🎉" reads "[party popper]" rather than an empty box: in a post, an emoji can be the whole tone ("😂" under a
call to riot). Other missing letters (CJK) still show as boxes. Without DejaVu we fall back to Helvetica
and replace what it cannot encode.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.export import charts
from app.export.timeline import (
    GOAL_LABELS,
    STEP_LABELS,
    build_timeline,
    cases_by_weight,
    decisions,
    detail_text,
    effect_line,
    key_figures,
    latest_entries,
    local,
    parse_body,
    period,
    shorten,
    stamp,
    thousands,
    versions_by_entry,
)
from app.room.models import (
    ActBody,
    AdviseBody,
    AnalyseBody,
    CycleEntry,
    CycleStep,
    Dossier,
    EvaluateBody,
    RumourCaseDetail,
)

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
TEXT_W = PAGE_W - 2 * MARGIN
INK = colors.HexColor("#1f2a33")
MUTED = colors.HexColor("#5b6670")
RULE = colors.HexColor("#d9dde1")
HEAD_BG = colors.HexColor("#eef1f4")
OK = colors.HexColor("#2e6b30")
BAD = colors.HexColor("#b3261e")

MAP_SIZE = (7.2, 5.0)  # inches; wide enough that chart and map share a page when the key is short

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    # matplotlib ships DejaVu Sans; it is a dependency anyway, so the PDF never needs system fonts.
    Path(matplotlib.get_data_path()) / "fonts" / "ttf",
)
_FACES = {
    "": "DejaVuSans.ttf",
    "-Bold": "DejaVuSans-Bold.ttf",
    "-Oblique": "DejaVuSans-Oblique.ttf",
    "-BoldOblique": "DejaVuSans-BoldOblique.ttf",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@cache
def fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode): DejaVu if we find it, else reportlab's built-in Helvetica (Latin-1 only)."""
    for folder in _FONT_DIRS:
        files = {suffix: folder / name for suffix, name in _FACES.items()}
        if not all(f.is_file() for f in files.values()):
            continue
        try:
            for suffix, file in files.items():
                pdfmetrics.registerFont(TTFont(f"SignaalSans{suffix}", str(file)))
        except Exception:  # a broken font file: try the next place, finally the built-in font
            continue
        pdfmetrics.registerFontFamily(
            "SignaalSans",
            normal="SignaalSans",
            bold="SignaalSans-Bold",
            italic="SignaalSans-Oblique",
            boldItalic="SignaalSans-BoldOblique",
        )
        return "SignaalSans", "SignaalSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


MAX_PDF_POSTS = 200
# A table row must fit on one page, or reportlab refuses the whole document (LayoutError): a post may hold
# 25,000 characters and a case note 5,000. Longer cell texts are shortened here; the JSON and CSV exports
# keep them whole.
MAX_CELL_CHARS = 1_200
MAX_CELL_LINES = 24


# Emoji parts that only modify the symbol before them (skin tones, joiners, variation selectors).
_MODIFIERS = frozenset({0x200D, 0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)})
_REGIONAL = range(0x1F1E6, 0x1F200)  # two of these letters make a flag
# A name is ~20 characters: a post of 25,000 emoji must not grow to half a million (see MAX_CELL_CHARS).
MAX_NAMED_SYMBOLS = 40
# What a symbol beyond that becomes: the empty box it would have shown, but one the font has, so naming
# the text again (a table cell is shortened first, then set) names nothing more.
UNNAMED = "\u25a1"


def _letter(regional: str) -> str:
    return chr(ord(regional) - _REGIONAL.start + ord("A"))


@cache
def _glyphs() -> frozenset[int]:
    """The code points the text font can draw (Helvetica: those of cp1252)."""
    regular, _bold, unicode = fonts()
    if unicode:
        return frozenset(pdfmetrics.getFont(regular).face.charToGlyph)
    return frozenset(ord(bytes([b]).decode("cp1252", "ignore") or "\0") for b in range(256)) - {0}


def named_symbols(text: str) -> str:
    """Symbols the font cannot draw as their Unicode names in brackets, flags as "[flag NL]"; at most
    MAX_NAMED_SYMBOLS names, the rest as UNNAMED. Naming a named text again changes nothing."""
    if text.isascii():
        return text
    glyphs = _glyphs()
    out: list[str] = []
    named = 0

    def name(words: str) -> None:
        nonlocal named
        out.append(f"[{words}]" if named < MAX_NAMED_SYMBOLS else UNNAMED)
        named += 1

    letter = ""  # the first regional letter of a flag, until the second comes
    for ch in text:
        code = ord(ch)
        if letter and code not in _REGIONAL:
            name(unicodedata.name(letter).lower())  # a lone letter stays where it was, named
            letter = ""
        if code in _REGIONAL:
            if letter:
                name(f"flag {_letter(letter)}{_letter(ch)}")
                letter = ""
            else:
                letter = ch
        elif code in _MODIFIERS:
            continue
        elif code not in glyphs and ch != UNNAMED and unicodedata.category(ch) in ("So", "Sk"):
            name(unicodedata.name(ch, "symbol").lower())
        else:
            out.append(ch)
    if letter:
        name(unicodedata.name(letter).lower())
    return "".join(out)


def esc(text: object, limit: int | None = None) -> str:
    """Any text for a Paragraph: no markup of its own, no control characters, newlines kept."""
    value = named_symbols(_CONTROL.sub("", str(text)).replace("\t", " "))
    if limit is not None:
        value = shorten(value, limit)
    if not fonts()[2]:
        value = value.encode("cp1252", "replace").decode("cp1252")
    return escape(value).replace("\r\n", "\n").replace("\n", "<br/>")


# --- styles ---------------------------------------------------------------------------------------------


@cache
def styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = fonts()
    base = ParagraphStyle(
        "base", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK, splitLongWords=True
    )
    return {
        "body": base,
        "small": ParagraphStyle("small", base, fontSize=8, leading=10),
        "muted": ParagraphStyle("muted", base, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=8, leading=10),
        "cellbold": ParagraphStyle("cellbold", base, fontName=bold, fontSize=8, leading=10),
        "h1": ParagraphStyle("h1", base, fontName=bold, fontSize=16, leading=20, spaceBefore=4, spaceAfter=8),
        "h2": ParagraphStyle(
            "h2", base, fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
        ),
        "h3": ParagraphStyle("h3", base, fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=2),
        "title": ParagraphStyle("title", base, fontName=bold, fontSize=26, leading=31, spaceAfter=10),
        "kicker": ParagraphStyle("kicker", base, fontSize=11, leading=14, textColor=MUTED),
        "status": ParagraphStyle(
            "status",
            base,
            fontName=bold,
            fontSize=11,
            leading=14,
            alignment=TA_CENTER,
            textColor=colors.white,
        ),
    }


def para(markup: str, style: str = "body") -> Paragraph:
    """``markup`` is ours; anything in it from outside must already be :func:`esc`-aped."""
    return Paragraph(markup, styles()[style])


def table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], header: bool = True, zebra: bool = False
) -> Table:
    """Rows of plain strings (escaped here) or flowables; the first row is the header when ``header``."""
    cells = [
        [
            c
            if isinstance(c, Flowable)
            else para(esc(fit_cell(str(c))), "cellbold" if header and i == 0 else "cell")
            for c in row
        ]
        for i, row in enumerate(rows)
    ]
    shown = Table(cells, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_BG))
    if zebra:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f8fa")]))
    shown.setStyle(TableStyle(commands))
    return shown


def fit_cell(text: str) -> str:
    """The text, or its first MAX_CELL_LINES lines and MAX_CELL_CHARS characters and a note that says so;
    symbols are named first (see :func:`named_symbols`), so :func:`esc` names nothing more."""
    written = len(text)
    text = named_symbols(text)
    lines = text.splitlines()
    if len(text) <= MAX_CELL_CHARS and len(lines) <= MAX_CELL_LINES:
        return text
    kept = "\n".join(lines[:MAX_CELL_LINES])[:MAX_CELL_CHARS].rstrip()
    shortened = f"shortened from {thousands(written)} characters"
    return f"{kept} … [{shortened}: the JSON and CSV exports have the whole text]"


def cols(*fractions: float) -> list[float]:
    return [TEXT_W * f for f in fractions]


def chart(png: bytes, width: float, height: float) -> Image:
    return Image(io.BytesIO(png), width=width, height=height)


# --- pages ------------------------------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """Draws "page n of N" once the whole document is laid out (reportlab only knows N at the end)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            if self._pageNumber > 1:
                self.setFont(fonts()[0], 7.5)
                self.setFillColor(MUTED)
                self.drawRightString(PAGE_W - MARGIN, 10 * mm, f"page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _decorate(dossier: Dossier) -> Any:
    title = shorten(dossier.incident.title, 80)
    chain = "audit chain verified" if dossier.audit_chain_ok else "AUDIT CHAIN NOT VERIFIED"
    footer = (
        f"Signaal evaluation dossier · generated {local(dossier.generated_at)} by "
        f"{shorten(dossier.generated_by, 40)} · {chain}"
    )

    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        regular, _, unicode = fonts()
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(MUTED)
        text = title if unicode else title.encode("cp1252", "replace").decode("cp1252")
        canvas.drawString(MARGIN, PAGE_H - 11 * mm, f"Incident {dossier.incident.incident_id}: {text}")
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, PAGE_H - 12.5 * mm, PAGE_W - MARGIN, PAGE_H - 12.5 * mm)
        canvas.drawString(MARGIN, 10 * mm, footer if unicode else footer.encode("cp1252", "replace").decode())
        canvas.restoreState()

    return draw


def _title_page(dossier: Dossier) -> list[Flowable]:
    incident = dossier.incident
    ok = dossier.audit_chain_ok
    status = Table(
        [
            [
                para(
                    "Audit log hash chain verified"
                    if ok
                    else "Audit log hash chain NOT verified — the log may have been altered",
                    "status",
                )
            ]
        ],
        colWidths=[TEXT_W],
        style=TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), OK if ok else BAD),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        ),
    )
    facts = [
        ("Incident", f"{incident.incident_id} — {incident.status.value}"),
        ("Area", incident.area or "all areas"),
        ("Playbook", incident.playbook or "—"),
        ("Period (event time)", period(dossier)),
        ("Opened", f"{local(incident.opened_at)} by {incident.opened_by}"),
        ("Closed", local(incident.closed_at) if incident.closed_at else "still open"),
        ("Generated", f"{local(dossier.generated_at)} by {dossier.generated_by}"),
        (
            "Contents",
            f"{len(dossier.alerts)} alerts, {len(dossier.cases)} rumour cases, "
            f"{len(latest_entries(dossier.entries))} cycle entries, "
            f"{len(dossier.posts)} evidence posts, "
            f"{len(dossier.audit)} audit entries",
        ),
    ]
    return [
        Spacer(1, 45 * mm),
        para("Signaal · evaluation dossier (evaluatiedossier)", "kicker"),
        Spacer(1, 3 * mm),
        para(esc(incident.title), "title"),
        Spacer(1, 8 * mm),
        table(facts, cols(0.28, 0.72), header=False),
        Spacer(1, 8 * mm),
        status,
        Spacer(1, 10 * mm),
        para(
            "Times are Dutch clock time (Europe/Amsterdam). Event time is when posts were written "
            "(stream time in a replay); recorded time is when staff entered something. Post texts are "
            "quoted as written by members of the public; their authors are pseudonymised. The complete "
            "data is in the JSON and CSV exports of this dossier.",
            "muted",
        ),
        NextPageTemplate("body"),
        PageBreak(),
    ]


def _summary(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [para("Summary", "h1"), table(key_figures(dossier), cols(0.24, 0.76), header=False)]
    out.append(para("Top rumours (geruchten)", "h2"))
    cases = cases_by_weight(dossier)[:5]
    if cases:
        rows: list[list[Any]] = [["Claim", "Status", "Posts", "Answer and effect"]]
        for case in cases:
            answer = "no public answer"
            if case.answer is not None:
                answer = (
                    f"{case.answer.channel.value}, {local(case.answer.published_at)}: "
                    f"{shorten(case.answer.text, 110)}"
                )
            if case.effect is not None:
                effect = case.effect
                answer += f" — posts {effect.before} → {effect.after} in {effect.window_minutes} min"
            rows.append([shorten(case.claim, 140), case.status.value, str(case.post_count), answer])
        out.append(table(rows, cols(0.36, 0.12, 0.08, 0.44)))
    else:
        out.append(para("No rumour cases.", "muted"))
    out.append(para("Decisions (besluiten)", "h2"))
    chosen = decisions(dossier)
    if chosen:
        shown = chosen[:10]
        rows = [["When", "Who", "What"]]
        rows += [[stamp(e.at), e.who, shorten(e.what, 170)] for e in shown]
        out.append(table(rows, cols(0.24, 0.12, 0.64)))
        if len(chosen) > len(shown):
            out.append(para(f"… and {len(chosen) - len(shown)} more in the timeline.", "muted"))
    else:
        out.append(para("No advice, actions or verdicts recorded.", "muted"))
    out.append(PageBreak())
    return out


def _charts(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [para("Post volume and alerts", "h1")]
    if dossier.volume:
        out.append(chart(charts.png(charts.volume_figure, dossier), TEXT_W, TEXT_W * 2.6 / 7.2))
    else:
        out.append(para("No post volume was recorded for this incident's area.", "muted"))
    marks = charts.markers(dossier)
    if marks:
        rows = [["Mark", "When", "What"]]
        rows += [[m.label, stamp(m.at), shorten(m.text, 120)] for m in marks]
        out.append(table(rows, cols(0.08, 0.26, 0.66)))
        out.append(
            para(
                "A = alert raised (dashed, coloured by severity); X = communication action (green).", "muted"
            )
        )
    out.append(CondPageBreak(TEXT_W * MAP_SIZE[1] / MAP_SIZE[0] + 20 * mm))
    out.append(para("Map", "h2"))
    out.append(
        chart(
            charts.png(lambda d: charts.map_figure(d, MAP_SIZE), dossier),
            TEXT_W,
            TEXT_W * MAP_SIZE[1] / MAP_SIZE[0],
        )
    )
    out.append(
        para(
            "Geotagged evidence posts (dots) and the areas of alerts (circles of 5 km around the "
            "municipality, coloured by the worst alert's severity). Drawn offline from the Natural "
            "Earth outline and the GeoNames gazetteer.",
            "muted",
        )
    )
    out.append(PageBreak())
    return out


def _timeline(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [para("Timeline", "h1")]
    events = build_timeline(dossier)
    rows: list[list[Any]] = [["When", "Kind", "Who", "What"]]
    for event in events:
        when = stamp(event.at) + (" *" if event.basis == "recorded" else "")
        rows.append([when, event.kind, event.who, event.what])
    out.append(table(rows, cols(0.245, 0.115, 0.14, 0.50), zebra=True))
    out.append(para("* recorded time (when staff entered it); other times are event time.", "muted"))
    return out


def _entry_block(versions: list[CycleEntry], effects: dict[str, EvaluateBody]) -> list[Flowable]:
    entry = versions[-1]
    head = f"<b>{esc(entry.entry_id)}</b> · {esc(local(entry.effective_at))} · by {esc(entry.author)}"
    if len(versions) > 1:
        edits = "; ".join(f"v{v.version} by {esc(v.author)}, {esc(local(v.written_at))}" for v in versions)
        head += f"<br/><font size='7.5' color='#5b6670'>edited — {edits}</font>"
    parts: list[Flowable] = [para(head, "small")]
    body = parse_body(entry)
    if isinstance(body, AnalyseBody):
        if body.summary:
            parts.append(para(esc(body.summary)))
        for goal, findings in body.goals.items():
            if findings:
                items = "<br/>".join(
                    "• "
                    + esc(f.text)
                    + "".join(
                        f" <font color='#5b6670'>[{esc(ev.kind)} {esc(ev.ref)}"
                        + (f": “{esc(ev.text, 100)}”" if ev.text else "")
                        + "]</font>"
                        for ev in f.evidence
                    )
                    for f in findings
                )
                parts.append(para(f"<b>{esc(GOAL_LABELS[goal])}</b><br/>{items}", "small"))
        if body.figures:
            figures = "; ".join(f"{k} = {v}" for k, v in body.figures.items())
            parts.append(para("Figures: " + esc(figures, 400), "muted"))
    elif isinstance(body, AdviseBody):
        parts.append(para(f"To {esc(body.to)}: {esc(body.advice)}"))
        for item in body.checklist:
            note = f" — <i>{esc(item.note)}</i>" if item.note else ""
            parts.append(para(f"{'☑' if item.done else '☐'} {esc(item.item)}{note}", "small"))
    elif isinstance(body, ActBody):
        extra = f", answers {esc(body.case_id)}" if body.case_id else ""
        parts.append(para(f"<b>{esc(body.channel.value)}</b> ({esc(body.lang)}{extra}): {esc(body.message)}"))
        if body.url:
            parts.append(para(esc(body.url), "muted"))
        evaluation = effects.get(entry.entry_id)
        if evaluation is not None and evaluation.effect is not None:
            parts.append(para("<b>Measured effect:</b> " + esc(effect_line(evaluation.effect)), "small"))
    elif isinstance(body, EvaluateBody):
        measured = effect_line(body.effect) if body.effect else "effect not measured"
        parts.append(para(f"Action {esc(body.action_entry_id)}: {esc(measured)}"))
        if body.comment:
            parts.append(para(esc(body.comment), "small"))
    else:
        parts.append(para(esc(entry.body, 1500), "small"))
    parts.append(Spacer(1, 3 * mm))
    return [KeepTogether(parts)]


def _cycle(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        para("The crisis-communication cycle", "h1"),
        para(
            "Analyse, advise, act, evaluate — the latest version of each entry, with who edited it and when.",
            "muted",
        ),
    ]
    versions = versions_by_entry(dossier.entries)
    effects: dict[str, EvaluateBody] = {}
    for entry in latest_entries(dossier.entries):
        body = parse_body(entry)
        if isinstance(body, EvaluateBody):
            effects[body.action_entry_id] = body
    for step in CycleStep:
        chosen = [e for e in latest_entries(dossier.entries) if e.step == step]
        out.append(para(esc(STEP_LABELS[step]), "h2"))
        if not chosen:
            out.append(para("None recorded.", "muted"))
        for entry in chosen:
            out.extend(_entry_block(versions[entry.entry_id], effects))
    return out


def _case_block(case: RumourCaseDetail) -> list[Flowable]:
    stance = case.stance
    head = (
        f"<b>{esc(case.case_id)}</b> · {esc(case.status.value)} · {esc(case.origin)}"
        + (f" · owner {esc(case.owner)}" if case.owner else "")
        + (f" · {esc(case.area)}" if case.area else "")
        + (f" · merged into {esc(case.merged_into)}" if case.merged_into else "")
    )
    parts: list[Flowable] = [
        para(head, "small"),
        para(f"<b>Claim:</b> “{esc(case.claim)}”"),
        para(
            f"First seen {esc(local(case.first_seen))} · {case.post_count} posts · stance: "
            f"support {stance.support}, deny {stance.deny}, query {stance.query}, "
            f"comment {stance.comment}",
            "small",
        ),
    ]
    if case.answer is not None:
        answer = case.answer
        parts.append(
            para(
                f"<b>Answer</b> via {esc(answer.channel.value)}, "
                f"{esc(local(answer.published_at))}, by {esc(answer.by)}: {esc(answer.text)}",
                "small",
            )
        )
    if case.effect is not None:
        e = case.effect
        parts.append(
            para(
                f"<b>Effect of the answer</b> ({e.window_minutes} min before/after): posts "
                f"{e.before} → {e.after}, denials {e.denials_before} → {e.denials_after}",
                "small",
            )
        )
    log = sorted([*case.history, *case.notes], key=lambda a: a.seq)
    if log:
        rows: list[list[Any]] = [["Recorded", "Who", "What"]]
        rows += [
            [stamp(a.at), a.actor, a.action + (f" — {detail_text(a.detail)}" if a.detail else "")]
            for a in log
        ]
        parts.append(table(rows, cols(0.24, 0.12, 0.64)))
    parts.append(Spacer(1, 4 * mm))
    return [KeepTogether(parts[:3]), *parts[3:]]


def _cases(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [PageBreak(), para("Rumour cases (geruchten)", "h1")]
    cases = cases_by_weight(dossier)
    if not cases:
        out.append(para("No rumour cases.", "muted"))
    for case in cases:
        out.extend(_case_block(case))
    return out


def _appendices(dossier: Dossier) -> list[Flowable]:
    out: list[Flowable] = [PageBreak(), para("Appendix A — Alerts", "h1")]
    if dossier.alerts:
        counts: dict[str, int] = {}
        for revision in dossier.alert_revisions:
            counts[revision.id] = counts.get(revision.id, 0) + 1
        rows: list[list[Any]] = [["Raised", "Alert", "Posts", "Rev."]]
        for alert in sorted(dossier.alerts, key=lambda a: a.detected_at or a.first_seen):
            rows.append(
                [
                    stamp(alert.detected_at or alert.first_seen),
                    para(
                        f"<b>{esc(alert.severity.value.upper())} {esc(alert.kind.value)}</b> · "
                        f"{esc(alert.title)}"
                        f"<br/>{esc(alert.explanation, 300)}"
                        f"<br/><font color='#5b6670'>{esc(alert.id)}</font>",
                        "cell",
                    ),
                    str(alert.post_count),
                    str(counts.get(alert.id, 1)),
                ]
            )
        out.append(table(rows, cols(0.22, 0.6, 0.09, 0.09)))
    else:
        out.append(para("No alerts.", "muted"))

    out.append(para("Appendix B — Evidence posts", "h1"))
    if dossier.posts:
        # A reader wants the posts the alerts and cases hold up as examples, not every member of a
        # thousand-post cascade; the JSON and CSV exports keep them all.
        examples = {e.key for a in dossier.alerts for e in a.examples}
        examples |= {e.key for c in dossier.cases for e in c.examples}
        shown = [p for p in dossier.posts if p.key in examples][:MAX_PDF_POSTS]
        rows = [["Written", "Author", "Text", "Area"]]
        rows += [
            [stamp(p.created_at), p.author, p.text + (f"\n{p.url}" if p.url else ""), p.area or ""]
            for p in shown
        ]
        out.append(table(rows, cols(0.2, 0.14, 0.52, 0.14), zebra=True))
        note = "Quoted as written by members of the public; authors pseudonymised."
        if len(shown) < len(dossier.posts):
            note += (
                f" The {len(shown)} example posts of the alerts and rumour cases; all {len(dossier.posts)} "
                "evidence posts are in the JSON and CSV exports."
            )
        out.append(para(note, "muted"))
    else:
        out.append(para("No posts.", "muted"))

    out.append(PageBreak())
    out.append(para("Appendix C — Audit log", "h1"))
    if dossier.audit_chain_ok:
        verdict = "<font color='#2e6b30'><b>verified</b></font> when this dossier was made"
    else:
        verdict = (
            "<font color='#b3261e'><b>NOT verified</b></font> — entries may have been altered or removed"
        )
    out.append(para(f"Hash chain: {verdict}. Each entry's hash covers the previous entry's hash.", "small"))
    if dossier.audit:
        rows = [["#", "Recorded", "Who", "Action", "Subject / detail", "Hash"]]
        rows += [
            [
                str(a.seq),
                stamp(a.at, seconds=True),
                a.actor,
                a.action,
                a.subject + (f"\n{detail_text(a.detail)}" if a.detail else ""),
                a.hash[:12] + "…",
            ]
            for a in dossier.audit
        ]
        out.append(table(rows, cols(0.04, 0.19, 0.09, 0.13, 0.37, 0.18), zebra=True))
    else:
        out.append(para("The audit log is empty.", "muted"))
    return out


def _story(dossier: Dossier) -> Iterable[Flowable]:
    yield from _title_page(dossier)
    yield from _summary(dossier)
    yield from _charts(dossier)
    yield from _timeline(dossier)
    yield from _cycle(dossier)
    yield from _cases(dossier)
    yield from _appendices(dossier)


def render_pdf(dossier: Dossier) -> bytes:
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=18 * mm,
        bottomMargin=16 * mm,
        title=f"Evaluation dossier — {dossier.incident.title}",
        author=dossier.generated_by,
        subject=f"Signaal incident {dossier.incident.incident_id}",
        creator="Signaal",
        # A fixed document id and dates from the dossier: the same dossier gives the same file.
        invariant=True,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="main")
    doc.addPageTemplates(
        [
            PageTemplate("title", frames=[frame]),
            PageTemplate("body", frames=[frame], onPage=_decorate(dossier)),
        ]
    )
    doc.build(list(_story(dossier)), canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
