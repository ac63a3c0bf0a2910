"""The dossier as a zip of CSV tables, complete enough that :func:`read_csv_export` rebuilds it exactly.

One CSV per table, plus ``timeline.csv`` (everything in event-time order, for people) and ``README.txt``.
Cell conventions (also written into the README):

* An empty cell is null. A text that is really the empty string is written as a lone apostrophe.
* Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage return)
  get one leading apostrophe, and so does text that already starts with an apostrophe. Reading back strips
  exactly one leading apostrophe from every cell. We escape rather than keep the data raw because the
  post texts are written by strangers and the people opening these files use spreadsheets; escaping both
  ways keeps the round trip exact.
* Numbers, ``true``/``false`` and ISO 8601 times are written plainly; nested structures (lists, the
  detectors' figures, a cycle entry's body) are one JSON cell.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.export.timeline import build_timeline, iso, local
from app.room.models import Dossier

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()
    # Nested models spread over prefixed columns (``stance`` -> ``stance_support`` ...): readable in a
    # spreadsheet, unlike a JSON cell.
    flattened: tuple[tuple[str, tuple[str, ...]], ...] = ()
    about: str = ""


_AUDIT = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")
_ALERT = (
    "id",
    "kind",
    "severity",
    "title",
    "explanation",
    "area",
    "first_seen",
    "updated_at",
    "post_count",
    "member_ids",
    "examples",
    "playbook",
    "details",
    "revision",
    "detected_at",
)
_ALERT_JSON = frozenset({"member_ids", "examples", "details"})
_STANCE = ("support", "deny", "query", "comment")
_ANSWER = ("text", "channel", "url", "published_at", "by", "recorded_at")
_EFFECT = ("window_minutes", "before", "after", "denials_before", "denials_after", "complete")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "dossier",
            (
                "format",
                "generated_at",
                "generated_by",
                "window_start",
                "window_end",
                "volume_bucket_minutes",
                "audit_chain_ok",
            ),
            about="one row: when and by whom the dossier was made, its event-time window, audit status",
        ),
        Table(
            "incident",
            (
                "incident_id",
                "title",
                "area",
                "playbook",
                "status",
                "auto_link",
                "alert_ids",
                "case_ids",
                "opened_at",
                "opened_by",
                "closed_at",
            ),
            frozenset({"alert_ids", "case_ids"}),
            about="one row: the incident",
        ),
        Table("alerts", _ALERT, _ALERT_JSON, about="the latest revision of each linked alert"),
        Table("alert_revisions", _ALERT, _ALERT_JSON, about="every revision of every linked alert"),
        Table(
            "cases",
            (
                "case_id",
                "origin",
                "alert_id",
                "claim",
                "status",
                "owner",
                "severity",
                "area",
                "first_seen",
                "updated_at",
                "post_count",
                *(f"stance_{f}" for f in _STANCE),
                "examples",
                "merged_into",
                "merged_from",
                *(f"answer_{f}" for f in _ANSWER),
                "version",
                "member_keys",
                "areas",
                *(f"effect_{f}" for f in _EFFECT),
            ),
            frozenset({"examples", "merged_from", "member_keys", "areas"}),
            (("stance", _STANCE), ("answer", _ANSWER), ("effect", _EFFECT)),
            about="rumour cases, with the official answer and its measured effect",
        ),
        Table("case_notes", ("case_id", *_AUDIT), frozenset({"detail"}), about="notes on a case"),
        Table("case_history", ("case_id", *_AUDIT), frozenset({"detail"}), about="status changes etc."),
        Table("case_spread", ("case_id", "start", "count"), about="posts per bucket joining each case"),
        Table(
            "case_points",
            ("case_id", "key", "lat", "lon", "area", "created_at"),
            about="geotagged posts of each case",
        ),
        Table(
            "case_posts",
            ("case_id", "key", "created_at", "text", "area"),
            about="member posts of each case with their text (capped, oldest first)",
        ),
        Table(
            "entries",
            ("entry_id", "incident_id", "step", "version", "author", "written_at", "effective_at", "body"),
            frozenset({"body"}),
            about="every version of every cycle entry (analyse/advise/act/evaluate); body is JSON",
        ),
        Table(
            "posts",
            ("key", "created_at", "author", "text", "area", "lat", "lon", "url"),
            about="evidence posts, authors pseudonymised",
        ),
        Table("volume", ("start", "count"), about="posts per bucket in the incident's area"),
        Table("audit", _AUDIT, frozenset({"detail"}), about="the hash-chained audit log"),
    )
}
CASE_CHILDREN = {
    "case_notes": "notes",
    "case_history": "history",
    "case_spread": "spread",
    "case_points": "points",
    "case_posts": "posts",
}
TIMELINE_COLUMNS = ("at", "local_time", "time_basis", "kind", "who", "what", "ref")


# --- cells -----------------------------------------------------------------------------------------------


def escape_text(text: str) -> str:
    if text == "" or text.startswith((*FORMULA_START, ESCAPE)):
        return ESCAPE + text
    return text


def encode_cell(value: Any, as_json: bool = False) -> str:
    if value is None:
        return ""
    if as_json:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return escape_text(str(value))


def decode_cell(cell: str, as_json: bool = False) -> Any:
    if cell == "":
        return None
    if cell.startswith(ESCAPE):
        cell = cell[1:]
    return json.loads(cell) if as_json else cell


# --- writing ---------------------------------------------------------------------------------------------


def _flatten(row: dict[str, Any], table: Table) -> dict[str, Any]:
    for field, subfields in table.flattened:
        nested = row.pop(field, None) or {}
        for sub in subfields:
            row[f"{field}_{sub}"] = nested.get(sub)
    return row


def _csv_bytes(columns: tuple[str, ...], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _table_bytes(table: Table, records: list[dict[str, Any]]) -> bytes:
    rows = []
    for record in records:
        flat = _flatten(dict(record), table)
        rows.append([encode_cell(flat.get(c), c in table.json_columns) for c in table.columns])
    return _csv_bytes(table.columns, rows)


def _dump(model: BaseModel, **extra: Any) -> dict[str, Any]:
    return {**extra, **model.model_dump(mode="json")}


def _records(dossier: Dossier) -> dict[str, list[dict[str, Any]]]:
    window = dossier.model_dump(mode="json")["window"] or [None, None]
    records: dict[str, list[dict[str, Any]]] = {
        "dossier": [
            {
                "format": dossier.format,
                "generated_at": iso(dossier.generated_at),
                "generated_by": dossier.generated_by,
                "window_start": window[0],
                "window_end": window[1],
                "volume_bucket_minutes": dossier.volume_bucket_minutes,
                "audit_chain_ok": dossier.audit_chain_ok,
            }
        ],
        "incident": [_dump(dossier.incident)],
        "alerts": [_dump(a) for a in dossier.alerts],
        "alert_revisions": [_dump(a) for a in dossier.alert_revisions],
        "cases": [_dump(c) for c in dossier.cases],
        "entries": [_dump(e) for e in dossier.entries],
        "posts": [_dump(p) for p in dossier.posts],
        "volume": [_dump(v) for v in dossier.volume],
        "audit": [_dump(a) for a in dossier.audit],
    }
    for table, field in CASE_CHILDREN.items():
        records[table] = [
            _dump(item, case_id=case.case_id) for case in dossier.cases for item in getattr(case, field)
        ]
    return records


def _readme(dossier: Dossier) -> str:
    lines = [
        f"Signaal evaluation dossier ({dossier.format}) — incident {dossier.incident.incident_id}: "
        f"{dossier.incident.title}",
        f"Generated {dossier.generated_at.isoformat()} by {dossier.generated_by}. "
        f"Audit chain verified: {'yes' if dossier.audit_chain_ok else 'NO'}.",
        "",
        "Files (UTF-8, comma-separated, RFC 4180 quoting, first row is the header):",
    ]
    lines += [f"  {t.name}.csv — {t.about}" for t in TABLES.values()]
    lines += [
        "  timeline.csv — everything in time order: when, who, what (for reading; not read back)",
        "",
        "Conventions:",
        "  * Times are ISO 8601 in UTC. Stream times (first_seen, published_at, effective_at,",
        "    created_at) are event time; other *_at times are the wall clock of the recording.",
        "    timeline.csv says which in time_basis.",
        "  * An empty cell is null (no value). A lone apostrophe (') is an empty text.",
        "  * Formula guard: post texts are written by members of the public. Any text cell that starts",
        "    with = + - @, a tab or a carriage return, or with an apostrophe, has ONE apostrophe added in",
        "    front so a spreadsheet shows it as text instead of running it. Programs reading these files",
        "    must strip exactly one leading apostrophe from every cell (read_csv_export does this).",
        "  * Columns marked JSON hold a JSON value: "
        + ", ".join(f"{t.name}.{c}" for t in TABLES.values() for c in sorted(t.json_columns))
        + ".",
        "  * cases.csv spreads the stance mix, the answer and its effect over stance_*, answer_*, effect_*",
        "    columns; all answer_* (or effect_*) cells empty means there is none.",
        "  * To open in a Dutch spreadsheet, import via Data > From Text/CSV with comma separator and UTF-8.",
        "  * The complete dossier is also available as JSON (the same data, one file).",
        "",
    ]
    return "\r\n".join(lines)


def render_csv_zip(dossier: Dossier) -> bytes:
    records = _records(dossier)
    stamp = dossier.generated_at.timetuple()[:6]
    if stamp[0] < 1980:  # zip cannot represent earlier dates
        stamp = (1980, 1, 1, 0, 0, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add("README.txt", _readme(dossier).encode("utf-8"))
        for table in TABLES.values():
            add(f"{table.name}.csv", _table_bytes(table, records[table.name]))
        timeline = [
            [
                iso(e.at),
                local(e.at, seconds=True),
                e.basis,
                e.kind,
                encode_cell(e.who),
                encode_cell(e.what),
                encode_cell(e.ref),
            ]
            for e in build_timeline(dossier)
        ]
        add("timeline.csv", _csv_bytes(TIMELINE_COLUMNS, timeline))
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------------------------


def _read_table(archive: zipfile.ZipFile, table: Table) -> list[dict[str, Any]]:
    name = f"{table.name}.csv"
    try:
        text = archive.read(name).decode("utf-8")
    except KeyError:
        raise ValueError(f"not a Signaal CSV dossier: {name} is missing") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != table.columns:
        raise ValueError(f"{name}: unexpected columns {header}")
    rows = []
    for cells in reader:
        row = {c: decode_cell(cell, c in table.json_columns) for c, cell in zip(header, cells, strict=True)}
        for field, subfields in table.flattened:
            nested = {sub: row.pop(f"{field}_{sub}") for sub in subfields}
            row[field] = None if all(v is None for v in nested.values()) else nested
        rows.append(row)
    return rows


def read_csv_export(path: str | Path | io.BytesIO) -> Dossier:
    """Rebuild the Dossier from a zip written by :func:`render_csv_zip` (equal to the one exported)."""
    with zipfile.ZipFile(path) as archive:
        tables = {name: _read_table(archive, table) for name, table in TABLES.items()}
    (meta,) = tables["dossier"]
    (incident,) = tables["incident"]
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for table, field in CASE_CHILDREN.items():
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in tables[table]:
            grouped[row.pop("case_id")].append(row)
        children[field] = grouped
    cases = [
        {**case, **{field: children[field].get(case["case_id"], []) for field in CASE_CHILDREN.values()}}
        for case in tables["cases"]
    ]
    window = None
    if meta["window_start"] is not None or meta["window_end"] is not None:
        window = (meta["window_start"], meta["window_end"])
    return Dossier.model_validate(
        {
            "format": meta["format"],
            "generated_at": meta["generated_at"],
            "generated_by": meta["generated_by"],
            "window": window,
            "volume_bucket_minutes": meta["volume_bucket_minutes"],
            "audit_chain_ok": meta["audit_chain_ok"],
            "incident": incident,
            "alerts": tables["alerts"],
            "alert_revisions": tables["alert_revisions"],
            "cases": cases,
            "entries": tables["entries"],
            "posts": tables["posts"],
            "volume": tables["volume"],
            "audit": tables["audit"],
        }
    )
