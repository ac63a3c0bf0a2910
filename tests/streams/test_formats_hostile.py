"""Hostile and broken input against every format adapter, property-based.

The contract, for every adapter and for "auto":

* a record becomes a valid Post (text bounded, created_at in UTC, author a pseudonym, never the raw handle,
  no NUL and no lone surrogate anywhere, so any store can keep it) or raises ParseError with a reason;
  nothing else escapes, and nothing takes long;
* reading a file that mixes good and bad records yields every good one as a Post and every bad one as a
  DeadLetter carrying the exact bytes of the record: nothing silently dropped, nothing counted twice.

Failing examples found while writing these are kept as ``@example``s.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.deadletter import DeadLetter
from streams.formats import CsvMapping, ParseError, fields, iter_posts, parse_record
from streams.formats.decode import MAX_DEPTH
from streams.post import MAX_CLOCK_SKEW, MAX_TEXT_CHARS, HandleSealer, Post, pseudonymise

KEY = b"test-key-not-secret"
pseudo = functools.partial(pseudonymise, key=KEY)
HANDLE = "HandleSecret_X"
PSEUDONYM = re.compile(r"^p_[0-9a-f]{20}$")
# A generous bound: each record is bounded to 1 MB before decoding, so anything slower is a hang in waiting.
SLOW_S = 10.0
FILES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# -- good records, one per format ------------------------------------------------------------------------

TEMPLATES: dict[str, dict[str, Any]] = {
    "jsonl": {
        "platform": "x",
        "id": "1",
        "author": HANDLE,
        "created_at": "2024-05-01T12:00:00+02:00",
        "text": "Brand in Zwolle",
        "lang": "nl",
        "coordinates": {"lat": 52.5, "lon": 6.1},
        "place": "Zwolle",
        "reply_to": "0",
        "url": "https://example.org/1",
        "likes": 3,
    },
    "twitter_v1": {
        "id_str": "1",
        "created_at": "Wed Aug 27 13:08:45 +0000 2014",
        "text": "Brand &amp; rook",
        "extended_tweet": {"full_text": "Brand &amp; rook in Zwolle"},
        "user": {"screen_name": HANDLE, "id_str": "42"},
        "lang": "nl",
        "coordinates": {"type": "Point", "coordinates": [6.1, 52.5]},
        "place": {"full_name": "Zwolle, Nederland"},
        "retweeted_status": {"id_str": "0"},
        "in_reply_to_status_id_str": "7",
        "favorite_count": 2,
    },
    "twitter_v2": {
        "data": {
            "id": "1",
            "text": "Brand in Zwolle",
            "author_id": "42",
            "created_at": "2024-07-15T14:30:00.000Z",
            "lang": "nl",
            "referenced_tweets": [{"type": "quoted", "id": "9"}],
            "public_metrics": {"like_count": 1, "retweet_count": 2},
            "geo": {"place_id": "p1", "coordinates": {"type": "Point", "coordinates": [6.1, 52.5]}},
        },
        "includes": {"users": [{"id": "42", "username": HANDLE}], "places": [{"id": "p1", "full_name": "Z"}]},
    },
    "mastodon": {
        "id": "5",
        "uri": f"https://social.example/users/{HANDLE}/statuses/5",
        "url": f"https://social.example/@{HANDLE}/5",
        "created_at": "2024-07-15T14:40:12.345Z",
        "content": "<p>Rook &amp; brand</p><p>Ramen dicht!<br />Zwolle</p>",
        "spoiler_text": "brand",
        "language": "nl",
        "in_reply_to_id": "4",
        "in_reply_to_account_id": "77",
        "account": {
            "id": "77",
            "username": HANDLE,
            "acct": HANDLE,
            "url": f"https://social.example/@{HANDLE}",
        },
        "reblog": None,
        "favourites_count": 1,
    },
}
# csv records reach the parser as native JSON built from a row; the jsonl template stands for them.
PARSE_FORMATS = ["jsonl", "twitter_v1", "twitter_v2", "mastodon", "csv", "auto"]


def template(fmt: str) -> dict[str, Any]:
    return copy.deepcopy(TEMPLATES["jsonl" if fmt in ("csv", "auto") else fmt])


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a template, interior and leaf."""
    found: list[tuple[Any, ...]] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


