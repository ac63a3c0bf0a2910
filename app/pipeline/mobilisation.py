"""Project X-style calls: a public invitation to a place and a time that spreads far beyond its audience.

Haren, 21 September 2012: a public birthday invitation went viral, thousands came, and the night ended in
riots. The crisis room needs to know *days* before: that an invitation is spreading, how fast, whether
people from elsewhere are coming, and whether the talk turns grim. This detector follows each candidate
invitation as a **cascade** and raises one alert per cascade, updated (same id, higher revision) as it grows.

How a post is handled, cheapest test first (the whole pipeline aims at 25,000 posts/s, so the common
case, ordinary chatter, must cost a few microseconds):

1. A repost, quote or reply of a cascade member joins that cascade (a dictionary look-up).
2. One compiled regex of the playbooks' invitation lexicon ("feest", "iedereen welkom", "kom allemaal",
   event links; a hashtag starting with a lexicon word, #projectxharen, counts too). Only on a hit do we
   parse a time expression (:mod:`app.pipeline.time_expressions`) and look for a place: a gazetteer place
   from enrichment (not the town people travel *from*), else a street ("Stationsweg 12", "bij de
   Kerkstraat"). Lexicon + future time + place makes an **invitation**: it joins the cascade for that
   (municipality, local day), or starts one. A lexicon post about a live call's place without a day
   ("Al 12.000 aanmeldingen voor het feest in Haren") joins the busiest call there.
3. A post carrying a hashtag that a call's invitations use joins that call. A tag used by calls in two
   places is generic (#weekend) and claimed by neither.
4. A post that names a live call's town and day joins it: as a mention when the author travels there
   ("met de trein vanuit Zwolle naar Haren zaterdag"), as talk (kept, not counted as spreading) when the
   call is already alerted. Everyday posts naming a town and "vandaag" do not make a call spread.
5. From shortly before the announced time, posts about the town of an alerted call are scanned for the
   playbooks' escalation cues (riots, ME, fireworks, police): that is how "it is happening" reaches the
   alert.

What separates a Project X call from its harmless look-alikes (a municipal braderie "iedereen is welkom",
a church bazaar, a café showing the match, a private party mentioned once) is not the wording, which is the
same, nor the account (authors are pseudonymised, so an official account cannot be recognised by name).
It is **how it spreads**. The look-alikes get a burst of local reposts after each announcement and then
fade; a call that goes viral keeps accelerating, is shared by many distinct people, and draws **outside
interest**: people writing that they will travel from other towns ("met de trein vanuit Zwolle", "bus uit
Amsterdam") or posting from elsewhere. An alert needs, before the announced time: enough reshares (reposts
and quotes), enough distinct authors, a rate and an acceleration over the last hours, and either

* outside interest (a few authors from elsewhere), or
* sustained growth without it: shared on two days running, growing from one day to the next, spread over
  many hours of the last day rather than packed in a few (an official announcement and its reminder a day
  later are two bursts of about the same size).

Severity grows with size (reshares and mentions), with the share of authors from elsewhere, with
escalation talk inside the cascade (police, ME, fireworks), and becomes critical when posts about the place
report escalation around the announced time. It never goes down: a call that calms down stays on the
staff's list at the level it reached. Once the announced time has passed, the explanation no longer says how
fast the call doubles (what is coming has come). ``expire_after_hours`` after that time the detector stops
following the call and sends its last revision: "Voorbij: oproep voor ...", ``details["state"] ==
"closed"`` (as a spike's "Voorbij"), so the wall can move it down instead of showing it at its peak for ever.
A call dropped earlier, when more than ``max_cascades`` are alive at once, ends the same way.

Known limits:

* One cascade per (municipality, day): two different events in one town on the same day merge.
* Critical is reached on police and ME cues as much as on riots: with the shipped lexicon, police massing
  at the place shortly before the time already counts as escalation.
* A place is a gazetteer town (>= 1000 inhabitants) or a capitalised street name; venues ("café De Kroon")
  are not places, so an invitation naming only a venue is not tracked.
* Outside interest is only what the text or the geotag says; reposts say nothing about where the reposter
  is, so they never count as outside.
* The escalation term "ME" (riot police) is matched only in capitals: lower-case "me" is the pronoun.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.pipeline import time_expressions, wording
from app.pipeline.alerts import MAX_MEMBERS, Alert, AlertKind, Example, Severity
from app.pipeline.detector_settings import MobilisationSettings, settings_from
from app.pipeline.invitations import InvitationLexicon, phrase_pattern
from app.playbooks import Lexicon, PlaybookError, PlaybookSet
from streams import gazetteer
from streams.post import Post, key_of

HOUR = 3600.0
MAX_EXAMPLES = 5
# Escalation terms written with capitals ("ME", Mobiele Eenheid, the riot police) match only as written,
# as in playbook triggers: in lower case "me" is the pronoun ("schaam me"). PlaybookSet.lexicon() lowers
# every term, so a term this short is taken to be such an acronym.
ACRONYM_MAX_LEN = 2

# A street: a capitalised word ending in a Dutch street suffix, with an optional house number.
STREET = re.compile(
    r"(?<![\w-])([A-ZÀ-Ý][a-zà-ÿ'-]*(?:straat|weg|laan|plein|dijk|singel|gracht|kade|markt|pad|steeg|"
    r"hof|park|dreef|boulevard|plantsoen|wal|veld|erf|ring)|Markt)(?:\s+(\d{1,4}[a-zA-Z]?))?(?![\w-])"
)
HASHTAG = re.compile(r"#(\w{3,60})")
# Words that say someone travels to the place: with a place outside the target municipality, the author
# comes from elsewhere.
TRAVEL = re.compile(
    r"(?<!\w)(?:vanuit|uit|from|met\s+de\s+(?:trein|bus|auto)|trein|bus|carpool\w*|rijden|road\s*trip|"
    r"onderweg|komen\s+met|coming)(?!\w)"
)
ORIGIN_WORDS = ("vanuit", "uit", "from")
GRACE_SECONDS = time_expressions.GRACE.total_seconds()
DAY_HOURS = 24
BURST_HOURS = 3
MAX_REMEMBERED_TEXTS = 10_000
MAX_REMEMBERED_NAMES = 100_000
# A lexicon post naming a town but no day joins that town's call only once the call is being shared:
# "feest in Zwolle" must not attach to some single-post candidate.
MIN_SPREAD_FOR_DAYLESS = 3
# At most this many "from" towns are counted per call, so hostile input cannot grow the table.
MAX_ORIGINS = 50
SWEEP_EVERY_SECONDS = 900.0
# Hashtags seen on two different calls are remembered as generic up to this many; then forgotten at once.
MAX_SHARED_TAGS = 10_000


@dataclass(eq=False, slots=True)
class _Cascade:
    key: tuple[str, str]
    municipality: str | None
    town: str
    street: str | None
    day: str  # local ISO date
    announced: float  # epoch seconds
    announced_known: bool
    root: Post
    last_t: float
    alive: bool = True
    posts: int = 0
    reposts: int = 0
    quotes: int = 0
    replies: int = 0
    # Replies that ask something ("Is dit echt?", "Gaat dit nog door?", "Mag ik ook komen?"): what people
    # want to know about the call, the information need the Project X playbook answers first.
    questions: int = 0
    mentions: int = 0
    authors: set[str] = field(default_factory=set)
    authors_capped: bool = False
    outside_authors: set[str] = field(default_factory=set)
    outside_from: dict[str, int] = field(default_factory=dict)
    escalation_posts: int = 0
    scene_escalation: int = 0
    hashtags: list[str] = field(default_factory=list)
    # Reshares and mentions per minute ([minute, count]) in the last window and the window before, with
    # their totals: bounded by the window's minutes however busy the call gets.
    recent: deque[list[int]] = field(default_factory=deque)
    older: deque[list[int]] = field(default_factory=deque)
    recent_n: int = 0
    older_n: int = 0
    # [clock hour, reposts + quotes in it] for the hours with any in the last two days, oldest first
    hours: deque[list[int]] = field(default_factory=deque)
    member_ids: list[str] = field(default_factory=list)
    outside_examples: list[Post] = field(default_factory=list)
    last_escalation: Post | None = None
    last_text: Post | None = None
    alerted_at: float | None = None
    severity: Severity = Severity.LOW
    revision: int = 0
    emitted_spread: int = 0
    emitted_at: float = 0.0
    emitted_severity: Severity | None = None

    @property
    def reshares(self) -> int:
        return self.reposts + self.quotes

    @property
    def spread(self) -> int:
        """Reshares plus posts that repeat the call in their own words (mentions)."""
        return self.reposts + self.quotes + self.mentions

    def count(self, t: float) -> None:
        minute = int(t // 60)
        recent = self.recent
        if recent and recent[-1][0] >= minute:
            recent[-1][1] += 1  # a late arrival counts in the newest minute
        else:
            recent.append([minute, 1])
        self.recent_n += 1

    def slide(self, now: float, window: float) -> None:
        recent, older = self.recent, self.older
        newest = int(now // 60)
        minutes = int(window // 60)
        while recent and recent[0][0] <= newest - minutes:
            bucket = recent.popleft()
            self.recent_n -= bucket[1]
            older.append(bucket)
            self.older_n += bucket[1]
        while older and older[0][0] <= newest - 2 * minutes:
            self.older_n -= older.popleft()[1]
        hours, oldest = self.hours, int(now // HOUR) - 2 * DAY_HOURS
        while hours and hours[0][0] <= oldest:
            hours.popleft()

    def days(self, now: float) -> tuple[int, int, int, float]:
        """Reposts + quotes in the last 24 h and in the 24 h before; the clock hours with any in the last
        24 h; and the share of the last 24 h's that fell in its busiest :data:`BURST_HOURS` hours."""
        previous = 0
        yesterday = int(now // HOUR) - DAY_HOURS
        counts = []
        for hour, count in self.hours:
            if hour > yesterday:
                counts.append(count)
            else:
                previous += count
        last = sum(counts)
        burst = sum(sorted(counts, reverse=True)[:BURST_HOURS]) / last if last else 0.0
        return last, previous, len(counts), burst


class MobilisationDetector:
    """Streaming detector of Project X-style calls. One instance per pipeline; not thread-safe."""

    def __init__(self, settings: MobilisationSettings, playbooks: PlaybookSet) -> None:
        self.settings = settings_from(settings, playbooks)
        invitation = playbooks.lexicon(Lexicon.INVITATION)
        if not invitation:
            raise PlaybookError("no playbook has an 'invitation' lexicon; the detector needs one")
        self._invitation = InvitationLexicon(invitation)
        escalation = playbooks.lexicon(Lexicon.ESCALATION)
        as_written = tuple(t for t in escalation if t != t.lower())
        acronyms = (
            *as_written,
            *(t.upper() for t in escalation if t == t.lower() and len(t) <= ACRONYM_MAX_LEN),
        )
        words = tuple(t for t in escalation if t == t.lower() and len(t) > ACRONYM_MAX_LEN)
        self._escalation = re.compile(rf"(?<!\w)(?:{phrase_pattern(words)})(?!\w)") if words else None
        self._acronyms = re.compile(rf"(?<!\w)(?:{phrase_pattern(acronyms)})(?!\w)") if acronyms else None
        self._acronym_words = acronyms

        self._cascades: dict[tuple[str, str], _Cascade] = {}
        self._by_location: dict[str, dict[str, _Cascade]] = {}  # municipality/street key -> day -> cascade
        self._by_hashtag: dict[str, _Cascade] = {}
        self._shared_tags: set[str] = set()  # claimed by two calls: generic, never claimed again
        self._scene: dict[str, list[_Cascade]] = {}  # municipality -> alerted cascades
        # Post key -> its call, and whether the post passes the call on (see passes_on).
        self._member_of: dict[str, tuple[_Cascade, bool]] = {}
        self._member_order: deque[tuple[str, _Cascade]] = deque()
        self._municipality: dict[str, str | None] = {}
        self._labels: dict[str, tuple[str, ...]] = {}  # place name -> its lower-case names; gazetteer-sized
        self._now = 0.0
        self._swept_at = 0.0
        self._dirty: dict[int, _Cascade] = {}
        self._closing: list[Alert] = []  # last revisions of alerted calls that ended in this batch
        self._repost_escalates: dict[str, bool] = {}

    # --- public -------------------------------------------------------------------------------------------

    def observe(self, posts: list[Post]) -> list[Alert]:
        for post in posts:
            self._observe(post)
        alerts, self._closing = self._closing, []
        for cascade in self._dirty.values():
            alert = self._maybe_alert(cascade)
            if alert is not None:
                alerts.append(alert)
        self._dirty.clear()
        return alerts

    def passes_on(self, post_key: str) -> bool:
        """Whether a post is part of a call this detector still follows as the call itself or its talk: an
        invitation, a post in the invitation lexicon's words ("Al 23.000 aanmeldingen voor het feest"),
        travel talk ("Wij komen met 50 man uit Rotterdam"), or a repost, quote or reply of one of those ("Dit
        wordt episch" quoting the invitation). Not any other post that joined by the call's hashtag or by
        naming its town and day, nor an answer to such a post: the rumours of the night look like that."""
        member = self._member_of.get(post_key)
        return member is not None and member[1] and member[0].alive

    def state_size(self) -> dict[str, int]:
        """How much the detector holds, for tests and /api/status: everything here is bounded."""
        return {
            "cascades": len(self._cascades),
            "tracked_posts": len(self._member_of),
            "member_order": len(self._member_order),
            "hashtags": len(self._by_hashtag),
            "shared_tags": len(self._shared_tags),
            "locations": len(self._by_location),
            "scene": sum(len(v) for v in self._scene.values()),
            "remembered_texts": len(self._repost_escalates),
        }

    # --- per post -----------------------------------------------------------------------------------------

    def _observe(self, post: Post) -> None:
        t = post.created_at.timestamp()
        if t > self._now:
            self._now = t
            if t - self._swept_at >= SWEEP_EVERY_SECONDS:
                self._sweep()
        parent = post.repost_of or post.quote_of or post.reply_to
        if parent is not None:
            member = self._member_of.get(key_of(post.platform, parent))
            if member is not None and member[0].alive:
                how = "repost" if post.repost_of else "quote" if post.quote_of else "reply"
                # A quote or reply in the lexicon's own words is party talk whatever it answers.
                passes_on = member[1] or (how != "repost" and self._invitation.in_words(post.text.lower()))
                self._add(member[0], post, t, how, None, passes_on=passes_on)
                return

        text = post.text
        lower = text.lower()
        tagged: _Cascade | None = None
        if self._by_hashtag and "#" in text:
            for tag in HASHTAG.findall(lower):
                tagged = self._by_hashtag.get(tag)
                if tagged is not None and tagged.alive:
                    break
                tagged = None

        invitation = self._invitation.mentions(lower)
        event_link = post.url is not None and ("facebook.com/events" in post.url or "fb.me/e/" in post.url)
        invitation = invitation or event_link
        if invitation:
            # A repost or quote whose original is not known (yet: Kafka orders posts per partition only,
            # so under backlog reshares often come before the call) still reshares the call it carries.
            how = "repost" if post.repost_of else "quote" if post.quote_of else "invitation"
            passes_on = event_link or self._invitation.in_words(lower)
            joined = self._invitation_post(post, t, lower, tagged, how, passes_on)
        elif tagged is not None:
            self._add(tagged, post, t, "hashtag", lower)
            return
        else:
            about_a_place = bool(self._by_location) and bool(post.places or post.area)
            joined = about_a_place and self._place_mention(post, t, lower)
        if not joined and self._scene and post.area in self._scene:
            self._scene_post(post, t, text, lower)

    def _invitation_post(
        self,
        post: Post,
        t: float,
        lower: str,
        tagged: _Cascade | None,
        how: str,
        passes_on: bool,
    ) -> bool:
        """Join or start a cascade with a post that uses the invitation lexicon; False if it did neither.
        ``tagged`` is the call whose hashtag the post carries, if any; ``how`` it joins and whether it
        ``passes_on`` the call (see :meth:`_add`)."""
        locations = self._locations(post, lower, origins=False)
        if tagged is not None and (not locations or any(loc == tagged.key[0] for loc, _ in locations)):
            # The call's own hashtag and its place (or none): the same call, even when the day reads
            # differently ("zaterdag" written late on the Saturday itself means next week).
            self._add(tagged, post, t, how, lower, passes_on)
            return True
        if not locations:
            return False  # no place: it can neither start a call nor join one (and needs no time parse)
        # A hashtag on an invitation to another place is a generic tag (#weekend): the post goes its own
        # way, and claiming the tag for its call marks it as shared.
        expression = time_expressions.parse(post.text, post.created_at, evening=True)
        if expression is None:
            # "Al 12.000 aanmeldingen voor het feest in Haren": about a live call, but without a day.
            cascade = self._busiest(locations, t)
            if cascade is None:
                return False
            self._add(cascade, post, t, how, lower, passes_on)
            return True
        announced = expression.at(self.settings.default_hour).timestamp()
        day = expression.day.isoformat()
        for location, _town in locations:
            cascade = self._by_location.get(location, {}).get(day)
            if cascade is not None and cascade.alive:
                if expression.clock is not None and not cascade.announced_known:
                    cascade.announced, cascade.announced_known = announced, True
                self._add(cascade, post, t, how, lower, passes_on)
                return True
        ahead = announced - t
        if not -GRACE_SECONDS <= ahead <= self.settings.max_days_ahead * 86400.0:
            return False
        location, town = locations[0]
        street = STREET.search(post.text)
        cascade = _Cascade(
            key=(location, day),
            municipality=None if location.startswith("street:") else location,
            town=town,
            street=street.group(0) if street else None,
            day=day,
            announced=announced,
            announced_known=expression.clock is not None,
            root=post,
            last_t=t,
        )
        self._cascades[cascade.key] = cascade
        self._by_location.setdefault(location, {})[day] = cascade
        self._add(cascade, post, t, how, lower, passes_on=True)  # the call itself
        return True

    def _place_mention(self, post: Post, t: float, lower: str) -> bool:
        """Join a live cascade with a post that names its place and its day: any call when the author talks
        of travelling, else only an alerted call (talk about it). False if none."""
        by_location = self._by_location
        live: list[_Cascade] = []
        for municipality in (*(self._municipality_of(name) for name in post.places), post.area):
            days = by_location.get(municipality) if municipality is not None else None
            if days is not None:
                live.extend(c for c in days.values() if c not in live)
        if not live:
            return False
        travel = TRAVEL.search(lower) is not None
        # Once a call's time has passed, talk about the place is about what happens there (the scene
        # watch), no longer about the call; and everyday talk naming a town and a day is only worth a time
        # parse for a call already alerted. Both keep the busiest paths cheap.
        live = [c for c in live if c.alive and c.announced + GRACE_SECONDS > t and (travel or c.alerted_at)]
        if not live:
            return False
        expression = time_expressions.parse(post.text, post.created_at, evening=True)
        if expression is None:
            return False
        day = expression.day.isoformat()
        for cascade in live:
            if cascade.day == day:
                self._add(cascade, post, t, "talk", lower)
                return True
        return False

    def _scene_post(self, post: Post, t: float, text: str, lower: str) -> None:
        for cascade in self._scene.get(post.area or "", ()):
            if cascade.alive and t >= cascade.announced - self.settings.scene_before_hours * HOUR:
                if self._escalates(text, lower):
                    cascade.scene_escalation += 1
                    cascade.last_escalation = post
                    self._dirty[id(cascade)] = cascade
                return

    # --- cascades -----------------------------------------------------------------------------------------

    def _add(
        self, cascade: _Cascade, post: Post, t: float, how: str, lower: str | None, passes_on: bool = False
    ) -> None:
        """Make ``post`` a member. ``how``: repost, quote, reply (linked to a member), invitation (uses the
        invitation lexicon), hashtag (carries the call's hashtag) or talk (names the place and the day).
        ``passes_on``: the post is the call or its talk (see :meth:`passes_on`)."""
        settings = self.settings
        text = post.text
        if how != "repost":
            lower = lower if lower is not None else text.lower()
            travels_from = self._travels_from(cascade, post, lower)
            # Saying you travel to the party ("Wij komen met 50 man uit Rotterdam #projectxharen") is talk of
            # the call, whatever made the post join it.
            passes_on = passes_on or travels_from is not None
            origin = travels_from or (self._posted_from(cascade, post) if how != "talk" else None)
            if origin is not None:
                self._outside(cascade, post, origin)
            elif how == "talk":
                # Everyday talk about the town that names the day ("regen in Zwolle vandaag") is kept with
                # the call but does not make it spread; only talk of travelling there does.
                how = "chatter"
        cascade.posts += 1
        if how == "repost":
            cascade.reposts += 1
        elif how == "quote":
            cascade.quotes += 1
        elif how == "reply":
            cascade.replies += 1
            if "?" in text:
                cascade.questions += 1
        elif how != "chatter" and cascade.posts > 1:  # the first post is the call itself
            cascade.mentions += 1
        if how not in ("reply", "chatter") and cascade.posts > 1:
            cascade.count(t)
        if how == "repost" or how == "quote":
            # Hours with reshares, not with mentions: independent posts that happen to name the same town
            # and day (chatter about a film tonight) must not make a burst of reposts look sustained.
            hour = int(t // HOUR)
            hours = cascade.hours
            if hours and hours[-1][0] >= hour:
                hours[-1][1] += 1  # late arrivals within the batch count in the newest hour
            else:
                hours.append([hour, 1])
        if t > cascade.last_t:
            cascade.last_t = t
        if len(cascade.authors) < settings.max_tracked_authors:
            cascade.authors.add(post.author)
        elif post.author not in cascade.authors:
            cascade.authors_capped = True  # from here on the count is a lower bound
        key = post.key
        self._member_of[key] = (cascade, passes_on)
        order = self._member_order
        order.append((key, cascade))
        if len(order) > settings.max_tracked_posts:
            self._forget_member(*order.popleft())
        if len(cascade.member_ids) < MAX_MEMBERS:
            cascade.member_ids.append(key)

        escalates = self._escalates_repost(text) if lower is None else self._escalates(text, lower)
        if escalates and how == "repost" and cascade.root.text and cascade.root.text in text:
            # The call's own words passed on: "neem vuurwerk mee" in an invitation counts once, with the
            # invitation; every repost of it counting again made a plain call critical.
            escalates = False
        if escalates:
            cascade.escalation_posts += 1
            cascade.last_escalation = post
            if t >= cascade.announced - settings.scene_before_hours * HOUR:
                cascade.scene_escalation += 1
        if how != "repost":
            cascade.last_text = post
            # Only invitation-lexicon posts lend their hashtags to the call: a random tag on a mention is not
            # the call's name.
            if how == "invitation" and "#" in text and len(cascade.hashtags) < settings.max_hashtags:
                self._claim_hashtags(cascade, lower if lower is not None else text.lower())

        cascade.slide(t, settings.window_hours * HOUR)
        if cascade.alerted_at is None:
            if self._fires(cascade, t):
                cascade.alerted_at = t
                if cascade.municipality is not None:
                    self._scene.setdefault(cascade.municipality, []).append(cascade)
                self._dirty[id(cascade)] = cascade
        else:
            self._dirty[id(cascade)] = cascade

    def _fires(self, cascade: _Cascade, t: float) -> bool:
        s = self.settings
        if (
            t >= cascade.announced
            or cascade.reshares < s.min_reshares
            or len(cascade.authors) < s.min_authors
        ):
            return False
        recent, older = cascade.recent_n, cascade.older_n
        if (recent + 1) / (older + 1) < s.min_acceleration or recent / s.window_hours < s.min_rate_per_hour:
            return False
        if len(cascade.outside_authors) >= s.min_outside_authors:
            return True
        # Without outside interest only a call that keeps growing from one day to the next, spread over the
        # day, counts: an official event gets a burst of reposts after each announcement (and a reminder a
        # day later as many as the first), then fades.
        last, previous, active, burst = cascade.days(t)
        return (
            last >= s.sustained_min_reshares
            and previous >= s.sustained_min_previous
            and burst <= s.sustained_max_burst_share
            and (last + 1) / (previous + 1) >= s.sustained_min_growth
            and active >= s.sustained_active_hours
            and len(cascade.authors) >= s.sustained_min_authors
        )

    def _travels_from(self, cascade: _Cascade, post: Post, lower: str) -> str | None:
        """The town the author says they travel from ("met de trein vanuit Zwolle"), when that is not the
        call's municipality; None otherwise."""
        if cascade.municipality is None or not post.places or TRAVEL.search(lower) is None:
            return None
        for name in post.places:
            municipality = self._municipality_of(name)
            if municipality is not None and municipality != cascade.municipality:
                return name
        return None

    @staticmethod
    def _posted_from(cascade: _Cascade, post: Post) -> str | None:
        """Where a geotagged post was posted from, when that is not the call's municipality."""
        if cascade.municipality is None or post.coordinates is None or not post.area:
            return None
        return post.area if post.area != cascade.municipality else None

    def _outside(self, cascade: _Cascade, post: Post, origin: str) -> None:
        if post.author not in cascade.outside_authors and len(cascade.outside_authors) < (
            self.settings.max_tracked_authors
        ):
            cascade.outside_authors.add(post.author)
            if len(cascade.outside_examples) < 2:
                cascade.outside_examples.append(post)
        if origin in cascade.outside_from or len(cascade.outside_from) < MAX_ORIGINS:
            cascade.outside_from[origin] = cascade.outside_from.get(origin, 0) + 1

    def _claim_hashtags(self, cascade: _Cascade, lower: str) -> None:
        for tag in HASHTAG.findall(lower):
            if tag in cascade.hashtags or self._municipality_of(tag) is not None:
                continue  # a place name as hashtag (#haren) is about the town, not about this call
            if tag in self._shared_tags:
                continue
            owner = self._by_hashtag.get(tag)
            if owner is not None and owner.alerted_at is not None:
                continue  # an alerted call keeps its tag; one odd post does not make it generic
            if owner is not None:
                # Used by two calls: a generic tag (#weekend), useless for telling them apart.
                del self._by_hashtag[tag]
                owner.hashtags.remove(tag)
                if len(self._shared_tags) >= MAX_SHARED_TAGS:
                    self._shared_tags.clear()
                self._shared_tags.add(tag)
                continue
            self._by_hashtag[tag] = cascade
            cascade.hashtags.append(tag)
            if len(cascade.hashtags) >= self.settings.max_hashtags:
                return

    def _busiest(self, locations: list[tuple[str, str]], t: float) -> _Cascade | None:
        best: _Cascade | None = None
        for location, _ in locations:
            for cascade in self._by_location.get(location, {}).values():
                if (
                    cascade.alive
                    and cascade.spread >= MIN_SPREAD_FOR_DAYLESS
                    and t < cascade.announced + self.settings.expire_after_hours * HOUR
                    and (best is None or cascade.spread > best.spread)
                ):
                    best = cascade
        return best

    # --- places and cues ----------------------------------------------------------------------------------

    def _municipality_of(self, name: str) -> str | None:
        if name not in self._municipality:
            place = gazetteer.find(name)
            # Names come from the gazetteer, but hashtags are looked up too: the cap keeps hostile input
            # harmless.
            if len(self._municipality) >= MAX_REMEMBERED_NAMES:
                self._municipality.clear()
            self._municipality[name] = place.municipality if place else None
        return self._municipality[name]

    def _locations(self, post: Post, lower: str, *, origins: bool) -> list[tuple[str, str]]:
        """(location key, town label) of the places a post is about, in text order; without ``origins``,
        places the author comes *from* ("vanuit Zwolle") are left out."""
        found: list[tuple[str, str]] = []
        for name in post.places:
            municipality = self._municipality_of(name)
            if municipality is None or any(m == municipality for m, _ in found):
                continue
            if not origins and self._is_origin(lower, name):
                continue
            found.append((municipality, name))
        if not found and post.area and post.coordinates is not None:
            found.append((post.area, post.area))
        if not found:
            street = STREET.search(post.text)
            if street is not None:
                found.append((f"street:{street.group(1).lower()}", street.group(1)))
        return found

    def _is_origin(self, lower: str, name: str) -> bool:
        """Whether the text says the author comes *from* the place ("vanuit Zwolle", "uit Den Haag"); the
        text may use any of the place's names."""
        if not any(word in lower for word in ORIGIN_WORDS):
            return False
        labels = self._labels.get(name)
        if labels is None:
            place = gazetteer.find(name)
            labels = tuple({label.lower() for label in (name, *(place.variants if place else ()))})
            self._labels[name] = labels
        for label in labels:
            at = lower.find(label)
            while at >= 0:
                if lower[max(0, at - 8) : at].rstrip().endswith(ORIGIN_WORDS):
                    return True
                at = lower.find(label, at + 1)
        return False

    def _escalates_repost(self, text: str) -> bool:
        # A popular post is reposted thousands of times with the same text: scan it once.
        known = self._repost_escalates.get(text)
        if known is None:
            if len(self._repost_escalates) >= MAX_REMEMBERED_TEXTS:
                self._repost_escalates.clear()
            known = self._repost_escalates[text] = self._escalates(text, text.lower())
        return known

    def _escalates(self, text: str, lower: str) -> bool:
        if self._escalation is not None and self._escalation.search(lower) is not None:
            return True
        # A substring test first: the regex (for word boundaries) runs only when "ME" occurs at all.
        return (
            self._acronyms is not None
            and any(word in text for word in self._acronym_words)
            and self._acronyms.search(text) is not None
        )

    # --- state --------------------------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Drop cascades past their time or silent too long, and post links beyond the cap."""
        s = self.settings
        now = self._now
        self._swept_at = now
        ended = [
            c
            for c in self._cascades.values()
            if now > c.announced + s.expire_after_hours * HOUR
            or (c.alerted_at is None and now - c.last_t > s.inactive_hours * HOUR)
        ]
        if len(self._cascades) - len(ended) > s.max_cascades:
            # Too many candidates at once (a flood of party chatter): keep the alerted and the most recent.
            gone = {id(c) for c in ended}
            living = sorted(
                (c for c in self._cascades.values() if id(c) not in gone),
                key=lambda c: (c.alerted_at is not None, c.last_t),
            )
            ended.extend(living[: len(living) - s.max_cascades])
        for cascade in ended:
            self._end(cascade)
        order = self._member_order
        while order and (not order[0][1].alive or len(order) > s.max_tracked_posts):
            self._forget_member(*order.popleft())

    def _forget_member(self, key: str, cascade: _Cascade) -> None:
        member = self._member_of.get(key)
        if member is not None and member[0] is cascade:
            del self._member_of[key]

    def _end(self, cascade: _Cascade) -> None:
        if cascade.alive and cascade.alerted_at is not None:
            # The room must see that the call is no longer followed, or its alert would stay on the wall
            # at the level it reached, for ever. What the call gathered since its last revision (in a large
            # batch: its alert itself) is sent first, so the last revision stands on everything.
            pending = self._maybe_alert(cascade) if id(cascade) in self._dirty else None
            if pending is not None:
                self._closing.append(pending)
            cascade.revision += 1
            self._closing.append(self._alert(cascade, closed_at=self._now))
        cascade.alive = False
        self._cascades.pop(cascade.key, None)
        location, day = cascade.key
        days = self._by_location.get(location)
        if days is not None and days.get(day) is cascade:
            del days[day]
            if not days:
                del self._by_location[location]
        for tag in cascade.hashtags:
            if self._by_hashtag.get(tag) is cascade:
                del self._by_hashtag[tag]
        if cascade.municipality in self._scene:
            watch = [c for c in self._scene[cascade.municipality] if c is not cascade]
            if watch:
                self._scene[cascade.municipality] = watch
            else:
                del self._scene[cascade.municipality]
        self._dirty.pop(id(cascade), None)

    # --- alerts -------------------------------------------------------------------------------------------

    def _severity(self, cascade: _Cascade) -> Severity:
        s = self.settings
        if cascade.scene_escalation >= s.min_scene_escalation_posts:
            return Severity.CRITICAL
        points = 0
        if cascade.spread >= s.medium_spread:
            points += 1
        if cascade.spread >= s.high_spread:
            points += 1
        outside = len(cascade.outside_authors)
        if outside >= s.high_outside_min_authors and outside / len(cascade.authors) >= s.high_outside_share:
            points += 1
        if cascade.escalation_posts >= s.min_escalation_posts:
            points += 1
        return list(Severity)[min(points, Severity.HIGH.rank)]

    def _maybe_alert(self, cascade: _Cascade) -> Alert | None:
        if cascade.alerted_at is None or not cascade.alive:
            return None
        severity = self._severity(cascade)
        if severity.rank > cascade.severity.rank:
            cascade.severity = severity
        s = self.settings
        changed = (
            cascade.revision == 0
            or cascade.severity != cascade.emitted_severity
            or cascade.spread >= cascade.emitted_spread * (1 + s.update_growth)
            or cascade.last_t - cascade.emitted_at >= s.update_every_hours * HOUR
        )
        if not changed:
            return None
        cascade.revision += 1
        cascade.emitted_spread = cascade.spread
        cascade.emitted_at = cascade.last_t
        cascade.emitted_severity = cascade.severity
        return self._alert(cascade)

    def _alert(self, cascade: _Cascade, closed_at: float | None = None) -> Alert:
        """The call's alert as it stands; with ``closed_at``, its last revision ("Voorbij")."""
        s = self.settings
        window = s.window_hours
        recent, older = cascade.recent_n, cascade.older_n
        acceleration = (recent + 1) / (older + 1)
        growth = math.log(acceleration) / window
        last_day, day_before, active_hours, burst = cascade.days(cascade.last_t)
        now = cascade.last_t if closed_at is None else closed_at
        hours_left = (cascade.announced - now) / HOUR
        authors = len(cascade.authors)
        outside = len(cascade.outside_authors)
        share = outside / authors if authors else 0.0
        if cascade.municipality is None:
            place = cascade.street or cascade.town  # only a street was named
        else:
            place = f"{cascade.street}, {cascade.town}" if cascade.street else cascade.town
        announced = datetime.fromtimestamp(cascade.announced, UTC)
        when = wording.day_and_time(announced) if cascade.announced_known else wording.day(announced)
        if hours_left < 0:
            doubling = ""  # once the time has passed, how fast the call grows no longer tells what is coming
        elif growth > 0:
            doubling = f" (verdubbelt elke {wording.decimal(math.log(2) / growth)} uur)"
        else:
            doubling = " (versnelt niet)"
        ahead = f"over {hours_left:.0f} uur" if hours_left >= 0 else f"{-hours_left:.0f} uur geleden"
        n = wording.count
        spread = f"{n(cascade.reshares)}x gedeeld, {n(authors)} accounts"
        title = (
            f"Voorbij: oproep voor {place}, {when}: {spread}"
            if closed_at is not None
            else f"Oproep verspreidt zich: {place}, {when} ({ahead}): {spread}"
        )
        origins = sorted(cascade.outside_from.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        examples_from = f", bijvoorbeeld {', '.join(name for name, _ in origins)}" if origins else ""
        sentences = []
        if closed_at is not None:
            expired = now > cascade.announced + s.expire_after_hours * HOUR
            why = (
                f"de aangekondigde tijd is {-hours_left:.0f} uur voorbij"
                if expired
                else "er kwamen te veel andere oproepen tegelijk bij"
            )
            sentences.append(f"Signaal volgt deze oproep niet meer: {why}.")
        sentences += [
            f"Een uitnodiging voor {place} op {when} (aangekondigde tijd {ahead}) is "
            f"{n(cascade.reshares)} keer gedeeld en in {n(cascade.mentions)} andere berichten herhaald, door "
            f"{n(authors)} verschillende accounts; {wording.decimal(recent / window)} keer gedeeld of "
            f"genoemd per uur in de laatste {window:g} uur, tegen {wording.decimal(older / window)} daarvoor"
            f"{doubling}.",
            f"{n(outside)} accounts ({wording.percent(share)}) reizen of posten van elders{examples_from}.",
            f"{n(cascade.escalation_posts)} berichten in de cascade noemen politie, rellen of vuurwerk.",
        ]
        if cascade.questions:
            sentences.append(
                f"{n(cascade.questions)} van de {n(cascade.replies)} reacties stellen een vraag"
                " (is het echt, gaat het door?)."
            )
        if cascade.scene_escalation:
            sentences.append(
                f"{n(cascade.scene_escalation)} berichten over {cascade.town} melden escalatie rond het "
                "aangekondigde tijdstip."
            )
        explanation = " ".join(sentences)
        examples = [cascade.root, *cascade.outside_examples]
        for extra in (cascade.last_escalation, cascade.last_text):
            if extra is not None and extra not in examples:
                examples.append(extra)
        details: dict[str, Any] = {
            "place": place,
            "town": cascade.town,
            "street": cascade.street,
            "municipality": cascade.municipality,
            "announced_at": datetime.fromtimestamp(cascade.announced, UTC).isoformat(),
            "announced_time_known": cascade.announced_known,
            "hours_until": round(hours_left, 2),
            "reshares": cascade.reshares,
            "spread": cascade.spread,
            "reposts": cascade.reposts,
            "quotes": cascade.quotes,
            "mentions": cascade.mentions,
            "replies": cascade.replies,
            "questions": cascade.questions,
            "distinct_authors": authors,
            "authors_capped": cascade.authors_capped,
            "outside_authors": outside,
            "outside_share": round(share, 3),
            "outside_from": dict(origins),
            "rate_per_hour": round(recent / window, 2),
            "previous_rate_per_hour": round(older / window, 2),
            "acceleration": round(acceleration, 2),
            "reshares_last_day": last_day,
            "reshares_day_before": day_before,
            "active_hours_last_day": active_hours,
            "burst_share_last_day": round(burst, 2),
            "growth_per_hour": round(growth, 3),
            "escalation_posts": cascade.escalation_posts,
            "scene_escalation_posts": cascade.scene_escalation,
            "hashtags": [f"#{tag}" for tag in cascade.hashtags],
            "alerted_at": datetime.fromtimestamp(cascade.alerted_at or now, UTC).isoformat(),
            "state": "open" if closed_at is None else "closed",
        }
        return Alert(
            id=f"mobilisation:{cascade.key[0]}:{cascade.day}",
            kind=AlertKind.MOBILISATION,
            severity=cascade.severity,
            title=title,
            explanation=explanation,
            area=cascade.municipality,
            first_seen=cascade.root.created_at,
            updated_at=datetime.fromtimestamp(now, UTC),
            post_count=cascade.posts,
            member_ids=tuple(cascade.member_ids),
            examples=tuple(Example.of(p) for p in examples[:MAX_EXAMPLES]),
            details=details,
            revision=cascade.revision,
        )
