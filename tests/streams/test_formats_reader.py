"""Reading files into records: JSON Lines, arrays, v2 documents, gzip, broken input, CSV and sniffing."""

from __future__ import annotations

import functools
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streams.deadletter import DeadLetter
from streams.formats import CsvMapping, ParseError, iter_posts, parse_record, read_records
from streams.formats.sniff import sniff_file, sniff_record
from streams.post import Post, pseudonymise

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"test-key-not-secret"
pseudo = functools.partial(pseudonymise, key=KEY)


def fixture_lines(name: str) -> list[str]:
    return [line for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def posts_and_letters(items: list[Post | DeadLetter]) -> tuple[list[Post], list[DeadLetter]]:
    return [i for i in items if isinstance(i, Post)], [i for i in items if isinstance(i, DeadLetter)]


# -- JSON arrays -----------------------------------------------------------------------------------------


def test_array_yields_each_element_with_its_index_and_exact_text() -> None:
    path = FIXTURES / "twitter_v1_pheme.json"
    records = list(read_records(path))
    elements = json.loads(path.read_text(encoding="utf-8"))
    assert [r.source for r in records] == [f"{path}#{i}" for i in range(3)]
    assert [r.fmt for r in records] == ["twitter_v1"] * 3
    assert [json.loads(r.text) for r in records] == elements


def test_broken_array_keeps_the_elements_before_the_break(tmp_path: Path) -> None:
    text = (FIXTURES / "twitter_v1_pheme.json").read_text(encoding="utf-8")
    third = text.index('{"contributors"', text.index("nachtuil") - 2000)
    path = tmp_path / "cut.json"
    path.write_text(text[: third + 300], encoding="utf-8")  # cut inside the third element

    items = list(iter_posts([path], "auto", pseudo))
    posts, letters = posts_and_letters(items)
    assert [p.id for p in posts] == ["1234567890123456789", "1234567890123456790"]
    assert len(letters) == 1
    assert letters[0].source == f"{path}#2"
    assert "not valid JSON" in letters[0].reason
    assert letters[0].raw.startswith('{"contributors"')


def test_array_with_garbage_between_elements_or_after_the_end(tmp_path: Path) -> None:
    elements = [json.dumps(e) for e in json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())]
    broken = tmp_path / "broken.json"
    broken.write_text(f"[{elements[0]} oops {elements[1]}]")
    assert [r.source.rsplit("#")[1] for r in read_records(broken)] == ["0", "1"]
    _, letters = posts_and_letters(list(iter_posts(broken, "auto", pseudo)))
    assert letters[0].raw.startswith("oops")

    trailing = tmp_path / "trailing.json"
    trailing.write_text(f"[{elements[0]}]\n]junk")
    posts, letters = posts_and_letters(list(iter_posts(trailing, "auto", pseudo)))
    assert len(posts) == 1 and len(letters) == 1

    unclosed = tmp_path / "unclosed.json"
    unclosed.write_text(f"[{elements[0]},")
    posts, letters = posts_and_letters(list(iter_posts(unclosed, "auto", pseudo)))
    assert len(posts) == 1 and len(letters) == 1


def test_a_broken_element_is_one_dead_letter_and_the_elements_after_it_are_read(tmp_path: Path) -> None:
    # A bad escape in one element used to end the reading: the rest of the file became one dead letter
    # ("larger than 1,000,000 bytes") and every post after it was lost.
    template = json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())[0]
    elements = [json.dumps({**template, "id_str": str(n), "id": n}) for n in range(5)]
    elements[1] = elements[1].replace('"text": "', '"text": "bad \\x escape, a ] and a } in it ', 1)
    elements[3] = "tru"  # a broken bare value
    path = tmp_path / "one-bad.json"
    path.write_text("[" + ",\n".join(elements) + "]")
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo)))
    assert [p.id for p in posts] == ["0", "2", "4"]
    assert [letter.source for letter in letters] == [f"{path}#1", f"{path}#3"]
    assert all("not valid JSON" in letter.reason for letter in letters)
    assert letters[0].raw == elements[1] and letters[1].raw == "tru"


def test_array_element_nested_beyond_the_decoder_fails_without_crashing(tmp_path: Path) -> None:
    element = json.dumps(json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())[0])
    path = tmp_path / "deep.json"
    path.write_text(f"[{element}, " + "[" * 100_000 + "]" * 100_000 + "]")
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo)))
    assert len(posts) == 1 and len(letters) == 1
    assert letters[0].source == f"{path}#1"