# -- hostile values --------------------------------------------------------------------------------------

SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: legal as a JSON escape, not encodable as UTF-8
    "\udcff",
    "\u202e\u2066evil\u2069",  # right-to-left override, isolates
    "\u200f\u200e\u061c",  # right-to-left / left-to-right marks
    "\ufeff",
    "\U0001f525\U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji with zero-width joiners
    "\U0001d573\U00010348",  # astral plane letters
    "\x1b[31m\x07\x08\x7f\x85",
    "\r\n\t\v\f",
    "=cmd|' /C calc'!A0",
    "+SUM(1,1)",
    "-2+3",
    "@A1",
    "<script>alert(1)</script>",
    "&amp;&lt;&#0;&#x110000;&#xd800;",
    "Wed Aug 27 13:08:45 +9999 2014",
    "Wed Feb 31 25:61:61 +0000 2014",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00-23:59",
    "2024-05-01T12:00:00",
    "x" * (MAX_TEXT_CHARS + 1),
    HANDLE,
    "https://[::1",
    "<p><!DOCTYPE x [<!ENTITY",
]

hostile_strings = st.one_of(
    st.sampled_from(SPECIAL_STRINGS),
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=["Cc", "Cf", "Cs", "Co", "Zl", "Zp", "So"]), max_size=20),
)
hostile_numbers = st.one_of(
    st.integers(),
    st.sampled_from([-1, 0, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, 10**4200]),
    st.floats(allow_nan=True, allow_infinity=True),
)
hostile_scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_strings)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def nested(depth: int, core: Any = 1) -> Any:
    value = core
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@st.composite
def mutated_objects(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    """A good record with some fields replaced by hostile values or removed."""
    obj = template(fmt)
    for _ in range(draw(st.integers(1, 3))):
        where = paths(obj)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "deep"]))
        if action == "delete":
            parent.pop(path[-1])
        elif action == "deep":
            parent[path[-1]] = nested(draw(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 40)))
        else:
            parent[path[-1]] = draw(hostile_values)
    return obj


def dumps(obj: Any, ascii_only: bool) -> str:
    # ensure_ascii=False writes lone surrogates as characters (the way a broken export's text arrives);
    # True writes them as \\udXXX escapes (legal JSON that decodes to an unencodable string).
    return json.dumps(obj, ensure_ascii=ascii_only, allow_nan=True)


@st.composite
def hostile_texts(draw: st.DrawFn, fmt: str) -> str:
    """The JSON text of a mutated record, possibly broken at the text level as well."""
    text = dumps(draw(mutated_objects(fmt)), draw(st.booleans()))
    damage = draw(
        st.sampled_from(
            ["none", "none", "truncate", "bad_byte", "bom", "duplicate_key", "huge_number", "nul"]
        )
    )
    if damage == "truncate":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif damage == "bad_byte":
        # What the reader makes of a byte that is not UTF-8: a surrogate escape (PEP 383).
        at = draw(st.integers(0, len(text)))
        text = text[:at] + chr(0xDC00 + draw(st.integers(0x80, 0xFF))) + text[at:]
    elif damage == "bom":
        text = "\ufeff" + text
    elif damage == "duplicate_key":
        key = draw(st.sampled_from([path[0] for path in paths(template(fmt))] or ["id"]))
        value = dumps(draw(hostile_values), True)
        text = (
            text[:-1] + f', "{key}": {value}}}' if draw(st.booleans()) else f'{{"{key}": {value}, ' + text[1:]
        )
    elif damage == "huge_number":
        text = text.replace("1", "1" * draw(st.sampled_from([400, 4301, 20_000])), 1)
    elif damage == "nul":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\x00" + text[at:]
    return text


# -- the contract ----------------------------------------------------------------------------------------


def assert_valid_post(post: Post) -> None:
    assert isinstance(post, Post)
    assert len(post.text) <= MAX_TEXT_CHARS
    assert post.created_at.tzinfo is UTC
    assert PSEUDONYM.match(post.author), post.author
    dumped = post.model_dump_json()
    assert HANDLE.lower() not in dumped.lower(), "the raw handle leaked into the Post"
    dumped.encode("utf-8")  # no lone surrogates: any store and any client can take it
    for name, value in post.model_dump().items():
        if isinstance(value, str):
            assert "\x00" not in value, f"NUL in {name}: PostgreSQL cannot store it"
    assert Post.model_validate_json(dumped) == post  # what goes on the bus comes back the same


