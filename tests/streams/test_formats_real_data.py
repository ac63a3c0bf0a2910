"""The adapters against real exports in ../shared/data (skipped when that folder is not there)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from streams.deadletter import DeadLetter
from streams.formats import iter_posts
from streams.post import Post, pseudonymise

DATA_DIR = Path(os.environ.get("SIGNAAL_DATA_DIR") or Path(__file__).parents[2].parent / "shared" / "data")
PHEME = DATA_DIR / "pheme"
FERGUSON = [PHEME / f"ferguson-all-rnr-threads.{kind}.json" for kind in ("rumours", "non-rumours")]

pytestmark = pytest.mark.skipif(
    not all(path.is_file() for path in FERGUSON), reason=f"PHEME ferguson files not found under {DATA_DIR}"
)


def test_every_pheme_ferguson_tweet_parses() -> None:
    key = b"test-key-not-secret"
    items = list(iter_posts(FERGUSON, "auto", functools.partial(pseudonymise, key=key)))
    letters = [item for item in items if isinstance(item, DeadLetter)]
    assert letters == []
    posts = [item for item in items if isinstance(item, Post)]
    # 284 rumour and 859 non-rumour source tweets, no tweet in both files.
    assert len({(post.platform, post.id) for post in posts}) == 1143
    assert all(post.platform == "twitter" and post.created_at.year == 2014 for post in posts)
    assert not any("&amp;" in post.text or "&gt;" in post.text for post in posts)
    assert all(post.author.startswith("p_") for post in posts)
    points = [post.coordinates for post in posts if post.coordinates is not None]
    # Ferguson is in Missouri and most geotagged tweets are from the US: latitude north, longitude west.
    assert points and sum(point.lat > 0 > point.lon for point in points) > len(points) / 2
