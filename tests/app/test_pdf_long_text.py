"""The PDF dossier with texts as long as Signaal accepts: a row that does not fit on a page made reportlab
refuse the whole document, so the default export answered 500."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from app.export import export_dossier
from app.export.pdf_export import MAX_CELL_CHARS, MAX_NAMED_SYMBOLS, fit_cell, named_symbols
from tests.app.dossier_example import realistic_dossier


def test_the_pdf_is_made_with_a_25000_character_post_and_a_5000_character_note(tmp_path: Path) -> None:
    dossier = realistic_dossier()
    example_key = dossier.alerts[0].examples[0].key
    long_post = ("Lange getuigenis over de avond in Haren. " * 700)[:25_000]
    many_lines = "\n".join(f"regel {n}" for n in range(400))
    posts = [
        p.model_copy(update={"text": long_post if p.key == example_key else p.text}) for p in dossier.posts
    ]
    audit = [
        a.model_copy(update={"detail": {**a.detail, "note": "x" * 5_000 if n % 2 else many_lines}})
        for n, a in enumerate(dossier.audit)
    ]
    assert any(p.text == long_post for p in posts)
    path = export_dossier(
        dossier.model_copy(update={"posts": posts, "audit": audit}), "pdf", tmp_path / "d.pdf"
    )
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Lange getuigenis" in text
    # Thousands set apart by a no-break space, which Dutch and English readers both read as thousands.
    assert "shortened from 25 000 characters" in text.replace("\n", " ").replace("\u00a0", " ")


def test_short_texts_are_kept_whole_and_long_ones_say_they_were_shortened() -> None:
    assert fit_cell("kort") == "kort"
    shortened = fit_cell("a" * 5_000)
    assert shortened.startswith("a" * MAX_CELL_CHARS) and "shortened from 5\u00a0000 characters" in shortened
    assert fit_cell("\n".join(["r"] * 100)).count("\n") < 30


def test_symbols_the_font_lacks_are_named_and_hostile_runs_of_them_stay_bounded(tmp_path: Path) -> None:
    # DejaVu has 😂 and ❤ but no 🎉 or 👍: those showed as empty boxes, and an emoji can be a post's tone.
    assert named_symbols("Feestje 🎉 bij Lotte 😂") == "Feestje [party popper] bij Lotte 😂"
    assert (
        named_symbols("👍🏽 🇳🇱 👨\u200d👩\u200d👧 Hé café €")
        == "[thumbs up sign] [flag NL] [man][woman][girl] Hé café €"
    )
    assert named_symbols("中文") == "中文"  # letters stay (boxes), only symbols get names
    assert named_symbols("🎉" * 100).count("[party popper]") == MAX_NAMED_SYMBOLS
    assert named_symbols("🇳🇱" * 100).count("[flag NL]") == MAX_NAMED_SYMBOLS  # flags count too
    # A stray regional letter is named where it stands, never paired with a later one into a flag.
    assert (
        named_symbols("🇳 hallo 🇱")
        == "[regional indicator symbol letter n] hallo [regional indicator symbol letter l]"
    )
    # A cell is named, shortened, then set: naming it again must add nothing.
    for text in ("🎉" * 100, "🇳🇱" * 100 + " 🇳", "Feest 😂 🎉"):
        once = named_symbols(text)
        assert named_symbols(once) == once
    dossier = realistic_dossier()
    example_key = dossier.alerts[0].examples[0].key
    party = "Feest 🎉 in Haren " + "🎉" * 24_000
    posts = [p.model_copy(update={"text": party if p.key == example_key else p.text}) for p in dossier.posts]
    path = export_dossier(dossier.model_copy(update={"posts": posts}), "pdf", tmp_path / "d.pdf")
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Feest [party popper] in Haren" in text.replace("\n", " ")