def outcome(
    text: str | dict[str, Any], fmt: str, seal: Callable[[str], str] | None = None
) -> Post | ParseError:
    started = time.monotonic()
    try:
        result: Post | ParseError = parse_record(text, fmt, pseudo, seal)
    except ParseError as error:
        result = error
    assert time.monotonic() - started < SLOW_S
    if isinstance(result, ParseError):
        reason = str(result)
        assert reason.strip() and len(reason) < 2000, reason
        reason.encode("utf-8")  # the reason is shown to operators and stored
    else:
        assert_valid_post(result)
    return result


@pytest.mark.parametrize("fmt", PARSE_FORMATS)
def test_the_templates_are_good_records(fmt: str) -> None:
    assert isinstance(outcome(dumps(template(fmt), True), fmt), Post)


def _with(fmt: str, **fields: Any) -> dict[str, Any]:
    return template(fmt) | fields


def _text_with(fmt: str, **fields: Any) -> str:
    return json.dumps(_with(fmt, **fields))


def per_format(strategy: Callable[[str], st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.sampled_from(PARSE_FORMATS).flatmap(lambda fmt: st.tuples(st.just(fmt), strategy(fmt)))


# Regressions, each once a failure: a coordinate of 400 digits (OverflowError from float()); a count past
# the 32-bit storage column; a count of 5000 digits (repr() refused it while wording the error); NUL in an
# id (PostgreSQL refuses it); a key "\ud800" quoted in the reason (the DeadLetter refused the reason); a
# time whose conversion to UTC overflows (OverflowError escaped the adapter).
@given(case=per_format(hostile_texts))
@example(case=("jsonl", _text_with("jsonl", coordinates={"lat": 10**400, "lon": 1})))
@example(case=("csv", _text_with("jsonl", likes=2**31)))
@example(case=("jsonl", _text_with("jsonl", id="a\x00b")))
@example(case=("auto", '{"\\ud800": 1, "\\u0000": 2}'))
@example(case=("mastodon", '{"uri": "\\u0000", "\\udfff": []}'))
@example(case=("jsonl", _text_with("jsonl", created_at="9999-12-31T23:59:59-23:59")))
@example(case=("twitter_v1", _text_with("twitter_v1", created_at="Fri Dec 31 23:59:59 -2359 9999")))
def test_hostile_record_text_gives_a_valid_post_or_a_parse_error(case: tuple[str, str]) -> None:
    fmt, text = case
    outcome(text, fmt)


@given(case=per_format(mutated_objects))
@example(case=("jsonl", _with("jsonl", coordinates={"lat": 10**400, "lon": 6.1})))
@example(case=("twitter_v1", _with("twitter_v1", favorite_count=10**5000)))
@example(case=("twitter_v2", _with("twitter_v2", data={"id": "1", "public_metrics": {"like_count": 2**64}})))
def test_hostile_decoded_objects_give_a_valid_post_or_a_parse_error(case: tuple[str, dict[str, Any]]) -> None:
    fmt, obj = case
    outcome(obj, fmt)


@given(value=hostile_values, fmt=st.sampled_from(PARSE_FORMATS))
def test_a_record_that_is_not_an_object_is_refused(value: Any, fmt: str) -> None:
    if not isinstance(value, dict):
        assert isinstance(outcome(dumps(value, True), fmt), ParseError)


@pytest.mark.parametrize("fmt", PARSE_FORMATS)
@pytest.mark.parametrize(
    ("build", "refusal"),
    [
        pytest.param(
            lambda text: text[:-1] + ', "text": "' + "a" * 10_000_000 + '"}',
            "record is larger than 1,000,000 bytes",
            id="10MB-text",
        ),
        pytest.param(
            lambda text: text[:-1] + ', "z": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "nested deeper than 64 levels",
            id="100k-deep",
        ),
        pytest.param(lambda text: "[" * 1_000_000, "nested deeper than 64 levels", id="1M-open-brackets"),
        pytest.param(
            lambda text: text[:-1] + ', "n": ' + "9" * 900_000 + "}",
            "not valid JSON (Exceeds the limit (4300 digits)",
            id="900k-digit-number",
        ),
        # Within the size limit and valid JSON: the post is read, and the stray field is left out of it.
        pytest.param(lambda text: text[:-1] + ', "z": "' + "\\" * 999_000 + '"}', None, id="backslashes"),
        pytest.param(
            lambda text: text[:-1] + ', "t": "' + "\\u0000" * 150_000 + '"}', None, id="escaped-NULs"
        ),
    ],
)
def test_oversized_and_overdeep_records_fail_fast_with_a_reason(
    fmt: str, build: Callable[[str], str], refusal: str | None
) -> None:
    started = time.monotonic()
    result = outcome(build(dumps(template(fmt), True)), fmt)
    assert time.monotonic() - started < SLOW_S
    if refusal is not None:
        assert isinstance(result, ParseError) and refusal in str(result), result
    else:
        assert isinstance(result, Post) and result == outcome(dumps(template(fmt), True), fmt)


def test_record_nested_exactly_to_the_bound_is_decoded_and_one_deeper_is_not() -> None:
    good = template("jsonl")
    good["labels"] = nested(MAX_DEPTH - 1)  # the record itself is the first level
    assert isinstance(outcome(json.dumps(good), "jsonl"), Post)
    good["labels"] = nested(MAX_DEPTH)
    result = outcome(json.dumps(good), "jsonl")
    assert isinstance(result, ParseError) and "nested deeper than 64" in str(result)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "a\x00b"),
        ("place", "Zwolle\x00"),
        ("url", "https://example.org/\x00"),
        ("lang", "n\x00l"),
        ("reply_to", "\x00"),
    ],
)
def test_nul_in_any_field_never_reaches_the_post(field: str, value: str) -> None:
    record = template("jsonl") | {field: value}
    for text in (json.dumps(record), json.dumps(record, ensure_ascii=False)):
        outcome(text, "jsonl")


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script>", "\u202eevil\u202c", "\U0001f525" * 3, "\x1b[2J"]
)
def test_hostile_text_is_kept_as_written(text: str) -> None:
    post = outcome(json.dumps(template("jsonl") | {"text": text}), "jsonl")
    assert isinstance(post, Post) and post.text == text


