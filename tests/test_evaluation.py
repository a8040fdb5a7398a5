"""evaluate() and cross_validate(): numbers agree with scikit-learn, masks are respected."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (average_precision_score, brier_score_loss, classification_report,
                             f1_score, precision_score, recall_score, roc_auc_score)

from stance.baseline import TfidfBaseline
from stance.evaluation import (HEADLINES, _CellCounts, _group_codes, cross_validate,
                               evaluate)
from stance.labels import LABELS, LabelCodeError, format_codes

N_BOOT = 50
CUES = ("slava heroes defend", "putin nato provoked", "brussels cowards eu",
        "washington empire yankees", "shut up", "clown moron", "vermin subhuman",
        "hang them", "damn hell")
FILLER = ("the", "war", "news", "today", "video", "people", "think", "again", "look",
          "this", "is", "what", "they", "said", "about", "it", "and", "more")
SOURCES = ("youtube_war", "ruw", "olid")


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Labelled comments from three made-up sources with different masks, plus noisy probs."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        y = (rng.random(len(LABELS)) < 0.25).astype(int)
        if y[5:].any():
            y[4] = 1
        source = SOURCES[i % 3]
        mask = np.ones(len(LABELS), dtype=int)
        if source == "ruw":
            mask[2:] = 0  # stance toward Russia/Ukraine only
        elif source == "olid":
            mask[:4] = 0  # toxicity only
            mask[5:] = 0
        words = [CUES[j] for j in range(len(LABELS)) if y[j] and rng.random() < 0.85]
        words += list(rng.choice(FILLER, int(rng.integers(3, 90))))
        probs = np.clip(0.55 * y + 0.45 * rng.random(len(LABELS)), 0, 1)
        rows.append({
            "id": f"c{seed}-{i}", "text": " ".join(words), "source": source,
            "video_id": f"vid{(i // 3) % 6}" if source == "youtube_war" else None,
            "outlet": ("CNN", "BBC")[i % 2] if source == "youtube_war" else None,
            "labels": (y * mask).tolist(), "label_mask": mask.tolist(),
            **{f"{name}_prob": float(p) for name, p in zip(LABELS, probs)},
        })
    return pd.DataFrame(rows)


def split_frames(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = frame[["id", "text", "source", "video_id", "outlet", "labels", "label_mask"]]
    predictions = frame[["id"] + [f"{name}_prob" for name in LABELS]]
    return data, predictions


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(240, 1)


@pytest.fixture(scope="module")
def thresholds() -> np.ndarray:
    return np.linspace(0.4, 0.6, len(LABELS))


@pytest.fixture(scope="module")
def evaluated(frame, thresholds, tmp_path_factory):
    data, predictions = split_frames(frame)
    folder = tmp_path_factory.mktemp("report")
    return evaluate(predictions, data, thresholds=thresholds, n_bootstrap=N_BOOT,
                    output_dir=folder, reference_toxic=False, progress=False)


def arrays(frame: pd.DataFrame):
    y = np.array(frame["labels"].tolist())
    mask = np.array(frame["label_mask"].tolist()).astype(bool)
    probs = frame[[f"{name}_prob" for name in LABELS]].to_numpy()
    return y, mask, probs


def test_metrics_json_matches_scikit_learn(evaluated, frame, thresholds):
    metrics = json.loads((evaluated.output_dir / "metrics.json").read_text())
    y, mask, probs = arrays(frame)
    for j, name in enumerate(LABELS):
        known = mask[:, j]
        y_j, p_j = y[known, j], probs[known, j]
        d_j = p_j >= thresholds[j]
        entry = metrics["per_label"][name]
        assert entry["n_known"] == known.sum()
        assert entry["support"] == y_j.sum()
        assert entry["f1"] == pytest.approx(f1_score(y_j, d_j))
        assert entry["precision"] == pytest.approx(precision_score(y_j, d_j))
        assert entry["recall"] == pytest.approx(recall_score(y_j, d_j))
        assert entry["roc_auc"] == pytest.approx(roc_auc_score(y_j, p_j))
        assert entry["average_precision"] == pytest.approx(average_precision_score(y_j, p_j))
        assert entry["brier"] == pytest.approx(brier_score_loss(y_j, p_j))
        assert entry["f1_at_0.5"] == pytest.approx(f1_score(y_j, p_j >= 0.5))
        tn, fp, fn, tp = int(((y_j == 0) & ~d_j).sum()), int(((y_j == 0) & d_j).sum()), \
            int(((y_j == 1) & ~d_j).sum()), int(((y_j == 1) & d_j).sum())
        assert entry["confusion_matrix"] == [[tn, fp], [fn, tp]]
        low, high = entry["f1_ci"]
        assert low <= entry["f1"] + 1e-9 and entry["f1"] <= high + 1e-9
    for name, labels in HEADLINES.items():
        expected = np.mean([metrics["per_label"][label]["f1"] for label in labels])
        assert metrics["headline"][name]["value"] == pytest.approx(expected)
    # micro/macro/samples over rows where all nine labels are known.
    full = mask.all(axis=1)
    report = classification_report(y[full], (probs[full] >= thresholds).astype(int),
                                   output_dict=True, zero_division=np.nan)
    averages = metrics["averages_all_known"]
    assert averages["n_rows"] == full.sum()
    for average in ("micro", "macro", "samples"):
        assert averages[average]["f1"] == pytest.approx(report[f"{average} avg"]["f1-score"])


def test_masked_cells_are_ignored(frame, thresholds):
    data, predictions = split_frames(frame)
    y, mask, probs = arrays(frame)
    rng = np.random.default_rng(7)
    garbage_y = np.where(mask, y, rng.integers(0, 2, y.shape))
    garbage_p = np.where(mask, probs, rng.random(probs.shape))
    changed_data = data.assign(labels=list(garbage_y))  # label_mask unchanged
    changed_predictions = predictions.copy()
    changed_predictions[[f"{name}_prob" for name in LABELS]] = garbage_p
    assert not np.array_equal(garbage_y, y) and not np.array_equal(garbage_p, probs)
    kwargs = dict(thresholds=thresholds, n_bootstrap=N_BOOT, reference_toxic=False,
                  progress=False)
    first = evaluate(predictions, data, **kwargs).metrics
    second = evaluate(changed_predictions, changed_data, **kwargs).metrics
    for key in ("per_label", "headline", "averages_all_known", "slices", "bootstrap"):
        assert json.dumps(first[key], sort_keys=True) == json.dumps(second[key], sort_keys=True)


def test_bootstrap_cell_counts_equal_plain_f1(frame, thresholds):
    """The 27-row shortcut used for bootstrap replicates gives the per-label F1 exactly."""
    y, mask, probs = arrays(frame)
    decisions = probs >= thresholds
    groups = np.arange(len(y))
    counter = _CellCounts(y, mask.astype(int), decisions, groups, len(y))
    weights = np.random.default_rng(3).integers(0, 3, len(y)).astype(float)
    fast = counter.f1(weights)
    for j in range(len(LABELS)):
        known = mask[:, j]
        slow = f1_score(y[known, j], decisions[known, j], sample_weight=weights[known])
        assert fast[j] == pytest.approx(slow)


def test_bootstrap_resamples_videos_and_is_seeded(frame, thresholds):
    data, predictions = split_frames(frame)
    codes, unit = _group_codes(data, None)
    n_youtube = (data["source"] == "youtube_war").sum()
    assert unit.startswith("video_id")
    assert codes.max() + 1 == 6 + (len(data) - n_youtube)  # six videos + single rows
    kwargs = dict(thresholds=thresholds, n_bootstrap=N_BOOT, reference_toxic=False,
                  progress=False)
    a = evaluate(predictions, data, seed=1, **kwargs).metrics
    b = evaluate(predictions, data, seed=1, **kwargs).metrics
    c = evaluate(predictions, data, seed=2, **kwargs).metrics
    assert a["headline"] == b["headline"]
    assert a["headline"] != c["headline"]
    assert a["bootstrap"]["n_groups"] == codes.max() + 1
    rows = evaluate(predictions, data.drop(columns="video_id"), **kwargs).metrics
    assert rows["bootstrap"]["unit"] == "row" and rows["bootstrap"]["n_groups"] == len(data)
    by_source = evaluate(predictions, data, group_column="source", **kwargs).metrics
    assert by_source["bootstrap"]["n_groups"] == 3
    by_author = evaluate(predictions, data.assign(author=[f"a{i % 4}" for i in range(len(data))]),
                         group_column="author", **kwargs).metrics
    assert by_author["bootstrap"]["n_groups"] == 4


def test_model_forms_agree(frame, tmp_path):
    """A TfidfBaseline object, its saved folder and its predictions table score the same."""
    train = make_frame(150, 2)
    y, mask, _ = arrays(train)
    model = TfidfBaseline(min_df=1).fit(train["text"].tolist(), y, mask.astype(int),
                                        progress=False)
    model.thresholds = np.full(len(LABELS), 0.3)
    data, _ = split_frames(frame)
    kwargs = dict(n_bootstrap=N_BOOT, reference_toxic=False, progress=False)
    from_object = evaluate(model, data, **kwargs)
    folder = model.save_pretrained(tmp_path / "tfidf")
    from_folder = evaluate(str(folder), data, **kwargs)
    table = from_object.predictions[["id"] + [f"{name}_prob" for name in LABELS]]
    shuffled = table.sample(frac=1.0, random_state=0)  # aligned back by id
    from_table = evaluate(shuffled, data, thresholds=model.thresholds, **kwargs)
    for result in (from_folder, from_table):
        assert result.metrics["per_label"] == from_object.metrics["per_label"]
    assert from_object.metrics["model"]["type"] == "tfidf-logistic"
    assert from_folder.metrics["model"]["path"] == str(folder)
    assert from_object.metrics["model"]["thresholds"]["toxic"] == pytest.approx(0.3)
    # Without thresholds, a predictions table is cut at 0.5.
    plain = evaluate(table, data, **kwargs).metrics
    assert all(plain["per_label"][name]["threshold"] == 0.5 for name in LABELS)


def test_data_forms(frame, thresholds):
    data, predictions = split_frames(frame)
    kwargs = dict(thresholds=thresholds, n_bootstrap=N_BOOT, reference_toxic=False,
                  progress=False)
    reference = evaluate(predictions, data, **kwargs).metrics["per_label"]
    # Nine label columns, empty (NaN) where unknown.
    y, mask, _ = arrays(frame)
    wide = data.drop(columns=["labels", "label_mask"]).copy()
    for j, name in enumerate(LABELS):
        wide[name] = pd.array(np.where(mask[:, j], y[:, j], 0), dtype="Int8")
        wide.loc[~mask[:, j], name] = pd.NA
    assert evaluate(predictions, wide, **kwargs).metrics["per_label"] == reference
    # A Dataset and a DatasetDict split.
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_pandas(data, preserve_index=False)
    assert evaluate(predictions, dataset, **kwargs).metrics["per_label"] == reference
    corpus = datasets.DatasetDict({"validation": dataset, "test": dataset.select(range(10))})
    result = evaluate(predictions, corpus, **kwargs)
    assert result.metrics["per_label"] == reference
    assert result.metrics["data"]["split"] == "validation"
    with pytest.raises(KeyError, match="no split 'train'"):
        evaluate(predictions, corpus, split="train", **kwargs)


def test_codes_column(frame, thresholds):
    data, predictions = split_frames(frame)
    y, mask, _ = arrays(frame)
    coded = data.drop(columns=["labels", "label_mask"]).assign(
        codes=[format_codes(row) for row in y])
    kwargs = dict(thresholds=thresholds, n_bootstrap=N_BOOT, reference_toxic=False,
                  progress=False)
    result = evaluate(predictions, coded, **kwargs).metrics
    assert all(result["per_label"][name]["n_known"] == len(data) for name in LABELS)
    y_tox = y[:, LABELS.index("toxic")]
    decided = frame["toxic_prob"].to_numpy() >= thresholds[LABELS.index("toxic")]
    assert result["per_label"]["toxic"]["f1"] == pytest.approx(f1_score(y_tox, decided))
    # A classified table's L columns are decisions, not labels: `codes` wins over them.
    with_decisions = coded.assign(**{name: True for name in LABELS})
    assert evaluate(predictions, with_decisions, **kwargs).metrics["per_label"] == \
        result["per_label"]
    # Rows without codes are unlabelled: every label unknown there.
    partly = coded.assign(codes=[None if i < 40 else c for i, c in enumerate(coded["codes"])])
    assert evaluate(predictions, partly, **kwargs).metrics["per_label"]["toxic"]["n_known"] == \
        len(data) - 40
    broken = coded.copy()
    broken.loc[5, "codes"] = "IT"
    with pytest.raises(LabelCodeError, match=r"row 5 \(id 'c1-5'\)"):
        evaluate(predictions, broken, **kwargs)


def test_thresholds_slices_and_provenance(evaluated, frame):
    metrics = evaluated.metrics
    assert set(metrics["slices"]) == {"source", "video_id", "outlet", "length"}
    assert sum(entry["n"] for entry in metrics["slices"]["length"]) == len(frame)
    assert [e["group"] for e in metrics["slices"]["length"]] == ["<50", "50-150", "150-400",
                                                                 ">400"]
    sources = {e["group"]: e["n"] for e in metrics["slices"]["source"]}
    assert sources == {"youtube_war": 80, "ruw": 80, "olid": 80}
    olid = next(e for e in metrics["slices"]["source"] if e["group"] == "olid")
    assert np.isnan(olid["stance_macro_f1"])  # no stance label is known there
    assert metrics["data"]["n_rows"] == len(frame)
    assert {"stance", "scikit-learn", "python", "transformers", "torch"} <= set(
        metrics["versions"])
    assert metrics["date"] and metrics["model"]["threshold_source"] == "given"
    assert metrics["reference"]["profanity_check"]["status"] == "disabled"
    assert metrics["baseline"] == {"status": "not given"}
    for name in LABELS:
        entry = metrics["per_label"][name]
        assert {"f1_at_threshold", "f1_at_0.5", "ece", "brier", "reliability"} <= set(entry)
        assert sum(entry["reliability"]["count"]) == entry["n_known"]
    predictions = evaluated.predictions
    assert predictions["id"].tolist() == frame["id"].tolist()
    assert predictions["anti_us_true"].isna().sum() == (frame["source"] != "youtube_war").sum()


def test_slices_match_scikit_learn(evaluated, frame, thresholds):
    y, mask, probs = arrays(frame)
    decisions = probs >= thresholds
    lengths = frame["text"].str.len().to_numpy()
    bands = {"<50": lengths < 50, "50-150": (lengths >= 50) & (lengths < 150),
             "150-400": (lengths >= 150) & (lengths < 400), ">400": lengths >= 400}
    cases = [(e, (frame["video_id"] == e["group"]).to_numpy())
             for e in evaluated.metrics["slices"]["video_id"]]
    cases += [(e, bands[e["group"]]) for e in evaluated.metrics["slices"]["length"]]
    assert len(evaluated.metrics["slices"]["video_id"]) == 6
    for entry, rows in cases:
        assert entry["n"] == rows.sum()
        for j, name in enumerate(LABELS):
            known = rows & mask[:, j]
            expected = (f1_score(y[known, j], decisions[known, j], zero_division=np.nan)
                        if known.any() else np.nan)
            assert entry["per_label_f1"][name] == pytest.approx(expected, nan_ok=True)


def test_corpus_folder(frame, thresholds, tmp_path):
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("stance.corpus")
    data, predictions = split_frames(frame)
    dataset = datasets.Dataset.from_pandas(data, preserve_index=False)
    datasets.DatasetDict({"test": dataset}).save_to_disk(str(tmp_path / "corpus"))
    result = evaluate(predictions, tmp_path / "corpus", split="test", thresholds=thresholds,
                      n_bootstrap=5, reference_toxic=False, progress=False)
    assert result.metrics["data"]["path"] == str(tmp_path / "corpus")
    assert result.metrics["data"]["split"] == "test"
    assert result.metrics["data"]["n_rows"] == len(frame)


def test_expected_calibration_error_by_hand():
    data = pd.DataFrame({"text": ["a", "b", "c", "d"], "codes": ["T", "-", "T", "-"]})
    probs = {f"{name}_prob": [0.8] * 4 for name in LABELS}
    metrics = evaluate(pd.DataFrame(probs), data, n_bootstrap=5, reference_toxic=False,
                       progress=False).metrics
    toxic = metrics["per_label"]["toxic"]
    assert toxic["ece"] == pytest.approx(0.3)  # one bin: confidence 0.8, accuracy 0.5
    assert toxic["brier"] == pytest.approx(0.34)
    insult = metrics["per_label"]["insult"]
    assert np.isnan(insult["roc_auc"])  # a single class: undefined, not an error


def test_error_examples(frame, thresholds, evaluated):
    errors = evaluated.errors
    assert set(errors["kind"]) <= {"false positive", "false negative"}
    y, mask, probs = arrays(frame)
    position = {cid: i for i, cid in enumerate(frame["id"])}
    for (label, kind), rows in errors.groupby(["label", "kind"]):
        j = LABELS.index(label)
        assert len(rows) <= 5
        index = [position[cid] for cid in rows["id"]]
        assert mask[index, j].all()
        if kind == "false positive":
            assert (y[index, j] == 0).all() and (probs[index, j] >= thresholds[j]).all()
            assert rows["prob"].is_monotonic_decreasing
        else:
            assert (y[index, j] == 1).all() and (probs[index, j] < thresholds[j]).all()
            assert rows["prob"].is_monotonic_increasing
    assert "text" in errors.columns


def test_baseline_and_reference(frame, thresholds, monkeypatch):
    data, predictions = split_frames(frame)
    kwargs = dict(thresholds=thresholds, n_bootstrap=N_BOOT, progress=False)
    monkeypatch.setitem(sys.modules, "profanity_check", None)  # import fails
    missing = evaluate(predictions, data, **kwargs).metrics
    assert missing["reference"]["profanity_check"]["status"] == "not installed"

    fake = types.ModuleType("profanity_check")
    fake.predict_prob = lambda texts: np.array([0.9 if "shut" in t else 0.1 for t in texts])
    monkeypatch.setitem(sys.modules, "profanity_check", fake)
    same_table = predictions.assign(**{f"{n}_prob": predictions[f"{n}_prob"] for n in LABELS})
    same_table.attrs["thresholds"] = list(thresholds)
    result = evaluate(predictions, data, baseline=same_table, **kwargs)
    reference = result.metrics["reference"]["profanity_check"]
    assert reference["status"] == "ok"
    y, mask, _ = arrays(frame)
    j = LABELS.index("toxic")
    known = mask[:, j]
    cut = np.array(["shut" in t for t in frame["text"]])[known]
    assert reference["f1"] == pytest.approx(f1_score(y[known, j], cut))
    assert reference["n_known"] == known.sum()
    assert "reference_toxic_prob" in result.predictions.columns
    # The baseline here is the model itself: same scores, zero paired differences.
    baseline = result.metrics["baseline"]
    assert baseline["status"] == "ok"
    for name in LABELS:
        assert baseline["per_label"][name]["f1"] == result.metrics["per_label"][name]["f1"]
        assert baseline["per_label"][name]["f1_difference_ci"] == [0.0, 0.0]
    assert baseline["headline"]["stance_macro_f1"]["difference_ci"] == [0.0, 0.0]


def test_predictions_must_cover_the_data(frame):
    data, predictions = split_frames(frame)
    with pytest.raises(ValueError, match="no row for id 'c1-0'"):
        evaluate(predictions.iloc[1:], data, n_bootstrap=5, progress=False,
                 reference_toxic=False)
    with pytest.raises(ValueError, match="lack column"):
        evaluate(predictions.drop(columns="threat_prob"), data, n_bootstrap=5, progress=False)


def test_cross_validate_baseline(tmp_path):
    frame = make_frame(180, 5)
    data, _ = split_frames(frame)
    result = cross_validate(data, k=3, seed=0, baseline_settings={"min_df": 1},
                            output_dir=tmp_path, progress=False)
    assert result["k"] == 3 and len(result["folds"]) == 3
    assert result["groups"]["unit"].startswith("video_id")
    assert sum(fold["n_test"] for fold in result["folds"]) == len(frame)
    for fold in result["folds"]:
        assert fold["n_train"] + fold["n_threshold"] + fold["n_test"] == len(frame)
    for name in HEADLINES:
        values = [fold["headline"][name] for fold in result["folds"]]
        assert result["headline"][name]["mean"] == pytest.approx(np.nanmean(values))
        assert result["headline"][name]["std"] == pytest.approx(np.nanstd(values, ddof=1))
    assert result["headline"]["stance_macro_f1"]["mean"] > 0.5  # cue words are learnable
    saved = json.loads((tmp_path / "cross_validation.json").read_text())
    assert saved["per_label_f1"].keys() == set(LABELS)
    with pytest.raises(ValueError, match="cannot make 500 folds"):
        cross_validate(data, k=500, progress=False)


class _FakeTransformer:
    """Stands in for stance.model.StanceModel (no torch needed)."""

    labels = LABELS

    def __init__(self, path) -> None:
        self.source_path = path
        self.thresholds = np.full(len(LABELS), 0.5)

    def predict_proba(self, texts):
        return np.array([[0.9 if cue.split()[0] in text else 0.1 for cue in CUES]
                         for text in texts])


def _fake_modules(monkeypatch, trained: list) -> None:
    model_module = types.ModuleType("stance.model")
    model_module.load_model = lambda path=None: _FakeTransformer(path)
    training_module = types.ModuleType("stance.training")

    def train(corpus, output_dir, *, epochs=3, seed=0, overwrite=False, progress=True,
              **settings):
        assert {"train", "validation", "test"} <= set(corpus)
        assert {"id", "text", "labels", "label_mask", "video_id"} <= set(corpus["train"].features)
        trained.append((output_dir, epochs, len(corpus["train"]), len(corpus["test"])))
        return output_dir

    training_module.train = train
    monkeypatch.setitem(sys.modules, "stance.model", model_module)
    monkeypatch.setitem(sys.modules, "stance.training", training_module)


def test_transformer_folder_goes_to_load_model(frame, tmp_path, monkeypatch):
    _fake_modules(monkeypatch, [])
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    data, _ = split_frames(frame)
    result = evaluate(str(folder), data, n_bootstrap=5, reference_toxic=False, progress=False)
    assert result.metrics["model"]["type"] == "bert"
    assert result.metrics["model"]["path"] == str(folder)
    assert result.metrics["model"]["threshold_source"] == "model"


def test_cross_validate_transformer_plumbing(tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    trained: list = []
    _fake_modules(monkeypatch, trained)
    data, _ = split_frames(make_frame(90, 6))
    result = cross_validate(data, k=3, model="transformer", epochs=2, output_dir=tmp_path,
                            progress=False)
    assert [t[0] for t in trained] == [tmp_path / f"fold{i}" for i in range(3)]
    assert all(t[1] == 2 for t in trained)
    assert sum(t[3] for t in trained) == 90
    assert result["model"] == "transformer" and result["epochs"] == 2
