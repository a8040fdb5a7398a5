"""Model, training and classify with a tiny randomly initialised encoder (fast, no real weights
needed except the real tokenizer)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from stance.labels import LABELS
from stance.model import StanceConfig, StanceModel, base_encoder_path, load_model
from stance.training import best_thresholds, masked_bce, train

PATTERNS = [  # (text template, codes as nine 0/1) — our own synthetic comments
    ("Glory to Ukraine, send them more air defence {}", [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("Russia is right, NATO provoked this war {}", [0, 1, 0, 0, 0, 0, 0, 0, 0]),
    ("Brussels bureaucrats are useless again {}", [0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ("Washington only wants this war for profit {}", [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ("you are a stupid clown {}", [0, 0, 0, 0, 1, 1, 0, 0, 0]),
    ("talks resume on monday in geneva {}", [0] * 9),
]


def tiny_encoder_folder(tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    folder = tmp_path / "tiny-encoder"
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def synthetic_corpus(n_per_pattern: int = 12, masked_source: bool = False):
    import datasets

    from stance.corpus import corpus_features

    def rows(offset):
        out = {k: [] for k in ("id", "text", "source", "video_id", "outlet", "labels", "label_mask")}
        for p, (template, labels) in enumerate(PATTERNS):
            for i in range(n_per_pattern):
                out["id"].append(f"s-{offset}-{p}-{i}")
                out["text"].append(template.format(i + offset))
                out["source"].append("youtube_war")
                out["video_id"].append(None)
                out["outlet"].append(None)
                out["labels"].append(labels)
                out["label_mask"].append([1] * 9)
        return out

    features = corpus_features()
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(rows(0), features=features),
        "validation": datasets.Dataset.from_dict(rows(1000), features=features),
        "test": datasets.Dataset.from_dict(rows(2000), features=features),
    })


@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    encoder = tiny_encoder_folder(tmp)
    out = train(synthetic_corpus(), tmp / "model", base_model=encoder, epochs=4, batch_size=8,
                learning_rate=1e-3, max_length=32, progress=False, seed=1, baseline_blend=False)
    return out


def test_masked_labels_do_not_affect_the_loss():
    torch.manual_seed(0)
    logits = torch.randn(4, 9)
    labels = torch.randint(0, 2, (4, 9)).float()
    mask = torch.ones(4, 9)
    mask[:, 0] = 0
    mask[2] = 0
    changed = labels.clone()
    changed[:, 0] = 1 - changed[:, 0]
    changed[2] = 1 - changed[2]
    assert torch.allclose(masked_bce(logits, labels, mask), masked_bce(logits, changed, mask))
    assert not torch.allclose(masked_bce(logits, labels, torch.ones(4, 9)),
                              masked_bce(logits, changed, torch.ones(4, 9)))


def test_training_lowers_the_loss_and_writes_a_standard_folder(tiny_model_folder):
    info = json.loads((tiny_model_folder / "stance.json").read_text())
    history = info["training"]["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    config = json.loads((tiny_model_folder / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(9)] == list(LABELS)
    for name in ("model.safetensors", "head.safetensors", "tokenizer.json", "README.md"):
        assert (tiny_model_folder / name).is_file(), name
    assert not list(tiny_model_folder.glob("*.bin")) and not list(tiny_model_folder.glob("*.pkl"))
    card = (tiny_model_folder / "README.md").read_text()
    assert "Validation metrics" in card and "Limits" in card and "English only" in card


def test_same_seed_same_metrics(tmp_path, tiny_model_folder):
    encoder = tiny_encoder_folder(tmp_path)
    kwargs = dict(base_model=encoder, epochs=1, batch_size=8, learning_rate=1e-3, max_length=32,
                  progress=False, seed=7, baseline_blend=False)
    a = train(synthetic_corpus(4), tmp_path / "a", **kwargs)
    b = train(synthetic_corpus(4), tmp_path / "b", **kwargs)
    va = json.loads((a / "stance.json").read_text())["training"]["history"]
    vb = json.loads((b / "stance.json").read_text())["training"]["history"]
    assert va == vb


def test_refuses_to_replace_a_model_unless_asked(tmp_path, tiny_model_folder):
    with pytest.raises(FileExistsError):
        train(synthetic_corpus(2), tiny_model_folder, base_model=tiny_model_folder, epochs=1,
              progress=False, baseline_blend=False)


def test_retraining_from_a_model_folder(tmp_path, tiny_model_folder):
    out = train(synthetic_corpus(2), tmp_path / "retrained", base_model=tiny_model_folder,
                epochs=1, max_steps=2, progress=False, baseline_blend=False)
    info = json.loads((out / "stance.json").read_text())
    assert info["training"]["base_model"] == str(tiny_model_folder)
    assert info["max_length"] == 128 or info["max_length"] == 32


def test_save_load_identical_probabilities(tmp_path, tiny_model_folder):
    model = StanceModel.from_pretrained(tiny_model_folder)
    texts = ["Glory to Ukraine 5", "you are a stupid clown 3", "🇺🇦💪 slava"]
    before = model.predict_proba(texts)
    model.save_pretrained(tmp_path / "copy")
    after = StanceModel.from_pretrained(tmp_path / "copy").predict_proba(texts)
    np.testing.assert_allclose(before, after, rtol=0, atol=1e-6)


def test_thresholds_come_from_validation(tiny_model_folder):
    from stance.corpus import corpus_arrays

    model = StanceModel.from_pretrained(tiny_model_folder)
    texts, labels, mask = corpus_arrays(synthetic_corpus()["validation"])
    probabilities = model.predict_proba(texts)
    np.testing.assert_allclose(model.thresholds, best_thresholds(probabilities, labels, mask), atol=1e-6)


def test_plain_transformers_lines_reproduce_probabilities(tiny_model_folder):
    """The lines documented in the model card (and README) give classify's probabilities."""
    import stance

    from .recipe import documented_probabilities

    comments = ["Russia is right, NATO provoked this war 7", "Slava Ukraini 🇺🇦!", "talks on monday"]
    probs = documented_probabilities(str(tiny_model_folder), comments)
    result = stance.classify(comments, model=tiny_model_folder, fast=False)
    np.testing.assert_allclose(result[[f"{n}_prob" for n in LABELS]].to_numpy(), probs, atol=1e-5)