# -- files mixing good and bad records -------------------------------------------------------------------

BAD_LINES = [
    b'{"platform": "x", "id": "b1"',  # truncated
    b'{"platform": "x", "id": 1.5, "author": "a", "created_at": "2024-05-01T12:00:00Z", "text": ""}',
    b"[1, 2, 3]",
    b"null",
    b"\xff\xfe{}",
    b'{"platform": "x", "id": "b2", "author": "a", "created_at": "2024-05-01T12:00:00Z", "text": "\xc3"}',
    b'{"platform": "x", "id": "b3", "author": "a\x00", "created_at": "yesterday", "text": "x"}',
    b'{"platform": "x", "id": "b4", "author": "a", "created_at": "2024-05-01T12:00:00", "text": "x"}',
    b"\x00\x00\x00",
    b'{"platform": "X!", "id": "b5", "author": "a", "created_at": "2024-05-01T12:00:00Z", "text": "x"}',
    b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}",
    b'{"platform": "x", "id": "b6", "author": "a", "created_at": "2024-05-01T12:00:00Z", "text": "'
    + b"y" * (MAX_TEXT_CHARS + 1)
    + b'"}',
    b'{"platform": "x", "id": "b7", "id": {}, "author": "a", "created_at": "2024-05-01T12:00:00Z", '
    b'"text": "x"}',
    b'{"platform": "x", "id": "b8", "author": "a", "created_at": "2024-05-01T12:00:00Z", "text": "x", '
    b'"likes": ' + b"9" * 5000 + b"}",
]


def good_line(number: int, text: str) -> bytes:
    record = {
        "platform": "x",
        "id": f"g{number}",
        "author": HANDLE,
        "created_at": "2024-05-01T12:00:00+02:00",
        "text": text,
    }
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


