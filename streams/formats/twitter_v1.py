"""Twitter/X API v1.1 tweets: classic (``text``), REST extended (``full_text``) and streaming extended
(``extended_tweet.full_text``), as found in PHEME and most research exports."""

from __future__ import annotations

from typing import Any

from streams.formats.base import ParseError, Pseudonymiser
from streams.formats.fields import (
    as_dict,
    as_id,
    as_str,
    build_post,
    count,
    language,
    opt_dict,
    opt_id,
    opt_str,
    point,
    require,
    twitter_time,
    unescape,
)
from streams.post import Post

NAME = "twitter_v1"
PLATFORM = "twitter"


def status_url(tweet_id: str) -> str:
    # The usual link twitter.com/<screen name>/status/<id> would put the author's handle into every Post;
    # this form redirects to the same tweet and names nobody.
    return f"https://twitter.com/i/web/status/{tweet_id}"


def _tweet_id(tweet: dict[str, Any], fmt: str, where: str = "") -> str:
    # `id_str` is authoritative: `id` is exact in Python but not in every tool that wrote the export.
    value = tweet.get("id_str")
    if value is None:
        value = tweet.get("id")
    if value is None:
        raise ParseError(f"{fmt}: missing field '{where}id_str'")
    return as_id(value, f"{where}id_str", fmt)


def _handle(user: dict[str, Any], fmt: str) -> str:
    name = user.get("screen_name")
    if name is not None:
        handle = as_str(name, "user.screen_name", fmt)
        if handle.strip():
            return handle
    # Exports made with trim_user carry only the numeric id; it is still a stable handle for this person.
    if user.get("id_str") is not None or user.get("id") is not None:
        return _tweet_id(user, fmt, "user.")
    raise ParseError(f"{fmt}: missing field 'user.screen_name'")


def _text(tweet: dict[str, Any], fmt: str) -> str:
    extended = opt_dict(tweet.get("extended_tweet"), "extended_tweet", fmt)
    if extended is not None and extended.get("full_text") is not None:
        return as_str(extended["full_text"], "extended_tweet.full_text", fmt)
    if tweet.get("full_text") is not None:
        return as_str(tweet["full_text"], "full_text", fmt)
    return as_str(require(tweet, "text", fmt), "text", fmt)


def parse(tweet: dict[str, Any], pseudonymise: Pseudonymiser) -> Post:
    fmt = NAME
    tweet_id = _tweet_id(tweet, fmt)
    user = as_dict(require(tweet, "user", fmt), "user", fmt)

    retweeted = opt_dict(tweet.get("retweeted_status"), "retweeted_status", fmt)
    repost_of = _tweet_id(retweeted, fmt, "retweeted_status.") if retweeted is not None else None

    quote_of = opt_id(tweet.get("quoted_status_id_str"), "quoted_status_id_str", fmt)
    quoted = opt_dict(tweet.get("quoted_status"), "quoted_status", fmt)
    if quote_of is None and quoted is not None:
        quote_of = _tweet_id(quoted, fmt, "quoted_status.")

    reply_to = opt_id(tweet.get("in_reply_to_status_id_str"), "in_reply_to_status_id_str", fmt)
    if reply_to is None:
        reply_to = opt_id(tweet.get("in_reply_to_status_id"), "in_reply_to_status_id", fmt)

    # `coordinates` is GeoJSON [lon, lat]; the deprecated `geo` holds the same point as [lat, lon].
    coordinates = point(tweet.get("coordinates"), "coordinates", fmt, lon_first=True)
    if coordinates is None:
        coordinates = point(tweet.get("geo"), "geo", fmt, lon_first=False)
    place = opt_dict(tweet.get("place"), "place", fmt)

    if retweeted is None:
        likes = count(tweet.get("favorite_count"), "favorite_count", fmt)
        reposts = count(tweet.get("retweet_count"), "retweet_count", fmt)
        replies = count(tweet.get("reply_count"), "reply_count", fmt)
        quotes = count(tweet.get("quote_count"), "quote_count", fmt)
    else:
        # A retweet's counts are the original tweet's; a retweet itself cannot be liked or retweeted.
        likes = reposts = replies = quotes = 0

    return build_post(
        fmt,
        platform=PLATFORM,
        id=tweet_id,
        author=pseudonymise(PLATFORM, _handle(user, fmt)),
        created_at=twitter_time(require(tweet, "created_at", fmt), "created_at", fmt),
        text=unescape(_text(tweet, fmt)),
        lang=language(tweet.get("lang"), "lang", fmt),
        coordinates=coordinates,
        place=opt_str(place.get("full_name"), "place.full_name", fmt) if place is not None else None,
        reply_to=reply_to,
        repost_of=repost_of,
        quote_of=quote_of,
        url=status_url(tweet_id),
        likes=likes,
        reposts=reposts,
        replies=replies,
        quotes=quotes,
    )
