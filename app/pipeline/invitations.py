"""What makes a post a call to gather: the invitation lexicon, an announced day or time, no incident.

Two detectors need it. The mobilisation detector follows such calls as they spread. The rumour detector
leaves them to it: the questions under an invitation ("Is dit echt?", "Gaat dit nog door?") ask whether a
party is on, which the Project X playbook answers ("announce that there is no open party"); made into
rumour cases, every spreading invitation also showed on the rumour board as an unverified claim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from app.pipeline import time_expressions
from app.pipeline.incidents import names_incident


def phrase_pattern(terms: Sequence[str]) -> str:
    """A regex alternation of lexicon phrases, longest first, any run of whitespace between their words."""
    return "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True))


class InvitationLexicon:
    """The playbooks' invitation phrases as one compiled regex over lower-cased text."""

    def __init__(self, phrases: Sequence[str]) -> None:
        single = tuple(t for t in phrases if re.fullmatch(r"\w+", t))
        alternatives = phrase_pattern(phrases)
        # A hashtag that starts with a lexicon word (#projectxharen, #feestje2024) is as good as the word.
        self._pattern = re.compile(
            rf"(?<!\w)(?:{alternatives})(?!\w)" + (rf"|#(?:{phrase_pattern(single)})\w*" if single else "")
        )
        self._words = re.compile(rf"(?<![\w#])(?:{alternatives})(?!\w)")

    def mentions(self, lower: str) -> bool:
        """Whether a lower-cased text uses the lexicon, in words or as the start of a hashtag."""
        return self._pattern.search(lower) is not None

    def in_words(self, lower: str) -> bool:
        """Whether a lower-cased text uses the lexicon in its words, not only inside a hashtag: every post
        of a Project X night carries the call's tag (#projectxharen), the rumours about it too."""
        return self._words.search(lower) is not None

    def is_call(self, text: str, at: datetime) -> bool:
        """Whether a post written at ``at`` reads as a call to gather or talk of one: it uses the lexicon,
        announces a day or a time, and names no incident. "Bus uit Hengelo geregeld voor zaterdag
        #projectxharen" is talk of the call; "Om 22:00 komt de politie #projectxharen" and "Het leger komt
        vanavond naar het feest" are claims about the night, which rumours are made of."""
        return (
            self.mentions(text.lower())
            and time_expressions.parse(text, at, evening=True) is not None
            and not names_incident(text)
        )
