"""Building blocks of the rumour board (``/rumours``): cards, buttons, notes, the answer and its effect.

Pure functions from the API's JSON (``RumourCase``, ``RumourCaseDetail``) to Dash components, so they are
tested without a browser or a server. Claims, example posts and notes are written by strangers (or typed
by advisers): they are only ever plain string children, which React escapes, never markdown or HTML.

Workflow buttons carry the case version the adviser is looking at in their id, so the page can send it
back and a stale card is refused by the API (409) instead of overwriting someone else's change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dash import html

from dashboard.display import LOCAL_TZ, clock, count, parse_time, plain, to_local
from dashboard.figures.spread import sparkline_uri, stance_counts

# Mirror of app.room.models.TRANSITIONS (the dashboard talks to the API only; a test keeps them equal).
STATUSES = ("new", "checking", "confirmed", "denied", "unfounded", "answered", "closed")
_VERDICTS = frozenset({"confirmed", "denied", "unfounded"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"checking", *_VERDICTS, "closed"}),
    "checking": frozenset({*_VERDICTS, "closed"}),
    "confirmed": frozenset({"checking", *_VERDICTS, "answered", "closed"}),
    "denied": frozenset({"checking", *_VERDICTS, "answered", "closed"}),
    "unfounded": frozenset({"checking", *_VERDICTS, "answered", "closed"}),
    "answered": frozenset({"checking", "closed"}),
    "closed": frozenset({"checking"}),
}
STATUS_LABELS = {
    "new": "New",
    "checking": "Checking",
    "confirmed": "Confirmed",
    "denied": "Denied",
    "unfounded": "Unfounded",
    "answered": "Answered",
    "closed": "Closed",
}
# What the button does, in the adviser's words ("Reopen" rather than "Checking" for a closed case).
ACTION_LABELS = {
    "checking": "Check",
    "confirmed": "Confirmed",
    "denied": "Denied",
    "unfounded": "Unfounded",
    "answered": "Mark answered",
    "closed": "Close",
}
CHANNELS = (("website", "Website"), ("social", "Social media"), ("nl-alert", "NL-Alert"), ("press", "Press"))
CHANNEL_LABELS = dict(CHANNELS)
MAX_EXAMPLES = 6
MAX_SPLIT_OPTIONS = 60
MAX_NOTES_SHOWN = 50


def when(value: Any) -> str:
    """'15 Sep 21:47' in Amsterdam time; '–' for no time."""
    moment = parse_time(value)
    if moment is None:
        return "–"
    return to_local(moment).strftime("%d %b %H:%M").lstrip("0")


def posts_label(value: Any) -> str:
    n = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return f"{count(n)} post" + ("" if n == 1 else "s")


def allowed_statuses(case: Mapping[str, Any]) -> list[str]:
    """The statuses a button may offer, in workflow order. 'Answered' needs a recorded answer (the API
    refuses it otherwise), so it is offered only once there is one; answering itself is the answer form."""
    current = case.get("status") or "new"
    allowed = TRANSITIONS.get(current, frozenset())
    return [s for s in STATUSES if s in allowed and (s != "answered" or case.get("answer"))]


def signature(case: Mapping[str, Any]) -> str:
    """Changes with anything a card shows: the workflow (version) and the detector's updates (posts)."""
    return f"{case.get('version')}|{case.get('post_count')}|{case.get('updated_at')}|{case.get('status')}"


def card_changes(
    old_ids: Sequence[str],
    old_sigs: Sequence[str],
    ids: Sequence[str],
    sigs: Sequence[str],
    max_moved: int = 8,
) -> tuple[list[int], list[int], list[int]] | None:
    """How to turn the cards shown into the new list with few redraws: ``(remove, prepend, replace)`` -
    old positions to delete (descending), new positions of cards to put on top (in prepend order) and new
    positions to redraw in place. Any change to a case moves it to the top of the API's list, so that is the
    shape handled; ``None`` when the lists differ otherwise (then redraw everything)."""
    if len(old_ids) != len(old_sigs) or len(ids) != len(sigs):
        return None
    for k in range(min(max_moved, len(ids)) + 1):
        moved = set(ids[:k])
        if list(ids[k:]) == [i for i in old_ids if i not in moved]:
            break
    else:
        return None
    old_pos = {case_id: n for n, case_id in enumerate(old_ids)}
    old_sig = dict(zip(old_ids, old_sigs, strict=True))
    remove = sorted((old_pos[i] for i in ids[:k] if i in old_pos), reverse=True)
    prepend = list(range(k - 1, -1, -1))
    replace = [n for n in range(k, len(ids)) if old_sig.get(ids[n]) != sigs[n]]
    return remove, prepend, replace


