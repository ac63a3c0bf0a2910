"""The vocabulary every format module shares: format names, the parse error, raw records, pseudonymisers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

AUTO = "auto"
CONCRETE_FORMATS: tuple[str, ...] = ("jsonl", "twitter_v1", "twitter_v2", "mastodon", "csv")
# What a caller may ask for, e.g. as the choices of a command-line option.
FORMATS: tuple[str, ...] = (*CONCRETE_FORMATS, AUTO)

# (platform, raw handle) -> pseudonym; built by callers over streams.post.pseudonymise with their secret key.
Pseudonymiser = Callable[[str, str], str]


def printable_reason(message: str) -> str:
    """``message`` as storable, sendable UTF-8: lone surrogates and NUL written as escapes."""
    return message.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class ParseError(ValueError):
    """A record that cannot become a Post; the message says what is wrong and where, for the dead letter."""

    def __init__(self, message: str) -> None:
        # Messages quote the input (a record's keys, a CSV header, a file name). A lone surrogate from a
        # "\ud800" key made the DeadLetter refuse its reason (so reading stopped and ingest answered 503)
        # and would make a JSON response fail to encode; NUL cannot be stored in PostgreSQL.
        super().__init__(printable_reason(message))


@dataclass(frozen=True)
class RawRecord:
    """One record as read from a file, before parsing.

    ``text`` keeps bytes that are not valid UTF-8 as surrogate escapes (PEP 383), so parsing rejects them
    with a clear reason while ``text.encode("utf-8", "surrogateescape")`` still gives back the exact bytes
    for the dead-letter store.
    """

    source: str  # "path:line" or "path#index"
    text: str  # the record's JSON text (for csv: a native-jsonl JSON object built from the row)
    fmt: str  # concrete format, never "auto"
    # The record as read when ``text`` was built from it (a csv row), so a dead letter keeps the row itself
    # rather than our conversion of it, which leaves out unmapped columns and has HTML entities unescaped.
    raw: str | None = None

    def exact_bytes(self) -> bytes:
        """The bytes the record was read from, for the dead-letter store."""
        text = self.text if self.raw is None else self.raw
        try:
            return text.encode("utf-8", "surrogateescape")  # undecodable bytes kept by the reader
        except UnicodeEncodeError:  # a lone surrogate that came from a JSON escape, not from the file
            return text.encode("utf-8", "surrogatepass")


def check_format(fmt: str, *, allow_auto: bool = True) -> None:
    """Reject unknown format names early: a typo is a caller's bug, not a bad record to dead-letter."""
    if fmt in CONCRETE_FORMATS or (allow_auto and fmt == AUTO):
        return
    choices = ", ".join(FORMATS if allow_auto else CONCRETE_FORMATS)
    raise ValueError(f"unknown format {fmt!r}; expected one of {choices}")