def test_classify_keeps_order_index_and_rows_for_every_input_kind(tiny_model_folder, tmp_path):
    import stance

    model = load_model(tiny_model_folder)
    texts = ["Glory to Ukraine 1", "", "Russia is right 2", "   ", "clown 4"]
    reference = stance.classify(texts, model=model)
    assert len(reference) == 5 and list(reference["text"]) == texts
    assert reference.loc[[1, 3], [f"{n}_prob" for n in LABELS]].to_numpy().sum() == 0
    assert not reference.loc[[1, 3], list(LABELS)].to_numpy().any()
    series = pd.Series(texts, index=[50, 40, 30, 20, 10])
    out = stance.classify(series, model=model)
    assert list(out.index) == [50, 40, 30, 20, 10]
    np.testing.assert_allclose(out["toxic_prob"].to_numpy(), reference["toxic_prob"].to_numpy(), atol=1e-6)
    frame = pd.DataFrame({"text": texts, "extra": range(5)}, index=list("abcde"))
    out = stance.classify(frame, model=model)
    assert list(out.index) == list("abcde") and list(out["extra"]) == list(range(5))
    single = stance.classify("Glory to Ukraine 1", model=model)
    assert len(single) == 1
    np.testing.assert_allclose(single["pro_ukraine_prob"].iloc[0], reference["pro_ukraine_prob"].iloc[0], atol=1e-6)
    generator = stance.classify((t for t in texts), model=model)
    assert len(generator) == 5
    dump = tmp_path / "dump.txt"
    dump.write_text("\n".join(t for t in texts if t.strip()) + "\n")
    from_path = stance.classify(str(dump), model=model)
    assert len(from_path) == 3 and "comment_id" in from_path.columns
    for name in LABELS:
        assert out[name].dtype == bool and out[f"{name}_prob"].between(0, 1).all()