good_texts = st.text(max_size=30).filter(lambda text: "\n" not in text) | st.sampled_from(
    SPECIAL_STRINGS[6:14]
)
lines_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("good"), good_texts),
        st.tuples(st.just("bad"), st.sampled_from(BAD_LINES)),
        st.tuples(st.just("bad"), st.binary(min_size=1, max_size=40)),
    ),
    min_size=1,
    max_size=12,
)


def check_file(
    path: Path, fmt: str, expected: list[tuple[str, bytes | str]], mapping: CsvMapping | None = None
) -> None:
    """``expected``: per record, ("good", post id) or ("bad", the record's exact bytes)."""
    started = time.monotonic()
    items = list(iter_posts(path, fmt, pseudo, mapping))
    assert time.monotonic() - started < SLOW_S
    assert len(items) == len(expected), (items, expected)  # nothing dropped, nothing counted twice
    sources = [item.source for item in items if isinstance(item, DeadLetter)]
    assert len(set(sources)) == len(sources)
    for item, (kind, what) in zip(items, expected, strict=True):
        if kind == "good":
            assert isinstance(item, Post), item
            assert_valid_post(item)
            assert item.id == what
        else:
            assert isinstance(item, DeadLetter), (item, what)
            assert isinstance(what, bytes)
            assert item.reason
            assert (item.raw_bytes, item.raw_sha256) == (len(what), hashlib.sha256(what).hexdigest())
            assert "\x00" not in item.raw, "PostgreSQL cannot store NUL in the dead letter's raw text"


def _is_blank(line: bytes) -> bool:
    return not line.decode("utf-8", "surrogateescape").strip()


@FILES
@given(lines=lines_strategy, fmt=st.sampled_from(["auto", "jsonl"]), bom=st.booleans(), crlf=st.booleans())
@example(lines=[("bad", b"\x00\x00\x00")], fmt="jsonl", bom=False, crlf=False)
def test_jsonl_file_mixing_good_and_bad_lines(
    tmp_path: Path, lines: list[tuple[str, Any]], fmt: str, bom: bool, crlf: bool
) -> None:
    data: list[bytes] = []
    expected: list[tuple[str, bytes | str]] = []
    for number, (kind, value) in enumerate(lines):
        line = good_line(number, value) if kind == "good" else value
        if kind == "bad":
            # The reader splits on newlines and strips whitespace around a line; a bad record is what is
            # left, and a blank one is no record at all.
            line = line.replace(b"\n", b" ").replace(b"\r", b" ")
            line = line.decode("utf-8", "surrogateescape").strip().encode("utf-8", "surrogateescape")
            if not line or _is_blank(line):
                continue
            if isinstance(outcome(line.decode("utf-8", "surrogateescape"), fmt), Post):
                continue  # random bytes that happen to be a good record
            if not data and (line.startswith((b"\xef\xbb\xbf", b"[")) or re.search(rb"[,;\t]", line)):
                # Not JSON Lines by its first line: "[" starts a JSON array; with a delimiter and no "{"
                # it is a CSV header (reader.container). Either way the property is another test's.
                continue
        data.append(line)
        expected.append(("good", f"g{number}") if kind == "good" else ("bad", line))
    if not data:
        return
    if bom:
        # The reader strips the BOM from the first line; a dead letter keeps the record without it.
        data[0] = b"\xef\xbb\xbf" + data[0]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes((b"\r\n" if crlf else b"\n").join(data) + b"\n")
    check_file(path, fmt, expected)


def _parses_as_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@FILES
@given(
    elements=st.lists(
        st.one_of(
            st.tuples(st.just("good"), good_texts),
            st.tuples(st.just("bad"), st.sampled_from([line for line in BAD_LINES if _parses_as_json(line)])),
        ),
        min_size=1,
        max_size=10,
    ),
    truncate=st.booleans(),
)
def test_json_array_mixing_good_and_bad_elements(
    tmp_path: Path, elements: list[tuple[str, Any]], truncate: bool
) -> None:
    texts = [good_line(n, value) if kind == "good" else value for n, (kind, value) in enumerate(elements)]
    expected: list[tuple[str, bytes | str]] = [
        ("good", f"g{n}") if kind == "good" else ("bad", texts[n]) for n, (kind, _) in enumerate(elements)
    ]
    data = b"[" + b", ".join(texts) + b"]"
    if truncate:
        # Cut inside the last element: it and nothing else becomes the one failing rest.
        data = b"[" + b", ".join(texts[:-1]) + (b", " if len(texts) > 1 else b"") + texts[-1][:-1]
        expected[-1] = ("bad", texts[-1][:-1])
        if not texts[-1][:-1]:
            expected.pop()
    path = tmp_path / "mixed.json"
    path.write_bytes(data)
    check_file(path, "auto", expected)


