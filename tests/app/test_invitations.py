"""The invitation lexicon both the mobilisation and the rumour detector read calls to gather with."""

from __future__ import annotations

from datetime import UTC, datetime

from app.pipeline.invitations import InvitationLexicon

AT = datetime(2024, 9, 18, 12, 0, tzinfo=UTC)  # a Wednesday
LEXICON = InvitationLexicon(("feest", "iedereen welkom", "open invite"))


def test_phrases_match_as_whole_words_with_any_spacing() -> None:
    assert LEXICON.mentions("groot feest bij mij")
    assert LEXICON.mentions("iedereen   welkom!")
    assert not LEXICON.mentions("feestelijk geopend")  # not the word feest
    assert not LEXICON.mentions("niet iedereen is welkom")


def test_a_hashtag_starting_with_a_single_word_phrase_counts() -> None:
    assert LEXICON.mentions("zaterdag #feestjeharen")
    assert not LEXICON.mentions("zaterdag #openinvite")  # only single words extend into a hashtag


def test_a_call_needs_the_lexicon_and_a_day_or_time() -> None:
    assert LEXICON.is_call("Feest zaterdag 20:00 in Haren, iedereen welkom", AT)
    assert LEXICON.is_call("FEEST vanavond bij de Stationsweg", AT)
    assert not LEXICON.is_call("Feest in Haren, iedereen welkom", AT)  # no day, no time
    assert not LEXICON.is_call("Zaterdag om 20:00 vergadert de raad", AT)  # no lexicon word


def test_talk_of_the_call_under_its_hashtag_is_the_call_but_a_claim_about_the_night_is_not() -> None:
    assert LEXICON.is_call("Bus uit Hengelo geregeld voor zaterdag, nog 15 plekken vrij #feestjeharen", AT)
    assert not LEXICON.is_call("Om 22:00 komt de politie #feestjeharen", AT)


def test_a_post_that_names_an_incident_is_a_claim_not_a_call() -> None:
    assert not LEXICON.is_call("Het leger komt vanavond naar het feest in Haren", AT)
    assert not LEXICON.is_call("Zaterdag 20:00 feest bij de Markt, iemand neergestoken??", AT)
    assert LEXICON.is_call("Zaterdag 20:00 feest bij de Markt, neem vrienden mee", AT)
