"""Mastodon API statuses (also served by Pleroma, Akkoma, GoToSocial and others through the same API).

Identity. A status's ``id`` is local to the server that answered, so the same post fetched from two servers
has two ids; its ActivityPub ``uri`` is global. The uri cannot be the Post id as it is, though: Mastodon's
form ``https://host/users/<name>/statuses/<n>`` contains the author's handle, which must appear nowhere in a
Post. The Post id is therefore the first 128 bits of SHA-256 over the uri (``post_id``): global, stable
across servers, and applied the same way to ``repost_of`` and ``quote_of``. The host is left out on purpose:
on one-person servers the host name is the person.

Replies. ``in_reply_to_id`` is local to the answering server and the parent's uri is not in the status.
It can be made global only when the status was served by its own Mastodon server (its uri is exactly
``<origin>/users/<username>/statuses/<id>``) and the parent's author is known on that server (a self-reply,
as in threads, or a local account in ``mentions``): then the parent's uri is rebuilt in the same layout.
Otherwise ``reply_to`` stays empty rather than holding an id that would collide across servers.

Text. ``content`` is HTML: <p> and <br> become blank lines and line breaks (how Mastodon renders what the
author typed), entities are unescaped and tags dropped. A content warning (``spoiler_text``) is part of the
post and comes first. A reblog has no content of its own and carries the reblogged text.

Links. Every Mastodon link to a status names its author, so ``url`` is kept only when it does not contain
the author's username (e.g. Misskey or Pleroma object links) and is otherwise left empty.

Author. ``account.acct`` is relative to the answering server (``alice`` locally, ``alice@host``
elsewhere); local accounts get the host of their profile url so one person has one pseudonym everywhere.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

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
    require,
)
from streams.post import Post

NAME = "mastodon"
PLATFORM = "mastodon"


def post_id(uri: str) -> str:
    """The Post id of the status with ActivityPub id ``uri`` (see the module notes)."""
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()[:32]


class _PlainText(HTMLParser):
    # Mastodon renders a blank line as a new <p> and a single line break as <br>; undoing exactly that gives
    # back the text as the author typed it. Link spans marked "invisible" hold the hidden part of long URLs,
    # so they are kept: together the spans spell the full URL.
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("script", "style"):
            self._hidden += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")
        elif tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(content: str, fmt: str = NAME) -> str:
    parser = _PlainText()
    try:
        parser.feed(content)
        parser.close()
    except AssertionError as error:  # html.parser reports some malformed declarations this way
        raise ParseError(f"{fmt}: field 'content' is HTML that cannot be read ({error})") from None
    return "".join(parser.parts).strip()


def _host(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _account(status: dict[str, Any], where: str, fmt: str) -> tuple[dict[str, Any], str, str]:
    """The status's account, its username and a global ``user@host`` handle."""
    account = as_dict(require(status, "account", fmt, where), f"{where}account", fmt)
    acct = as_str(require(account, "acct", fmt, f"{where}account."), f"{where}account.acct", fmt).strip()
    username = account.get("username")
    if username is None:
        username = acct.split("@")[0]
    username = as_str(username, f"{where}account.username", fmt)
    if not acct:
        raise ParseError(f"{fmt}: field '{where}account.acct' is empty")
    if "@" in acct:
        return account, username, acct
    host = _host(account.get("url")) or _host(status.get("uri"))
    if host is None:
        raise ParseError(f"{fmt}: cannot tell the server of local account (no '{where}account.url' or 'uri')")
    return account, username, f"{acct}@{host}"


def _uri(status: dict[str, Any], where: str, fmt: str) -> str:
    uri = as_str(require(status, "uri", fmt, where), f"{where}uri", fmt)
    if not uri.strip():
        raise ParseError(f"{fmt}: field '{where}uri' is empty")
    return uri


def _text(status: dict[str, Any], fmt: str) -> str:
    body = html_to_text(as_str(require(status, "content", fmt), "content", fmt), fmt)
    # The content warning is part of what the author wrote, and often names the subject ("brand Centrum").
    warning = opt_str(status.get("spoiler_text"), "spoiler_text", fmt)
    return f"{warning.strip()}\n\n{body}" if warning and warning.strip() else body


def _reply_to(
    status: dict[str, Any], account: dict[str, Any], username: str, uri: str, fmt: str
) -> str | None:
    parent = opt_id(status.get("in_reply_to_id"), "in_reply_to_id", fmt)
    if parent is None:
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    if uri != f"{origin}/users/{username}/statuses/{as_id(require(status, 'id', fmt), 'id', fmt)}":
        return None  # served by another server, or not Mastodon's uri layout: the local id means nothing here
    parent_account = opt_id(status.get("in_reply_to_account_id"), "in_reply_to_account_id", fmt)
    parent_username = None
    if parent_account is not None and parent_account == str(account.get("id")):
        parent_username = username
    else:
        mentions = status.get("mentions")
        for mention in mentions if isinstance(mentions, list) else ():
            if (
                isinstance(mention, dict)
                and str(mention.get("id")) == parent_account
                and isinstance(mention.get("username"), str)
                and "@" not in str(mention.get("acct", "@"))
            ):
                parent_username = mention["username"]
    if parent_username is None:
        return None
    return post_id(f"{origin}/users/{parent_username}/statuses/{parent}")


def _quote_of(status: dict[str, Any], fmt: str) -> str | None:
    quote = opt_dict(status.get("quote"), "quote", fmt)
    if quote is None:
        return None
    # Mastodon 4.5 wraps the quoted status ({"state", "quoted_status"}); forks embed the status itself.
    quoted = opt_dict(quote.get("quoted_status"), "quote.quoted_status", fmt) if "state" in quote else quote
    if quoted is None:
        return None  # pending, revoked or not shown: there is nothing to link to
    return post_id(_uri(quoted, "quote.", fmt))


def parse(status: dict[str, Any], pseudonymise: Pseudonymiser) -> Post:
    fmt = NAME
    uri = _uri(status, "", fmt)
    account, username, handle = _account(status, "", fmt)

    reblog = opt_dict(status.get("reblog"), "reblog", fmt)
    # A reblog's own content is empty; the post spreads the reblogged text, so that is what we keep.
    shown = reblog if reblog is not None else status
    text = _text(shown, fmt)

    link = opt_str(status.get("url"), "url", fmt) or uri
    url = None if username.lower() in link.lower() else link

    return build_post(
        fmt,
        platform=PLATFORM,
        id=post_id(uri),
        author=pseudonymise(PLATFORM, handle),
        created_at=iso_time(require(status, "created_at", fmt), "created_at", fmt),
        text=text,
        lang=language(shown.get("language"), "language", fmt),
        reply_to=_reply_to(status, account, username, uri, fmt) if reblog is None else None,
        repost_of=post_id(_uri(reblog, "reblog.", fmt)) if reblog is not None else None,
        quote_of=_quote_of(shown, fmt),
        url=url,
        likes=count(status.get("favourites_count"), "favourites_count", fmt),
        reposts=count(status.get("reblogs_count"), "reblogs_count", fmt),
        replies=count(status.get("replies_count"), "replies_count", fmt),
        quotes=count(status.get("quotes_count"), "quotes_count", fmt),
    )