# -- CSV -------------------------------------------------------------------------------------------------

csv_cells = st.one_of(
    st.sampled_from(
        [
            "=cmd|' /C calc'!A0",
            "+1",
            "-1",
            "@SUM(A1)",
            '=HYPERLINK("http://x")',
            "a,b",
            'say "hi"',
            "a\nb",
            "a\r\nb",
            "\u202etxt",
            "\U0001f525",
            "\ufeff",
            "",
            " ",
            "\t",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=15),
)


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


@FILES
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["good", "bad_time", "ragged_short", "ragged_long", "empty_id"]),
            csv_cells,
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    )
)
@example(rows=[("bad_time", "a\nb", False)])
def test_csv_mixing_good_and_bad_rows(tmp_path: Path, rows: list[tuple[str, str, bool]]) -> None:
    lines = ["id,author,created_at,text,extra"]
    expected: list[tuple[str, bytes | str]] = []
    for number, (kind, cell, quoted) in enumerate(rows):
        text = _csv_cell(cell) if not quoted else '"' + cell.replace('"', '""') + '"'
        if kind == "good":
            row = f"g{number},{HANDLE},2024-05-01T12:00:00Z,{text},{_csv_cell(cell)}"
        elif kind == "bad_time":
            row = f"b{number},{HANDLE},{text or 'x'},{text},z"
        elif kind == "ragged_short":
            row = f"b{number},{HANDLE}"  # no time, no text
        elif kind == "ragged_long":
            row = f"g{number},{HANDLE},2024-05-01T12:00:00Z,{text},1,2,3,4"
        else:
            row = f",{HANDLE},2024-05-01T12:00:00Z,{text}"
        lines.append(row)
        if kind in ("good", "ragged_long"):
            expected.append(("good", f"g{number}"))
        else:
            expected.append(("bad", row.encode("utf-8", "surrogateescape")))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape"))
    check_file(path, "auto", expected)


# -- regressions at the file level -----------------------------------------------------------------------


def test_v2_page_tweet_with_a_lone_surrogate_escape_parses_as_it_does_alone(tmp_path: Path) -> None:
    # Splitting the page wrote the decoded surrogate back unescaped, so the tweet read as invalid UTF-8.
    tweet = {"id": "1", "text": "a\ud800b", "author_id": "42", "created_at": "2024-07-15T14:30:00Z"}
    alone = parse_record(json.dumps(tweet), "twitter_v2", pseudo)
    path = tmp_path / "page.jsonl"
    path.write_text(json.dumps({"data": [tweet, tweet | {"id": "2"}]}) + "\n", encoding="ascii")
    posts = list(iter_posts(path, "auto", pseudo))
    assert [post.text for post in posts] == [alone.text, alone.text] == ["a\ufffdb", "a\ufffdb"]


def test_jsonl_whose_first_line_is_garbage_keeps_every_record_after_it(tmp_path: Path) -> None:
    # "auto" took any file not starting with [ or { for CSV: the header check failed and the whole file
    # became one dead letter without its bytes.
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"garbage\n" + good_line(1, "een") + b"\n" + good_line(2, "twee") + b"\n")
    check_file(path, "auto", [("bad", b"garbage"), ("good", "g1"), ("good", "g2")])


def test_csv_dead_letter_keeps_the_row_as_written_not_its_conversion(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b'id,created_at,text,secret_column\r\n1,gisteren,"a &amp;\nb",x\r\n')
    [letter] = list(iter_posts(path, "auto", pseudo))
    assert isinstance(letter, DeadLetter)
    assert letter.raw == '1,gisteren,"a &amp;\nb",x'


