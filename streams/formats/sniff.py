"""Telling formats apart by the keys each one always has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.formats.base import ParseError
from streams.formats.decode import loads

# How many records sniff_file looks at before it gives up.
SNIFF_RECORDS = 50

# Keys only Twitter v2 objects carry (a bare v2 tweet has just id and text, which says nothing).
_V2_KEYS = ("author_id", "public_metrics", "edit_history_tweet_ids", "note_tweet", "referenced_tweets")


def sniff_record(obj: Any) -> str:
    """The format of one decoded record."""
    if not isinstance(obj, dict):
        raise ParseError("cannot tell the format: the record is not a JSON object")
    if isinstance(obj.get("platform"), str) and isinstance(obj.get("author"), str):
        return "jsonl"
    if isinstance(obj.get("account"), dict) and ("uri" in obj or "content" in obj):
        return "mastodon"
    if isinstance(obj.get("user"), dict) or "id_str" in obj or "extended_tweet" in obj or "full_text" in obj:
        return "twitter_v1"
    if isinstance(obj.get("data"), dict | list) or isinstance(obj.get("author"), dict):
        return "twitter_v2"  # a response wrapper, or a twarc2-flattened tweet with its user embedded
    if any(key in obj for key in _V2_KEYS):
        return "twitter_v2"
    keys = ", ".join(str(key)[:30] for key in list(obj)[:10])
    raise ParseError(f"cannot tell the format of a record with keys {keys or '(none)'}")


def sniff_file(path: Path) -> str:
    """The format of a file, from its first records: "csv", or the format of the first recognisable record."""
    from streams.formats.reader import container, read_records  # the reader sniffs records with this module

    path = Path(path)
    if container(path) == "csv":
        return "csv"
    problem = "the file holds no records"
    for number, record in enumerate(read_records(path, "auto")):
        if number >= SNIFF_RECORDS:
            break
        try:
            return sniff_record(loads(record.text, record.source))
        except ParseError as error:
            problem = str(error)
    raise ParseError(f"{path}: cannot tell the format from its first records ({problem})")
