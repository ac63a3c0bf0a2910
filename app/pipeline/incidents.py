"""Words that name what happened, by concept, in Dutch and English: "doodgestoken", "stabbed" and
"steekpartij" are one STABBING.

The claim scorer's incident concepts (:data:`app.pipeline.rumour_model.CONCEPTS`, built on PHEME's
shootings and sieges) plus the incident kinds a Dutch municipality meets that it lacks. Used to tell a
claim about an incident from a call to a party (:mod:`app.pipeline.rumours`) and to see that two rumour
cases tell the same thing in other words (:mod:`app.room.similar`). The classifier's own features are not
changed by this list.
"""

from __future__ import annotations

from app.pipeline.rumour_model import CONCEPTS
from app.pipeline.signals import tokens

# The claim scorer's concepts that say what happened (the others say how a post is worded).
WHAT_CONCEPTS = (
    "POLICE", "ATTACKER", "SHOOTING", "DEATH", "INJURY", "HOSTAGE", "EXPLOSION", "FIRE", "ARREST",
)  # fmt: skip
# Incident kinds a Dutch municipality meets that the scorer's vocabulary (built on PHEME's shootings and
# sieges) lacks. A Dutch compound can name two ("doodgestoken": stabbed, and dead).
INCIDENT_CONCEPTS: dict[str, tuple[str, ...]] = {
    "STABBING": (
        "stabbed", "stabbing", "stabbings", "stab", "knife", "knifed", "steekpartij", "steekincident",
        "neergestoken", "doodgestoken", "gestoken", "mes", "messen", "steekwond", "steekwonden",
    ),
    "DEATH": ("doodgestoken", "doodgeschoten", "fatal", "fatally", "dode", "doden", "overleden", "omgekomen"),
    "MILITARY": (
        "army", "military", "troops", "soldiers", "soldier", "leger", "defensie", "militairen", "militair",
        "soldaten", "soldaat", "landmacht", "krijgsmacht",
    ),
    "RIOT": ("riot", "riots", "rioting", "rioters", "rellen", "rel", "relschoppers", "ongeregeldheden"),
    "LOOTING": ("looting", "looted", "looters", "plunderen", "plunderingen", "geplunderd", "plunderaars"),
    "EVACUATION": ("evacuated", "evacuation", "evacuate", "geëvacueerd", "evacuatie", "evacueren"),
    "FLOOD": (
        "flood", "flooding", "flooded", "overstroming", "overstroomd", "dijkdoorbraak", "wateroverlast",
    ),
    "POISON": ("poisoned", "poison", "contaminated", "vergiftigd", "vergif", "besmet", "verontreinigd"),
    "MISSING": ("missing", "vermist", "vermiste", "vermissing"),
    "BOMB": ("bomb", "bombs", "explosives", "bom", "bommen", "explosieven", "bommelding"),
}  # fmt: skip

_TERM: dict[bytes, tuple[bytes, ...]] = {}
for _name, _words in (*((c, CONCEPTS[c]) for c in WHAT_CONCEPTS), *INCIDENT_CONCEPTS.items()):
    for _word in _words:
        for _token in tokens(_word):
            _term = b"\x00" + _name.encode()
            if _term not in _TERM.get(_token, ()):
                _TERM[_token] = (*_TERM.get(_token, ()), _term)


def concepts_of(token: bytes) -> tuple[bytes, ...]:
    """The incident concepts a token names (as terms: a NUL byte and the concept's name), or ()."""
    return _TERM.get(token, ())


def names_incident(text: str) -> bool:
    """Whether a text names an incident concept (police, a stabbing, the army, riots...)."""
    return any(token in _TERM for token in tokens(text))
