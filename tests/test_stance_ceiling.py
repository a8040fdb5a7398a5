"""The scoring pieces of benchmarks/stance_ceiling.py (the figures behind issue 3's note)."""

from __future__ import annotations

import importlib.util

import numpy as np

from stance.labels import LABELS

from .conftest import REPO_ROOT


def _benchmark():
    spec = importlib.util.spec_from_file_location("stance_ceiling", REPO_ROOT / "benchmarks" / "stance_ceiling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_knn_vote_follows_the_nearest_labels():
    ceiling = _benchmark()
    memory = np.eye(3, dtype=np.float32)
    memory_labels = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]], dtype=float)
    query = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]], dtype=np.float32)
    votes = ceiling.knn_features(query, memory, memory_labels, k=2)
    assert votes.shape == (2, 4)
    assert votes[0, 0] > 3 and votes[0, 1] < 0  # its own neighbour is pro_ukraine
    assert votes[1, 1] > 3 and votes[1, 0] < -3  # both neighbours are pro_russia
    assert np.all(votes[:, 2:] < -4)  # no neighbour has the label: the floor, not -inf


def test_out_of_fold_score_separates_informative_from_noise_features():
    ceiling = _benchmark()
    rng = np.random.default_rng(0)
    labels = (rng.random((300, len(LABELS))) < 0.3).astype(float)
    mask = np.ones_like(labels)
    stance = labels[:, :4]
    informative = np.where(stance > 0, 3.0, -3.0) + rng.normal(0, 0.5, stance.shape)
    noise = rng.normal(0, 1, stance.shape)
    assert ceiling.oof_stance_f1(informative, labels, mask, seeds=1) > 0.95
    assert ceiling.oof_stance_f1(noise, labels, mask, seeds=1) < 0.6