def test_array_larger_than_one_read_chunk(tmp_path: Path) -> None:
    template = json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())[0]
    tweets = [{**template, "id_str": str(n), "id": n} for n in range(700)]  # about 3 MB
    path = tmp_path / "big.json"
    path.write_text(json.dumps(tweets, indent=1))
    assert [parse_record(r, "auto", pseudo).id for r in read_records(path)] == [str(n) for n in range(700)]


# -- JSON Lines ------------------------------------------------------------------------------------------


def test_jsonl_with_three_broken_lines_yields_all_good_records_and_three_failures(tmp_path: Path) -> None:
    good = fixture_lines("twitter_v1_stream.jsonl")
    path = tmp_path / "mixed.jsonl"
    with path.open("wb") as out:
        out.write((good[0] + "\n").encode())
        out.write(good[1][:200].encode() + b"\n")  # line 2: truncated
        out.write(b"\n")  # line 3: blank, skipped
        out.write((good[1] + "\n").encode())
        out.write(b"this is not json\n")  # line 5
        out.write((good[2] + "\n").encode())
        latin1 = good[3].replace("waar kunnen", "w\u00e4\u00e4r kunnen")
        bad_utf8 = latin1.encode().replace("\u00e4".encode(), b"\xe4")
        out.write(bad_utf8 + b"\n")  # line 7: Latin-1 bytes in a UTF-8 file
        out.write(good[3].encode())  # last line without a newline

    records = list(read_records(path))
    assert len(records) == 7
    posts, letters = posts_and_letters(list(iter_posts([path], "auto", pseudo)))
    assert len(posts) == 4
    assert [letter.source for letter in letters] == [f"{path}:2", f"{path}:5", f"{path}:7"]
    assert "not valid JSON" in letters[0].reason
    assert "not valid JSON" in letters[1].reason
    assert letters[2].reason.startswith("twitter_v1: not valid UTF-8 (byte 0xe4")
    # The dead letter keeps the exact bytes: size and hash are of what was in the file.
    assert letters[2].raw_bytes == len(bad_utf8)
    assert "w\ufffd\ufffdr kunnen" in letters[2].raw


def test_jsonl_with_mixed_formats_is_sniffed_per_record(tmp_path: Path) -> None:
    mastodon = json.dumps(json.loads((FIXTURES / "mastodon_statuses.json").read_text())[0])
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join([fixture_lines("twitter_v1_stream.jsonl")[0], mastodon, fixture_lines("native.jsonl")[0]])
    )
    assert [r.fmt for r in read_records(path)] == ["twitter_v1", "mastodon", "jsonl"]
    assert [p.platform for p in iter_posts(path, "auto", pseudo)] == ["twitter", "mastodon", "signaal-app"]


def test_jsonl_record_over_the_size_limit_fails_and_reading_goes_on(tmp_path: Path) -> None:
    line = fixture_lines("native.jsonl")[0]
    huge = json.dumps({"platform": "x", "text": "y" * 1_500_000})
    path = tmp_path / "huge.jsonl"
    path.write_text(f"{huge}\n{line}\n")
    items = list(iter_posts(path, "jsonl", pseudo))
    assert isinstance(items[0], DeadLetter) and "larger than 1,000,000 bytes" in items[0].reason
    assert isinstance(items[1], Post) and items[1].id == "m-0001"


def test_jsonl_line_beyond_what_the_reader_decodes_is_cut_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "enormous.jsonl"
    enormous = '{"text": "' + "z" * (16 * 1024 * 1024 + 10) + '"}'
    path.write_text(f"{enormous}\n{fixture_lines('native.jsonl')[1]}\n")
    records = list(read_records(path, "jsonl"))
    assert [r.source for r in records] == [f"{path}:1", f"{path}:2"]
    items = list(iter_posts(path, "auto", pseudo))
    assert isinstance(items[0], DeadLetter) and "larger than 1,000,000 bytes" in items[0].reason
    assert isinstance(items[1], Post) and items[1].id == "m-0002"


def test_v2_page_larger_than_one_record_is_still_split(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "twitter_v2_response.json").read_text())
    template = page["data"][0]
    page["data"] = [{**template, "id": str(n), "note_tweet": {"text": "lang " * 2400}} for n in range(100)]
    path = tmp_path / "big-page.jsonl"
    path.write_text(json.dumps(page) + "\n")
    assert path.stat().st_size > 1_000_000
    posts = list(iter_posts(path, "auto", pseudo))
    assert [p.id for p in posts if isinstance(p, Post)] == [str(n) for n in range(100)]