def test_bad_items_raise_with_their_position(tiny_model_folder):
    import stance

    with pytest.raises(TypeError, match="position 2"):
        stance.classify(["ok", "fine", 3.5], model=tiny_model_folder)
    with pytest.raises(ValueError, match="no text column"):
        stance.classify(pd.DataFrame({"x": ["a"]}), model=tiny_model_folder)
    with pytest.raises(ValueError, match="unknown label"):
        stance.classify(["a"], model=tiny_model_folder, thresholds={"pro_mars": 0.5})


def test_threshold_override(tiny_model_folder):
    import stance

    out = stance.classify(["Glory to Ukraine 1"] * 2, model=tiny_model_folder,
                          thresholds={"pro_ukraine": 0.0, "toxic": 1.01})
    assert out["pro_ukraine"].all() and not out["toxic"].any()


def test_long_comments_are_scored_over_windows(tiny_model_folder):
    from stance.inference import predict_logits, token_windows

    model = StanceModel.from_pretrained(tiny_model_folder)
    model.config = StanceConfig(**{**model.config.__dict__, "max_length": 16, "window_stride": 8})
    short = "talks resume on monday in geneva"
    long_text = " ".join([short] * 6) + " you are a stupid clown"
    windows, owners = token_windows(model, [short, long_text])
    assert (owners == 0).sum() == 1 and (owners == 1).sum() > 3
    assert all(len(w) <= 16 for w in windows)
    # the last window reaches the end of the long comment
    tail = model.tokenizer("you are a stupid clown", add_special_tokens=False)["input_ids"]
    assert windows[-1][-1 - len(tail):-1] == tail
    # the long comment's logits are the maximum over its windows
    logits = predict_logits(model, [long_text])
    per_window = []
    for w in windows[1:]:
        ids = torch.tensor([w])
        with torch.no_grad():
            per_window.append(model(ids, torch.ones_like(ids)).numpy()[0])
    np.testing.assert_allclose(logits[0], np.max(per_window, axis=0), atol=1e-5)


def test_weight_average_is_scored_each_epoch_and_follows_the_weights(tmp_path):
    from stance.training import WeightAverage

    layer = torch.nn.Linear(2, 1)
    average = WeightAverage(layer, decay=0.5)
    start = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(2.0)
    average.update(layer)
    # half the old weights plus half the new ones
    torch.testing.assert_close(average.state["weight"], start + 1.0)

    encoder = tiny_encoder_folder(tmp_path)
    out = train(synthetic_corpus(4), tmp_path / "ema", base_model=encoder, epochs=2, batch_size=8,
                learning_rate=1e-3, max_length=32, progress=False, seed=3, baseline_blend=False,
                ema_decay=0.9)
    training = json.loads((out / "stance.json").read_text())["training"]
    assert [(h["epoch"], h["weights"]) for h in training["history"]] == [
        (1, "trained"), (1, "averaged"), (2, "trained"), (2, "averaged")]
    assert training["best_weights"] in ("trained", "averaged")
    assert "| averaged |" in (out / "README.md").read_text()