def unique_examples(
    examples: Iterable[Mapping[str, Any]], limit: int = MAX_EXAMPLES
) -> list[Mapping[str, Any]]:
    """Examples once per post key (the API can list a post twice), in the order given."""
    seen: set[str] = set()
    out = []
    for example in examples:
        key = example.get("key")
        if not isinstance(key, str) or key in seen:
            continue
        seen.add(key)
        out.append(example)
        if len(out) >= limit:
            break
    return out


def status_badge(status: str) -> html.Span:
    return html.Span(STATUS_LABELS.get(status, plain(status, 20)), className=f"rb-status st-{status}")


def owner_chip(owner: str | None, me: str | None) -> html.Span:
    """Who is on it, readable from across the room: the name, 'you' for the adviser's own cases, or a
    warning that nobody is."""
    if not owner:
        return html.Span("Nobody on it", className="rb-owner none", title="nobody has taken this case")
    mine = bool(me) and owner == me
    return html.Span(
        [html.Span("On it: ", className="rb-owner-label"), html.B(plain(owner, 60))]
        + ([html.Span(" (you)", className="rb-owner-you")] if mine else []),
        className="rb-owner mine" if mine else "rb-owner",
        title="who is on this case",
    )


def _button(label: str, case: Mapping[str, Any], op: str, arg: str, at: str, kind: str = "") -> html.Button:
    return html.Button(
        label,
        id={
            "type": "rb-do",
            "case": case["case_id"],
            "op": op,
            "arg": arg,
            "v": case.get("version"),
            "at": at,
        },
        className=f"rb-btn {kind}".strip(),
        n_clicks=0,
    )


def owner_buttons(case: Mapping[str, Any], me: str | None, at: str) -> list[html.Button]:
    owner = case.get("owner")
    if not owner:
        return [_button("Take", case, "take", "", at, "primary")]
    if me and owner == me:
        return [_button("Release", case, "release", "", at)]
    return [_button("Take over", case, "takeover", "", at)]


def status_buttons(case: Mapping[str, Any], at: str) -> list[html.Button]:
    buttons = []
    for status in allowed_statuses(case):
        label = "Reopen" if case.get("status") == "closed" and status == "checking" else ACTION_LABELS[status]
        buttons.append(_button(label, case, "status", status, at, f"to-{status}"))
    return buttons


def action_bar(case: Mapping[str, Any], me: str | None, at: str, extra: Sequence[Any] = ()) -> html.Div:
    """Owner buttons, a divider, the allowed status steps, then ``extra`` pushed to the far end."""
    return html.Div(
        className="rb-actions",
        children=[
            *owner_buttons(case, me, at),
            html.Span(className="rb-divider"),
            *status_buttons(case, at),
            *extra,
        ],
    )


def stance_strip(stance: Mapping[str, Any] | None) -> html.Div:
    """The stance mix as a thin stacked bar with its numbers: cheap enough for every card."""
    parts = stance_counts(stance)
    total = sum(count for *_, count in parts)
    if not total:
        return html.Div(html.Span("no stance counted", className="rb-none"), className="rb-stance")
    segments = [
        html.Span(
            className=f"rb-seg seg-{key}",
            style={"width": f"{100 * count / total:.1f}%", "background": colour},
            title=f"{label}: {count}",
        )
        for key, label, colour, count in parts
        if count
    ]
    legend = [
        html.Span([html.I(style={"background": colour}), f"{label} {count}"], className="rb-leg")
        for _key, label, colour, count in parts
        if count
    ]
    return html.Div(
        [html.Div(segments, className="rb-bar"), html.Div(legend, className="rb-legend")],
        className="rb-stance",
    )


def effect_summary(effect: Mapping[str, Any] | None) -> list[Any]:
    """'62 → 12 posts (−81 %) · denials 3 → 20' for the hour before and after the answer."""
    if not effect:
        return []
    before, after = int(effect.get("before") or 0), int(effect.get("after") or 0)
    change = f" ({(after - before) / before:+.0%})" if before else ""
    minutes = int(effect.get("window_minutes") or 60)
    window = "hour" if minutes == 60 else f"{minutes} min"
    denials = int(effect.get("denials_before") or 0) + int(effect.get("denials_after") or 0)
    if not before and not after and not denials:
        return [
            html.Span(
                f"No posts of this case in the {window} before or after the answer.", className="rb-none"
            )
        ]
    return [
        html.Span(
            [f"Posts, {window} before → after: ", html.B(f"{before} → {after}"), change],
            className="rb-eff-posts",
        ),
        html.Span(
            [
                "Denials: ",
                html.B(f"{int(effect.get('denials_before') or 0)} → {int(effect.get('denials_after') or 0)}"),
            ],
            className="rb-eff-deny",
        ),
    ]


