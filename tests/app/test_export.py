"""Evaluation exports of an incident dossier: JSON and CSV read back equal, HTML and PDF show it safely."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.export import FORMATS, default_filename, export_dossier, read_csv_export, read_json_export
from app.export.csv_export import decode_cell, encode_cell
from app.export.html_export import safe_url
from app.export.pdf_export import esc
from app.export.timeline import plural, thousands
from app.room.models import Dossier
from tests.app.dossier_example import FORMULA, HOSTILE_CLAIM, IMG, JS_URL, empty_dossier, realistic_dossier


@pytest.fixture(scope="module")
def dossier() -> Dossier:
    return realistic_dossier()


@pytest.fixture(scope="module")
def pdf_file(dossier: Dossier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Rendering takes a second or two (charts and map): once for all PDF tests.
    return export_dossier(dossier, "pdf", tmp_path_factory.mktemp("pdf") / "dossier.pdf")


def test_the_example_has_what_the_exports_must_handle(dossier: Dossier) -> None:
    assert {a.kind.value for a in dossier.alerts} >= {"spike", "rumour"}
    assert len(dossier.cases) == 2 and sum(c.answer is not None for c in dossier.cases) == 1
    assert {e.step.value for e in dossier.entries} == {"analyse", "advise", "act", "evaluate"}
    assert any(e.version == 2 for e in dossier.entries)
    assert len(dossier.alert_revisions) > len(dossier.alerts)


# --- JSON ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [realistic_dossier, empty_dossier])
def test_json_round_trips(make, tmp_path: Path) -> None:
    original = make()
    path = export_dossier(original, "json", tmp_path / "d.json")
    assert Dossier.model_validate_json(path.read_bytes()) == original
    assert read_json_export(path) == original


# --- CSV -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [realistic_dossier, empty_dossier])
def test_csv_zip_round_trips(make, tmp_path: Path) -> None:
    original = make()
    path = export_dossier(original, "csv", tmp_path / "d.zip")
    assert read_csv_export(path) == original


def _table(path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))


def test_csv_zip_holds_a_table_each_and_a_readme(dossier: Dossier, tmp_path: Path) -> None:
    path = export_dossier(dossier, "csv", tmp_path / "d.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode("utf-8")
    assert names >= {"README.txt", "incident.csv", "alerts.csv", "alert_revisions.csv", "cases.csv",
                     "case_notes.csv", "case_history.csv", "entries.csv", "posts.csv", "volume.csv",
                     "audit.csv", "timeline.csv"}
    assert "apostrophe" in readme
    entries = _table(path, "entries.csv")
    assert len(entries) == len(dossier.entries)  # one row per version
    assert [r["version"] for r in entries if r["entry_id"] == "e-analyse-1"] == ["1", "2"]
    assert len(_table(path, "alert_revisions.csv")) == len(dossier.alert_revisions)


def test_csv_cells_from_strangers_cannot_run_as_formulas(dossier: Dossier, tmp_path: Path) -> None:
    path = export_dossier(dossier, "csv", tmp_path / "d.zip")
    for name in ("posts.csv", "cases.csv", "timeline.csv", "alerts.csv", "case_notes.csv"):
        for row in _table(path, name):
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    texts = [r["text"] for r in _table(path, "posts.csv")]
    assert "'" + FORMULA + " party tonight" in texts


@pytest.mark.parametrize("text", ["", "'", "''x", "=1+1", "-5", "+31", "@me", "\tx", "plain", "a'b"])
def test_csv_cell_escaping_is_symmetric(text: str) -> None:
    assert decode_cell(encode_cell(text)) == text
    assert decode_cell(encode_cell(None)) is None


def test_csv_timeline_lists_events_in_time_order(dossier: Dossier, tmp_path: Path) -> None:
    path = export_dossier(dossier, "csv", tmp_path / "d.zip")
    rows = _table(path, "timeline.csv")
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    kinds = {r["kind"] for r in rows}
    assert kinds >= {"alert", "rumour", "analyse", "advise", "act", "evaluate", "answer", "case-status"}
    assert all(r["who"] for r in rows if r["kind"] != "incident")


# --- HTML ------------------------------------------------------------------------------------------------


def test_html_escapes_everything_strangers_wrote(dossier: Dossier, tmp_path: Path) -> None:
    html = export_dossier(dossier, "html", tmp_path / "d.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert IMG not in html and "<img" not in html.lower()
    assert HOSTILE_CLAIM not in html and "<b>more</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=" in html
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", html, re.IGNORECASE)
    assert "javascript:alert(document.cookie)" in html  # shown as text
    assert 'href="https://x.example/status/1001"' in html


def test_html_is_self_contained_and_holds_the_timeline(dossier: Dossier, tmp_path: Path) -> None:
    html = export_dossier(dossier, "html", tmp_path / "d.html").read_text(encoding="utf-8")
    # Only inline data, in-document references (the SVGs' <use>) and the posts' own web links.
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#|https://x\.example/|https://gemeente\.)""", html)
    assert "<link" not in html and "@import" not in html
    assert "Content-Security-Policy" in html
    assert html.count("<svg") == 2  # volume chart and map
    assert "Project X Haren" in html and "Timeline" in html
    assert "Er was geen traangas. Blijf weg uit Haren." in html
    assert "version 2" in html and "(superseded)" in html
    assert "Полиция в Харене" in html