def test_file_name_with_undecodable_bytes_gives_a_dead_letter_not_a_crash(tmp_path: Path) -> None:
    # The file-level dead letter's source held a lone surrogate, which the DeadLetter model refused.
    path = Path(str(tmp_path / "export") + "\udcff.csv")
    path.write_bytes(b"a,b\r\n1,2\r\n")
    [letter] = list(iter_posts(path, "auto", pseudo))
    assert isinstance(letter, DeadLetter) and "no column for 'id'" in letter.reason
    assert letter.model_dump_json().encode("utf-8")
    assert "\\udcff" in letter.source


def test_dead_letter_text_is_storable_and_its_evidence_exact() -> None:
    letter = DeadLetter.of(b"\x00{\xff", "reason \ud800 \x00", "ingest:\udcff")
    assert "\x00" not in letter.raw + letter.reason + letter.source
    letter.model_dump_json().encode("utf-8")
    assert (letter.raw_bytes, letter.raw_sha256) == (3, hashlib.sha256(b"\x00{\xff").hexdigest())


@pytest.mark.parametrize(
    "created_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-07-20T20:17:40Z"]
)
def test_times_no_post_can_have_are_refused(created_at: str) -> None:
    # A year-9999 post was accepted, and the spike detector then failed every batch that held it.
    result = outcome(_text_with("jsonl", created_at=created_at), "jsonl")
    assert isinstance(result, ParseError) and "out of range" in str(result)


@pytest.mark.parametrize("ahead", [timedelta(minutes=11), timedelta(days=1), timedelta(days=365 * 70)])
def test_posts_from_the_future_are_refused(ahead: timedelta) -> None:
    # One post dated 2099 moved the spike detector's clock past every real post after it, which it then
    # skipped as late: spike detection was off for good, across restarts too (the warm start counts back
    # from the newest stored post).
    created_at = (datetime.now(UTC) + ahead).isoformat()
    result = outcome(_text_with("jsonl", created_at=created_at), "jsonl")
    assert isinstance(result, ParseError) and "in the future" in str(result)


def test_a_post_a_little_ahead_of_this_clock_is_accepted() -> None:
    created_at = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert isinstance(outcome(_text_with("jsonl", created_at=created_at), "jsonl"), Post)


def test_a_handle_longer_than_any_platforms_is_refused_sealed_or_not() -> None:
    # Sealed, a 704-character handle outgrew author_sealed after the edge had said "accepted", and the
    # service then dead-lettered the post as invalid.
    sealer = HandleSealer(Fernet.generate_key())
    for seal in (None, sealer.seal):
        result = outcome(_text_with("jsonl", author="a" * 704), "jsonl", seal=seal)
        assert isinstance(result, ParseError) and "longer than 320 characters" in str(result)
    sealed = parse_record(_text_with("jsonl", author="a" * 320), "jsonl", pseudo, sealer.seal)
    assert sealer.open(sealed.author_sealed or "") == "a" * 320


def test_the_remembered_clock_bound_lets_no_later_post_through(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser asks the clock again only for a post later than its last bound, or once the bound is a
    # second old: one just inside the allowed skew must not make the next one, just outside it, pass ...
    inside = (datetime.now(UTC) + timedelta(minutes=9)).isoformat()
    assert not isinstance(outcome(_text_with("jsonl", created_at=inside), "jsonl"), ParseError)
    outside = (datetime.now(UTC) + timedelta(minutes=10, seconds=30)).isoformat()
    result = outcome(_text_with("jsonl", created_at=outside), "jsonl")
    assert isinstance(result, ParseError) and "in the future" in str(result)
    # ... and a wall clock set back an hour counts once the bound is older than a second.
    monkeypatch.setattr(fields, "_bound", fields._bound)  # restored afterwards, as the clock is
    set_back = datetime.now(UTC) - timedelta(hours=1)
    monkeypatch.setattr(fields, "latest_plausible_time", lambda: set_back + MAX_CLOCK_SKEW)
    read_at = fields._bound[1]
    monkeypatch.setattr(fields, "monotonic", lambda: read_at + fields.BOUND_SECONDS + 0.1)
    result = outcome(_text_with("jsonl", created_at=datetime.now(UTC).isoformat()), "jsonl")
    assert isinstance(result, ParseError) and "in the future" in str(result)