def answer_block(case: Mapping[str, Any], effect: Mapping[str, Any] | None, *, full: bool) -> html.Div | None:
    answer = case.get("answer")
    if not answer:
        return None
    channel = CHANNEL_LABELS.get(answer.get("channel"), plain(answer.get("channel"), 20))
    head = [
        html.Span("Answered", className="rb-ans-label"),
        html.Span(channel, className="rb-ans-channel"),
        html.Time(when(answer.get("published_at")), dateTime=str(answer.get("published_at") or "")),
    ]
    url = answer.get("url")
    children: list[Any] = [
        html.Div(head, className="rb-ans-head"),
        # The adviser's own text, but typed into a browser: shown as text like everything else.
        html.P(plain(answer.get("text"), None if full else 160), className="rb-ans-text"),
    ]
    if full and isinstance(url, str) and url:
        # Only web links become links; anything else (javascript:, data:) is shown as text.
        link = url if url.startswith(("http://", "https://")) else None
        children.append(
            html.A(
                plain(url, 120), href=link, target="_blank", rel="noopener noreferrer", className="rb-ans-url"
            )
            if link
            else html.Span(plain(url, 120), className="rb-ans-url")
        )
    if effect:
        children.append(html.Div(effect_summary(effect), className="rb-effect"))
    return html.Div(children, className="rb-answer")


def card(
    case: Mapping[str, Any],
    detail: Mapping[str, Any] | None,
    *,
    me: str | None,
    selected: bool = False,
) -> html.Article:
    """One rumour case on the board: claim, status, owner, first seen, spread, stance, an example, the
    answer and its effect, and the workflow buttons for the version shown."""
    detail = detail or {}
    status = case.get("status") or "new"
    examples = unique_examples(case.get("examples") or [], 1)
    meta = [
        html.Span(["First seen ", html.B(when(case.get("first_seen")))], className="rb-first"),
        html.Span(posts_label(case.get("post_count")), className="rb-count"),
        html.Span(plain(case.get("area"), 40) or "no area", className="rb-area"),
    ]
    if case.get("severity"):
        meta.append(html.Span(plain(case["severity"], 12), className=f"rb-sev sev-{case['severity']}"))
    if case.get("origin") == "manual":
        meta.append(html.Span("flagged by hand", className="rb-origin"))
    if case.get("merged_from"):
        meta.append(html.Span(f"+{len(case['merged_from'])} merged", className="rb-merged"))
    chip = similar_chip(case)
    if chip is not None:
        meta.append(chip)
    answer = case.get("answer") or {}
    spread = detail.get("spread") or []
    peak = max((p.get("count") or 0 for p in spread if isinstance(p, Mapping)), default=0)
    body: list[Any] = [
        html.Header(
            className="rb-card-head",
            children=[
                status_badge(status),
                owner_chip(case.get("owner"), me),
            ],
        ),
        html.H3(plain(case.get("claim"), 220) or "(no claim)", className="rb-claim"),
        html.Div(meta, className="rb-meta"),
        html.Div(
            className="rb-charts",
            children=[
                html.Img(
                    src=sparkline_uri(spread, answered_at=answer.get("published_at")),
                    className="rb-spark",
                    alt=f"spread: at most {peak} posts per 10 minutes",
                    title=f"Posts per 10 minutes, at most {peak}"
                    + (" · dotted line: the answer" if answer else ""),
                ),
                stance_strip(case.get("stance")),
            ],
        ),
    ]
    if examples:
        body.append(
            html.Blockquote(
                [html.Time(when(examples[0].get("created_at"))), " ", plain(examples[0].get("text"), 180)],
                className="rb-example",
            )
        )
    block = answer_block(case, detail.get("effect"), full=False)
    if block is not None:
        body.append(block)
    opener = html.Button(
        "Open ›" if not selected else "Opened",
        id={"type": "rb-open", "case": case["case_id"]},
        className="rb-btn rb-open",
        n_clicks=0,
    )
    body.append(html.Footer(action_bar(case, me, "card", [opener]), className="rb-card-foot"))
    classes = (
        f"rb-card st-{status}"
        + (" selected" if selected else "")
        + (" unowned" if not case.get("owner") else "")
    )
    return html.Article(body, className=classes, **{"data-case": case["case_id"]})


