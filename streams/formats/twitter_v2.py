"""Twitter/X API v2 tweets: bare tweet objects, twarc2-flattened tweets (``author`` embedded) and responses
``{"data": tweet or [tweet], "includes": {"users": [...], "places": [...]}}``. The platform is "twitter", as
for v1.1: the same tweet fetched through either API is the same post."""

from __future__ import annotations

from typing import Any

from streams.formats.base import ParseError, Pseudonymiser
from streams.formats.fields import (
    as_dict,
    as_id,
    as_str,
    build_post,
    count,
    iso_time,
    language,
    opt_dict,
    opt_id,
    opt_str,
    point,
    require,
    unescape,
)
from streams.formats.twitter_v1 import PLATFORM, status_url
from streams.post import Post

NAME = "twitter_v2"

# referenced_tweets[].type -> the Post field that links to it
_LINKS = {"retweeted": "repost_of", "quoted": "quote_of", "replied_to": "reply_to"}


def _find(includes: dict[str, Any], kind: str, wanted: str | None, fmt: str) -> dict[str, Any] | None:
    """The object with id ``wanted`` among ``includes[kind]``, if the response expanded it."""
    if wanted is None:
        return None
    candidates = includes.get(kind)
    if candidates is None:
        return None
    if not isinstance(candidates, list):
        raise ParseError(f"{fmt}: field 'includes.{kind}' should be an array")
    for candidate in candidates:
        if isinstance(candidate, dict) and str(candidate.get("id")) == wanted:
            return candidate
    return None


def _handle(tweet: dict[str, Any], includes: dict[str, Any], fmt: str) -> str:
    author_id = opt_id(tweet.get("author_id"), "author_id", fmt)
    embedded = tweet.get("author")  # twarc2's flattened output puts the user object here
    user = embedded if isinstance(embedded, dict) else _find(includes, "users", author_id, fmt)
    if user is not None and user.get("username") is not None:
        username = as_str(user["username"], "includes.users.username", fmt)
        if username.strip():
            return username
    if author_id is None:
        raise ParseError(f"{fmt}: missing field 'author_id' (and no user object with a username)")
    return author_id


def _unwrap(obj: dict[str, Any], fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if "data" not in obj:
        return obj, {}
    data = obj["data"]
    if isinstance(data, list):
        if len(data) != 1:
            raise ParseError(
                f"{fmt}: response holds {len(data)} tweets, expected one (read the file with read_records)"
            )
        data = data[0]
    includes = opt_dict(obj.get("includes"), "includes", fmt) or {}
    return as_dict(data, "data", fmt), includes


def parse(obj: dict[str, Any], pseudonymise: Pseudonymiser) -> Post:
    fmt = NAME
    tweet, includes = _unwrap(obj, fmt)
    tweet_id = as_id(require(tweet, "id", fmt), "id", fmt)

    links: dict[str, str] = {}
    referenced = tweet.get("referenced_tweets")
    if referenced is not None:
        if not isinstance(referenced, list):
            raise ParseError(f"{fmt}: field 'referenced_tweets' should be an array")
        for reference in referenced:
            reference = as_dict(reference, "referenced_tweets[]", fmt)
            field = _LINKS.get(as_str(require(reference, "type", fmt, "referenced_tweets[]."), "type", fmt))
            if field is not None:
                links[field] = as_id(require(reference, "id", fmt, "referenced_tweets[]."), "id", fmt)

    note = opt_dict(tweet.get("note_tweet"), "note_tweet", fmt)
    if note is not None and note.get("text") is not None:
        text = as_str(note["text"], "note_tweet.text", fmt)
    else:
        text = as_str(require(tweet, "text", fmt), "text", fmt)

    geo = opt_dict(tweet.get("geo"), "geo", fmt) or {}
    place = _find(includes, "places", opt_id(geo.get("place_id"), "geo.place_id", fmt), fmt)

    metrics = opt_dict(tweet.get("public_metrics"), "public_metrics", fmt) or {}
    if "repost_of" in links:
        # A retweet's metrics are the original tweet's; a retweet itself cannot be liked or retweeted.
        metrics = {}

    return build_post(
        fmt,
        platform=PLATFORM,
        id=tweet_id,
        author=pseudonymise(PLATFORM, _handle(tweet, includes, fmt)),
        created_at=iso_time(require(tweet, "created_at", fmt), "created_at", fmt),
        text=unescape(text),
        lang=language(tweet.get("lang"), "lang", fmt),
        coordinates=point(geo.get("coordinates"), "geo.coordinates", fmt, lon_first=True),
        place=opt_str(place.get("full_name"), "place.full_name", fmt) if place is not None else None,
        reply_to=links.get("reply_to"),
        repost_of=links.get("repost_of"),
        quote_of=links.get("quote_of"),
        url=status_url(tweet_id),
        likes=count(metrics.get("like_count"), "public_metrics.like_count", fmt),
        reposts=count(metrics.get("retweet_count"), "public_metrics.retweet_count", fmt),
        replies=count(metrics.get("reply_count"), "public_metrics.reply_count", fmt),
        quotes=count(metrics.get("quote_count"), "public_metrics.quote_count", fmt),
    )
