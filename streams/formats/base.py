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


class ParseError(ValueError):
    """A record that cannot become a Post; the message says what is wrong and where, for the dead letter."""


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


def check_format(fmt: str, *, allow_auto: bool = True) -> None:
    """Reject unknown format names early: a typo is a caller's bug, not a bad record to dead-letter."""
    if fmt in CONCRETE_FORMATS or (allow_auto and fmt == AUTO):
        return
    choices = ", ".join(FORMATS if allow_auto else CONCRETE_FORMATS)
    raise ValueError(f"unknown format {fmt!r}; expected one of {choices}")
