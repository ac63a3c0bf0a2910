"""The complete dossier as JSON: the model itself, so ``Dossier.model_validate_json`` reads it back."""

from __future__ import annotations

from pathlib import Path

from app.room.models import Dossier


def render_json(dossier: Dossier) -> bytes:
    return dossier.model_dump_json(indent=2).encode("utf-8")


def read_json_export(path: str | Path) -> Dossier:
    return Dossier.model_validate_json(Path(path).read_bytes())
