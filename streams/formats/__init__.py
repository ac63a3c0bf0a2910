"""Format adapters: one raw record from an export in, a pseudonymised Post out, or a ParseError saying why.

Typical use::

    pseudonymise = functools.partial(streams.post.pseudonymise, key=secret)
    for item in iter_posts([Path("ferguson.json")], "auto", pseudonymise):
        ...  # a Post, or a DeadLetter with the reason and the record as read
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from streams.deadletter import DeadLetter
from streams.formats import csv as csv_format
from streams.formats import jsonl, mastodon, twitter_v1, twitter_v2
from streams.formats.base import AUTO, FORMATS, ParseError, Pseudonymiser, RawRecord, check_format
from streams.formats.csv import CsvMapping
from streams.formats.decode import loads
from streams.formats.reader import read_records
from streams.formats.sniff import sniff_record
from streams.post import Post

__all__ = [
    "FORMATS",
    "CsvMapping",
    "ParseError",
    "Pseudonymiser",
    "RawRecord",
    "iter_posts",
    "parse_record",
    "read_records",
]

_PARSERS: dict[str, Callable[[dict[str, Any], Pseudonymiser], Post]] = {
    jsonl.NAME: jsonl.parse,
    twitter_v1.NAME: twitter_v1.parse,
    twitter_v2.NAME: twitter_v2.parse,
    mastodon.NAME: mastodon.parse,
    csv_format.NAME: csv_format.parse,
}


# Longer than any platform's handles (Mastodon's user@domain: 30 + 1 + 253). Bounding them keeps a sealed
# handle within what a post can carry (author_sealed), whether or not a reveal key is set.
MAX_HANDLE_CHARS = 320


def _bounded_handle(pseudonymise: Pseudonymiser, platform: str, handle: str) -> str:
    if len(handle) > MAX_HANDLE_CHARS:
        raise ParseError(
            f"field 'author' is longer than {MAX_HANDLE_CHARS} characters; no platform's handles are"
        )
    return pseudonymise(platform, handle)


def parse_record(
    record: RawRecord | str | dict[str, Any],
    fmt: str,
    pseudonymise: Pseudonymiser,
    seal: Callable[[str], str] | None = None,
) -> Post:
    """One record as a Post. ``fmt`` "auto" uses a RawRecord's own format, or sniffs text and dicts.

    Text is bounded before decoding (1 MB, 64 levels of nesting, valid UTF-8); a dict is taken as decoded.
    With ``seal`` (a :class:`streams.post.HandleSealer`'s ``seal``) the post also carries its author's handle
    encrypted, for a later, audited reveal.
    """
    if seal is not None:
        handles: list[str] = []

        def remembering(platform: str, handle: str) -> str:
            handles.append(handle)  # every adapter pseudonymises exactly one handle: the author's
            return pseudonymise(platform, handle)

        post = parse_record(record, fmt, remembering)
        return post.model_copy(update={"author_sealed": seal(handles[0])}) if handles else post
    pseudonymise = partial(_bounded_handle, pseudonymise)
    check_format(fmt)
    if isinstance(record, RawRecord):
        fmt = record.fmt if fmt == AUTO else fmt
        record = record.text
    if isinstance(record, str):
        obj = loads(record, fmt if fmt != AUTO else "record")
    elif isinstance(record, dict):
        obj = record
    else:
        raise TypeError(f"cannot parse a {type(record).__name__}; pass a RawRecord, JSON text or a dict")
    if fmt == AUTO:
        fmt = sniff_record(obj)
    return _PARSERS[fmt](obj, pseudonymise)


def iter_posts(
    paths: Iterable[Path | str] | Path | str,
    fmt: str,
    pseudonymise: Pseudonymiser,
    csv_mapping: CsvMapping | None = None,
) -> Iterator[Post | DeadLetter]:
    """Every record of every file as a Post or a DeadLetter; a file-level problem becomes one DeadLetter."""
    check_format(fmt)
    for path in [paths] if isinstance(paths, str | os.PathLike) else paths:
        try:
            for record in read_records(Path(path), fmt, csv_mapping):
                try:
                    yield parse_record(record, record.fmt, pseudonymise)
                except ParseError as error:
                    yield DeadLetter.of(record.exact_bytes(), str(error), record.source)
        except ParseError as error:
            yield DeadLetter.of(b"", str(error), str(path))
