"""Evaluation exports of an incident dossier: PDF for the mayor, HTML to read or print, JSON and CSV to keep.

``export_dossier(dossier, fmt, path)`` writes one format; ``render_dossier`` gives the bytes (for an HTTP
response). The JSON file and the CSV zip hold the complete dossier and read back into an equal ``Dossier``
(``read_json_export``, ``read_csv_export``); HTML and PDF are views for people.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from app.room.models import Dossier

Format = Literal["pdf", "html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("pdf", "html", "json", "csv")

MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "application/zip",  # one CSV per table, zipped
}
SUFFIXES: dict[str, str] = {"pdf": ".pdf", "html": ".html", "json": ".json", "csv": ".zip"}


def _renderer(fmt: str) -> Callable[[Dossier], bytes]:
    # Imported on use: the PDF needs reportlab and matplotlib, which a JSON export should not have to load.
    if fmt == "json":
        from app.export.json_export import render_json

        return render_json
    if fmt == "csv":
        from app.export.csv_export import render_csv_zip

        return render_csv_zip
    if fmt == "html":
        from app.export.html_export import render_html

        return render_html
    if fmt == "pdf":
        from app.export.pdf_export import render_pdf

        return render_pdf
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_dossier(dossier: Dossier, fmt: str) -> bytes:
    """The export as bytes (the CSV format is a zip)."""
    return _renderer(fmt)(dossier)


def default_filename(dossier: Dossier, fmt: str) -> str:
    """e.g. ``signaal-incident-7-20250303T1100Z.pdf``: sortable, no characters from the title."""
    stamp = dossier.generated_at.strftime("%Y%m%dT%H%MZ")
    return f"signaal-incident-{dossier.incident.incident_id}-{stamp}{SUFFIXES[fmt]}"


def export_dossier(dossier: Dossier, fmt: str, path: str | Path) -> Path:
    """Write ``dossier`` as ``fmt`` to ``path`` (a directory gets :func:`default_filename`); the path written.

    The file appears whole or not at all: written next to the target, then renamed over it.
    """
    data = render_dossier(dossier, fmt)
    target = Path(path)
    if target.is_dir():
        target = target / default_filename(dossier, fmt)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def read_json_export(path: str | Path) -> Dossier:
    from app.export.json_export import read_json_export as read

    return read(path)


def read_csv_export(path: str | Path) -> Dossier:
    from app.export.csv_export import read_csv_export as read

    return read(path)


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "SUFFIXES",
    "default_filename",
    "export_dossier",
    "read_csv_export",
    "read_json_export",
    "render_dossier",
]
