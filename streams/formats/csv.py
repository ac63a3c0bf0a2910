"""CSV and TSV exports, read through a column mapping into native-jsonl records.

The default mapping reads the usual column names, including CrisisLex (``tweet_id``, ``created_at`` or
``created_at_snowflake``, ``text``). Exports without a time column but with tweet ids (CLEF CheckThat!) can
take the time from the id: ``CsvMapping(created_at="tweet_id", time_format="twitter_snowflake")``. A row
becomes a native JSON object (see ``jsonl``) in the reader, so the record is self-contained: parsing needs
no mapping.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import IO, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from streams.formats import jsonl
from streams.formats.base import ParseError, Pseudonymiser, RawRecord
from streams.formats.decode import MAX_RECORD_BYTES, remember
from streams.formats.fields import unescape
from streams.post import Post

NAME = "csv"
TIME_HINT = " (check the CSV mapping's time_format and timezone)"
# csv refuses fields over 128 KiB by default, which would stop a whole file at one odd row. Rows up to ten
# times the record limit are read and then rejected one by one; beyond that the file itself is broken.
FIELD_LIMIT = 10 * MAX_RECORD_BYTES
_FIELDS = ("id", "author", "created_at", "text", "lat", "lon", "lang", "place", "url")
# Tweet ids since November 2010 carry their posting time: milliseconds since this epoch, above bit 22.
TWITTER_EPOCH_MS = 1288834974657
_TIME_FORMATS = ("iso", "unix", "unix_ms", "twitter_snowflake")


def _names(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


# Candidate header names for one field; the first present in the file is used (case-insensitive).
Columns = Annotated[tuple[str, ...], BeforeValidator(_names)]


class CsvMapping(BaseModel):
    """Which columns hold which Post field, and how to read times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_.-]+$")] = "csv"
    id: Columns = ("id", "tweet_id", "post_id", "status_id")
    # Without an author column each post counts as its own author: one shared stand-in would look like a
    # single account posting everything, which is exactly what the detectors treat as suspicious.
    author: Columns = ("author", "user", "username", "screen_name", "user_screen_name", "handle")
    created_at: Columns = ("created_at", "created_at_snowflake", "timestamp", "time", "date")
    text: Columns = ("text", "tweet_text", "full_text", "content", "message")
    lat: Columns = ("lat", "latitude")
    lon: Columns = ("lon", "lng", "longitude")
    lang: Columns = ("lang", "language")
    place: Columns = ("place", "place_name")
    # No default: link columns in exports (e.g. CheckThat!'s tweet_url) usually contain the author's handle.
    url: Columns = ()
    time_format: str = Field(
        "iso",
        description='"iso", "unix" (seconds), "unix_ms", "twitter_snowflake" (time from a tweet id)'
        ' or a strptime pattern like "%d-%m-%Y %H:%M"',
    )
    timezone: str = Field("Europe/Amsterdam", description="zone of times written without one")
    delimiter: str | None = Field(None, description="None: whichever of , ; or tab the header uses most")
    # Exports of tweets keep Twitter's &amp; &lt; &gt; (CrisisLex has rows both escaped and not); a literal
    # "&amp;" typed by a person is far rarer than one left over from the API.
    unescape_html: bool = True

    @field_validator("time_format")
    @classmethod
    def _known_time_format(cls, value: str) -> str:
        if value in _TIME_FORMATS or "%" in value:
            return value
        raise ValueError(f"use one of {', '.join(_TIME_FORMATS)} or a strptime pattern containing %")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError("the delimiter is one character")
        return value


