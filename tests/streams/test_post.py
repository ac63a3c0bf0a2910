import hmac
from datetime import UTC, datetime

from streams.post import Post, pseudonymise


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


def test_pseudonyms_are_hmac_sha256_of_platform_and_handle_and_do_not_change_between_versions() -> None:
    # Stored posts and audit trails keep pseudonyms: a faster implementation must give the same bytes.
    def reference(platform: str, handle: str, key: bytes) -> str:
        return "p_" + hmac.digest(key, f"{platform}:{handle.strip().lower()}".encode(), "sha256").hex()[:20]

    assert pseudonymise("x", " @Anna_B ", b"k1") == "p_dff1bb21d21ba97f66be"
    assert pseudonymise("x", "@anna_b", b"k1") == "p_dff1bb21d21ba97f66be"
    assert pseudonymise("x", "@anna_b", b"k2") == "p_8eba8e4004a44cbc595e"
    for key in (b"k1", b"k2", b"k1", b"x" * 100):  # keys longer than a SHA-256 block are hashed first
        for platform, handle in (("x", "@anna_b"), ("mastodon", "anna@social.example"), ("x", "é" * 300)):
            assert pseudonymise(platform, handle, key) == reference(platform, handle, key)
