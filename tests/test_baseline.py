"""TF-IDF baseline: fitting with masks, thresholds, constant labels, save/load without pickles."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sklearn
from sklearn.metrics import f1_score

from stance.baseline import TfidfBaseline, best_f1_thresholds, fit_corpus
from stance.labels import LABELS

# One cue phrase per label (written for these tests); each row gets its labels' cues.
CUES = ("slava heroes defend", "putin nato provoked", "brussels cowards eu",
        "washington empire yankees", "shut up", "clown moron", "vermin subhuman",
        "hang them", "damn hell")
FILLER = ("the", "war", "news", "today", "video", "people", "think", "again", "look")
FAST = {"min_df": 1, "word_max_features": 2000, "char_max_features": 4000}


def make_rows(n: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, labels, masks = [], [], []
    for i in range(n):
        y = (rng.random(len(LABELS)) < 0.3).astype(int)
        if y[5:].any():
            y[4] = 1
        words = [CUES[j] for j in range(len(LABELS)) if y[j] and rng.random() < 0.9]
        words += list(rng.choice(FILLER, 4))
        rng.shuffle(words)
        mask = np.ones(len(LABELS), dtype=int)
        if i % 3 == 1:  # a stance-only source
            mask[4:] = 0
        elif i % 3 == 2:  # a toxicity-only source
            mask[:4] = 0
        texts.append(" ".join(words))
        labels.append(y * mask)
        masks.append(mask)
    return texts, np.array(labels), np.array(masks)


@pytest.fixture(scope="module")
def data():
    return make_rows(240, 1), make_rows(120, 2)


@pytest.fixture(scope="module")
def fitted(data):
    (texts, y, mask), (v_texts, v_y, v_mask) = data
    model = TfidfBaseline(**FAST).fit(texts, y, mask, progress=False)
    model.fit_thresholds(v_texts, v_y, v_mask)
    return model


def test_fit_predict_shapes_and_signal(fitted, data):
    texts, y, mask = make_rows(90, 3)
    probs = fitted.predict_proba(texts)
    assert probs.shape == (90, len(LABELS))
    assert ((probs >= 0) & (probs <= 1)).all()
    decisions = fitted.predict(texts)
    assert decisions.dtype == bool and decisions.shape == probs.shape
    assert fitted.labels == LABELS
    assert fitted.thresholds.shape == (len(LABELS),)
    # The cues are learnable: every label is well above chance on fresh rows.
    for j in range(len(LABELS)):
        known = mask[:, j] == 1
        assert f1_score(y[known, j], decisions[known, j]) > 0.7, LABELS[j]


def test_masked_rows_do_not_influence_a_label(data):
    (texts, y, mask), _ = data
    first = TfidfBaseline(**FAST).fit(texts, y, mask, progress=False)
    flipped = y.copy()
    flipped[mask == 0] = 1 - flipped[mask == 0]  # garbage where the label is unknown
    second = TfidfBaseline(**FAST).fit(texts, flipped, mask, progress=False)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    np.testing.assert_array_equal(first.intercept_, second.intercept_)
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))
    # ...whereas the same flip with every label known changes the classifiers.
    third = TfidfBaseline(**FAST).fit(texts, flipped, None, progress=False)
    assert not np.array_equal(first.coef_, third.coef_)


def test_save_load_gives_identical_probabilities(fitted, tmp_path):
    folder = fitted.save_pretrained(tmp_path / "baseline")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["config.json", "vocabulary.json", "weights.safetensors"]
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib", ".bin") for p in folder.iterdir())
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "tfidf-logistic"
    assert config["labels"] == list(LABELS)
    assert config["thresholds"] == pytest.approx(fitted.thresholds.tolist())
    assert config["settings"]["min_df"] == 1
    loaded = TfidfBaseline.from_pretrained(folder)
    texts = make_rows(50, 4)[0] + ["", "completely unseen words ÄÖ ✓"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    np.testing.assert_array_equal(loaded.thresholds, fitted.thresholds)
    np.testing.assert_array_equal(loaded.predict(texts), fitted.predict(texts))


def test_from_pretrained_rejects_other_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        TfidfBaseline.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="tfidf-logistic"):
        TfidfBaseline.from_pretrained(tmp_path)


def test_thresholds_come_from_the_data_passed_in(data):
    (texts, y, mask), (v_texts, v_y, v_mask) = data
    model = TfidfBaseline(**FAST).fit(texts, y, mask, progress=False)
    assert (model.thresholds == 0.5).all()  # default before fit_thresholds
    thresholds = model.fit_thresholds(v_texts, v_y, v_mask)
    assert thresholds is model.thresholds
    probs = model.predict_proba(v_texts)
    for j in range(len(LABELS)):
        known = v_mask[:, j] == 1
        y_j, p_j = v_y[known, j], probs[known, j]
        with sklearn.config_context(skip_parameter_validation=True):  # many small calls
            best = max(f1_score(y_j, p_j >= cut) for cut in np.unique(p_j))
        assert f1_score(y_j, p_j >= thresholds[j]) == pytest.approx(best), LABELS[j]
    # Other validation data → other thresholds.
    other = model.fit_thresholds(*make_rows(60, 9)).copy()
    assert not np.array_equal(other, thresholds)


def test_best_f1_thresholds_keeps_default_without_both_classes():
    probs = np.array([[0.2] * 9, [0.9] * 9, [0.6] * 9])
    labels = np.zeros((3, 9), dtype=int)
    labels[:, 0] = [0, 1, 1]
    mask = np.ones((3, 9), dtype=int)
    mask[:, 1] = 0
    thresholds = best_f1_thresholds(probs, labels, mask, default=0.5)
    assert thresholds[0] == pytest.approx(0.6)
    assert (thresholds[1:] == 0.5).all()


def test_constant_labels():
    texts, y, mask = make_rows(60, 5)
    mask[:, LABELS.index("anti_us")] = 0  # never known
    y[:, LABELS.index("threat")] = 0  # known, never positive
    known_profanity = mask[:, LABELS.index("profanity")] == 1
    y[known_profanity, LABELS.index("profanity")] = 1  # known, always positive
    model = TfidfBaseline(**FAST).fit(texts, y * mask, mask, progress=False)
    assert set(model.constant_labels) == {"anti_us", "threat", "profanity"}
    probs = model.predict_proba(["anything at all", "clown moron"])
    assert (probs[:, LABELS.index("anti_us")] == 0.0).all()
    assert (probs[:, LABELS.index("threat")] == 0.0).all()
    assert (probs[:, LABELS.index("profanity")] == 1.0).all()


def test_fit_corpus_uses_train_and_validation(data):
    datasets = pytest.importorskip("datasets")
    (texts, y, mask), (v_texts, v_y, v_mask) = data

    def split(t, labels, m):
        return datasets.Dataset.from_dict({"id": [str(i) for i in range(len(t))], "text": t,
                                           "labels": labels.tolist(), "label_mask": m.tolist()})

    corpus = datasets.DatasetDict({"train": split(texts, y, mask),
                                   "validation": split(v_texts, v_y, v_mask)})
    model = fit_corpus(corpus, progress=False, **FAST)
    reference = TfidfBaseline(**FAST).fit(texts, y, mask, progress=False)
    reference.fit_thresholds(v_texts, v_y, v_mask)
    np.testing.assert_allclose(model.thresholds, reference.thresholds)
    np.testing.assert_array_equal(model.coef_, reference.coef_)


def test_bad_input_is_named():
    texts, y, mask = make_rows(10, 6)
    with pytest.raises(ValueError, match=r"shape \(10, 9\)"):
        TfidfBaseline(**FAST).fit(texts, y[:, :8], mask, progress=False)
    bad = y.copy()
    bad[3, 2] = 2
    with pytest.raises(ValueError, match="row 3, label 'anti_europe'"):
        TfidfBaseline(**FAST).fit(texts, bad, mask, progress=False)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        TfidfBaseline(**FAST).fit([texts[0], None, *texts[2:]], y, mask, progress=False)
    with pytest.raises(TypeError, match="unknown TfidfBaseline setting"):
        TfidfBaseline(ngrams=3)
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfBaseline().predict_proba(["x"])
