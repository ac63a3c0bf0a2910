"""The automatic omgevingsanalyse: what is said, where, how much, the trend and the top rumours, arranged
under the three goals of crisis communication, with the posts, alerts and cases that back each finding.

It is a draft: the adviser edits the findings and saves the analysis as a cycle entry. Everything here is
computed from what the caller hands in (posts of a window, the incident's alerts and cases), so it is
tested without a database.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.pipeline.alerts import Alert, AlertKind
from app.pipeline.mobilisation import ACRONYM_MAX_LEN
from app.pipeline.signals import cues
from app.pipeline.time_expressions import LOCAL
from app.room.models import AnalyseBody, CaseStatus, Evidence, Finding, Goal, RumourCase
from streams.post import Post

TOP = 5
_WORD = re.compile(r"[#@]?\w[\w'-]{3,}", re.UNICODE)
# Words that say nothing about an incident in either language; the rest is what people talk about.
_STOP = frozenset(
    """
    deze dit dat die het een van voor maar niet ook nog wel naar over door heeft hebben zijn wordt
    worden was waren kan kunnen zou zouden moet moeten gaan gaat komt komen echt gewoon allemaal
    iedereen iemand waar wat wie hoe waarom wanneer toch weer even heel veel meer alles niks niets
    zelf onze jullie hier daar this that with from have just about what when where there their they
    them your will would could should been were into only also than then some more very here like
    http https
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def is_question(post: Post) -> bool:
    """Asks something: an enquiry cue ("klopt dit?", "is this true") or a question mark."""
    return "?" in post.text or cues(post.text).enquiry > 0


def _evidence(post: Post) -> Evidence:
    return Evidence(kind="post", ref=post.key, text=post.text[:200])


def top_terms(posts: Sequence[Post], n: int = 10) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for post in posts:
        seen = {w.lower() for w in _WORD.findall(post.text)}
        counts.update(
            w for w in seen if w.lstrip("#") not in _STOP and not w.startswith("@") and not w.isdigit()
        )
    return counts.most_common(n)


def snapshot(
    posts: Sequence[Post],
    alerts: Sequence[Alert],
    cases: Sequence[RumourCase],
    *,
    window: tuple[datetime, datetime],
    escalation_terms: Sequence[str] = (),
    counts: tuple[int, int] | None = None,
) -> AnalyseBody:
    """The draft analysis of ``posts`` written in ``window`` (event time), newest half against oldest.

    ``counts`` are the posts in the older and the newer half when ``posts`` is only the newest of them (a
    sample): volumes and the trend come from them, shares and terms from the sample.
    """
    start, end = window
    middle = end - (end - start) / 2
    if counts is None:
        counts = (sum(p.created_at < middle for p in posts), sum(p.created_at >= middle for p in posts))
    n_earlier, n_recent = counts
    n_posts = n_earlier + n_recent
    questions = [p for p in posts if is_question(p)]
    areas = Counter(p.area for p in posts if p.area).most_common(TOP)
    platforms = Counter(p.platform for p in posts).most_common()
    languages = Counter(p.lang or "unknown" for p in posts).most_common(TOP)
    terms = top_terms(posts)
    trend = None if not n_earlier else round((n_recent - n_earlier) / n_earlier, 2)
    open_cases = [c for c in cases if c.status not in (CaseStatus.CLOSED,) and c.merged_into is None]
    top_cases = sorted(open_cases, key=lambda c: c.post_count, reverse=True)[:TOP]
    hours = max((end - start) / timedelta(hours=1), 1e-9)

    figures = {
        "posts": n_posts,
        "posts_per_hour": round(n_posts / hours, 1),
        "trend": trend,
        "question_share": round(len(questions) / len(posts), 3) if posts else None,
        "areas": dict(areas),
        "platforms": dict(platforms),
        "languages": dict(languages),
        "terms": dict(terms),
        "alerts": dict(Counter(a.kind.value for a in alerts)),
        "rumours": {
            c.case_id: {"claim": c.claim, "status": c.status.value, "posts": c.post_count} for c in top_cases
        },
    }

    info: list[Finding] = []
    if posts:
        share = len(questions) / len(posts)
        info.append(
            Finding(
                text=f"{len(questions)} of {len(posts)} posts ({share:.0%}) ask something.",
                evidence=[_evidence(p) for p in questions[-TOP:]],
            )
        )
    for case in top_cases:
        if case.status in (CaseStatus.NEW, CaseStatus.CHECKING) and case.stance.query:
            info.append(
                Finding(
                    text=f"People ask whether it is true that: {case.claim} ({case.stance.query} questions).",
                    evidence=[Evidence(kind="case", ref=case.case_id, text=case.claim)],
                )
            )

    damage: list[Finding] = []
    for alert in alerts:
        if alert.kind in (AlertKind.MOBILISATION, AlertKind.SPIKE):
            damage.append(
                Finding(
                    text=f"{alert.severity.value}: {alert.title}",
                    evidence=[Evidence(kind="alert", ref=alert.id, text=alert.title)],
                )
            )
    damage = damage[:TOP]
    escalation = _any_of(escalation_terms)
    escalating = [p for p in posts if escalation is not None and escalation.search(p.text)]
    if escalating:
        damage.append(
            Finding(
                text=f"{len(escalating)} posts mention escalation ({', '.join(escalation_terms[:6])}, ...).",
                evidence=[_evidence(p) for p in escalating[-TOP:]],
            )
        )
    if areas:
        where = ", ".join(f"{a} ({n})" for a, n in areas)
        damage.append(Finding(text=f"Most posts come from: {where}."))

    sense: list[Finding] = []
    for case in top_cases:
        mix = case.stance
        sense.append(
            Finding(
                text=(
                    f"Rumour ({case.status.value}): {case.claim} — {case.post_count} posts; "
                    f"{mix.support} support, {mix.deny} deny, {mix.query} ask."
                ),
                evidence=[Evidence(kind="case", ref=case.case_id, text=case.claim)],
            )
        )
    if terms:
        sense.append(Finding(text="What people talk about: " + ", ".join(t for t, _ in terms) + "."))

    direction = (
        "" if trend is None else f", {'up' if trend >= 0 else 'down'} {abs(trend):.0%} on the half before"
    )
    summary = (
        f"{n_posts} post{'' if n_posts == 1 else 's'} between {start.astimezone(LOCAL):%d %b %H:%M} and "
        f"{end.astimezone(LOCAL):%H:%M}{direction}; "
        f"{len(alerts)} alerts, {len(open_cases)} open rumour cases."
    )
    return AnalyseBody(
        summary=summary,
        goals={Goal.INFORMATION_NEED: info, Goal.DAMAGE_LIMITATION: damage, Goal.SENSE_MAKING: sense},
        figures=figures,
        window=window,
    )


def _any_of(terms: Sequence[str]) -> re.Pattern[str] | None:
    """Whole words, in any case, except short ones: those match in capitals only, as the detectors read
    them ("me" in the lexicon is the riot police, ME; "ik schaam me" is no escalation)."""
    words = [re.escape(t) for t in terms if len(t) > ACRONYM_MAX_LEN]
    acronyms = [re.escape(t.upper()) for t in terms if len(t) <= ACRONYM_MAX_LEN]
    parts = ([f"(?i:{'|'.join(words)})"] if words else []) + (
        [f"(?:{'|'.join(acronyms)})"] if acronyms else []
    )
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)") if parts else None