@pytest.mark.parametrize("url", [JS_URL, " JaVaScRiPt:alert(1)", "data:text/html,<script>", "vbscript:x", ""])
def test_only_web_links_are_links(url: str) -> None:
    assert safe_url(url) is None
    assert safe_url("https://gemeente.example/a?b=1") == "https://gemeente.example/a?b=1"


# --- PDF -------------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def test_pdf_is_a_multi_page_document_with_title_timeline_and_audit(pdf_file: Path) -> None:
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    pages, text = _pdf_text(pdf_file)
    assert pages >= 6
    flat = " ".join(text.split())
    assert "Project X Haren" in flat
    assert "Audit log hash chain verified" in flat
    assert "Timeline" in flat and "CRITICAL mobilisation alert: Call to come to Haren tonight" in flat
    assert "Er was geen traangas." in flat
    assert "Appendix C" in flat and "entry.edit" in flat
    assert f"page 2 of {pages}" in flat


def test_pdf_shows_hostile_text_as_text(pdf_file: Path) -> None:
    _, text = _pdf_text(pdf_file)
    flat = " ".join(text.split())
    assert "<script>alert('xss')</script>" in flat  # escaped for reportlab, so shown literally
    assert "</para> unclosed <font name=x>" in flat


def test_pdf_escape_leaves_no_markup_and_no_control_characters() -> None:
    assert esc("a < b & <b>c</b>\x00\x1b") == "a &lt; b &amp; &lt;b&gt;c&lt;/b&gt;"
    assert esc("one\ntwo") == "one<br/>two"


# --- edges -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_dossier_still_exports(fmt: str, tmp_path: Path) -> None:
    path = export_dossier(empty_dossier(), fmt, tmp_path)
    assert path.name == default_filename(empty_dossier(), fmt)
    assert path.stat().st_size > 0
    if fmt == "pdf":
        pages, text = _pdf_text(path)
        assert pages >= 2 and "Quiet evening" in text and "NOT verified" in text


def test_an_unknown_format_is_refused(dossier: Dossier, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export_dossier(dossier, "docx", tmp_path / "d.docx")
    assert list(tmp_path.iterdir()) == []


def test_dossier_counts_set_thousands_apart_with_a_space() -> None:
    # "1,888" reads as one point eight to a Dutch reader, "1.888" to an English one.
    assert plural(1_888, "post") == "1\u00a0888 posts" and plural(1, "post") == "1 post"
    assert thousands(25_000_000) == "25\u00a0000\u00a0000" and thousands(999) == "999"