def test_array_element_over_the_record_limit_fails_alone(tmp_path: Path) -> None:
    elements = [json.dumps(e) for e in json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())]
    path = tmp_path / "oversized.json"
    path.write_text(f'[{elements[0]}, {{"text": "{"x" * 2_000_000}"}}, {elements[1]}]')
    items = list(iter_posts(path, "auto", pseudo))
    assert [type(item).__name__ for item in items] == ["Post", "DeadLetter", "Post"]
    assert "larger than 1,000,000 bytes" in items[1].reason  # type: ignore[union-attr]


def test_jsonl_of_v2_response_pages_splits_every_page(tmp_path: Path) -> None:
    page = json.dumps(json.loads((FIXTURES / "twitter_v2_response.json").read_text()))
    path = tmp_path / "twarc.jsonl"
    path.write_text(f"{page}\n{page}\n")
    records = list(read_records(path, "twitter_v2"))
    sources = [r.source.removeprefix(str(path)) for r in records]
    assert sources == [":1#0", ":1#1", ":1#2", ":2#0", ":2#1", ":2#2"]
    authors = [parse_record(r.text, "twitter_v2", pseudo).author for r in records[:2]]
    assert authors == [pseudo("twitter", "VR_Voorbeeld"), pseudo("twitter", "zwolse_jan")]


def test_explicit_format_is_used_as_given(tmp_path: Path) -> None:
    path = tmp_path / "native.jsonl"
    path.write_text("\n".join(fixture_lines("native.jsonl")))
    assert {r.fmt for r in read_records(path, "twitter_v1")} == {"twitter_v1"}
    _, letters = posts_and_letters(list(iter_posts(path, "twitter_v1", pseudo)))
    assert len(letters) == 3 and letters[0].reason.startswith("twitter_v1: missing field")


# -- documents and compression ---------------------------------------------------------------------------


def test_pretty_printed_single_tweet_is_one_record(tmp_path: Path) -> None:
    tweet = json.loads((FIXTURES / "twitter_v1_pheme.json").read_text())[1]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(tweet, indent=2))
    (record,) = read_records(path)
    assert record.source == f"{path}#0"
    assert parse_record(record, "auto", pseudo).id == "1234567890123456790"


@pytest.mark.parametrize(
    "name",
    ["twitter_v1_pheme.json", "twitter_v1_stream.jsonl", "twitter_v2_response.json", "crisislex_sample.csv"],
)
def test_gzip_files_read_like_plain_ones(tmp_path: Path, name: str) -> None:
    plain = list(iter_posts(FIXTURES / name, "auto", pseudo))
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    assert list(iter_posts(packed, "auto", pseudo)) == plain
    assert plain and all(isinstance(item, Post) for item in plain)


def test_truncated_gzip_keeps_what_was_readable_and_reports_the_break(tmp_path: Path) -> None:
    lines = [json.dumps({**json.loads(fixture_lines("native.jsonl")[0]), "id": f"m{n}"}) for n in range(5000)]
    packed = gzip.compress("\n".join(lines).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo)))
    assert 0 < len(posts) < 5000
    assert [p.id for p in posts] == [f"m{n}" for n in range(len(posts))]
    assert "compressed data is broken or cut short" in letters[-1].reason
    assert letters[-1].source == str(path)


def test_truncated_gzip_csv_is_reported_not_crashed_on(tmp_path: Path) -> None:
    rows = "".join(f"{n},a,2024-07-15T12:00:00Z,bericht {n}\n" for n in range(20_000))
    packed = gzip.compress(("id,author,created_at,text\n" + rows).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo)))
    assert posts and [p.id for p in posts] == [str(n) for n in range(len(posts))]
    assert len(letters) == 1 and "compressed data is broken or cut short" in letters[0].reason


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    assert list(read_records(path)) == []


# -- CSV -------------------------------------------------------------------------------------------------


def test_crisislex_style_csv_reads_with_the_default_mapping() -> None:
    path = FIXTURES / "crisislex_sample.csv"
    records = list(read_records(path))
    assert [r.source for r in records] == [f"{path}:2", f"{path}:3", f"{path}:5"]  # row 2 spans two lines
    posts = [parse_record(r, "auto", pseudo) for r in records]
    assert [p.id for p in posts] == ["1812868061234567001", "1812868061234567005", "1812868061234567006"]
    assert posts[0].created_at == datetime(2024, 7, 15, 14, 2, 11, 123000, tzinfo=UTC)
    assert posts[0].text == "Brandweer: houd ramen & deuren gesloten, rook trekt naar het centrum"
    assert posts[1].text == "Wie gaat er vanavond mee naar de film?\nIk heb nog kaartjes"
    assert posts[2].text == 'Zie je die rook boven "de Weezenlanden"?'
    assert {p.platform for p in posts} == {"csv"}
    # No author column: every post is its own (unknown) author rather than one account posting everything.
    assert len({p.author for p in posts}) == 3


def test_csv_with_a_mapping_local_times_and_coordinates() -> None:
    mapping = CsvMapping(
        platform="meldpunt",
        id="bericht_id",
        author="gebruiker",
        created_at="tijd",
        text="bericht",
        lat="breedte",
        lon="lengte",
        time_format="%d-%m-%Y %H:%M",
    )
    items = list(iter_posts(FIXTURES / "local_times.csv", "csv", pseudo, csv_mapping=mapping))
    summer, autumn, broken = items
    assert isinstance(summer, Post) and isinstance(autumn, Post)
    assert summer.created_at == datetime(2024, 7, 15, 14, 40, tzinfo=UTC)  # 16:40 CEST
    assert (summer.coordinates.lat, summer.coordinates.lon) == (52.5, 6.09)  # type: ignore[union-attr]
    assert summer.author == pseudonymise("meldpunt", "wijkagent_zuid", KEY)
    assert "wijkagent" not in summer.model_dump_json()
    # 02:30 happens twice the night clocks go back; the first (summer time) is taken.
    assert autumn.created_at == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert autumn.coordinates is None
    assert isinstance(broken, DeadLetter)
    assert broken.reason.startswith("csv: field 'created_at' is not an ISO-8601 time: '32-07-2024 10:00'")
    assert "time_format" in broken.reason


def test_csv_with_unix_times_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffid;author;ts;text;lang\n1;a;1721052131;eerste;nl\n2;b;1721052131.5;tweede;und\n3;c;morgen;derde;\n".encode()
    )
    mapping = CsvMapping(platform="twitter", created_at="ts", time_format="unix")
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo, csv_mapping=mapping)))
    assert [p.created_at for p in posts] == [
        datetime(2024, 7, 15, 14, 2, 11, tzinfo=UTC),
        datetime(2024, 7, 15, 14, 2, 11, 500000, tzinfo=UTC),
    ]
    assert [p.lang for p in posts] == ["nl", None]
    assert [p.key for p in posts] == ["twitter:1", "twitter:2"]
    assert len(letters) == 1 and letters[0].source == f"{path}:4"


def test_tsv_without_times_takes_them_from_tweet_ids(tmp_path: Path) -> None:
    path = tmp_path / "checkthat.tsv"
    path.write_text(
        "topic\ttweet_id\ttweet_url\ttweet_text\tclass_label\n"
        "COVID-19\t1240603314980392966\thttp://twitter.com/user/status/1240603314980392966\tApplaus!\t0\n"
    )
    mapping = CsvMapping(platform="twitter", created_at="tweet_id", time_format="twitter_snowflake")
    (post,) = iter_posts(path, "auto", pseudo, csv_mapping=mapping)
    assert isinstance(post, Post)
    assert (post.key, post.text) == ("twitter:1240603314980392966", "Applaus!")
    assert post.created_at == datetime(2020, 3, 19, 11, 37, 34, 243000, tzinfo=UTC)


def test_a_csv_quote_that_never_closes_is_one_dead_letter_not_the_rest_of_the_file(tmp_path: Path) -> None:
    # The csv module takes every line after an unclosed quote into one cell, without an error: the rows
    # after it became the text of one post.
    path = tmp_path / "quote.csv"
    path.write_text(
        "id,author,created_at,text\n"
        "1,a,2024-07-15T14:00:00Z,eerste\n"
        '2,b,2024-07-15T14:01:00Z,"tweede\n'
        "3,c,2024-07-15T14:02:00Z,derde\n"
        '4,d,2024-07-15T14:03:00Z,"vierde, met ""quotes"" en\neen tweede regel"\n'
        "5,e,2024-07-15T14:04:00Z,vijfde\n"
    )
    posts, letters = posts_and_letters(list(iter_posts(path, "csv", pseudo)))
    assert [p.id for p in posts] == ["1", "3", "4", "5"]
    assert posts[2].text == 'vierde, met "quotes" en\neen tweede regel'  # a quoted cell may span lines
    [letter] = letters
    assert letter.source == f"{path}:3" and "never closed" in letter.reason
    assert letter.raw == '2,b,2024-07-15T14:01:00Z,"tweede'


def test_csv_row_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"id,author,created_at,text\n1,a,2024-07-15T12:00:00,caf\xe9\n2,b,2024-07-15T12:00:00,ok\n"
    )
    posts, letters = posts_and_letters(list(iter_posts(path, "auto", pseudo)))
    assert [p.id for p in posts] == ["2"]
    assert posts[0].created_at == datetime(2024, 7, 15, 10, 0, tzinfo=UTC)  # naive: Europe/Amsterdam
    assert letters[0].reason.startswith("csv: not valid UTF-8 (byte 0xe9")


def test_csv_without_a_text_column_is_a_file_level_error(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("id,when,body\n1,2024-01-01T00:00:00Z,x\n")
    with pytest.raises(ParseError, match=r"no column for 'created_at' \(looked for created_at, "):
        list(read_records(path))
    (letter,) = iter_posts(path, "auto", pseudo)
    assert isinstance(letter, DeadLetter) and "no column for 'created_at'" in letter.reason


def test_csv_mapping_rejects_unknown_zones_and_time_formats() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        CsvMapping(timezone="Europe/Amsterdamm")
    with pytest.raises(ValidationError, match="strptime pattern"):
        CsvMapping(time_format="dd-mm-yyyy")


# -- sniffing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("twitter_v1_pheme.json", "twitter_v1"),
        ("twitter_v1_stream.jsonl", "twitter_v1"),
        ("twitter_v2_response.json", "twitter_v2"),
        ("mastodon_statuses.json", "mastodon"),
        ("native.jsonl", "jsonl"),
        ("crisislex_sample.csv", "csv"),
        ("local_times.csv", "csv"),
    ],
)
def test_sniff_file(name: str, fmt: str) -> None:
    assert sniff_file(FIXTURES / name) == fmt


def test_sniff_file_skips_broken_first_records_and_refuses_unknown_ones(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    path.write_text("{broken\n" + fixture_lines("native.jsonl")[0] + "\n")
    assert sniff_file(path) == "jsonl"
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"thread_id": "1", "stance": "query"}\n')
    with pytest.raises(ParseError, match="cannot tell the format from its first records"):
        sniff_file(unknown)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(ParseError, match="holds no records"):
        sniff_file(empty)


def test_sniff_record_by_keys() -> None:
    assert sniff_record({"platform": "x", "author": "a"}) == "jsonl"
    assert sniff_record({"id_str": "1"}) == "twitter_v1"
    assert sniff_record({"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}) == "twitter_v2"
    assert sniff_record({"account": {}, "uri": "u"}) == "mastodon"
    with pytest.raises(ParseError, match="not a JSON object"):
        sniff_record([])  # type: ignore[arg-type]


# -- robustness: whatever a file holds, iter_posts yields Posts and DeadLetters and nothing else ----------

_FRAGMENTS = st.sampled_from(
    [
        "[", "]", "{", "}", ",", ":", '"', "\n", " ", "\\", "null", "1" * 5000, '"id_str"', '"platform"',
        '"data"', '"account"', '"text"', '"user"', '"\\ud800"', "\ufeff", "\u00e9", "\x00",
        *fixture_lines("native.jsonl"), *fixture_lines("twitter_v1_stream.jsonl")[:1],
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(_FRAGMENTS | st.binary(max_size=8).map(lambda b: b.decode("latin-1")), max_size=25),
    packed=st.booleans(),
    fmt=st.sampled_from(["auto", "jsonl", "twitter_v2", "csv"]),
)
def test_any_file_content_gives_posts_and_dead_letters_only(
    tmp_path: Path, parts: list[str], packed: bool, fmt: str
) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")
    path = tmp_path / "fuzz"
    path.write_bytes(gzip.compress(data)[: max(10, len(data) // 2)] if packed else data)
    for item in iter_posts(path, fmt, pseudo):
        assert isinstance(item, Post | DeadLetter)