def _to_iso(value: str, time_format: str, zone: tzinfo) -> str:
    """The time as ISO-8601 with a zone; a value that does not fit is passed on for the parser to reject."""
    try:
        if time_format == "iso":
            moment = datetime.fromisoformat(value)
        elif time_format in ("unix", "unix_ms"):
            seconds = float(value) / (1000 if time_format == "unix_ms" else 1)
            moment = datetime.fromtimestamp(seconds, UTC)
        elif time_format == "twitter_snowflake":
            moment = datetime.fromtimestamp(((int(value) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)
        else:
            moment = datetime.strptime(value, time_format)
    except (ValueError, OverflowError, OSError):
        return value
    if moment.tzinfo is None:
        # An hour that occurs twice when clocks go back is read as the first (fold=0).
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _guess_delimiter(header: str) -> str:
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


class _Columns:
    """The mapping resolved against one file's header: field name -> column index."""

    def __init__(self, header: list[str], mapping: CsvMapping, source: str) -> None:
        positions = {name.strip().lower(): index for index, name in reversed(list(enumerate(header)))}

        def find(field: str) -> int | None:
            for candidate in getattr(mapping, field):
                if candidate.strip().lower() in positions:
                    return positions[candidate.strip().lower()]
            return None

        self.index = {field: find(field) for field in _FIELDS}
        for field in ("id", "created_at", "text"):
            if self.index[field] is None:
                looked_for = ", ".join(getattr(mapping, field))
                raise ParseError(
                    f"{NAME}: {source}: no column for '{field}' (looked for {looked_for};"
                    f" the header has {', '.join(header[:20])})"
                )


def _row_to_native(row: list[str], columns: _Columns, mapping: CsvMapping, zone: tzinfo) -> dict[str, Any]:
    def cell(field: str) -> str | None:
        index = columns.index[field]
        if index is None or index >= len(row) or row[index] == "":
            return None
        return row[index]

    native: dict[str, Any] = {"platform": mapping.platform}
    post_id = cell("id")
    if post_id is not None:
        native["id"] = post_id
    author = cell("author")
    if author is None and columns.index["author"] is None and post_id is not None:
        author = f"unknown:{post_id}"  # ':' occurs in no platform's handles, so this names no real account
    if author is not None:
        native["author"] = author
    created_at = cell("created_at")
    if created_at is not None:
        native["created_at"] = _to_iso(created_at.strip(), mapping.time_format, zone)
    index = columns.index["text"]
    if index is not None and index < len(row):  # an empty text cell is an empty post, not a missing one
        native["text"] = unescape(row[index]) if mapping.unescape_html else row[index]
    lat, lon = cell("lat"), cell("lon")
    if lat is not None or lon is not None:
        native["coordinates"] = {
            key: _number_or_text(value) for key, value in (("lat", lat), ("lon", lon)) if value is not None
        }
    for field in ("lang", "place", "url"):
        value = cell(field)
        if value is not None:
            native[field] = value
    return native


def _number_or_text(value: str) -> float | str:
    # Dutch spreadsheets write 52,37 for 52.37 (and then separate columns with semicolons).
    try:
        return float(value.strip().replace(",", "."))
    except ValueError:
        return value  # the parser names the field and the value


def read_csv(stream: IO[bytes], source: str, mapping: CsvMapping) -> Iterator[RawRecord]:
    """One RawRecord per row, sourced ``path:line`` with the line the row starts on."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    header_line = text.readline()
    if not header_line.strip():
        return
    delimiter = mapping.delimiter or _guess_delimiter(header_line)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))  # only ever raised, see FIELD_LIMIT
    header = next(csv.reader([header_line], delimiter=delimiter))
    columns = _Columns(header, mapping, source)
    zone = ZoneInfo(mapping.timezone)
    # The physical lines of the row being read (one row may span lines), kept for its dead letter, and lines
    # to read again before the rest of the file (those a broken row swallowed).
    consumed: list[str] = []
    again: list[str] = []

    def physical_lines() -> Iterator[str]:
        while True:
            physical = again.pop(0) if again else text.readline()
            if not physical:
                return
            consumed.append(physical)
            yield physical

    def _is_a_row(physical: str) -> bool:
        cells = next(csv.reader([physical], delimiter=delimiter), [])
        id_at, time_at = columns.index["id"], columns.index["created_at"]
        if id_at is None or time_at is None or max(id_at, time_at) >= len(cells) or not cells[id_at]:
            return False
        try:  # _to_iso passes a value it cannot read on unchanged, for the parser to name
            datetime.fromisoformat(_to_iso(cells[time_at].strip(), mapping.time_format, zone))
        except ValueError:
            return False
        return True

    rows = csv.reader(physical_lines(), delimiter=delimiter)
    line = 2  # the line the next row starts on
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise ParseError(f"{NAME}: {source}:{line}: {error}; the rest of the file was not read") from None
        lines, raw = list(consumed), _without_line_end("".join(consumed))
        consumed.clear()
        if len(lines) > 1 and (raw.count('"') % 2 or any(_is_a_row(x) for x in lines[1:])):
            # A quote that never closes makes the csv module take the lines after it into one cell, up to
            # the end of the file or the next quote, without an error. Such a row spans lines and has an odd
            # number of quotes, or a line of it reads as a row of its own (an id and a valid time in their
            # columns). Its own line is the dead letter; the lines it swallowed are read again as rows.
            broken = {"csv_error": "a quote opened on this line is never closed"}
            yield RawRecord(f"{source}:{line}", json.dumps(broken), NAME, raw=_without_line_end(lines[0]))
            again[:0] = lines[1:]
            line += 1
            continue
        if row:
            native = _row_to_native(row, columns, mapping, zone)
            record_text = json.dumps(native, ensure_ascii=False, separators=(",", ":"))
            remember(record_text, native)
            yield RawRecord(f"{source}:{line}", record_text, NAME, raw=raw)
        line += len(lines)


def _without_line_end(row: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if row.endswith(end):
            return row[: -len(end)]
    return row


def parse(obj: dict[str, Any], pseudonymise: Pseudonymiser) -> Post:
    if "csv_error" in obj:  # a row the reader found broken (see read_csv)
        raise ParseError(f"{NAME}: {obj['csv_error']}")
    return jsonl.parse(obj, pseudonymise, fmt=NAME, time_hint=TIME_HINT)
