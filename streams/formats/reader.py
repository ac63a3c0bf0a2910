"""Splitting files into raw records: JSON Lines, JSON arrays (as PHEME ships), v2 response documents and
CSV, each optionally gzip-compressed. Records are streamed; only a pretty-printed document is read whole.

Nothing is dropped: a line or element that is broken still becomes a RawRecord carrying its text, so parsing
fails with the reason and the record lands in the dead-letter store. Problems with a file as a whole (a CSV
header without a text column, a truncated gzip stream) raise ParseError once the readable records are out.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from streams.formats.base import AUTO, ParseError, RawRecord, check_format
from streams.formats.csv import CsvMapping, read_csv
from streams.formats.decode import MAX_RECORD_BYTES, loads, remember
from streams.formats.sniff import sniff_record

CHUNK = 1 << 20
# The longest line or array element the reader decodes. It is larger than one record's limit because a v2
# response page (twarc's JSON Lines) holds up to 100 tweets with their includes; each tweet split from it
# is still held to the record limit when parsed, as is any other record between the two limits.
MAX_LINE_BYTES = 16 * MAX_RECORD_BYTES
# A pretty-printed document is decoded whole; past this size it is read line by line instead.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
# How far container() looks for the end of a CSV header line.
MAX_HEADER_CHARS = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    # Compression is recognised by content, not name: exports get renamed.
    with path.open("rb") as raw:
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield cast(IO[bytes], unzipped)
        else:
            raw.seek(0)
            yield raw


@contextmanager
def _decompression_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ParseError(f"{path}: compressed data is broken or cut short ({error})") from None


def container(path: Path, delimiter: str | None = None) -> str:
    """How a file is laid out: "empty", "array", "object" (JSON Lines or one document), "csv", or "lines"
    (JSON Lines whose first line is broken)."""
    path = Path(path)
    with _open(path) as stream, _decompression_errors(path):
        text = ""
        while head := stream.read(4096):
            text = (text + head.decode("utf-8", "replace")).lstrip(_BOM + " \t\r\n")
            if not text:
                continue
            if text[0] in "[{":
                return {"[": "array", "{": "object"}[text[0]]
            if "\n" in text or len(text) > MAX_HEADER_CHARS:
                break
        if not text:
            return "empty"
        # A CSV header names at least the id, time and text columns, so it has a delimiter. A first line
        # without one is a broken JSON record: reading the file as CSV would lose every record after it.
        header = text.partition("\n")[0]
        return "csv" if any(d in header for d in (delimiter or ",;\t")) else "lines"


class _State:
    """Per-file reading state: the format to assume for records that cannot be sniffed."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.guess = fmt if fmt != AUTO else "jsonl"


def _is_v2_response(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("data"), list | dict) and "platform" not in obj


def _split_v2(obj: dict[str, Any], source: str) -> Iterator[RawRecord]:
    """One record per tweet of a v2 response, each with its own author and place so it parses standalone."""
    data = obj["data"]
    tweets = data if isinstance(data, list) else [data]
    includes: dict[str, Any] = obj["includes"] if isinstance(obj.get("includes"), dict) else {}
    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("users", "places"):
        items = includes.get(kind)
        listed = items if isinstance(items, list) else ()
        by_id[kind] = {str(item.get("id")): item for item in listed if isinstance(item, dict)}
    for index, tweet in enumerate(tweets):
        attached: dict[str, list[dict[str, Any]]] = {}
        if isinstance(tweet, dict):
            user = by_id["users"].get(str(tweet.get("author_id")))
            if user is not None:
                attached["users"] = [user]
            geo = tweet.get("geo")
            place = by_id["places"].get(str(geo.get("place_id"))) if isinstance(geo, dict) else None
            if place is not None:
                attached["places"] = [place]
        wrapped = {"data": tweet, "includes": attached}
        text = json.dumps(wrapped, ensure_ascii=False, separators=(",", ":"))
        if not text.isascii() and not _is_utf8(text):
            # A "\ud800" escape decodes to a lone surrogate; written back unescaped it would read as invalid
            # UTF-8, and a tweet that parses alone would be dead-lettered when it comes in a response page.
            text = json.dumps(wrapped, separators=(",", ":"))
        remember(text, wrapped)
        yield RawRecord(f"{source}#{index}", text, "twitter_v2")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _from_object(obj: Any, text: str, source: str, state: _State) -> Iterator[RawRecord]:
    if isinstance(obj, dict) and state.fmt in (AUTO, "twitter_v2") and _is_v2_response(obj):
        state.guess = "twitter_v2"
        yield from _split_v2(obj, source)
        return
    fmt = state.fmt
    if fmt == AUTO:
        try:
            fmt = state.guess = sniff_record(obj)
        except ParseError:
            fmt = state.guess  # parsing as the file's format gives the most useful reason
    remember(text, obj)
    yield RawRecord(source, text, fmt)


def _from_text(text: str, source: str, state: _State) -> Iterator[RawRecord]:
    if state.fmt not in (AUTO, "twitter_v2"):
        yield RawRecord(source, text, state.fmt)  # the parser decodes it; no need to here
        return
    try:
        obj = loads(text, source, MAX_LINE_BYTES)
    except ParseError:
        yield RawRecord(source, text, state.guess)
        return
    yield from _from_object(obj, text, source, state)


def _lines(stream: IO[bytes], path: Path, state: _State) -> Iterator[RawRecord]:
    limit = MAX_LINE_BYTES + 1
    number = 0
    while line := stream.readline(limit):
        number += 1
        if len(line) == limit and not line.endswith(b"\n"):
            # Over the line limit: keep the head (parsing rejects it for its size) and skip the rest.
            while (rest := stream.readline(CHUNK)) and not rest.endswith(b"\n"):
                pass
        text = line.decode("utf-8", "surrogateescape").strip()
        if number == 1:
            text = text.lstrip(_BOM)
        if text:
            yield from _from_text(text, f"{path}:{number}", state)