def empty_board(status: str | None, show_closed: bool) -> html.Div:
    what = f"with status {STATUS_LABELS.get(status, status)}" if status else "open"
    hint = (
        ""
        if show_closed or status == "closed"
        else " Closed cases are hidden; tick “show closed” to see them."
    )
    return html.Div(
        [
            html.P(f"No rumour cases {what}.", className="rb-empty-title"),
            html.P(
                "Cases appear here when the detector finds a claim spreading, or when you flag a post "
                "by hand." + hint
            ),
        ],
        className="rb-empty",
    )


def detail_head(case: Mapping[str, Any], me: str | None) -> list[Any]:
    status = case.get("status") or "new"
    facts: list[Any] = [
        html.Span(["First seen ", html.B(when(case.get("first_seen")))]),
        html.Span(["Last post ", html.B(when(case.get("updated_at")))]),
        html.Span(posts_label(case.get("post_count"))),
        html.Span(plain(case.get("area"), 40) or "no area", className="rb-area"),
        html.Span(
            "detector" if case.get("origin") == "detector" else "flagged by hand", className="rb-origin"
        ),
        html.Span(f"version {case.get('version')}", className="rb-version"),
    ]
    extra: list[Any] = []
    if case.get("merged_into"):
        extra.append(html.P(f"Merged into {plain(case['merged_into'], 80)}.", className="rb-warn"))
    if case.get("merged_from"):
        extra.append(
            html.P(
                "Includes: " + ", ".join(plain(c, 60) for c in case["merged_from"]), className="rb-note-line"
            )
        )
    return [
        html.Div([status_badge(status), owner_chip(case.get("owner"), me)], className="rb-card-head"),
        html.H2(plain(case.get("claim"), 300) or "(no claim)", className="rb-claim big"),
        html.Div(facts, className="rb-meta"),
        *extra,
    ]


