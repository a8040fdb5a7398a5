"""The default model shipped in models/stance-minilm: one-call use and the documented recipe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import stance
from stance.labels import LABELS
from stance.model import default_model_path

FOLDER = default_model_path()
pytestmark = pytest.mark.skipif(not (FOLDER / "stance.json").is_file(),
                                reason=f"shipped model not found at {FOLDER}")
PROBS = [f"{n}_prob" for n in LABELS]


def test_classify_a_string_a_list_and_a_frame():
    one = stance.classify("Glory to Ukraine! Russia must leave every occupied town. 🇺🇦")
    assert len(one) == 1 and set(PROBS) <= set(one.columns)
    assert one["pro_ukraine_prob"].iloc[0] > one["pro_russia_prob"].iloc[0]
    texts = ["NATO provoked this war and Kyiv should accept Russia's terms.", "",
             "Talks resume on Monday in Geneva."]
    listed = stance.classify(texts)
    assert list(listed["text"]) == texts and not listed.loc[1, list(LABELS)].any()
    frame = pd.DataFrame({"text": texts, "who": ["a", "b", "c"]}, index=[7, 8, 9])
    framed = stance.classify(frame)
    assert list(framed.index) == [7, 8, 9] and list(framed["who"]) == ["a", "b", "c"]
    np.testing.assert_allclose(framed[PROBS].to_numpy(), listed[PROBS].to_numpy(), atol=1e-6)


def test_classify_the_seed_dump_path(shared_data):
    seed = shared_data / "seed" / "france24_berlin_talks.txt"
    with pytest.warns(UserWarning, match="30"):
        result = stance.classify(str(seed))
    assert len(result) == 14 and list(result["position"]) == list(range(14))
    assert result[PROBS].to_numpy().min() >= 0 and result[PROBS].to_numpy().max() <= 1


def test_documented_recipe_reproduces_classify():
    """README's plain-transformers lines + the documented combination (stacking for the
    stance labels, weighted average for the rest) give classify's numbers."""
    from .recipe import documented_combination, documented_probabilities

    folder = str(FOLDER)
    comments = ["Europe is a parasite living off American money", "Slava Ukraini 🇺🇦💪",
                "Putin decides everything, the losing side has no say."]
    assert json.loads((FOLDER / "stance.json").read_text())["stacking"]  # the path under test
    combined = documented_combination(folder, documented_probabilities(folder, comments), comments)
    result = stance.classify(comments, fast=False)
    np.testing.assert_allclose(result[PROBS].to_numpy(), combined, atol=1e-5)


def test_folder_is_a_standard_hugging_face_folder():
    config = json.loads((FOLDER / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(9)] == list(LABELS)
    size = sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file())
    assert size <= 100 * 1024 * 1024
    card = (FOLDER / "README.md").read_text()
    for section in ("Training data", "Validation metrics", "Limits", "stance train"):
        assert section in card
    record = json.loads((FOLDER / "stance.json").read_text())["fast_path"]
    # int8 is used by default only where its validation check passed
    assert record["int8_ok"] == (record["largest_f1_change"] <= record["tolerance"])
