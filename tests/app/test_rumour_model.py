"""The shipped rumour and stance models, and the export/import of plain weights, without the shared data."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.pipeline import rumour_model as rm
from app.pipeline.rumour_model import (
    DEFAULT_RUMOUR_MODEL,
    DEFAULT_STANCE_MODEL,
    FEATURE_SPEC,
    FORMAT_VERSION,
    N_BUCKETS,
    N_DENSE,
    LinearModel,
    RumourModel,
    StanceModel,
    feature_matrix,
    featurize,
)
from streams.post import Post

REPO = Path(__file__).resolve().parents[2]

ODD_POSTS = [
    "",
    " ",
    "😂😂😂",
    "?!?!",
    "http://t.co/abc",
    "@a @b @c #x #y #z",
    "A" * 5000,
    "Politie: 12 doden, 30 gewonden bij explosie in de Kerkstraat!!! https://nos.nl/x #breaking",
    "ÉÉN GEWONDE BIJ SCHIETPARTIJ IN ’S-HERTOGENBOSCH",
]


@pytest.fixture(scope="module")
def model() -> RumourModel:
    return RumourModel.load()


def test_shipped_model_files_are_small_and_versioned(model: RumourModel) -> None:
    assert DEFAULT_RUMOUR_MODEL.stat().st_size < 2 * 1024 * 1024
    assert DEFAULT_STANCE_MODEL.stat().st_size < 2 * 1024 * 1024
    meta = model.metadata
    assert meta["name"] == "rumour_v1"
    assert meta["feature_spec"] == FEATURE_SPEC
    assert "PHEME" in meta["training_data"] and "CheckThat" in meta["training_data"]
    datetime.strptime(meta["trained_on"], "%Y-%m-%d")
    assert 0.0 < float(meta["loeo_pooled_macro_f1"]) < 1.0
    with np.load(DEFAULT_RUMOUR_MODEL, allow_pickle=False) as z:
        assert int(z["format_version"]) == FORMAT_VERSION
        assert int(z["n_buckets"]) == N_BUCKETS
        assert z["text_weight"].dtype == np.float32
    assert len(model.model.text_weights[0]) > 1000  # a real model, not an empty table


def test_scores_are_probabilities(model: RumourModel) -> None:
    for text in ODD_POSTS:
        score = model.score(text)
        assert 0.0 <= score <= 1.0 and math.isfinite(score), text
    assert 0.0 <= model.score("x", has_url=True, is_reply=True, is_quote=True, n_hashtags=9, lang="nl") <= 1


def test_scoring_is_deterministic_across_processes(model: RumourModel) -> None:
    # Python's own hash() is salted per process; the crc32 buckets must not be.
    text = "BREAKING: reportedly a second gunman, unconfirmed"
    code = (
        f"from app.pipeline.rumour_model import RumourModel; print(repr(RumourModel.load().score({text!r})))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outs == {repr(model.score(text))}
    assert model.score(text) == model.score(text)


def test_the_word_cache_does_not_change_scores(model: RumourModel, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Klopt dit? Er zou een tweede schutter zijn", "Nice weather today"] * 3
    before = [model.score(t) for t in texts]
    monkeypatch.setattr(rm, "_CACHE_LIMIT", 2)
    rm._UNIGRAM_CACHE.clear()
    assert [model.score(t) for t in texts] == before


@pytest.mark.parametrize(
    ("rumour", "chat"),
    [
        ("BREAKING: reportedly a second gunman, unconfirmed", "Nice weather today, going for a walk"),
        ("BREAKING: reportedly a second gunman, unconfirmed", "Lekker weertje vandaag, even fietsen"),
        ("Er zou een tweede schutter zijn bij het station, nog niet bevestigd", "Ik hou van mijn kat"),
        ("Naar verluidt is de dijk bij Kampen doorgebroken", "Wat een mooie zonsondergang vanavond"),
    ],
)
def test_ranks_a_hedged_unverified_claim_above_chat(model: RumourModel, rumour: str, chat: str) -> None:
    assert model.score(rumour) > model.score(chat) + 0.2
    assert model.score(rumour) >= 0.5 > model.score(chat)


def test_score_post_reads_the_posts_metadata(model: RumourModel) -> None:
    post = Post(
        platform="test",
        id="1",
        author="a",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        text="Er zou een tweede schutter zijn",
        lang="nl",
        quote_of="0",
    )
    assert model.score_post(post) == model.score(post.text, is_quote=True, lang="nl")


def test_featurize_reads_metadata_from_the_text_when_not_given() -> None:
    f = featurize("@jan kijk http://t.co/x #brand #zwolle")
    names = dict(zip(rm.DENSE_FEATURES, f.dense, strict=True))
    assert names["has_url"] == 1.0 and names["is_reply"] == 1.0
    assert names["hashtags"] == pytest.approx(2 / 3) and names["mentions"] == pytest.approx(1 / 3)
    given = dict(zip(rm.DENSE_FEATURES, featurize("kijk", has_url=True, lang="nl").dense, strict=True))
    assert given["has_url"] == 1.0 and given["lang_nl"] == 1.0 and given["is_reply"] == 0.0
    assert list(f.buckets) == sorted(set(f.buckets))
    assert all(0 <= b < N_BUCKETS for b in f.buckets)


def test_concepts_make_dutch_and_english_crisis_words_one_feature() -> None:
    assert featurize("politie gewonden").buckets == featurize("police injured").buckets
    assert featurize("politie gewonden").buckets != featurize("fietsen weer").buckets


def _random_model(rows: int, seed: int) -> LinearModel:
    rng = np.random.default_rng(seed)
    coef = np.zeros((rows, N_BUCKETS + N_DENSE), dtype=np.float32)
    cols = rng.choice(N_BUCKETS, size=5000, replace=False)
    coef[:, cols] = rng.normal(size=(rows, 5000))
    coef[:, N_BUCKETS:] = rng.normal(size=(rows, N_DENSE))
    classes = ("rumour",) if rows == 1 else ("comment", "deny", "query", "support")
    return LinearModel.from_arrays(classes, coef, rng.normal(size=rows), {"name": "t", "note": "ünïcode"})


def test_export_import_round_trip_is_exact_and_matches_a_numpy_dot_product(tmp_path: Path) -> None:
    lm = _random_model(1, seed=1)
    path = tmp_path / "m.npz"
    lm.save(path)
    back = LinearModel.load(path)
    assert back.fingerprint() == lm.fingerprint()
    assert back.metadata == {"name": "t", "note": "ünïcode"}
    scorer = RumourModel(back)
    texts = [*ODD_POSTS, "Klopt dit? Er zou een tweede schutter zijn", "Police confirm 3 dead"]
    x = feature_matrix(featurize(t) for t in texts)
    coef = np.zeros(N_BUCKETS + N_DENSE)
    for bucket, w in lm.text_weights[0].items():
        coef[bucket] = w
    coef[N_BUCKETS:] = lm.dense_weights[0]
    expected = 1 / (1 + np.exp(-(x @ coef + lm.intercepts[0])))
    got = np.array([scorer.score(t) for t in texts])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_refuses_a_file_of_another_format_or_feature_spec(tmp_path: Path) -> None:
    lm = _random_model(1, seed=2)
    path = tmp_path / "m.npz"
    lm.save(path)
    with np.load(path, allow_pickle=False) as z:
        arrays = dict(z)
    for key, value in (("format_version", np.array(99)), ("feature_spec", np.array("other/0"))):
        bad = tmp_path / f"bad_{key}.npz"
        np.savez(bad, **{**arrays, key: value})
        with pytest.raises(ValueError, match="Rebuild"):
            LinearModel.load(bad)


def test_exported_scorer_matches_the_sklearn_model_it_came_from(tmp_path: Path) -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")  # a training-only dependency
    rng = np.random.default_rng(0)
    rumours = ["reportedly", "unconfirmed", "naar verluidt", "er zou", "breaking", "politie meldt"]
    calm = ["lekker weer", "nice day", "mooie zonsondergang", "fietsen", "my cat", "koffie"]
    texts, labels = [], []
    for i in range(300):
        words = rumours if i % 2 else calm
        pick = rng.choice(len(words), size=3)
        texts.append(" ".join(words[j] for j in pick) + (" http://t.co/x" if rng.random() < 0.3 else ""))
        labels.append(i % 2)
    x = feature_matrix(featurize(t) for t in texts)
    clf = sklearn.LogisticRegression(C=1.0, max_iter=1000).fit(x, labels)
    lm = LinearModel.from_arrays(("rumour",), clf.coef_, clf.intercept_, {"name": "tiny"})
    path = tmp_path / "tiny.npz"
    lm.save(path)
    scorer = RumourModel.load(path)
    probe = [*texts[:40], "BREAKING: reportedly a second gunman", "Lekker weer vandaag", *ODD_POSTS]
    expected = clf.predict_proba(feature_matrix(featurize(t) for t in probe))[:, 1]
    got = np.array([scorer.score(t) for t in probe])
    # float32 weights in the file: agreement to ~1e-6, far below any threshold that matters.
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert scorer.score("breaking reportedly unconfirmed") > 0.5 > scorer.score("lekker weer fietsen")


def test_stance_model_round_trip_matches_its_decision_rows(tmp_path: Path) -> None:
    lm = _random_model(4, seed=3)
    path = tmp_path / "s.npz"
    lm.save(path)
    model = StanceModel.load(path)
    text = "@x I saw it myself, it is what it is"
    scores = model.model.decision(featurize(text))
    assert model.predict(text) == lm.classes[int(np.argmax(scores))]
    # A denial or enquiry cue decides before the weights do.
    assert model.predict("@x dit is nep") == "deny"
    assert model.predict("@x klopt dit?") == "query"


def test_shipped_stance_model_on_clear_english_reactions() -> None:
    model = StanceModel.load()
    assert model.model.metadata["name"] == "stance_v1"
    assert model.predict("@bbc is this true? any confirmation?") == "query"
    assert model.predict("@cnn this is fake, police already denied it") == "deny"
    assert model.predict("@user yes, confirmed by police") == "support"
