from datetime import UTC, datetime

from streams.post import Post


def _post() -> Post:
    return Post(
        platform="x",
        id="1",
        author="p_abc",
        created_at=datetime(2024, 5, 1, 12, tzinfo=UTC),
        text="Feest in Haren",
        coordinates={"lat": 53.17, "lon": 6.6},
    )


def test_enriched_is_the_same_as_a_model_copy() -> None:
    post = _post()
    fields = {"lang": "nl", "cell": "871f", "places": ("Haren",), "area": "Groningen"}
    fast = post.enriched(**fields)
    slow = post.model_copy(update=fields)
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    assert Post.model_validate_json(fast.model_dump_json()) == fast
    assert post.area is None and post.places == ()  # the original is untouched
