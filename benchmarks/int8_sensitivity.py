"""Which encoder layers can run in int8 without moving validation F1 beyond tolerance?

    python benchmarks/int8_sensitivity.py                  # runs/corpus, the shipped model
    python benchmarks/int8_sensitivity.py --corpus runs/corpus --model models/stance-minilm

Scores the in-domain validation comments with fp32 and then with torch dynamic int8
(per-channel weights) applied to one kind of linear layer at a time (and to all of them),
at the model's own thresholds and in batches as ``classify`` makes them, and prints the
change of each headline F1, the largest probability difference and comments/second.
``stance train`` records only the "all" row (``stance.json`` -> ``fast_path``); this
shows whether any subset would have passed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stance.corpus import corpus_arrays, load_corpus
from stance.inference import DEFAULT_BATCH_SIZE, INT8_TOLERANCE, LINEAR_LAYER_KINDS, int8_model
from stance.model import default_model_path, load_model
from stance.training import headline_scores, in_domain_rows

HEADLINES = ("stance_macro_f1", "toxic_f1", "subtype_macro_f1")
GROUPS = {"all": lambda name: True, **LINEAR_LAYER_KINDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="runs/corpus", help="folder written by `stance build`")
    parser.add_argument("--model", help="model folder (default: the shipped one)")
    args = parser.parse_args()

    model = load_model(args.model or default_model_path())
    validation = load_corpus(args.corpus)["validation"]
    texts, labels, mask = corpus_arrays(validation)
    rows = in_domain_rows(list(validation["source"]))
    texts, labels, mask = [texts[i] for i in rows], labels[rows], mask[rows]

    def score(scored_model):
        start = time.perf_counter()
        probabilities = scored_model.predict_proba(texts, batch_size=DEFAULT_BATCH_SIZE)
        rate = len(texts) / (time.perf_counter() - start)
        return probabilities, headline_scores(probabilities, labels, mask, model.thresholds), rate

    exact, exact_scores, exact_rate = score(model)
    print(f"{len(texts)} validation comments; fp32: " +
          ", ".join(f"{k} {exact_scores[k]:.4f}" for k in HEADLINES) + f"; {exact_rate:.1f} comments/s")
    print(f"int8 on | change of {' / '.join(HEADLINES)} | max |prob diff| | comments/s | within {INT8_TOLERANCE}?")
    for group, chosen in GROUPS.items():
        names = {name for name, module in model.encoder.named_modules()
                 if isinstance(module, torch.nn.Linear) and chosen(name)}
        probabilities, scores, rate = score(int8_model(model, names))
        changes = [scores[k] - exact_scores[k] for k in HEADLINES]
        ok = max(abs(c) for c in changes) <= INT8_TOLERANCE
        print(f"{group} | {' / '.join(f'{c:+.4f}' for c in changes)} | "
              f"{np.abs(probabilities - exact).max():.3f} | {rate:.1f} | {'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