def example_options(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Checklist options for the split form: one per example post, with its time and text."""
    return [
        {"label": f"{when(e.get('created_at'))}  {plain(e.get('text'), 220)}", "value": e["key"]}
        for e in unique_examples(detail.get("examples") or [], MAX_EXAMPLES)
    ]


def other_post_options(detail: Mapping[str, Any], limit: int = MAX_SPLIT_OPTIONS) -> list[dict[str, Any]]:
    """The case's other posts, by key only: the API sends texts for the examples alone."""
    shown = {o["value"] for o in example_options(detail)}
    keys = [
        k for k in dict.fromkeys(detail.get("member_keys") or []) if isinstance(k, str) and k not in shown
    ]
    return [{"label": plain(key, 80), "value": key} for key in keys[:limit]]


def note_items(notes: Sequence[Mapping[str, Any]]) -> list[html.Li]:
    if not notes:
        return [html.Li("No notes yet.", className="rb-none")]
    items = []
    for note in list(notes)[-MAX_NOTES_SHOWN:][::-1]:  # newest first
        detail = note.get("detail") or {}
        items.append(
            html.Li(
                [
                    # Notes written on the board start with the adviser's name; the API's actor is "local".
                    html.Div(
                        [html.Time(when(note.get("at")))]
                        + (
                            [" ", html.Span(plain(actor, 40))]
                            if (actor := note.get("actor")) != "local"
                            else []
                        ),
                        className="rb-note-meta",
                    ),
                    html.Div(str(detail.get("text") or ""), className="rb-note-text"),
                ]
            )
        )
    return items


def _history_line(entry: Mapping[str, Any]) -> str:
    detail = entry.get("detail") or {}
    action = entry.get("action")
    if action == "status":
        return f"status {detail.get('from', '?')} → {detail.get('to', '?')}" + (
            f" {plain(detail['reason'], 120)}" if detail.get("reason") else ""
        )
    if action == "owner":
        to = detail.get("to")
        return f"owner → {plain(to, 60)}" if to else "released"
    if action == "answer":
        return f"answer linked ({CHANNEL_LABELS.get(detail.get('channel'), detail.get('channel'))})"
    if action == "merge":
        return f"merged in {plain(detail.get('other'), 80)}"
    if action == "split":
        return (
            f"split off {len(detail.get('post_keys') or [])} posts into {plain(detail.get('new_case'), 40)}"
        )
    if action == "flag":
        return f"post {plain(detail.get('post_key'), 60)} flagged into this case"
    if action == "opened":
        return "opened"
    return plain(str(action), 40)


def history_items(history: Sequence[Mapping[str, Any]]) -> list[html.Li]:
    entries = [h for h in history if h.get("action") != "note"]
    if not entries:
        return [html.Li("No changes yet.", className="rb-none")]
    return [html.Li([html.Time(when(h.get("at"))), " ", _history_line(h)]) for h in entries[-30:][::-1]]


def by_line(me: str | None) -> str | None:
    """The reason sent with a status change: who made it, since the API records everyone as 'local'."""
    return f"by {me} (rumour board)" if me else None


_BY_LINE = re.compile(r"^by (.+) \(rumour board\)$")


def changed_by(history: Sequence[Mapping[str, Any]], case: Mapping[str, Any]) -> str:
    """Who made the latest change, as well as the API lets us know. Until accounts exist the API records
    every adviser as 'local': then a status change names the adviser in its reason (``by_line``), taking a
    case names the new owner, and otherwise the case's owner is the best guess, or 'Someone'."""
    last = history[-1] if history else {}
    actor = last.get("actor")
    detail = last.get("detail") or {}
    if isinstance(actor, str) and actor and actor not in ("local", "signaal"):
        return plain(actor, 60)
    by = _BY_LINE.match(str(detail.get("reason") or "")) if last.get("action") == "status" else None
    if by:
        return plain(by.group(1), 60)
    if last.get("action") == "owner" and detail.get("to"):
        return plain(detail["to"], 60)
    if case.get("owner"):
        return plain(case["owner"], 60)
    return "Someone"


def conflict_message(history: Sequence[Mapping[str, Any]], case: Mapping[str, Any]) -> str:
    who = changed_by(history, case)
    last = history[-1] if history else None
    what = f" ({_history_line(last)}, {clock(parse_time(last.get('at')))})" if last else ""
    return f"{who} changed this case meanwhile{what} — refreshed. Check it and try again."


def post_option(post: Mapping[str, Any]) -> dict[str, Any] | None:
    key = post.get("key")
    if not isinstance(key, str) or not key:
        return None
    area = plain(post.get("area") or post.get("place"), 30)
    label = f"{when(post.get('created_at'))} · {area + ' · ' if area else ''}{plain(post.get('text'), 110)}"
    return {"label": label, "value": key}


def case_option(case: Mapping[str, Any], similarity: float | None = None) -> dict[str, Any]:
    status = STATUS_LABELS.get(case.get("status"), case.get("status"))
    label = f"{plain(case.get('claim'), 90)} · {status} · {case.get('post_count', 0)} posts"
    if similarity is not None:
        label = f"≈ {similarity:.0%} alike · {label}"
    return {"label": label, "value": case["case_id"]}


def similar_of(case: Mapping[str, Any]) -> list[tuple[str, float, str]]:
    """The open cases the service hints tell this claim in other words: (case id, similarity, claim)."""
    out = []
    for hint in case.get("similar") or []:
        if isinstance(hint, Mapping) and isinstance(hint.get("case_id"), str):
            similarity = hint.get("similarity")
            out.append(
                (
                    hint["case_id"],
                    float(similarity) if isinstance(similarity, int | float) else 0.0,
                    str(hint.get("claim") or ""),
                )
            )
    return out


def similar_chip(case: Mapping[str, Any]) -> html.Span | None:
    """'≈ 2 alike' on a card whose claim other open cases seem to tell in other words; the claims on hover."""
    hints = similar_of(case)
    if not hints:
        return None
    return html.Span(
        f"≈ {len(hints)} alike",
        title="Other cases that seem to say the same (merge them from the opened case):\n"
        + "\n".join(f"{similarity:.0%} {plain(claim, 90)}" for _, similarity, claim in hints),
        className="rb-similar",
    )


def merge_options(case_id: str, index: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Cases to merge into ``case_id``: those the service hints say tell the same claim first, most alike
    first and marked with their similarity, then the others as listed."""
    me = next((c for c in index if c.get("case_id") == case_id), {})
    alike = {hint_id: similarity for hint_id, similarity, _ in similar_of(me)}
    others = [c for c in index if c.get("case_id") != case_id]
    first = sorted((c for c in others if c["case_id"] in alike), key=lambda c: -alike[c["case_id"]])
    return [case_option(c, alike[c["case_id"]]) for c in first] + [
        case_option(c) for c in others if c["case_id"] not in alike
    ]


def parse_local(text: str | None) -> datetime | None:
    """'2024-09-15 21:00' (Amsterdam time) or an ISO time with a zone; None for empty. Raises ValueError."""
    text = (text or "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("T", " "))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment
