"""Adapters: field mapping, pseudonymisation, text handling and error messages, one format at a time."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.formats import FORMATS, ParseError, RawRecord, parse_record, read_records
from streams.formats.mastodon import post_id
from streams.post import Post, pseudonymise

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"test-key-not-secret"
pseudo = functools.partial(pseudonymise, key=KEY)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def lines(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_handle_hidden(post: Post, handle: str) -> None:
    assert handle.lower() not in post.model_dump_json().lower()


def test_formats_lists_concrete_formats_and_auto() -> None:
    assert FORMATS == ("jsonl", "twitter_v1", "twitter_v2", "mastodon", "csv", "auto")


# -- Twitter v1.1 ----------------------------------------------------------------------------------------


def test_v1_pheme_shaped_tweet_maps_every_field() -> None:
    tweet = load("twitter_v1_pheme.json")[0]
    post = parse_record(json.dumps(tweet), "twitter_v1", pseudo)
    assert post.platform == "twitter"
    assert post.id == "1234567890123456789"
    assert post.created_at == datetime(2018, 1, 6, 23, 30, 5, tzinfo=UTC)
    assert post.text.startswith("Dijk bij de Waalkade houdt het niet & water loopt")
    # GeoJSON order is [lon, lat]; the Post is lat/lon.
    assert (post.coordinates.lat, post.coordinates.lon) == (51.8481, 5.8703)  # type: ignore[union-attr]
    assert post.place == "Nijmegen, Nederland"
    assert post.lang == "nl"
    assert (post.likes, post.reposts, post.replies, post.quotes) == (42, 17, 0, 0)
    assert post.reply_to is post.repost_of is post.quote_of is None
    assert post.url == "https://twitter.com/i/web/status/1234567890123456789"
    assert post.author == pseudonymise("twitter", "WaalWatcher_NL", KEY)
    assert_handle_hidden(post, "WaalWatcher_NL")


def test_v1_reply_unescapes_entities_and_links_parent() -> None:
    post = parse_record(load("twitter_v1_pheme.json")[1], "twitter_v1", pseudo)
    assert post.reply_to == "1234567890123456789"
    assert post.text == "@WaalWatcher_NL Klopt dit? Bij ons in Lent is alles nog droog <3"
    assert_handle_hidden(post, "lentenaar88")


def test_v1_und_language_is_no_language_and_emoji_survive() -> None:
    post = parse_record(load("twitter_v1_pheme.json")[2], "twitter_v1", pseudo)
    assert post.lang is None
    assert post.text == "\U0001f631\U0001f631"


def test_v1_streaming_extended_tweet_uses_full_text() -> None:
    post = parse_record(lines("twitter_v1_stream.jsonl")[0], "twitter_v1", pseudo)
    assert post.text.endswith(
        "advies: ventilatie uit. Volg NL-Alert <info> voor updates. https://t.co/AbCdEf1234"
    )
    assert "&amp;" not in post.text and "ramen & deuren" in post.text
    assert (post.likes, post.reposts, post.replies, post.quotes) == (310, 230, 12, 4)


def test_v1_retweet_links_original_and_does_not_claim_its_counts() -> None:
    post = parse_record(lines("twitter_v1_stream.jsonl")[1], "twitter_v1", pseudo)
    assert post.repost_of == "1812868061234567001"
    assert (post.likes, post.reposts, post.replies, post.quotes) == (0, 0, 0, 0)
    assert post.author == pseudonymise("twitter", "zwolse_jan", KEY)


def test_v1_quote_with_full_text_geo_and_offset_time() -> None:
    post = parse_record(lines("twitter_v1_stream.jsonl")[2], "twitter_v1", pseudo)
    assert post.quote_of == "1812868061234567001"
    assert post.text == "Dit klopt niet, het is een oefening! <b>niet</b> delen"
    # The deprecated `geo` field is [lat, lon], the other way round from `coordinates`.
    assert (post.coordinates.lat, post.coordinates.lon) == (52.5125, 6.0944)  # type: ignore[union-attr]
    assert post.place == "Zwolle, Nederland"
    assert post.created_at == datetime(2024, 7, 15, 12, 7, 2, tzinfo=UTC)


def test_v1_trimmed_user_falls_back_to_user_id_and_media_only_lang_is_dropped() -> None:
    post = parse_record(lines("twitter_v1_stream.jsonl")[3], "twitter_v1", pseudo)
    assert post.author == pseudonymise("twitter", "123123123", KEY)
    assert post.reply_to == "1812868061234567001"
    assert post.lang is None  # "qme": media only, not a language


def test_v1_coordinates_win_over_geo() -> None:
    tweet = load("twitter_v1_pheme.json")[0]
    tweet["geo"] = {"type": "Point", "coordinates": [1.0, 2.0]}
    post = parse_record(tweet, "twitter_v1", pseudo)
    assert (post.coordinates.lat, post.coordinates.lon) == (51.8481, 5.8703)  # type: ignore[union-attr]


# -- Twitter v2 ------------------------------------------------------------------------------------------


def v2_records() -> list[RawRecord]:
    return list(read_records(FIXTURES / "twitter_v2_response.json", "auto"))


def test_v2_response_tweets_parse_standalone_with_author_and_place_from_includes() -> None:
    records = v2_records()
    assert [record.fmt for record in records] == ["twitter_v2"] * 3
    first = parse_record(records[0].text, "twitter_v2", pseudo)  # the text alone carries what it needs
    assert first.author == pseudonymise("twitter", "VR_Voorbeeld", KEY)
    assert_handle_hidden(first, "VR_Voorbeeld")
    assert first.place == "Zwolle, Nederland"
    assert (first.coordinates.lat, first.coordinates.lon) == (52.5068, 6.1006)  # type: ignore[union-attr]
    assert first.text == (
        "Gemeente: evacuatie van de wijk Assendorp is begonnen."
        " Verzamelen bij sporthal & volg aanwijzingen op."
    )
    assert (first.likes, first.reposts, first.replies, first.quotes) == (200, 120, 8, 3)
    assert first.created_at == datetime(2024, 7, 15, 14, 30, tzinfo=UTC)
    assert first.url == "https://twitter.com/i/web/status/1812870000000000001"


def test_v2_retweet_reply_quote_note_tweet_and_author_id_fallback() -> None:
    retweet, reply = (parse_record(record, "auto", pseudo) for record in v2_records()[1:])
    assert retweet.repost_of == "1812870000000000001"
    assert retweet.likes == retweet.reposts == 0
    assert reply.reply_to == "1812870000000000001"
    assert reply.quote_of == "1812860000000000000"
    assert reply.text.endswith("alleen van de veiligheidsregio.")  # note_tweet, not the cut-off text
    assert reply.lang is None
    assert reply.author == pseudonymise("twitter", "77777777", KEY)
    assert reply.created_at == datetime(2024, 7, 15, 14, 32, 45, tzinfo=UTC)


def test_same_tweet_from_v1_and_v2_is_the_same_post() -> None:
    v1 = parse_record(lines("twitter_v1_stream.jsonl")[0], "twitter_v1", pseudo)
    v2 = parse_record(
        {
            "data": {
                "id": "1812868061234567001",
                "text": "Brandweer meldt",
                "author_id": "44556677",
                "created_at": "2024-07-15T14:02:11.000Z",
            },
            "includes": {"users": [{"id": "44556677", "username": "VR_Voorbeeld"}]},
        },
        "twitter_v2",
        pseudo,
    )
    assert (v1.key, v1.author, v1.created_at, v1.url) == (v2.key, v2.author, v2.created_at, v2.url)


def test_v2_flattened_tweet_with_embedded_author() -> None:
    tweet = {
        "id": "5",
        "text": "x",
        "author_id": "9",
        "created_at": "2024-01-01T00:00:00Z",
        "author": {"id": "9", "username": "someone"},
    }
    assert parse_record(tweet, "auto", pseudo).author == pseudonymise("twitter", "someone", KEY)


def test_v2_response_with_several_tweets_is_refused_by_parse_record() -> None:
    with pytest.raises(ParseError, match=r"twitter_v2: response holds 3 tweets"):
        parse_record(load("twitter_v2_response.json"), "twitter_v2", pseudo)


# -- Mastodon --------------------------------------------------------------------------------------------


def statuses() -> list[dict[str, Any]]:
    return load("mastodon_statuses.json")


def test_mastodon_status_maps_fields_and_turns_html_into_text() -> None:
    status = statuses()[0]
    post = parse_record(status, "mastodon", pseudo)
    assert post.platform == "mastodon"
    assert post.id == post_id(status["uri"])
    assert post.author == pseudonymise("mastodon", "rookmelder@social.example", KEY)
    assert post.text == (
        "brand Zwolle\n\n"
        "Enorme rookwolk boven Zwolle-Zuid & het ruikt naar plastic.\n\n"
        "Ramen dicht!\n"
        "Meer info: https://www.veiligheidsregio.example/actueel/brand-industrieweg #brand"
    )
    assert post.created_at == datetime(2024, 7, 15, 14, 40, 12, 345000, tzinfo=UTC)
    assert (post.likes, post.reposts, post.replies) == (9, 5, 2)
    assert post.lang == "nl"
    # Every Mastodon link to the status names its author, so none is kept.
    assert post.url is None
    assert_handle_hidden(post, "rookmelder")


def test_mastodon_ids_are_global_so_one_status_seen_from_two_servers_is_one_post() -> None:
    local = statuses()[0]
    remote = {
        **local,
        "id": "555",  # the other server's own number for the same status
        "account": {**local["account"], "id": "42", "acct": "rookmelder@social.example", "url": None},
    }
    one, other = parse_record(local, "mastodon", pseudo), parse_record(remote, "mastodon", pseudo)
    assert one.key == other.key
    assert one.author == other.author


def test_mastodon_self_reply_in_a_thread_links_to_the_parent() -> None:
    first, second = (parse_record(status, "mastodon", pseudo) for status in statuses()[:2])
    assert second.reply_to == first.id


def test_mastodon_reply_from_another_server_cannot_be_linked() -> None:
    post = parse_record(statuses()[2], "mastodon", pseudo)
    assert post.reply_to is None  # in_reply_to_id is a number on the answering server, not global
    assert post.author == pseudonymise("mastodon", "tourist@other.example", KEY)
    assert post.text == "@rookmelder is the train station closed?"


def test_mastodon_reply_to_local_mentioned_account_is_linked() -> None:
    status = {
        **statuses()[1],
        "in_reply_to_account_id": "109000000000000009",
        "mentions": [{"id": "109000000000000009", "username": "buurman", "acct": "buurman"}],
    }
    post = parse_record(status, "mastodon", pseudo)
    assert post.reply_to == post_id("https://social.example/users/buurman/statuses/112793046474412345")


def test_mastodon_reblog_carries_the_reblogged_text_and_links_it() -> None:
    original = parse_record(statuses()[0], "mastodon", pseudo)
    reblog = parse_record(statuses()[3], "mastodon", pseudo)
    assert reblog.repost_of == original.id
    assert reblog.id != original.id
    assert reblog.text == "brand Zwolle\n\nEnorme rookwolk boven Zwolle-Zuid & het ruikt naar plastic."
    assert reblog.lang == "nl"
    assert reblog.author == pseudonymise("mastodon", "buurvrouw@social.example", KEY)


def test_mastodon_link_without_the_handle_is_kept_and_quotes_are_linked() -> None:
    status = {
        "id": "AbC",
        "uri": "https://pleroma.example/objects/6f1c0d2e",
        "url": "https://pleroma.example/notice/AbC",
        "created_at": "2024-07-15T15:00:00Z",
        "content": "zie <script>alert(1)</script>dit",
        "account": {"username": "kees", "acct": "kees@pleroma.example"},
        "quote": {"uri": "https://social.example/users/rookmelder/statuses/112793046474412345"},
    }
    post = parse_record(status, "mastodon", pseudo)
    assert post.url == "https://pleroma.example/notice/AbC"
    assert post.text == "zie dit"
    assert post.quote_of == post_id("https://social.example/users/rookmelder/statuses/112793046474412345")


def test_mastodon_unreadable_html_is_a_parse_error() -> None:
    status = {**statuses()[1], "content": "<p>hallo <![ x</p>"}
    with pytest.raises(ParseError, match=r"mastodon: field 'content' is HTML that cannot be read"):
        parse_record(status, "mastodon", pseudo)


# -- native JSON Lines -----------------------------------------------------------------------------------


def test_native_record_is_pseudonymised_and_converted_to_utc() -> None:
    first, second, third = (parse_record(obj, "jsonl", pseudo) for obj in lines("native.jsonl"))
    assert first.platform == "signaal-app"
    assert first.author == pseudonymise("signaal-app", "melder.een", KEY)
    assert_handle_hidden(first, "Melder.Een")
    assert first.created_at == datetime(2024, 7, 15, 14, 40, tzinfo=UTC)
    assert (first.coordinates.lat, first.coordinates.lon) == (52.5553, 5.9111)  # type: ignore[union-attr]
    # Native text is plain text already: nothing is unescaped.
    assert second.text == "Ook hier in IJsselmuiden <3 & geen NL-Alert"
    assert (second.reply_to, second.likes) == ("m-0001", 3)
    assert (third.id, third.text, third.lang) == ("3", "", None)
    assert third.author == first.author


# -- errors ----------------------------------------------------------------------------------------------


def v1_tweet(**changes: Any) -> dict[str, Any]:
    tweet = load("twitter_v1_pheme.json")[0]
    for key, value in changes.items():
        if value is None:
            del tweet[key]
        else:
            tweet[key] = value
    return tweet


def native(**changes: Any) -> dict[str, Any]:
    return {**lines("native.jsonl")[0], **changes}


@pytest.mark.parametrize(
    ("record", "fmt", "message"),
    [
        (v1_tweet(created_at=None), "twitter_v1", "twitter_v1: missing field 'created_at'"),
        (v1_tweet(user=None), "twitter_v1", "twitter_v1: missing field 'user'"),
        (v1_tweet(user={"name": "x"}), "twitter_v1", "twitter_v1: missing field 'user.screen_name'"),
        (
            v1_tweet(favorite_count="many"),
            "twitter_v1",
            "twitter_v1: field 'favorite_count' should be an integer, got string",
        ),
        (v1_tweet(retweet_count=-1), "twitter_v1", "twitter_v1: field 'retweet_count' is negative (-1)"),
        (v1_tweet(text=12), "twitter_v1", "twitter_v1: field 'text' should be a string, got number"),
        (
            v1_tweet(created_at="gisteren"),
            "twitter_v1",
            "twitter_v1: field 'created_at' is not a Twitter time",
        ),
        (
            v1_tweet(created_at="Wed Feb 30 13:08:45 +0000 2014"),
            "twitter_v1",
            "twitter_v1: field 'created_at' is not a Twitter time",
        ),
        (
            v1_tweet(coordinates={"type": "Point", "coordinates": [5.8]}),
            "twitter_v1",
            "twitter_v1: field 'coordinates.coordinates' should be a pair of numbers",
        ),
        (
            v1_tweet(coordinates={"type": "Point", "coordinates": [5.8, 95.0]}),
            "twitter_v1",
            "twitter_v1: coordinates.lat: 95.0 is out of range",
        ),
        (native(created_at="2024-07-15T16:40:00"), "jsonl", "jsonl: field 'created_at' has no time zone"),
        (native(created_at="15 juli"), "jsonl", "jsonl: field 'created_at' is not an ISO-8601 time"),
        (native(text="x" * 25_001), "jsonl", "jsonl: text: longer than 25000 characters"),
        (native(platform="Mijn App"), "jsonl", "jsonl: platform: 'Mijn App' does not match"),
        (native(author="  "), "jsonl", "jsonl: field 'author' is empty"),
        (native(coordinates={"lat": "noord", "lon": 5}), "jsonl", "jsonl: field 'coordinates.lat' should be"),
        ({"id": "1", "text": "x"}, "twitter_v2", "twitter_v2: missing field 'author_id'"),
        (
            {
                "id": "1",
                "text": "x",
                "author_id": "2",
                "created_at": "2024-01-01T00:00:00Z",
                "referenced_tweets": {},
            },
            "twitter_v2",
            "twitter_v2: field 'referenced_tweets' should be an array",
        ),
        ({"uri": "https://a.example/1", "content": ""}, "mastodon", "mastodon: missing field 'account'"),
        ({"account": {"acct": "a"}, "content": ""}, "mastodon", "mastodon: missing field 'uri'"),
    ],
)
def test_bad_records_fail_with_a_message_naming_the_field(
    record: dict[str, Any], fmt: str, message: str
) -> None:
    with pytest.raises(ParseError) as raised:
        parse_record(json.dumps(record), fmt, pseudo)
    assert str(raised.value).startswith(message)


def test_deep_nesting_is_refused_before_decoding() -> None:
    deep = '{"platform": "x", "extra": ' + "[" * 65 + "]" * 65 + "}"
    with pytest.raises(ParseError, match="nested deeper than 64 levels"):
        parse_record(deep, "jsonl", pseudo)
    # A depth that would exhaust the decoder's recursion is refused the same way, not crashed on.
    with pytest.raises(ParseError, match="nested deeper than 64 levels"):
        parse_record("[" * 200_000 + "]" * 200_000, "auto", pseudo)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    post = parse_record(native(text="[" * 70 + "{" * 70), "jsonl", pseudo)
    assert post.text.startswith("[[[")


def test_oversized_record_is_refused_before_decoding() -> None:
    huge = json.dumps(native(text="x" * 1_000_001))
    with pytest.raises(ParseError, match=r"jsonl: record is larger than 1,000,000 bytes"):
        parse_record(huge, "jsonl", pseudo)


def test_truncated_json_is_a_parse_error() -> None:
    text = json.dumps(native())
    with pytest.raises(ParseError, match=r"^jsonl: not valid JSON \(.* at character \d+\)"):
        parse_record(text[: len(text) // 2], "jsonl", pseudo)


def test_json_that_is_not_an_object_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected a JSON object, got array"):
        parse_record("[1, 2]", "twitter_v1", pseudo)


def test_bytes_that_are_not_utf8_are_named() -> None:
    raw = (
        json.dumps(native(text="caf\u00e9"), ensure_ascii=False).encode().replace("\u00e9".encode(), b"\xe9")
    )
    record = RawRecord("x.jsonl:1", raw.decode("utf-8", "surrogateescape"), "jsonl")
    with pytest.raises(ParseError, match=r"jsonl: not valid UTF-8 \(byte 0xe9 at character \d+\)"):
        parse_record(record, "auto", pseudo)


def test_lone_surrogates_from_json_escapes_are_replaced_not_crashed_on() -> None:
    text = json.dumps(native(text="a\ud800b", author="x\udfffy"))
    post = parse_record(text, "jsonl", pseudo)
    assert post.text == "a\ufffdb"
    post.model_dump_json().encode("utf-8")  # storable and sendable


def test_hostile_values_that_trip_the_standard_library_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_record('{"platform": "x", "id": ' + "9" * 5000 + "}", "jsonl", pseudo)
    with pytest.raises(ParseError, match="is not a Twitter time"):
        far_future = "Wed Aug 27 13:08:45 +0000 99999999999999999999"
        parse_record(v1_tweet(created_at=far_future), "twitter_v1", pseudo)
    status = {**statuses()[1], "uri": "https://[::1/users/rookmelder/statuses/112793050000000002"}
    assert parse_record(status, "mastodon", pseudo).reply_to is None


def test_unknown_record_shape_says_so() -> None:
    with pytest.raises(ParseError, match=r"cannot tell the format of a record with keys thread_id, user"):
        parse_record({"thread_id": "1", "user": "x"}, "auto", pseudo)


def test_unknown_format_name_is_a_caller_error_not_a_parse_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'twitter'") as raised:
        parse_record({}, "twitter", pseudo)
    assert not isinstance(raised.value, ParseError)