def test_stacking_is_fitted_out_of_fold_and_used_by_the_saved_model(tmp_path):
    from stance.training import STACKED_LABELS, calibrate

    encoder = tiny_encoder_folder(tmp_path)
    out = train(synthetic_corpus(12), tmp_path / "stacked", base_model=encoder, epochs=1, batch_size=8,
                learning_rate=1e-3, max_length=32, progress=False, seed=2, check_fast_path=False)
    model = StanceModel.from_pretrained(out)
    assert set(model.config.stacking) == set(STACKED_LABELS)
    stack = model.config.stacking["pro_russia"]
    assert len(stack["coef"]) == len(stack["features"]) == 8

    # classify's probabilities for a stacked label are the documented regression
    texts = ["Russia is right, NATO provoked this war 77", "talks resume on monday in geneva 5"]
    from stance.inference import predict_logits
    from stance.model import logits_to_proba, proba_to_logits

    transformer = logits_to_proba(predict_logits(model, texts), model.temperatures)
    baseline = model.baseline.predict_proba(texts)
    columns = {"transformer": transformer, "baseline": baseline}
    features = np.stack([proba_to_logits(columns[name.split(":")[0]][:, LABELS.index(name.split(":")[1])])
                         for name in stack["features"]], axis=1)
    expected = 1 / (1 + np.exp(-(features @ np.array(stack["coef"]) + stack["intercept"])))
    np.testing.assert_allclose(model.predict_proba(texts)[:, LABELS.index("pro_russia")], expected, atol=1e-9)

    # calibrate refits the same stage from the saved weights: same stacking and thresholds
    again = calibrate(out, synthetic_corpus(12), tmp_path / "again", progress=False, check_fast_path=False)
    refit = StanceModel.from_pretrained(again)
    np.testing.assert_allclose(refit.thresholds, model.thresholds, atol=1e-4)
    np.testing.assert_allclose(refit.config.stacking["pro_russia"]["coef"], stack["coef"], atol=1e-4)
    with pytest.raises(FileExistsError):
        calibrate(out, synthetic_corpus(12), again, progress=False, check_fast_path=False)


def test_stacking_scores_validation_out_of_fold():
    from stance.training import fit_stacking

    rng = np.random.default_rng(0)
    n = 200
    labels = rng.integers(0, 2, size=(n, 9))
    mask = np.ones((n, 9))
    noisy = np.clip(labels * 0.6 + rng.uniform(0, 0.4, size=(n, 9)), 0.01, 0.99)
    transformer, baseline = noisy, rng.uniform(0.01, 0.99, size=(n, 9))  # the baseline: noise
    stacking, scored = fit_stacking(transformer, baseline, labels, mask, np.arange(n))
    assert set(stacking) == {"pro_ukraine", "pro_russia", "anti_europe", "anti_us"}
    from stance.model import stacked_proba

    in_sample = stacked_proba(stacking["pro_ukraine"], LABELS, transformer, baseline)
    # out-of-fold predictions come from other regressions than the final one ...
    assert not np.allclose(scored[:, 0], in_sample)
    # ... and labels not stacked keep the probabilities given
    np.testing.assert_array_equal(scored[:, 4:], transformer[:, 4:])


def test_card_command_adds_evaluation_reports(tmp_path, tiny_model_folder):
    import shutil

    from stance.baseline import TfidfBaseline
    from stance.cli import main
    from stance.corpus import corpus_arrays
    from stance.evaluation import evaluate

    corpus = synthetic_corpus(4)
    texts, labels, mask = corpus_arrays(corpus["train"])
    baseline = TfidfBaseline().fit(texts, labels.astype(int), mask.astype(int), progress=False)
    folder = shutil.copytree(tiny_model_folder, tmp_path / "model")
    report = tmp_path / "report-test"
    result = evaluate(str(folder), corpus, split="test", output_dir=report, baseline=baseline,
                      n_bootstrap=20, reference_toxic=False, progress=False)
    assert main(["card", str(folder), "--report", f"test={report}"]) == 0
    card = (folder / "README.md").read_text()
    assert "## Evaluation with `stance evaluate`" in card and "### test (" in card
    stance_f1 = result.metrics["headline"]["stance_macro_f1"]["value"]
    baseline_f1 = result.metrics["baseline"]["headline"]["stance_macro_f1"]["value"]
    assert f"| stance macro-F1 (U R E A) | {stance_f1:.3f} |" in card
    assert f"| {baseline_f1:.3f} |" in card
    with pytest.raises(SystemExit, match="SPLIT=FOLDER"):
        main(["card", str(folder), "--report", str(report)])