class _Buffer:
    """Decoded text of a stream, filled a chunk at a time; ``pos`` marks what has been consumed."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.text = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Append the next chunk, dropping consumed text; False when the stream had nothing more."""
        if self.eof:
            return False
        chunk = self._stream.read(CHUNK)
        self.eof = not chunk
        self.text = self.text[self.pos :] + self._utf8.decode(chunk, final=self.eof)
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-whitespace character ("" at the end), skipping whitespace."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]  # "*" always matches
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def rest(self, limit: int) -> str:
        """Everything from ``pos`` on, up to ``limit`` + 1 characters (enough to show it is too long)."""
        while len(self.text) - self.pos <= limit and self.fill():
            pass
        return self.text[self.pos : self.pos + limit + 1]


def _array(stream: IO[bytes], path: Path, state: _State) -> Iterator[RawRecord]:
    buffer = _Buffer(stream)
    if buffer.peek() == _BOM:
        buffer.pos += 1
    buffer.peek()
    buffer.pos += 1  # the opening bracket, checked by container()
    index = 0
    prefix = f"{path}#"
    while True:
        char = buffer.peek()
        if char == "]":
            buffer.pos += 1
            if buffer.peek():  # text after the array
                yield RawRecord(f"{path}#{index}", buffer.rest(MAX_RECORD_BYTES), state.guess)
            return
        if index:
            if char != ",":
                break
            buffer.pos += 1
            char = buffer.peek()
        if not char:
            break
        decoded = _element(buffer)
        if decoded is None:
            # A broken element (a bad escape, a stray quote): one dead letter for it, and the elements after
            # it are still read, when its end can be found.
            end = _end_of_broken_element(buffer)
            if end is None:
                break
            yield RawRecord(f"{prefix}{index}", buffer.text[buffer.pos : end], state.guess)
            buffer.pos = end
            index += 1
            continue
        obj, end = decoded
        yield from _from_object(obj, buffer.text[buffer.pos : end], f"{prefix}{index}", state)
        buffer.pos = end
        index += 1
    # Truncated or broken: everything good before the break has been yielded; the rest is one failing record.
    yield RawRecord(f"{path}#{index}", buffer.rest(MAX_RECORD_BYTES), state.guess)


def _end_of_broken_element(buffer: _Buffer) -> int | None:
    """Where the element at ``buffer.pos`` that JSON cannot decode ends: after its brackets balance
    (outside strings, where a backslash escapes any character) or, for a bare value, at the next comma or
    closing bracket. None if the file ends first or the element would exceed MAX_LINE_BYTES."""
    depth = 0
    in_string = escaped = False
    i = buffer.pos
    while True:
        if i >= len(buffer.text):
            start = buffer.pos
            if len(buffer.text) - start > MAX_LINE_BYTES or not buffer.fill():
                return None
            i -= start  # fill() dropped the text before pos
            continue
        char = buffer.text[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                return i  # a bare value ends where the array does
            depth -= 1
            if depth == 0:
                return i + 1
        elif char == "," and depth == 0:
            return i
        i += 1


def _element(buffer: _Buffer) -> tuple[Any, int] | None:
    """Decode the value at ``buffer.pos``, reading more as needed; None if it is broken or too large."""
    while True:
        try:
            obj, end = _decoder.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError:
            if len(buffer.text) - buffer.pos > MAX_LINE_BYTES or not buffer.fill():
                return None
            continue
        except (ValueError, RecursionError):  # ValueError: e.g. an integer too long for int()
            return None
        # A number can end at the edge of the buffer while the file goes on; objects end on their brace.
        if end < len(buffer.text) or buffer.eof or not buffer.fill():
            return obj, end


def _document(stream: IO[bytes], path: Path, state: _State) -> Iterator[RawRecord] | None:
    """A single (pretty-printed) JSON document, or None if the file is not one."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        return None
    text = data.decode("utf-8", "surrogateescape").strip().lstrip(_BOM)
    try:
        obj = loads(text, str(path), MAX_DOCUMENT_BYTES)
    except (ValueError, RecursionError):  # ParseError and JSONDecodeError are ValueErrors
        return None
    return _from_object(obj, text, f"{path}#0", state)


def read_records(path: Path, fmt: str = AUTO, csv_mapping: CsvMapping | None = None) -> Iterator[RawRecord]:
    """The records of one file, in order. ``fmt`` "auto" sniffs the file and then each JSON record."""
    check_format(fmt)
    path = Path(path)
    layout = container(path, csv_mapping.delimiter if csv_mapping else None)
    if layout == "empty":
        return
    state = _State(fmt)
    with _open(path) as stream, _decompression_errors(path):
        if fmt == "csv" or (fmt == AUTO and layout == "csv"):
            yield from read_csv(stream, str(path), csv_mapping or CsvMapping())
        elif layout == "lines":
            yield from _lines(stream, path, state)
        elif layout == "array":
            yield from _array(stream, path, state)
        elif layout == "object" and _first_line_is_json(stream):
            stream.seek(0)
            yield from _lines(stream, path, state)
        else:
            stream.seek(0)
            records = _document(stream, path, state) if layout == "object" else None
            if records is None:
                stream.seek(0)
                records = _lines(stream, path, state)
            yield from records


def _first_line_is_json(stream: IO[bytes]) -> bool:
    line = stream.readline(MAX_LINE_BYTES + 1)
    try:
        _decoder.decode(line.decode("utf-8", "surrogateescape").strip().lstrip(_BOM))
    except (ValueError, RecursionError):
        return False
    return True
