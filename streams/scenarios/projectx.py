"""Project X: a birthday invitation that goes viral and ends in riots, as a seeded synthetic stream.

Modelled on Haren, 21 September 2012: a public invitation to a 16th birthday party spread nationwide,
thousands came, and the evening ended in riots with ME (riot police) charges and looting. Around that core the
scenario puts what a crisis team really has to sort out: ordinary chatter with a daily rhythm, harmless
look-alikes that use the same words ("iedereen welkom", "kom allemaal") without any danger, and rumours with
their denials.

The host of the party is a random first name, not the real girl's: the scenario is a test fixture, not a
re-enactment of a person.

Records are *native input records* (raw author handles, ISO-8601 UTC timestamps) that validate as
:class:`streams.post.Post`; pseudonymisation happens later, at ingest.

Timeline: the span runs from ``start`` (default Saturday 14 September 2024, 00:00 Europe/Amsterdam) to 28 h
after the gathering, which is announced for 20:00 local time on the local day of ``start + days_before``. The
invitation comes ~5 days earlier (less in a short span); the cascade grows logistically, its midpoint ~2/3 of
the way from invitation to party. On the day: anticipation, arrivals, police, then unrest from about 19:35
with its peak ~1.5 h later; a stabbing rumour ~95 min after the announced time, denied by the police ~70 min
later; an army rumour ~160 min after, denied by the municipality ~50 min later; aftermath until the end.

Ground-truth definitions (also in the :class:`GroundTruth` field descriptions)
-------------------------------------------------------------------------------
tipping point
    The created_at of the first *reshare* (a repost or quote of a post of the invitation cascade) at which the
    number of reshares in the trailing 60 minutes, both ends inclusive, reaches
    ``k = max(5, round(25 * scale))``. Scaling ``k`` with ``scale`` keeps the tipping point at the same place
    on the growth curve when the whole incident is made bigger. It is measured on the generated posts, not
    taken from the model, so a detector is scored against what is actually in the stream.
escalation start
    created_at of the first unrest post (fireworks, riots, ME charges, looting).
spike windows
    Runs of whole UTC hours whose total post count is at least ``SPIKE_FACTOR`` times the mean hourly count
    of the span before the invitation (ordinary chatter and look-alikes; at least 1 post/hour, so an empty
    background does not make every post a spike), as half-open ``[start, end)``. The viral days before the
    party can have spike hours of their own: that volume is real.
kinds
    Every post id maps to one of: background, lookalike, invitation, cascade (posts propagating the
    invitation), official (municipality and police statements and their reposts), incident:anticipation,
    incident:arrival, incident:police, incident:unrest, aftermath, rumour:<key>, denial:<key>.
rumour
    Members are the posts that spread or ask about the claim (original, reposts, paraphrases, "klopt dit?");
    denials (the official one and everyone repeating it) are listed separately and are not members.

Engagement counts (likes, reposts, replies, quotes) are a snapshot at the end of the span, as in an archive
export: a streaming detector must not use them to see the future.

Determinism: all randomness comes from one ``random.Random(seed)`` consumed in a fixed order, so the same
arguments give byte-identical output on the same Python version (``random`` only promises its sequences are
stable across versions for ``random()`` itself).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import math
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from streams.gazetteer import Place, find, nearby, places

PLATFORM = "scenario"
LOCAL = ZoneInfo("Europe/Amsterdam")
# A Saturday; with days_before=7 the party falls on Saturday 21 September 2024, 20:00.
DEFAULT_START = datetime(2024, 9, 14, tzinfo=LOCAL)
GATHERING_HOUR = 20
INVITATION_LEAD = timedelta(days=5)
# The riot runs past midnight and the next day is all aftermath; the span ends at local midnight after it.
AFTER_GATHERING = timedelta(hours=28)
TIPPING_RESHARES_PER_HOUR = 25
SPIKE_FACTOR = 10.0
HOUR = 3600.0
MINUTE = 60.0

# Expected post counts at scale 1. With the default background (~2,700 posts over 9 days) the whole scenario
# is ~11,000 posts; the riot's busiest hour is ~100x the town's ordinary hourly volume.
FRIEND_POSTS = 14  # the host's own circle in the first day; a fixed group of friends, not scaled
CASCADE_POSTS = 3000
ANTICIPATION_POSTS = 700
ARRIVAL_POSTS = 500
POLICE_POSTS = 400
UNREST_POSTS = 2600
AFTERMATH_POSTS = 600
OFFICIAL_REPOSTS = 25
STABBING_POSTS, STABBING_DENIALS = 300, 110
ARMY_POSTS, ARMY_DENIALS = 70, 25

GEO_BACKGROUND = 0.07
GEO_INCIDENT = 0.12
GEO_ELSEWHERE = 0.04
NO_LANG = 0.15  # share of records whose platform gave no language: the enrichment stage must detect it
ENGLISH_BACKGROUND = 0.12

WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip

# Relative posting activity per local hour; peaks at 8-9, 12-13 and 19-22, later and flatter at weekends.
WEEKDAY_PROFILE = (
    0.45, 0.22, 0.12, 0.08, 0.08, 0.2, 0.6, 1.5, 2.6, 2.3, 1.5, 1.6,
    2.4, 2.2, 1.5, 1.4, 1.6, 1.9, 2.2, 2.8, 3.0, 2.9, 2.1, 1.1,
)  # fmt: skip
WEEKEND_PROFILE = (
    0.9, 0.6, 0.35, 0.18, 0.1, 0.1, 0.2, 0.4, 0.9, 1.6, 2.1, 2.3,
    2.5, 2.3, 2.0, 1.9, 1.9, 2.1, 2.4, 2.8, 3.0, 3.0, 2.6, 1.7,
)  # fmt: skip
WEEKEND_VOLUME = 0.9

# --- people -------------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "lisa", "sanne", "emma", "julia", "anouk", "lotte", "fleur", "iris", "noor", "eva", "sophie", "femke",
    "lieke", "romy", "demi", "kim", "marloes", "esther", "inge", "petra", "anja", "monique", "sandra",
    "linda",
    "daan", "sem", "lucas", "milan", "thijs", "jesse", "bram", "ruben", "tim", "niels", "jeroen", "sander",
    "bas", "stefan", "mark", "erik", "jan", "pieter", "kees", "henk", "wouter", "koen", "joost", "rick",
    "kevin", "dennis", "mohamed", "yassin", "ilse", "mila", "tess", "luuk", "finn", "jasper", "gijs", "stijn",
)  # fmt: skip
SURNAMES = (
    "de jong", "jansen", "de vries", "van den berg", "van dijk", "bakker", "janssen", "visser", "smit",
    "meijer", "de boer", "mulder", "de groot", "bos", "vos", "peters", "hendriks", "van leeuwen", "dekker",
    "brouwer", "de wit", "dijkstra", "smits", "de graaf", "van der meer", "van der linden", "kok", "jacobs",
    "de haan", "vermeulen", "van den heuvel", "van der veen", "van den broek", "de bruin", "van der heijden",
    "schouten", "van beek", "willems", "van vliet", "hoekstra", "maas", "verhoeven", "koster", "van dam",
    "prins", "blom", "huisman", "kuipers", "veenstra", "kramer", "post", "scholten", "wiersma", "bosma",
)  # fmt: skip
HOSTS = (
    "Merel",
    "Sanne",
    "Lotte",
    "Fleur",
    "Iris",
    "Noor",
    "Julia",
    "Lieke",
    "Romy",
    "Femke",
    "Anouk",
    "Isa",
)

# --- places in town -----------------------------------------------------------------------------------------

# Streets known to exist in Haren; elsewhere the generic list below stands in (every Dutch town has most).
HAREN_STREETS = ("Rijksstraatweg", "Raadhuisplein", "Kerklaan", "Oosterweg", "Meerweg", "Stationsweg")
GENERIC_STREETS = (
    "Stationsstraat", "Kerkstraat", "Dorpsstraat", "Markt", "Molenweg", "Schoolstraat", "Julianastraat",
    "Wilhelminastraat", "Nieuwstraat", "Hoofdstraat", "Beatrixstraat", "Kastanjelaan", "Parallelweg",
)  # fmt: skip
RESIDENTIAL = (
    "Julianastraat",
    "Kastanjelaan",
    "Molenweg",
    "Wilhelminastraat",
    "Beatrixstraat",
    "Schoolstraat",
)
SHOPS = ("Albert Heijn", "Jumbo", "Lidl", "Action", "HEMA", "Kruidvat", "Aldi", "Blokker", "Etos")
CAFES = ("De Zwaan", "'t Hoekje", "De Gouden Leeuw", "De Kroon", "Het Wapen")
CAUSES = ("de voedselbank", "het hospice", "de zending", "KiKa", "de kerkorgel-restauratie")
FACILITIES = (
    "nieuw zwembad",
    "nieuwe sporthal",
    "nieuw gezondheidscentrum",
    "nieuwe fietsenstalling bij het station",
    "nieuwe speeltuin",
)
# Motorways people in each province actually complain about.
ROADS = {
    "Groningen": ("A7", "A28", "N46", "N355"), "Friesland": ("A7", "A32", "N31"),
    "Drenthe": ("A28", "A37", "N34"), "Overijssel": ("A1", "A28", "A35"),
    "Gelderland": ("A1", "A12", "A50", "A15"), "Utrecht": ("A2", "A12", "A27"),
    "Noord-Holland": ("A9", "A10", "A7"), "Zuid-Holland": ("A4", "A13", "A20", "A12"),
    "Zeeland": ("A58", "N57"), "Noord-Brabant": ("A2", "A58", "A27", "A67"),
    "Limburg": ("A2", "A73", "A76"), "Flevoland": ("A6", "A27"),
}  # fmt: skip
CLUBS = {
    "Groningen": ("FC Groningen",), "Friesland": ("sc Heerenveen", "Cambuur"), "Drenthe": ("FC Emmen",),
    "Overijssel": ("FC Twente", "PEC Zwolle", "Heracles"), "Gelderland": ("Vitesse", "NEC", "De Graafschap"),
    "Utrecht": ("FC Utrecht",), "Noord-Holland": ("Ajax", "AZ"),
    "Zuid-Holland": ("Feyenoord", "Sparta", "ADO Den Haag"), "Zeeland": ("Feyenoord",),
    "Noord-Brabant": ("PSV", "Willem II", "NAC"), "Limburg": ("Fortuna Sittard", "VVV"),
    "Flevoland": ("Almere City",),
}  # fmt: skip
# How the posts name a place whose gazetteer name they would not use: "Almere Stad" is the city's centre
# district, and a caller may still ask for "The Hague" (the gazetteer's names are Dutch since it renamed
# GeoNames' English name; see scripts/build_gazetteer.py).
DUTCH_LABELS = {"The Hague": "Den Haag", "Almere Stad": "Almere"}

# --- texts --------------------------------------------------------------------------------------------------
# Slots in braces are filled per post (see _Slots); a slot used twice in one text gets the same value.

BACKGROUND: dict[str, dict[str, tuple[str, ...]]] = {
    "weather": {
        "nl": (
            "Wat een regenweer in {place} vandaag ☔",
            "Eindelijk zon in {place}! Terras op 😎",
            "Mist op de weg bij {place}, rij voorzichtig",
            "Het is echt herfst geworden hier in {place} 🍂",
            "Onweer boven {place}, wat een klappen",
            "Lekker nazomerweer, zo de fiets op richting {place2}",
            "Harde wind vandaag, fiets waaide bijna om op de {street}",
            "Buienradar zegt droog maar ik sta hier in {place} in de stromende regen",
            "Koud vanochtend! Eerste keer de winterjas weer aan",
            "Wat een mooie zonsondergang boven {place} vanavond",
        ),
        "en": (
            "Rainy day in {place} again ☔",
            "Beautiful sunset over {place} tonight",
            "Dutch weather: four seasons in one day 🙃",
        ),
    },
    "traffic": {
        "nl": (
            "File op de {road} richting {city}, weer eens 🙄",
            "Ongeluk op de {road} bij {place}, file staat al tot {place2}",
            "Trein naar {city} weer vertraagd, lekker dan NS",
            "Waarom zijn er altijd wegwerkzaamheden op de {street} 😤",
            "Ik sta al 20 minuten stil op de {road}",
            "Bus {busnr} rijdt weer niet, sta hier in {place} in de kou",
            "Fietspad langs de {street} eindelijk weer open 👍",
            "Parkeren in {place} is echt een drama op zaterdag",
            "Omleiding bij {place} door werkzaamheden, reken op extra reistijd",
            "Brug bij {place} staat open, alles staat vast",
        ),
        "en": (
            "Stuck in traffic on the {road} near {place} again",
            "Train to {city} delayed. Classic NS.",
        ),
    },
    "football": {
        "nl": (
            "Wat een wedstrijd van {club} gisteren!",
            "Zaterdag weer thuis met {localclub}, wie komt kijken?",
            "Trainer van {club} moet echt weg na dit seizoen",
            "Kinderen vanochtend gevoetbald bij {localclub}, 3-2 gewonnen ⚽",
            "{club} staat weer onderaan, wat is er aan de hand",
            "Kaartjes voor {club} uitverkocht 😩",
            "Mooie goal van onze jongste bij de F-jes van {localclub}",
            "Veld van {localclub} afgekeurd vanwege de regen",
        ),
        "en": ("What a game from {club} yesterday!", "{club} really need a new striker"),
    },
    "school": {
        "nl": (
            "Eerste toets van het jaar morgen, help 😩",
            "Weer te laat op school omdat de bus niet kwam",
            "Ouderavond op school in {place} vanavond",
            "Studiedag morgen, dus de kids thuis 🙃",
            "Nieuwe gymzaal bij de basisschool in {place} is eindelijk open",
            "Wie heeft er ook een tussenuur? Verveel me dood",
            "Schoolplein in {place} is echt te klein voor al die kinderen",
            "Morgen schoolreisje met groep 5, duimen voor goed weer",
        ),
        "en": ("Exams next week and I haven't started 😭", "Campus in {city} is packed today"),
    },
    "shops": {
        "nl": (
            "Nieuwe bakker op de {street} in {place} is echt top 🥐",
            "De {shop} in {place} gaat sluiten, wat jammer",
            "Waarom is de {shop} op zondag dicht in {place}?",
            "Lange rij bij de {shop}, één kassa open 🙄",
            "Eindelijk een goede koffiezaak in {place} ☕",
            "Weekmarkt in {place} was weer gezellig",
            "Prijzen bij de {shop} zijn echt belachelijk geworden",
            "Nieuwe fietsenmaker op de {street}, heel vriendelijk",
        ),
        "en": (
            "The new bakery in {place} is amazing 🥐",
            "Why is the {shop} in {place} always out of oat milk",
        ),
    },
    "events": {
        "nl": (
            "Leuke voorstelling gezien in de schouwburg in {city}",
            "Concert in {city} vanavond, zin in!",
            "Pubquiz in café {cafe} was weer top",
            "Open dag bij de brandweer in {place} was leuk voor de kids",
            "Rommelmarkt in {place} was weer een succes",
            "Wie gaat er vanavond naar de film in {city}?",
            "Korenconcert in de kerk van {place}, prachtig",
            "Kermis komt weer naar {place} volgende maand",
        ),
        "en": ("Great gig in {city} tonight", "Pub quiz at café {cafe} was fun"),
    },
    "complaints": {
        "nl": (
            "Alweer hondenpoep op de stoep op de {street} 🤢",
            "Straatverlichting op de {street} doet het al weken niet @gemeente_{slug}",
            "Die scooters in {place} rijden veel te hard",
            "Zwerfafval bij het station in {place}, wie ruimt dit op?",
            "Bladblazers om 7 uur 's ochtends, serieus?",
            "Gemeente {town} doet echt niks aan de gaten in de weg",
            "Containers niet geleegd in {place}, stinkt enorm",
            "Te weinig parkeerplekken bij de huisarts in {place}",
        ),
        "en": (
            "Why does nobody in {place} know how to use a roundabout",
            "Scooters on the bike path again...",
        ),
    },
    "general": {
        "nl": (
            "Lekker gewandeld rond {place}",
            "Wat een gezellige avond gehad",
            "Hond uitlaten bij {place}, heerlijk rustig",
            "Iemand een tip voor een goede kapper in {place}?",
            "Kat vermist in {place}, grijze kater, luistert naar Tijger. Graag delen!",
            "Net verhuisd naar {place}, leuke buurt!",
            "Koffie en een boek, meer heb ik niet nodig vandaag",
            "Fietsje gepakt naar {place2}, wat is het hier mooi",
        ),
        "en": ("Lovely walk around {place} today", "Anyone know a good dentist in {place}?"),
    },
    "morning": {
        "nl": ("Goedemorgen {place}! ☀️", "Eerste koffie ☕ en dan aan de slag", "Vroeg op pad vandaag"),
        "en": ("Good morning {place}!",),
    },
    "night": {
        "nl": ("Kan niet slapen", "Nog iemand wakker?", "Nachtdienst zit er bijna op"),
        "en": ("Can't sleep again",),
    },
    "news": {
        "nl": (
            "Gemeenteraad {town} akkoord met plannen voor een {facility}",
            "Werkzaamheden aan de {road} bij {place} duren langer dan gepland",
            "Brand in schuur in {place}, niemand gewond",
            "Nieuwe huisartsenpraktijk opent in {place}",
            "Inbraken in {place}: politie vraagt bewoners alert te zijn",
        ),
    },
}
TOPIC_WEIGHTS = {
    "weather": 0.13, "traffic": 0.13, "football": 0.1, "school": 0.1, "shops": 0.13, "events": 0.1,
    "complaints": 0.13, "general": 0.14, "morning": 0.0, "night": 0.0, "news": 0.04,
}  # fmt: skip
REPLIES = {
    "nl": (
        "Haha echt", "Klopt helemaal", "Ja vreselijk", "Eens!", "Herkenbaar 😂", "Oh nee", "Ik ook",
        "Jammer joh", "Top!", "Dat zeg ik al jaren", "Succes!", "Zo waar",
    ),
    "en": ("Same here", "So true", "Haha yes", "Oh no"),
}  # fmt: skip

INVITATION = (
    "Feestje bij {host}! Ik word 16 🎉 {weekday} {date} vanaf {hh}:00, {party_street}, {town}. "
    "Iedereen is welkom!"
)
FRIEND_REPLIES = (
    "Gefeliciteerd alvast!! 🎉", "Ik kom zeker!", "Gezellig!", "Haha ben erbij", "Moet ik iets meenemen?",
    "Wat wil je hebben voor je verjaardag?", "Mag mijn zus ook komen?", "Yesss feestje 🥳",
)  # fmt: skip
VARIANTS = {
    "nl": (
        "Feestje bij {host}, {weekday} {date} {hh}:00, {town}, iedereen is welkom! {hashtag}",
        "{hashtag} {weekday} {hh}:00 {party_street} {town}. Kom allemaal!!",
        "Wie gaat er {weekday} naar {town}? {hashtag}",
        "{weekday} allemaal naar {town}!! Project X 🎉 {hashtag}",
        "Open invite voor het feest in {town} {weekday} 😂 {hashtag}",
        "Iedereen komt {weekday} naar {town}, dit wordt Project X {hashtag}",
        "Al {n}.000 aanmeldingen voor het feest in {town} 😳 {hashtag}",
        "Iemand nog een slaapplek in {town} {weekday}? {hashtag}",
        "Neem allemaal je vrienden mee {weekday}! {hashtag}",
        "{town} gaat {weekday} helemaal los {hashtag} 🔥",
    ),
    "en": (
        "Party in {town} {weekday_en}, open invite!! {hashtag}",
        "Project X in {town} this {weekday_en}?? who's coming {hashtag}",
        "{n}k people going to a birthday party in {town} lmao {hashtag}",
        "Everyone's invited to {host}'s party in {town} 😂 {hashtag}",
    ),
}
TRAVEL = {
    "nl": (
        "Met de trein vanuit {far} naar {town} {weekday}! {hashtag}",
        "Bus uit {far} geregeld voor {weekday}, nog {k} plekken vrij {hashtag}",
        "Wij komen met {k} man uit {far} 🚗 {hashtag}",
        "Vanuit {far} rijden we {weekday} naar {town}, wie rijdt er mee? {hashtag}",
        "Iemand uit {far} die wil carpoolen naar {town}? {hashtag}",
        "Hele klas uit {far} gaat {weekday} naar {town} 😂 {hashtag}",
    ),
    "en": (
        "Road trip from {far} to {town} {weekday_en} {hashtag}",
        "Coming all the way from {far} for this {hashtag}",
    ),
}
QUOTES = {
    "nl": (
        "Project X {town} 😂😂", "Wie gaat er?", "Ik ga!!", "Dit wordt episch", "Kom allemaal!!",
        "Haha arme ouders", "Wie rijdt er mee?", "{weekday} {town}, wie o wie?", "Dit gaat helemaal mis 😬",
        "Ben benieuwd hoeveel er echt komen", "Hahaha {host} heeft een probleem", "Tag je vrienden!",
    ),
    "en": ("this is going to be insane", "who's going??", "RIP {host}'s parents 😂"),
}  # fmt: skip
CASCADE_REPLIES = {
    "nl": (
        "Ik kom!", "Hoe laat precies?", "Is dit echt?", "Waar precies?", "Mag ik ook komen?",
        "Ben erbij met {k} man", "Moet ik iets meenemen?", "Gaat dit nog door?", "Gefeliciteerd alvast 😂",
        "Neem drank mee!",
    ),
    "en": ("is this real?", "what time?", "I'm in!"),
}  # fmt: skip
INFLUENCER = "Project X in {town}?? 😂 {weekday} {hh}:00, iedereen is welkom zegt ze. Wie gaat er? {hashtag}"

OFFICIAL = {
    "warning": (
        "Er gaan berichten rond over een feest in {town} op {weekday} {date}. Dit is een privéfeest dat op "
        "sociale media uit de hand is gelopen. Er is geen feest: kom niet naar {town}."
    ),
    "police_warning": (
        "De politie is op de hoogte van de oproep voor een feest in {town} op {weekday}. Wij nemen "
        "maatregelen. Kom niet naar {town}."
    ),
    "emergency_order": (
        "De burgemeester van {town} heeft voor vandaag een noodverordening afgekondigd voor het centrum. "
        "Kom niet naar {town}."
    ),
    "leave": (
        "Wij vragen iedereen die niet in {town} woont {town} te verlaten. Volg de aanwijzingen van politie "
        "en ME op."
    ),
    "cleanup": (
        "Veel inwoners willen helpen met opruimen na de onrust van vannacht. Vrijwilligers zijn welkom om "
        "10:00 op het {square}. Dank jullie wel!"
    ),
}
ANTICIPATION = {
    "nl": (
        "Vanavond {town}!!! {hashtag}", "Wie gaat er vanavond naar {town}?",
        "Onderweg naar {town} 🚆 {hashtag}",
        "Trein naar {town} zit nu al helemaal vol", "Het wordt vanavond echt druk in {town}",
        "Zijn er echt zoveel mensen onderweg naar {town}?", "Ouders laten me niet gaan naar {town} 😭",
        "Ik ga toch niet, wordt te gek", "Bier ingeslagen voor vanavond {hashtag}",
        "Vanuit {far} onderweg naar {town}, wie nog meer? {hashtag}",
    ),
    "en": ("On my way to {town} {hashtag}", "Tonight: {town}. Let's go {hashtag}"),
}  # fmt: skip
ARRIVAL = {
    "nl": (
        "Net aangekomen in {town}, nu al zo druk", "Station {town} is helemaal vol",
        "Duizenden mensen op de {main} 😳", "Niet normaal hoeveel mensen hier in {town} zijn",
        "Waar is dat feest nou eigenlijk? {hashtag}", "Wij zijn er! {hashtag}",
        "Hele {main} staat vol met mensen", "Mensen blijven maar komen, {town} loopt helemaal vol",
    ),
    "en": ("Just arrived in {town}, this is crazy {hashtag}", "So many people here omg {hashtag}"),
}  # fmt: skip
POLICE = {
    "nl": (
        "Veel politie in {town}", "ME staat klaar bij de {main}", "Politie sluit de {main} af",
        "Helikopter boven {town} 🚁", "Politiebusjes rijden {town} binnen",
        "ME'ers met schilden op het {square}",
        "Politie houdt mensen tegen bij het station", "Overal politie hier, de sfeer slaat om",
    ),
    "en": ("Riot police lining up in {town}", "Police everywhere in {town}"),
}  # fmt: skip
UNREST = {
    "nl": (
        "Vuurwerk op de {main}!!", "Rellen in {town} 😱 {hashtag}", "ME charge op het {square}",
        "Ze gooien met stenen en flessen naar de ME", "Supermarkt op de {main} wordt geplunderd",
        "Auto in de fik bij het {square} 🔥", "Dit is echt Project X geworden {hashtag}",
        "Verkeersborden worden uit de grond getrokken", "Traangas? Mijn ogen branden",
        "Ramen ingegooid bij winkels op de {main}", "Chaos in {town}, dit is niet normaal meer",
        "ME drijft de menigte uiteen op de {street}", "Rellen in {town} live op tv",
        "Schaam me voor die gasten die {town} slopen", "Wij gaan weg, het wordt echt gevaarlijk {hashtag}",
        "Ambulances rijden af en aan op de {main}",
    ),
    "en": (
        "Riots in {town} right now {hashtag}", "Fireworks and bottles everywhere, police charging",
        "This Project X thing in {town} is completely out of control", "Shops being looted in {town}",
    ),
}  # fmt: skip
INCIDENT_REPLIES = {
    "nl": ("Wat erg", "Blijf veilig!", "Echt niet normaal", "Ga naar huis man", "Ongelooflijk dit"),
    "en": ("Stay safe!", "Unbelievable"),
}
AFTERMATH = {
    "nl": (
        "Wat een ravage in {town} 😢", "Schaam me dood voor wat er gisteren in {town} is gebeurd",
        "Vrijwilligers ruimen op in {town}, respect 👏 #{slug}ruimtop", "Hoeveel arrestaties waren er nou?",
        "Wie gaat de schade in {town} betalen?", "Die arme {host}, het was gewoon haar verjaardag",
        "{town} wordt voor altijd Project X", "Zo gaan helpen opruimen op het {square}",
        "Burgemeester van {town} moet uitleggen waarom dit zo mis kon gaan",
    ),
    "en": ("Sad to see what happened in {town} last night", "Cleanup in {town} this morning, respect"),
}  # fmt: skip
AFTERMATH_NEWS = (
    "Rellen in {town}: tientallen arrestaties, grote schade in het centrum",
    "Burgemeester {town}: 'Ik ben geschokt door het geweld'",
    "Onderzoek naar de rellen in {town} gestart",
)

ENQUIRIES = {
    "nl": ("Klopt dit?", "Is dit waar?", "Iemand die weet of dit klopt??", "Bron?", "Wie weet meer?",
           "Dit is toch niet waar hè 😳"),
    "en": ("Is this true?", "Source?"),
}  # fmt: skip


@dataclass(frozen=True)
class _RumourSpec:
    key: str
    claim: str
    paraphrases: dict[str, tuple[str, ...]]
    denier: str  # "police" or "municipality"
    denial: str
    denials: dict[str, tuple[str, ...]]
    start_after_gathering: float  # seconds
    denial_delay: float  # seconds after the first post
    members: int
    denial_posts: int


RUMOURS = (
    _RumourSpec(
        key="stabbing",
        claim="Er is iemand doodgestoken bij de {main}",
        paraphrases={
            "nl": (
                "Iemand neergestoken in {town}?? {hashtag}",
                "Naar verluidt is er iemand doodgestoken bij de {main}",
                "Er schijnt een dode te zijn gevallen bij de rellen in {town}",
                "Steekpartij bij de {main}, iemand is overleden hoor ik net",
                "Vriend van me zegt dat er iemand is doodgestoken in {town} 😢",
                "Dode bij Project X {town}, iemand neergestoken bij de {main}",
            ),
            "en": (
                "Someone got stabbed in {town}, this is insane",
                "Reports of a fatal stabbing at the {main} in {town}",
            ),
        },
        denier="police",
        denial=(
            "Het bericht over een steekpartij in {town} klopt niet. Er is niemand doodgestoken. "
            "Verspreid geen onjuiste berichten."
        ),
        denials={
            "nl": (
                "Is nep, politie zegt dat er niemand is doodgestoken",
                "Dat verhaal over die steekpartij klopt niet, stop met delen",
                "Fake news, er is geen steekpartij geweest in {town}",
                "Politie bevestigt: bericht over een dode in {town} is onjuist",
                "Klopt niet! Zie het bericht van de politie",
            ),
            "en": ("Police say the stabbing story is false. Stop sharing it",),
        },
        start_after_gathering=95 * MINUTE,
        denial_delay=70 * MINUTE,
        members=STABBING_POSTS,
        denial_posts=STABBING_DENIALS,
    ),
    _RumourSpec(
        key="army",
        claim="De burgemeester heeft het leger ingeschakeld in {town}",
        paraphrases={
            "nl": (
                "Leger onderweg naar {town}??",
                "Naar verluidt rukt defensie uit naar {town}",
                "Militairen gezien bij de {main}, het leger is ingezet",
                "Ze sturen het leger naar {town} 😳 {hashtag}",
                "Hoor dat het leger eraan komt in {town}",
            ),
            "en": ("Army being sent to {town} apparently",),
        },
        denier="municipality",
        denial="Er wordt geen leger ingezet in {town}. Politie en ME hebben de situatie in handen.",
        denials={
            "nl": (
                "Leger wordt niet ingezet, zegt de gemeente. Niet alles geloven",
                "Geen leger in {town}, is nep",
            ),
            "en": ("No army in {town}, the municipality says it's false",),
        },
        start_after_gathering=160 * MINUTE,
        denial_delay=50 * MINUTE,
        members=ARMY_POSTS,
        denial_posts=ARMY_DENIALS,
    ),
)


# --- ground truth -------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Gathering(_Model):
    name: str = Field(description="the announced place: the host's street in town")
    lat: float = Field(description="the town's gazetteer point; the gazetteer has no street coordinates")
    lon: float
    at: datetime = Field(description="the announced start time")


class SpikeWindow(_Model):
    start: datetime
    end: datetime = Field(description="exclusive")
    peak_posts_per_hour: int


class RumourTruth(_Model):
    key: str
    claim: str
    first_post_id: str
    first_post_at: datetime
    member_ids: list[str] = Field(description="posts spreading or asking about the claim, denials excluded")
    denial_ids: list[str] = Field(description="the official denial and everyone repeating it")
    official_denial_id: str
    denial_at: datetime = Field(description="created_at of the official denial")


class Lookalike(_Model):
    kind: str
    label: str
    day: date
    post_ids: list[str]


class GroundTruth(_Model):
    town: str
    municipality: str
    province: str
    seed: int
    scale: float
    base_rate_per_day: float
    span_start: datetime
    span_end: datetime
    hashtag: str
    invitation_post_id: str
    invitation_at: datetime
    invitation_cascade_ids: list[str] = Field(
        description="the invitation and every post propagating it (reposts, quotes, replies, variants)"
    )
    gathering: Gathering
    tipping_point_at: datetime | None = Field(
        description=(
            "created_at of the first reshare (repost or quote of a cascade post) at which the reshares "
            "in the trailing 60 minutes, inclusive, reach tipping_threshold_per_hour; None if never reached"
        )
    )
    tipping_point_post_id: str | None
    tipping_threshold_per_hour: int
    escalation_start: datetime = Field(description="created_at of the first unrest post")
    escalation_post_id: str
    spike_windows: list[SpikeWindow] = Field(
        description="runs of UTC hours with >= spike_factor x max(1, spike_baseline_per_hour) posts"
    )
    spike_baseline_per_hour: float = Field(description="mean posts per hour before the invitation")
    spike_factor: float
    rumours: list[RumourTruth]
    lookalikes: list[Lookalike]
    lookalike_post_ids: list[str] = Field(description="posts of harmless events that must not raise an alert")
    counts: dict[str, int]
    kinds: dict[str, str] = Field(description="post id -> what the post is, for per-post scoring")


@dataclass
class Scenario:
    records: list[dict[str, Any]]
    truth: GroundTruth


# --- generation ---------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Draft:
    seq: int
    t: float
    author: str
    text: str
    kind: str
    lang: str | None
    lat: float | None = None
    lon: float | None = None
    place: str | None = None
    reply_to: _Draft | None = None
    repost_of: _Draft | None = None
    quote_of: _Draft | None = None
    url: str | None = None
    id: str = ""


def _slug(label: str) -> str:
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_label.lower() if ch.isalnum())


def _label(place: Place) -> str:
    return DUTCH_LABELS.get(place.name, place.name)


def _article(street: str) -> str:
    return "het" if street.endswith("plein") else "de"


def _resolve_town(town: str) -> tuple[Place, str]:
    place = find(town)
    if place is None:
        labels = sorted({label for p in places() for label in (p.name, *p.variants)})
        close = difflib.get_close_matches(town, labels, n=5, cutoff=0.75)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown town {town!r}: not a name or variant in the gazetteer (streams/data/gazetteer_nl.csv, "
            f'Dutch places with >= 1000 inhabitants).{hint} List valid names with: python -c "from '
            f'streams.gazetteer import places; print(*sorted(p.name for p in places()), sep=chr(10))"'
        )
    # Keep the spelling the caller used when it is a known label ("Den Haag" rather than "The Hague"), since
    # the posts are Dutch.
    wanted = town.strip().casefold()
    for label in (place.name, *place.variants):
        if label.casefold() == wanted:
            return place, DUTCH_LABELS.get(label, label)
    return place, _label(place)


class _Slots(dict[str, str]):
    """Fills template fields on demand, so a post only draws the random values its text uses."""

    def __init__(self, gen: _Generator, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self.gen = gen
        self.where: Place | None = None

    def __missing__(self, key: str) -> str:
        value = self.gen.slot(key, self)
        self[key] = value
        return value


class _Generator:
    def __init__(
        self,
        town: Place,
        label: str,
        seed: int,
        start: datetime,
        days_before: float,
        base_rate_per_day: float,
        scale: float,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.town = town
        self.label = label
        self.slug = _slug(label)
        self.hashtag = f"#projectx{self.slug}"
        self.scale = scale
        self.base_rate = base_rate_per_day
        self.drafts: list[_Draft] = []
        self._local_cache: dict[int, tuple[int, int]] = {}

        self.start = start.timestamp()
        local_day = (start + timedelta(days=days_before)).astimezone(LOCAL).date()
        gathering = datetime(local_day.year, local_day.month, local_day.day, GATHERING_HOUR, tzinfo=LOCAL)
        self.gathering = gathering.timestamp()
        self.gathering_day = local_day
        self.end = self.gathering + AFTER_GATHERING.total_seconds()
        lead = min(INVITATION_LEAD.total_seconds(), self.gathering - self.start - 12 * HOUR)
        if lead < 24 * HOUR:
            raise ValueError(
                f"days_before={days_before} puts the gathering at {gathering.isoformat()}, less than 36 "
                "hours after start: the invitation needs a day before the gathering, and the stream half a "
                "day of ordinary chatter before the invitation"
            )
        self.invitation_lead = lead

        rng = self.rng
        haren = town.name == "Haren" and town.province == "Groningen"
        if haren:
            self.main, self.square, self.streets = "Rijksstraatweg", "Raadhuisplein", HAREN_STREETS
            self.party_street = "Stationsweg"
        else:
            self.main = rng.choice(("Hoofdstraat", "Dorpsstraat", "Kerkstraat"))
            self.square, self.streets = "Markt", GENERIC_STREETS
            self.party_street = rng.choice(RESIDENTIAL)
        self.host = rng.choice(HOSTS)

        region = nearby(town, 20.0, 12) or nearby(town, 40.0, 6)
        self.region = region
        self.region_weights = [math.sqrt(p.population) for p in region]
        big = [p for p in nearby(town, 60.0, 200) if p.population >= 40_000][:3]
        if not big:
            big = [p for p in places() if p.province == town.province and p is not town][:3]
        self.cities = big or [places()[0]]
        far = [p for p in places() if p.population >= 25_000 and p is not town]
        self.far = far
        self.far_cum = _cumulative([p.population**0.7 for p in far])
        self.roads = ROADS.get(town.province, ("A2", "A12"))
        self.clubs = CLUBS.get(town.province, ("Ajax", "Feyenoord", "PSV"))

        self.handles: set[str] = set()
        self.locals = [self.fresh_handle() for _ in range(700)]
        # Zipf-like activity: a few locals post a lot, most rarely.
        self.locals_cum = _cumulative([1.0 / (i + 1) ** 1.1 for i in range(len(self.locals))])
        self.outsiders: list[str] = []
        prov = _slug(town.province)
        self.accounts = {
            "municipality": f"@gemeente_{self.slug}",
            "police": f"@politie_{self.slug}",
            "news": f"@nieuws_{prov}",
            "church": f"@kerk_{self.slug}",
            "fan": f"@projectx_{self.slug}",
        }
        self.handles.update(self.accounts.values())
        surname = rng.choice(SURNAMES).replace(" ", "")
        self.host_handle = self._unique(f"@{self.host.lower()}_{surname}{rng.randrange(6, 10):02d}")
        self.friends = [self.fresh_handle() for _ in range(12)]
        self.event_url = f"https://www.facebook.com/events/{rng.randrange(10**14, 10**15)}/"

        d = local_day
        self.fixed = {
            "town": label,
            "slug": self.slug,
            "hashtag": self.hashtag,
            "host": self.host,
            "weekday": WEEKDAYS_NL[d.weekday()],
            "weekday_en": WEEKDAYS_EN[d.weekday()],
            "date": f"{d.day} {MONTHS_NL[d.month - 1]}",
            "hh": f"{GATHERING_HOUR}",
            "main": self.main,
            "square": self.square,
            "party_street": self.party_street,
        }

    # --- helpers --------------------------------------------------------------------------------------------

    def _unique(self, handle: str) -> str:
        candidate = handle
        while candidate in self.handles:
            candidate = f"{handle}{self.rng.randrange(10, 100)}"
        self.handles.add(candidate)
        return candidate

    def fresh_handle(self) -> str:
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        parts = rng.choice(SURNAMES).split()
        core = parts[-1]
        style = rng.randrange(5)
        if style == 0:
            prefix = "".join(w[0] for w in parts[:-1])
            handle = f"{first}_{prefix + '_' if prefix else ''}{core}{rng.randrange(70, 110) % 100:02d}"
        elif style == 1:
            handle = f"{first}{''.join(parts)}"
        elif style == 2:
            handle = f"{first.capitalize()}{core.capitalize()}_"
        elif style == 3:
            handle = f"{first}{rng.randrange(1, 1000)}"
        else:
            handle = f"{first}_{core}"
        return self._unique(f"@{handle}")

    def local_author(self) -> str:
        return self.locals[_pick(self.rng, self.locals_cum)]

    def outsider(self) -> str:
        # Some outsiders post several times (the same people hype, travel and report), most once.
        if self.outsiders and self.rng.random() < 0.2:
            return self.rng.choice(self.outsiders)
        handle = self.fresh_handle()
        self.outsiders.append(handle)
        return handle

    def local_time(self, t: float) -> tuple[int, int]:
        """(local hour, local weekday) of a UTC timestamp; Amsterdam offsets are whole hours."""
        key = int(t // HOUR)
        hit = self._local_cache.get(key)
        if hit is None:
            moment = datetime.fromtimestamp(key * HOUR, LOCAL)
            hit = self._local_cache[key] = (moment.hour, moment.weekday())
        return hit

    def activity(self, t: float) -> float:
        """Relative posting activity at t, mean ~1 over a weekday."""
        hour, weekday = self.local_time(t)
        if weekday >= 5:
            return WEEKEND_PROFILE[hour] / _WEEKEND_MEAN * WEEKEND_VOLUME
        return WEEKDAY_PROFILE[hour] / _WEEKDAY_MEAN

    def slot(self, key: str, slots: _Slots) -> str:
        rng = self.rng
        if key in ("place", "place2"):
            place = self.town if not self.region or rng.random() < 0.55 else self.pick_region()
            if key == "place" or slots.where is None:
                slots.where = place
            return _label(place)
        if key == "far":
            place = self.far[_pick(rng, self.far_cum)]
            slots.where = place
            return _label(place)
        match key:
            case "street":
                return rng.choice(self.streets)
            case "road":
                return rng.choice(self.roads)
            case "club":
                return rng.choice(self.clubs)
            case "localclub":
                return f"VV {self.label}"
            case "shop":
                return rng.choice(SHOPS)
            case "city":
                return _label(rng.choice(self.cities))
            case "cafe":
                return rng.choice(CAFES)
            case "busnr":
                return str(rng.randrange(1, 320))
            case "k":
                return str(rng.choice((4, 5, 6, 8, 10, 12, 15, 20, 30, 50)))
            case "n":
                return str(rng.randrange(3, 30))
            case "facility":
                return rng.choice(FACILITIES)
        raise KeyError(f"template slot {{{key}}} has no filler")

    def pick_region(self) -> Place:
        return self.rng.choices(self.region, weights=self.region_weights)[0]

    def fill(self, template: str) -> tuple[str, Place | None]:
        slots = _Slots(self, self.fixed)
        text = template.format_map(slots)
        return text, slots.where

    def text(self, bank: dict[str, tuple[str, ...]], english: float) -> tuple[str, str, Place | None]:
        lang = "en" if "en" in bank and self.rng.random() < english else "nl"
        text, where = self.fill(self.rng.choice(bank[lang]))
        return text, lang, where

    def add(
        self,
        t: float,
        author: str,
        text: str,
        kind: str,
        lang: str | None,
        *,
        reply_to: _Draft | None = None,
        repost_of: _Draft | None = None,
        quote_of: _Draft | None = None,
        url: str | None = None,
        where: Place | None = None,
        geo: float = 0.0,
        sigma_km: float = 1.0,
    ) -> _Draft:
        rng = self.rng
        parent = reply_to or repost_of or quote_of
        if parent is not None and t <= parent.t:
            # A reaction cannot precede what it reacts to, not even within the same second.
            t = parent.t + 1.0 + rng.random() * 30.0
        draft = _Draft(len(self.drafts), t, author, text, kind, None if rng.random() < NO_LANG else lang)
        draft.reply_to, draft.repost_of, draft.quote_of, draft.url = reply_to, repost_of, quote_of, url
        if where is not None and repost_of is None:
            if rng.random() < geo:
                lat = where.lat + rng.gauss(0.0, sigma_km) / 111.2
                lon = where.lon + rng.gauss(0.0, sigma_km) / (111.2 * math.cos(math.radians(where.lat)))
                draft.lat, draft.lon, draft.place = round(lat, 5), round(lon, 5), _label(where)
            elif rng.random() < 0.02:
                # A place tag without coordinates, as platforms attach when the user picks a place.
                draft.place = _label(where)
        self.drafts.append(draft)
        return draft

    def repost(self, t: float, author: str, parent: _Draft, kind: str) -> _Draft:
        root = parent.repost_of or parent
        return self.add(t, author, root.text, kind, root.lang or "nl", repost_of=root)

    def sample(self, t0: float, t1: float, shape: Callable[[float], float], expected: float) -> list[float]:
        """Arrival times of an inhomogeneous Poisson process with rate proportional to shape on [t0, t1).

        The rate is scaled so that ``expected`` posts arrive on average; sampled by thinning.
        """
        if expected <= 0 or t1 <= t0:
            return []
        steps = max(1, int((t1 - t0) / MINUTE))
        width = (t1 - t0) / steps
        grid = [shape(t0 + (i + 0.5) * width) for i in range(steps)]
        integral = sum(grid) * width
        if integral <= 0:
            return []
        factor = expected / integral
        top = max(grid) * factor * 1.2
        rng = self.rng
        out: list[float] = []
        t = t0
        while True:
            t += rng.expovariate(top)
            if t >= t1:
                return out
            if rng.random() * top < shape(t) * factor:
                out.append(t)

    def amplify(self, post: _Draft, expected: float, kind: str, window: float = 3 * HOUR) -> list[_Draft]:
        """Reposts of one post, fading over ``window``."""
        times = self.sample(
            post.t + 30, post.t + window, lambda t: math.exp(-(t - post.t) / (window / 3)), expected
        )
        return [
            self.repost(t, self.local_author() if self.rng.random() < 0.6 else self.outsider(), post, kind)
            for t in times
        ]

    # --- phases ---------------------------------------------------------------------------------------------

    def background(self) -> None:
        rng = self.rng
        recent: list[_Draft] = []
        hour = math.floor(self.start / HOUR) * HOUR
        while hour < self.end:
            rate = self.base_rate / 24.0 * self.activity(hour) / HOUR
            t, stop = max(hour, self.start), min(hour + HOUR, self.end)
            while rate > 0:
                t += rng.expovariate(rate)
                if t >= stop:
                    break
                u = rng.random()
                if u < 0.07 and recent:
                    parent = rng.choice(recent[-40:])
                    lang = parent.lang or "nl"
                    self.add(
                        t, self.local_author(), rng.choice(REPLIES[lang]), "background", lang, reply_to=parent
                    )
                elif u < 0.11 and recent:
                    self.repost(t, self.local_author(), rng.choice(recent[-40:]), "background")
                else:
                    recent.append(self.background_post(t))
            hour += HOUR

    def background_post(self, t: float) -> _Draft:
        rng = self.rng
        local_hour, weekday = self.local_time(t)
        topic = rng.choices(_TOPICS, cum_weights=_topic_weights(local_hour, weekday >= 5))[0]
        text, lang, where = self.text(BACKGROUND[topic], ENGLISH_BACKGROUND)
        where = where or self.town
        author = self.accounts["news"] if topic == "news" else self.local_author()
        url = (
            f"https://nieuws.example/{_slug(self.town.province)}/{rng.randrange(10**6, 10**7)}"
            if topic == "news"
            else None
        )
        sigma = min(3.0, 0.4 + 1.2 * math.sqrt(where.population / 50_000))
        return self.add(
            t, author, text, "background", lang, url=url, where=where, geo=GEO_BACKGROUND, sigma_km=sigma
        )

    def invitation(self) -> tuple[_Draft, list[_Draft], float]:
        """The invitation and its cascade; also returns the midpoint of the growth curve."""
        rng = self.rng
        start = self.gathering - self.invitation_lead + rng.uniform(-1.5, 1.5) * HOUR
        start = max(start, self.start + HOUR)
        text, _ = self.fill(INVITATION)
        invitation = self.add(
            start, self.host_handle, text, "invitation", "nl", url=self.event_url, where=self.town, geo=0.0
        )
        cascade = [invitation]
        # Pólya urn: a post's chance of being picked grows with each reshare, so a few posts carry the
        # cascade.
        tickets = [invitation] * 30

        for t in self.sample(
            start + 5 * MINUTE, start + 30 * HOUR, lambda t: math.exp(-(t - start) / (6 * HOUR)), FRIEND_POSTS
        ):
            friend = rng.choice(self.friends)
            if rng.random() < 0.7:
                cascade.append(
                    self.add(t, friend, rng.choice(FRIEND_REPLIES), "cascade", "nl", reply_to=invitation)
                )
            else:
                cascade.append(self.repost(t, friend, invitation, "cascade"))

        # Logistic growth of the cascade, modulated by the daily rhythm: slow for a day or two, then it tips,
        # and it saturates on the day itself (when the day's own posts take over).
        span = self.gathering - start
        middle = start + span * 0.66 + rng.uniform(-3, 3) * HOUR
        growth = 0.11 / HOUR

        def logistic(t: float) -> float:
            s = 1.0 / (1.0 + math.exp(-growth * (t - middle)))
            return s * (1.0 - s) * self.activity(t)

        influencer_at = min(max(middle - 20 * HOUR, start + 12 * HOUR), self.gathering - 12 * HOUR)
        influencer: _Draft | None = None
        early_until = middle - 24 * HOUR
        for t in self.sample(start + 2 * HOUR, self.gathering + HOUR, logistic, CASCADE_POSTS * self.scale):
            if influencer is None and t >= influencer_at:
                # A big account picks it up: the usual trigger of the steep part of the curve.
                text, _ = self.fill(INFLUENCER)
                influencer = self.add(
                    influencer_at, self.accounts["fan"], text, "cascade", "nl", quote_of=invitation
                )
                cascade.append(influencer)
                tickets.extend([influencer] * 60)
            author = self.local_author() if rng.random() < 0.12 else self.outsider()
            u = rng.random()
            if t < early_until:
                u *= 0.75  # early on, more replies and reposts among people who know the host
            parent = rng.choice(tickets)
            if u < 0.5:
                post = self.repost(t, author, parent, "cascade")
                tickets.append(post.repost_of or parent)
            elif u < 0.62:
                text, lang, _ = self.text(QUOTES, 0.2)
                post = self.add(
                    t,
                    author,
                    text,
                    "cascade",
                    lang,
                    quote_of=parent,
                    where=self.far_place(),
                    geo=GEO_ELSEWHERE,
                )
                tickets.extend((parent, post))
            elif u < 0.75:
                text, lang, _ = self.text(CASCADE_REPLIES, 0.2)
                post = self.add(t, author, text, "cascade", lang, reply_to=parent)
            elif u < 0.88:
                text, lang, _ = self.text(VARIANTS, 0.25)
                url = self.event_url if rng.random() < 0.3 else None
                post = self.add(
                    t, author, text, "cascade", lang, url=url, where=self.far_place(), geo=GEO_ELSEWHERE
                )
                tickets.append(post)
            else:
                text, lang, where = self.text(TRAVEL, 0.2)
                post = self.add(t, author, text, "cascade", lang, where=where, geo=GEO_ELSEWHERE)
                tickets.append(post)
            cascade.append(post)

        return invitation, cascade, middle

    def far_place(self) -> Place:
        return self.far[_pick(self.rng, self.far_cum)]

    def official(self, t: float, who: str, key: str, reposts: float) -> _Draft:
        text, _ = self.fill(OFFICIAL[key])
        post = self.add(t, self.accounts[who], text, "official", "nl")
        self.amplify(post, reposts * self.scale, "official")
        return post

    def officials(self, middle: float) -> None:
        g = self.gathering
        # The municipality reacts once the cascade is in full swing, the police the day before.
        warn_at = max(middle - 6 * HOUR, self.gathering - self.invitation_lead + 6 * HOUR)
        self.official(warn_at, "municipality", "warning", OFFICIAL_REPOSTS)
        self.official(max(g - 30 * HOUR, warn_at + HOUR), "police", "police_warning", OFFICIAL_REPOSTS)
        self.official(
            g - 7 * HOUR + self.rng.uniform(0, 1) * HOUR, "municipality", "emergency_order", OFFICIAL_REPOSTS
        )
        self.official(g + 90 * MINUTE, "police", "leave", OFFICIAL_REPOSTS)
        self.official(g + 12.5 * HOUR, "municipality", "cleanup", OFFICIAL_REPOSTS)

    def incident(self) -> _Draft:
        """The day itself: anticipation, arrivals, police, unrest; returns the first unrest post."""
        rng = self.rng
        g = self.gathering
        unrest_from = g - 25 * MINUTE + rng.uniform(-10, 25) * MINUTE
        phases: list[
            tuple[str, dict[str, tuple[str, ...]], float, float, Callable[[float], float], float]
        ] = [
            (
                "anticipation",
                ANTICIPATION,
                g - 12 * HOUR,
                g + HOUR,
                lambda t: math.exp((t - g) / (3 * HOUR)),
                ANTICIPATION_POSTS,
            ),
            (
                "arrival",
                ARRIVAL,
                g - 4 * HOUR,
                g + 2.5 * HOUR,
                lambda t: _bell(t, g - 0.5 * HOUR, 1.2 * HOUR),
                ARRIVAL_POSTS,
            ),
            (
                "police",
                POLICE,
                g - 3 * HOUR,
                g + 6 * HOUR,
                lambda t: _bell(t, g + 1.5 * HOUR, 1.8 * HOUR),
                POLICE_POSTS,
            ),
            (
                "unrest",
                UNREST,
                unrest_from,
                unrest_from + 9 * HOUR,
                lambda t: ((t - unrest_from) / HOUR) ** 1.5 * math.exp(-(t - unrest_from) / (1.1 * HOUR)),
                UNREST_POSTS,
            ),
        ]
        events = sorted(
            (t, name, bank)
            for name, bank, t0, t1, shape, expected in phases
            for t in self.sample(t0, t1, shape, expected * self.scale)
        )
        tickets: list[_Draft] = []
        first_unrest: _Draft | None = None
        for t, name, bank in events:
            author = self.local_author() if rng.random() < 0.2 else self.outsider()
            u = rng.random()
            if u < 0.23 and tickets:
                # Resharing crosses phases (an arrival post shared during the riot): label by what is shared.
                parent = rng.choice(tickets)
                post = self.repost(t, author, parent, parent.kind)
                tickets.append(post.repost_of or post)
            elif u < 0.28 and tickets:
                text, lang, _ = self.text(INCIDENT_REPLIES, 0.15)
                post = self.add(t, author, text, f"incident:{name}", lang, reply_to=rng.choice(tickets))
            else:
                text, lang, where = self.text(bank, 0.15)
                sigma = 0.35 if where is None else 1.0
                post = self.add(
                    t,
                    author,
                    text,
                    f"incident:{name}",
                    lang,
                    where=where or self.town,
                    geo=GEO_INCIDENT,
                    sigma_km=sigma,
                )
                tickets.append(post)
                if name == "unrest" and first_unrest is None:
                    first_unrest = post
        if first_unrest is None:
            # Only possible at a tiny scale: still give the truth a concrete escalation post.
            text, _ = self.fill(UNREST["nl"][0])
            first_unrest = self.add(
                unrest_from,
                self.outsider(),
                text,
                "incident:unrest",
                "nl",
                where=self.town,
                geo=1.0,
                sigma_km=0.35,
            )

        def fading(t: float) -> float:
            return math.exp(-(t - g - 6 * HOUR) / (12 * HOUR)) * self.activity(t)

        for t in self.sample(g + 6 * HOUR, self.end, fading, AFTERMATH_POSTS * self.scale):
            if rng.random() < 0.08:
                text, _ = self.fill(rng.choice(AFTERMATH_NEWS))
                url = f"https://nieuws.example/{_slug(self.town.province)}/{rng.randrange(10**6, 10**7)}"
                self.add(t, self.accounts["news"], text, "aftermath", "nl", url=url)
                continue
            text, lang, _ = self.text(AFTERMATH, 0.12)
            author = self.local_author() if rng.random() < 0.6 else self.outsider()
            self.add(t, author, text, "aftermath", lang, where=self.town, geo=GEO_BACKGROUND, sigma_km=0.6)
        return first_unrest

    def rumour(self, spec: _RumourSpec) -> tuple[str, _Draft, list[_Draft], _Draft, list[_Draft]]:
        rng = self.rng
        t0 = self.gathering + spec.start_after_gathering + rng.uniform(-10, 10) * MINUTE
        kind = f"rumour:{spec.key}"
        claim_text, _ = self.fill(spec.claim)
        first = self.add(
            t0,
            self.outsider(),
            f"{claim_text}!! 😨",
            kind,
            "nl",
            where=self.town,
            geo=GEO_INCIDENT,
            sigma_km=0.35,
        )
        members = [first]
        tickets = [first] * 5
        denial_at = t0 + spec.denial_delay + rng.uniform(-10, 10) * MINUTE

        def spreading(t: float) -> float:
            x = (t - t0) / HOUR
            # Peaks ~30 min after the first post; the denial slows it down but never stops it.
            return x * math.exp(-x / 0.5) * (0.3 if t > denial_at else 1.0)

        for t in self.sample(t0 + MINUTE, t0 + 4 * HOUR, spreading, spec.members * self.scale):
            author = self.outsider() if rng.random() < 0.7 else self.local_author()
            parent = rng.choice(tickets)
            u = rng.random()
            if u < 0.45:
                post = self.repost(t, author, parent, kind)
                tickets.append(post.repost_of or parent)
            elif u < 0.7:
                text, lang, _ = self.text(spec.paraphrases, 0.2)
                if rng.random() < 0.25 and self.hashtag not in text:
                    text = f"{text} {self.hashtag}"
                post = self.add(t, author, text, kind, lang, where=self.town, geo=GEO_INCIDENT, sigma_km=0.5)
                tickets.extend((post, post))
            else:
                text, lang, _ = self.text(ENQUIRIES, 0.15)
                if rng.random() < 0.6:
                    post = self.add(t, author, text, kind, lang, quote_of=parent)
                else:
                    post = self.add(t, author, text, kind, lang, reply_to=parent)
            members.append(post)

        denial_kind = f"denial:{spec.key}"
        text, _ = self.fill(spec.denial)
        official = self.add(denial_at, self.accounts[spec.denier], text, denial_kind, "nl")
        denials = [official]
        for t in self.sample(
            denial_at + MINUTE,
            denial_at + 3 * HOUR,
            lambda t: math.exp(-(t - denial_at) / (0.7 * HOUR)),
            spec.denial_posts * self.scale,
        ):
            author = self.local_author() if rng.random() < 0.5 else self.outsider()
            u = rng.random()
            if u < 0.55:
                post = self.repost(t, author, official, denial_kind)
            else:
                text, lang, _ = self.text(spec.denials, 0.15)
                # Some correct a rumour post directly, in a reply to it.
                target = rng.choice(members) if u > 0.85 else None
                if target is not None and target.repost_of is not None:
                    target = target.repost_of
                post = self.add(t, author, text, denial_kind, lang, reply_to=target)
            denials.append(post)
        return claim_text, first, members, official, denials

    def lookalikes(self) -> list[tuple[str, str, date, list[_Draft]]]:
        rng = self.rng
        first_day = datetime.fromtimestamp(self.start, LOCAL).date()
        days = [first_day + timedelta(days=i) for i in range((self.gathering_day - first_day).days)]
        found: list[tuple[str, str, date, list[_Draft]]] = []
        base = self.base_rate / 300.0  # look-alikes belong to ordinary life, so they follow the base rate

        def at(day: date, hour: float) -> float:
            midnight = datetime(day.year, day.month, day.day, tzinfo=LOCAL).timestamp()
            return midnight + hour * HOUR

        def fixed(day: date) -> dict[str, str]:
            return {
                **self.fixed,
                "weekday": WEEKDAYS_NL[day.weekday()],
                "date": f"{day.day} {MONTHS_NL[day.month - 1]}",
            }

        def announce(t: float, author: str, template: str, day: date) -> _Draft:
            text = template.format_map(_Slots(self, fixed(day)))
            if t < self.start:
                # Announced before the stream begins: post it in office hours of the first day instead.
                t = max(self.start + 600, at(first_day, 9.5 + rng.random()))
            return self.add(t, author, text, "lookalike", "nl", where=self.town, geo=0.0)

        # 1. A municipal event, announced by the municipality with "iedereen is welkom".
        day = days[min(1, len(days) - 1)]
        if day.weekday() == 5:
            event, hours = "braderie", (10, 17)
            template = (
                "{weekday} {date} is de jaarlijkse braderie in het centrum van {town}, van 10:00 tot "
                "17:00. Iedereen is welkom! Kom allemaal langs 🎪"
            )
            reminder = "Vandaag is de braderie in het centrum van {town}, tot 17:00. Iedereen is welkom! 🎪"
        elif day.weekday() == 6:
            event, hours = "Open Monumentendag", (10, 17)
            template = (
                "Open Monumentendag in {town}: {weekday} {date} zijn de monumenten gratis open. "
                "Iedereen is welkom!"
            )
            reminder = (
                "Vandaag is het Open Monumentendag in {town}: alle monumenten gratis open. Kom allemaal!"
            )
        else:
            event, hours = "avondmarkt", (17, 21)
            square = _article(self.square) + " {square}"
            template = (
                "{weekday} {date} avondmarkt op "
                + square
                + " in {town}, van 17:00 tot 21:00. Iedereen welkom!"
            )
            reminder = "Vanavond avondmarkt op " + square + " in {town}, van 17:00 tot 21:00. Kom allemaal!"
        posts = [
            announce(at(day, 9.5) - 2 * 24 * HOUR, self.accounts["municipality"], template, day),
            announce(at(day, 8.75), self.accounts["municipality"], reminder, day),
        ]
        for post in list(posts):
            posts += self.amplify(post, 8 * base, "lookalike")
        texts = (
            f"Gezellig druk op de {event} in {{town}}",
            f"Net even over de {event} gelopen, leuk!",
            f"Mooi weer voor de {event} 😎",
            f"Kinderen vermaken zich prima op de {event}",
            f"Kom nog even langs, de {event} is tot {hours[1]}:00",
        )
        for t in self.sample(at(day, hours[0]), at(day, hours[1] + 1), lambda t: 1.0, 35 * base):
            posts.append(
                self.add(
                    t,
                    self.local_author(),
                    self.fill(rng.choice(texts))[0],
                    "lookalike",
                    "nl",
                    where=self.town,
                    geo=GEO_BACKGROUND,
                    sigma_km=0.4,
                )
            )
        found.append(("municipal_event", f"{event} ({self.accounts['municipality']})", day, posts))

        # 2. A private party, mentioned once.
        day = days[len(days) // 2]
        text = rng.choice(
            (
                "Verjaardagsfeestje van mijn zus vanavond, gezellig 🎂",
                "Feestje bij ons thuis vanavond, buren zijn gewaarschuwd 😅",
            )
        )
        post = self.add(
            max(at(day, 16 + rng.random()), self.start + 600), self.local_author(), text, "lookalike", "nl"
        )
        found.append(("private_party", "a private party, mentioned once", day, [post]))

        # 3. A church bazaar, "iedereen welkom".
        day = days[-2] if len(days) >= 2 else days[-1]
        template = (
            "{weekday} {date} bazaar in de Dorpskerk in {town}, van 13:00 tot 17:00. Koffie, taart en "
            "een rommelmarkt. Iedereen welkom! Opbrengst voor " + rng.choice(CAUSES) + "."
        )
        bazaar = announce(at(day, 11) - 3 * 24 * HOUR, self.accounts["church"], template, day)
        posts = [bazaar, *self.amplify(bazaar, 5 * base, "lookalike")]
        for t in self.sample(bazaar.t + HOUR, bazaar.t + 30 * HOUR, lambda t: 1.0, 3 * base):
            text = rng.choice(("Leuk! Ik bak een taart 🍰", "Wij komen zeker", "Gezellig, tot dan!"))
            posts.append(self.add(t, self.local_author(), text, "lookalike", "nl", reply_to=bazaar))
        found.append(("church_bazaar", f"bazaar ({self.accounts['church']})", day, posts))

        # 4. A national team match watched in a café: a real volume bump, and "iedereen welkom" again.
        day = days[3 % len(days)]
        cafe = rng.choice(CAFES)
        kickoff = at(day, 20.75)
        invite = announce(
            kickoff - 26 * HOUR,
            f"@cafe_{_slug(cafe)}_{self.slug}",
            "{weekday} Oranje kijken in café " + cafe + "! Groot scherm, iedereen welkom 🧡",
            day,
        )
        posts = [invite, *self.amplify(invite, 6 * base, "lookalike")]
        goals = sorted(kickoff + rng.uniform(8, 95) * MINUTE + (15 * MINUTE if i else 0) for i in range(3))

        def match(t: float) -> float:
            level = 1.0 if kickoff <= t <= kickoff + 110 * MINUTE else 0.4
            return level + sum(6.0 * math.exp(-(t - g) / (4 * MINUTE)) for g in goals if t >= g)

        lines = {
            "nl": (
                "Kom op Oranje! 🧡",
                "GOAAAL!!! 🧡🧡",
                "Wat een redding",
                "Scheids is blind",
                "Spannend dit",
                f"Heerlijke avond in café {cafe}",
                "Oranje wint! 🎉",
            ),
            "en": ("Come on Holland!", "GOAL!!"),
        }
        for t in self.sample(kickoff - HOUR, kickoff + 2.5 * HOUR, match, 120 * base):
            if rng.random() < 0.15 and len(posts) > 1:
                posts.append(self.repost(t, self.local_author(), rng.choice(posts), "lookalike"))
                continue
            text, lang, _ = self.text(lines, 0.1)
            posts.append(
                self.add(
                    t,
                    self.local_author(),
                    text,
                    "lookalike",
                    lang,
                    where=self.town,
                    geo=GEO_BACKGROUND,
                    sigma_km=0.8,
                )
            )
        found.append(("football_match", f"Oranje match in café {cafe}", day, posts))
        return found


_WEEKDAY_MEAN = sum(WEEKDAY_PROFILE) / 24.0
_WEEKEND_MEAN = sum(WEEKEND_PROFILE) / 24.0
_TOPICS = tuple(TOPIC_WEIGHTS)
_TOPIC_CACHE: dict[tuple[int, bool], list[float]] = {}


def _topic_weights(hour: int, weekend: bool) -> list[float]:
    """Cumulative topic weights for a local hour: traffic in rush hours, school on weekdays, and so on."""
    key = (hour, weekend)
    if key not in _TOPIC_CACHE:
        w = dict(TOPIC_WEIGHTS)
        if not weekend and hour in (7, 8, 16, 17, 18):
            w["traffic"] *= 3
        if weekend:
            w["school"] *= 0.2
            w["football"] *= 2
        elif 7 <= hour <= 16:
            w["school"] *= 1.5
        if 6 <= hour <= 9:
            w["morning"] = 0.12
        if hour >= 23 or hour <= 4:
            w["night"] = 0.2
        _TOPIC_CACHE[key] = _cumulative([w[topic] for topic in _TOPICS])
    return _TOPIC_CACHE[key]


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return rng.choices(range(len(cumulative)), cum_weights=cumulative)[0]


def _bell(t: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((t - centre) / width) ** 2)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(int(t), UTC)


def _tipping_point(cascade: list[_Draft], k: int) -> _Draft | None:
    members = {id(post) for post in cascade}
    reshares = sorted(
        (
            post
            for post in cascade
            if (post.repost_of is not None and id(post.repost_of) in members)
            or (post.quote_of is not None and id(post.quote_of) in members)
        ),
        key=lambda post: (int(post.t), post.seq),
    )
    lo = 0
    for hi, post in enumerate(reshares):
        while int(reshares[lo].t) < int(post.t) - HOUR:
            lo += 1
        if hi - lo + 1 >= k:
            return post
    return None


def _spikes(drafts: list[_Draft], start: float, before: float) -> tuple[list[SpikeWindow], float]:
    first = math.floor(start / HOUR)
    counts = Counter(int(d.t // HOUR) for d in drafts)
    baseline_hours = range(first, math.ceil(before / HOUR))
    baseline = sum(counts[h] for h in baseline_hours) / max(1, len(baseline_hours))
    windows: list[SpikeWindow] = []
    run: list[int] = []
    threshold = SPIKE_FACTOR * max(baseline, 1.0)
    for h in range(first, max(counts) + 2):
        if counts[h] >= threshold:
            run.append(h)
            continue
        if run:
            windows.append(
                SpikeWindow(
                    start=_at(run[0] * HOUR),
                    end=_at((run[-1] + 1) * HOUR),
                    peak_posts_per_hour=max(counts[x] for x in run),
                )
            )
            run = []
    return windows, round(baseline, 3)


def _record(draft: _Draft, engagement: Counter[tuple[int, str]], rng: random.Random) -> dict[str, Any]:
    record: dict[str, Any] = {
        "platform": PLATFORM,
        "id": draft.id,
        "author": draft.author,
        "created_at": _iso(draft.t),
        "text": draft.text,
    }
    if draft.lang is not None:
        record["lang"] = draft.lang
    if draft.lat is not None and draft.lon is not None:
        record["coordinates"] = {"lat": draft.lat, "lon": draft.lon}
    if draft.place is not None:
        record["place"] = draft.place
    for name in ("reply_to", "repost_of", "quote_of"):
        parent = getattr(draft, name)
        if parent is not None:
            record[name] = parent.id
    if draft.url is not None:
        record["url"] = draft.url
    if draft.repost_of is not None:
        # A repost has no engagement of its own; platforms count it on the original.
        record.update(likes=0, reposts=0, replies=0, quotes=0)
        return record
    reposts = engagement[(draft.seq, "repost")]
    replies = engagement[(draft.seq, "reply")]
    quotes = engagement[(draft.seq, "quote")]
    likes = int(reposts * rng.uniform(1.5, 4.0) + replies + quotes + rng.expovariate(1 / 3.0))
    record.update(likes=likes, reposts=reposts, replies=replies, quotes=quotes)
    return record


# start, days_before, base_rate_per_day, scale as generate() defaults them: the ids without a variant tag.
_DEFAULT_SETTINGS = (DEFAULT_START.astimezone(UTC).isoformat(), 7.0, 300.0, 1.0)


def generate(
    town: str = "Haren",
    seed: int = 1,
    start: datetime | None = None,
    days_before: float = 7,
    base_rate_per_day: float = 300,
    scale: float = 1.0,
) -> Scenario:
    """Generate the scenario: ``days_before`` days of chatter from ``start``, the party at 20:00 local time
    on the day after that, and the day after the party.

    ``start`` defaults to Saturday 14 September 2024, 00:00 Europe/Amsterdam, and must be time-zone aware.
    ``base_rate_per_day`` sets the ordinary chatter (and the look-alikes) of the town area; ``scale``
    multiplies everything that belongs to the incident (cascade, riot, rumours, official posts).
    """
    if start is None:
        start = DEFAULT_START
    if start.tzinfo is None:
        raise ValueError("start needs a time zone (naive datetimes are ambiguous)")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if base_rate_per_day < 0:
        raise ValueError(f"base_rate_per_day must be >= 0, got {base_rate_per_day}")
    place, label = _resolve_town(town)
    gen = _Generator(place, label, seed, start.astimezone(UTC), days_before, base_rate_per_day, scale)

    gen.background()
    lookalikes = gen.lookalikes()
    invitation, cascade, middle = gen.invitation()
    gen.officials(middle)
    first_unrest = gen.incident()
    rumours = [gen.rumour(spec) for spec in RUMOURS]

    drafts = [d for d in gen.drafts if gen.start <= d.t < gen.end]
    if len(drafts) != len(gen.drafts):
        # Reactions pushed past the end of the span: drop them, and whatever reacts to them.
        kept = {id(d) for d in drafts}
        drafts = [
            d
            for d in drafts
            if all(p is None or id(p) in kept for p in (d.reply_to, d.repost_of, d.quote_of))
        ]
    drafts.sort(key=lambda d: (int(d.t), d.seq))
    # Ids are stable for a town and seed; any other setting makes other posts, which must not share their ids
    # (a service that already holds the demo's posts would drop them as duplicates), so it is in the id.
    settings = (start.astimezone(UTC).isoformat(), float(days_before), float(base_rate_per_day), float(scale))
    tag = hashlib.sha256(repr(settings).encode()).hexdigest()[:6]
    variant = "" if settings == _DEFAULT_SETTINGS else f"-{tag}"
    prefix = f"px-{gen.slug}-{seed}{variant}-"
    for n, draft in enumerate(drafts):
        draft.id = f"{prefix}{n:07d}"
    alive = {id(d) for d in drafts}

    engagement: Counter[tuple[int, str]] = Counter()
    for d in drafts:
        for parent, what in ((d.repost_of, "repost"), (d.reply_to, "reply"), (d.quote_of, "quote")):
            if parent is not None:
                engagement[(parent.seq, what)] += 1
    records = [_record(d, engagement, gen.rng) for d in drafts]

    def ids(posts: list[_Draft]) -> list[str]:
        return sorted(p.id for p in posts if id(p) in alive)

    k = max(5, round(TIPPING_RESHARES_PER_HOUR * scale))
    cascade = [p for p in cascade if id(p) in alive]
    tipping = _tipping_point(cascade, k)
    windows, baseline = _spikes(drafts, gen.start, invitation.t)
    rumour_truths = [
        RumourTruth(
            key=spec.key,
            claim=claim,
            first_post_id=first.id,
            first_post_at=_at(first.t),
            member_ids=ids(members),
            denial_ids=ids(denials),
            official_denial_id=official.id,
            denial_at=_at(official.t),
        )
        for spec, (claim, first, members, official, denials) in zip(RUMOURS, rumours, strict=True)
    ]
    looks = [
        Lookalike(kind=kind, label=lab, day=day, post_ids=ids(posts)) for kind, lab, day, posts in lookalikes
    ]
    kinds = {d.id: d.kind for d in drafts}
    families = Counter(kind.split(":")[0] for kind in kinds.values())
    counts = {
        "total": len(drafts),
        **{f"kind:{name}": n for name, n in sorted(families.items())},
        **{f"{kind}": n for kind, n in sorted(Counter(k for k in kinds.values() if ":" in k).items())},
        "geotagged": sum(1 for d in drafts if d.lat is not None),
        "reposts": sum(1 for d in drafts if d.repost_of is not None),
        "quotes": sum(1 for d in drafts if d.quote_of is not None),
        "replies": sum(1 for d in drafts if d.reply_to is not None),
        "authors": len({d.author for d in drafts}),
    }
    truth = GroundTruth(
        town=label,
        municipality=place.municipality,
        province=place.province,
        seed=seed,
        scale=scale,
        base_rate_per_day=base_rate_per_day,
        span_start=_at(gen.start),
        span_end=_at(gen.end),
        hashtag=gen.hashtag,
        invitation_post_id=invitation.id,
        invitation_at=_at(invitation.t),
        invitation_cascade_ids=ids(cascade),
        gathering=Gathering(
            name=f"{gen.party_street}, {label}", lat=place.lat, lon=place.lon, at=_at(gen.gathering)
        ),
        tipping_point_at=_at(tipping.t) if tipping else None,
        tipping_point_post_id=tipping.id if tipping else None,
        tipping_threshold_per_hour=k,
        escalation_start=_at(first_unrest.t),
        escalation_post_id=first_unrest.id,
        spike_windows=windows,
        spike_baseline_per_hour=baseline,
        spike_factor=SPIKE_FACTOR,
        rumours=rumour_truths,
        lookalikes=looks,
        lookalike_post_ids=sorted(pid for look in looks for pid in look.post_ids),
        counts=counts,
        kinds=kinds,
    )
    return Scenario(records=records, truth=truth)


def write(scenario: Scenario, out: Path) -> Path:
    """Write the records as JSON Lines to ``out`` and the ground truth next to it.

    The truth goes to ``out.with_suffix(".truth.json")``: ``haren.jsonl`` -> ``haren.truth.json``. Returns
    that path.
    """
    out = Path(out)
    truth_path = out.with_suffix(".truth.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        for record in scenario.records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
    truth_path.write_text(scenario.truth.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return truth_path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Generate the Project X scenario as JSONL plus ground truth."
    )
    parser.add_argument(
        "out", type=Path, help="output .jsonl; the truth goes to <out without suffix>.truth.json"
    )
    parser.add_argument("--town", default="Haren")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=None,
        help="ISO-8601 with offset, e.g. 2024-09-14T00:00+02:00",
    )
    parser.add_argument("--days-before", type=float, default=7)
    parser.add_argument("--base-rate", type=float, default=300, help="ordinary posts per day")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the incident's volume")
    args = parser.parse_args(argv)
    scenario = generate(args.town, args.seed, args.start, args.days_before, args.base_rate, args.scale)
    truth_path = write(scenario, args.out)
    print(f"{len(scenario.records)} posts -> {args.out}, truth -> {truth_path}")


if __name__ == "__main__":
    main()
