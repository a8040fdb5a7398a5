"""How far can combining models lift stance macro-F1 on validation?

    python benchmarks/stance_ceiling.py --model models/stance-minilm
    python benchmarks/stance_ceiling.py --model models/stance-minilm --model runs/other-run \\
        --baseline runs/baseline --knn 10

Issue 3 asks for stance macro-F1 0.08 above the TF-IDF baseline on the in-domain
validation comments. This prints, on those comments, the stance macro-F1 of the stacking
that ``stance train`` fits (per stance label a logistic regression over the logits of all
four stances), scored out of fold, for:

- each model folder given, stacked with its own TF-IDF part (the shipped recipe);
- the average of all the given transformers' calibrated logits, stacked the same way (a
  seed/recipe ensemble: it costs one encoder pass per model at inference);
- with ``--knn K``: the ensemble plus a nearest-neighbour vote: the labels of the K
  in-domain *training* comments closest to each comment in the first model's pooled
  embedding (cosine, softmax-weighted), as four more stacking features;

beside the baseline's own score and the target (baseline + 0.08) when ``--baseline`` is
given. Out of fold means each comment is predicted by a regression fitted on the other
folds; thresholds are then the F1-best ones on those predictions, as in ``stance train``.
Scores are averaged over ``--seeds`` fold assignments. Labels are silver standard.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from stance.baseline import TfidfBaseline
from stance.corpus import corpus_arrays, load_corpus
from stance.inference import predict_logits, window_outputs
from stance.labels import LABELS, STANCE_LABELS
from stance.model import load_model, mean_pool, proba_to_logits
from stance.training import STACKING_C, STACKING_FOLDS, best_thresholds, headline_scores, in_domain_rows

STANCE = [LABELS.index(label) for label in STANCE_LABELS]


def oof_stance_f1(features: np.ndarray, labels: np.ndarray, mask: np.ndarray, seeds: int) -> float:
    """Stance macro-F1 of per-label logistic regressions over ``features``, out of fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    scores = []
    for seed in range(seeds):
        proba = np.zeros(labels.shape)
        for j in STANCE:
            y = labels[:, j].astype(int)
            for fit_rows, held_out in StratifiedKFold(STACKING_FOLDS, shuffle=True,
                                                      random_state=seed).split(features, y):
                regression = LogisticRegression(C=STACKING_C, max_iter=1000)
                regression.fit(features[fit_rows], y[fit_rows])
                proba[held_out, j] = regression.predict_proba(features[held_out])[:, 1]
        scored = headline_scores(proba, labels, mask, best_thresholds(proba, labels, mask))
        scores.append(scored["stance_macro_f1"])
    return float(np.mean(scores))


def pooled_embeddings(model, texts: list[str]) -> np.ndarray:
    """Mean-pooled encoder states, averaged over a comment's windows, L2-normalised."""
    def pool(input_ids, attention_mask):
        states = model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(states, attention_mask)

    states, owners = window_outputs(model, texts, pool, model.encoder.config.hidden_size)
    pooled = np.zeros((len(texts), states.shape[1]), dtype=np.float32)
    np.add.at(pooled, owners, states)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)


def knn_features(query: np.ndarray, memory: np.ndarray, memory_labels: np.ndarray, k: int,
                 temperature: float = 0.05) -> np.ndarray:
    """Logit of the softmax-weighted share of positives among the k nearest memory rows."""
    similarity = query @ memory.T
    nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
    weights = np.exp(np.take_along_axis(similarity, nearest, axis=1) / temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    share = np.einsum("nk,nkl->nl", weights, memory_labels[nearest])
    return proba_to_logits(0.01 + 0.98 * share)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="runs/corpus", help="folder written by `stance build`")
    parser.add_argument("--model", action="append", required=True, help="model folder (repeatable)")
    parser.add_argument("--baseline", help="folder written by `stance baseline` (prints the target)")
    parser.add_argument("--knn", type=int, default=0, help="also add a K-nearest-neighbour vote")
    parser.add_argument("--seeds", type=int, default=3, help="fold assignments to average over")
    args = parser.parse_args()
    torch.set_num_threads(2)

    corpus = load_corpus(args.corpus)
    texts, labels, mask = corpus_arrays(corpus["validation"])
    rows = in_domain_rows(list(corpus["validation"]["source"]))
    texts, labels, mask = [texts[i] for i in rows], labels[rows], mask[rows]
    print(f"in-domain validation comments: {len(texts)}")

    if args.baseline:
        baseline = TfidfBaseline.from_pretrained(args.baseline)
        base = headline_scores(baseline.predict_proba(texts), labels, mask, np.asarray(baseline.thresholds))
        print(f"TF-IDF baseline (its own validation thresholds): {base['stance_macro_f1']:.3f}"
              f"  -> target {base['stance_macro_f1'] + 0.08:.3f}")

    models = [load_model(folder) for folder in args.model]
    calibrated, tfidf = [], []
    for folder, model in zip(args.model, models):
        calibrated.append((predict_logits(model, texts) / model.temperatures)[:, STANCE])
        tfidf.append(proba_to_logits(model.baseline.predict_proba(texts))[:, STANCE])
        print(f"{folder}: transformer + TF-IDF, stacked: "
              f"{oof_stance_f1(np.hstack([calibrated[-1], tfidf[-1]]), labels, mask, args.seeds):.3f}")
    # One TF-IDF part for the ensemble (the first model's); the runs' parts differ only in
    # which capped training rows they were fitted on.
    ensemble = np.hstack([np.mean(calibrated, axis=0), tfidf[0]])
    if len(models) > 1:
        print(f"average of {len(models)} transformers + TF-IDF, stacked: "
              f"{oof_stance_f1(ensemble, labels, mask, args.seeds):.3f}")
    if args.knn:
        train = corpus["train"]
        train_texts, train_labels, _ = corpus_arrays(train)
        train_rows = in_domain_rows(list(train["source"]))
        print(f"embedding {len(train_rows)} in-domain training comments for the neighbour vote ...")
        memory = pooled_embeddings(models[0], [train_texts[i] for i in train_rows])
        votes = knn_features(pooled_embeddings(models[0], texts), memory,
                             train_labels[train_rows][:, STANCE].astype(float), args.knn)
        print(f"... + {args.knn}-nearest-neighbour vote, stacked: "
              f"{oof_stance_f1(np.hstack([ensemble, votes]), labels, mask, args.seeds):.3f}")


if __name__ == "__main__":
    main()
