"""``classify``: comments in, one row per comment out, with nine probabilities and decisions.

Speed on a CPU comes from batches of comments of similar length (sorted by token count,
then restored to input order) padded only to the batch's longest comment, the tokenizer's
batch mode, and no gradients. Comments longer than the model's window are scored over
overlapping windows and the maximum per label is kept, so nothing is silently cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .labels import LABELS
from .model import StanceModel, load_model, prepare_text

TEXT_COLUMNS = ("text", "comment", "comments", "Comment", "body")


def token_windows(model: StanceModel, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of every window ([CLS] body [SEP]) and the index of the text it belongs to."""
    tokenizer = model.tokenizer
    body = model.config.max_length - 2
    stride = min(model.config.window_stride, body)
    prepared = [prepare_text(text) for text in texts]
    encoded = tokenizer(prepared, add_special_tokens=False, truncation=False,
                        return_attention_mask=False, verbose=False)["input_ids"]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows: list[list[int]] = []
    owners: list[int] = []
    for index, ids in enumerate(encoded):
        starts = [0] if len(ids) <= body else list(range(0, len(ids) - body + stride, stride))
        for start in starts:
            windows.append([cls, *ids[start:start + body], sep])
            owners.append(index)
    return windows, np.asarray(owners, dtype=np.int64)


@torch.inference_mode()
def predict_logits(model: StanceModel, texts: Sequence[str], *, batch_size: int = 32,
                   progress: bool = False) -> np.ndarray:
    """Raw logits (n, 9): windows sorted by length, batched, then max per text and label."""
    model.eval()
    n_labels = len(model.labels)
    if not texts:
        return np.zeros((0, n_labels))
    windows, owners = token_windows(model, texts)
    order = np.argsort([len(w) for w in windows], kind="stable")
    window_logits = np.empty((len(windows), n_labels), dtype=np.float32)
    pad = model.tokenizer.pad_token_id or 0
    batches = range(0, len(order), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="classify", unit="batch")
    for start in batches:
        chosen = order[start:start + batch_size]
        longest = max(len(windows[i]) for i in chosen)
        ids = torch.full((len(chosen), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(chosen), longest), dtype=torch.long)
        for row, i in enumerate(chosen):
            ids[row, :len(windows[i])] = torch.tensor(windows[i])
            mask[row, :len(windows[i])] = 1
        window_logits[chosen] = model(ids, mask).float().numpy()
    logits = np.full((len(texts), n_labels), -np.inf, dtype=np.float32)
    np.maximum.at(logits, owners, window_logits)
    return logits


def _texts_of(comments) -> tuple[list[str], pd.DataFrame]:
    """The texts to score and the frame the results are joined onto (input index kept)."""
    if isinstance(comments, (str, Path)) and _is_path(comments):
        from .readers import read_comments

        frame = read_comments(comments)
        return _check_texts(frame["text"].tolist()), frame
    if isinstance(comments, str):
        return [comments], pd.DataFrame({"text": [comments]})
    if isinstance(comments, pd.DataFrame):
        column = next((c for c in TEXT_COLUMNS if c in comments.columns), None)
        if column is None:
            raise ValueError(f"the DataFrame has no text column ({', '.join(TEXT_COLUMNS)}); "
                             f"columns are {list(comments.columns)}")
        return _check_texts(comments[column].tolist()), comments.copy()
    if isinstance(comments, pd.Series):
        texts = _check_texts(comments.tolist())
        return texts, pd.DataFrame({"text": comments.to_numpy()}, index=comments.index)
    if isinstance(comments, Iterable):
        texts = _check_texts(list(comments))
        return texts, pd.DataFrame({"text": texts})
    raise TypeError(f"classify takes a string, strings, a Series, a DataFrame or a dump path, "
                    f"not {type(comments).__name__}")


def _is_path(value) -> bool:
    if isinstance(value, Path):
        return True
    return "\n" not in value and len(value) < 4096 and Path(value).is_file()


def _check_texts(items: list) -> list[str]:
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"comment at position {position} is {type(item).__name__} "
                            f"({item!r:.60}), not a string")
    return items


def classify(comments, *, model: StanceModel | str | Path | None = None, batch_size: int = 32,
             thresholds: dict[str, float] | Sequence[float] | None = None,
             progress: bool | None = None) -> pd.DataFrame:
    """Label comments with the nine labels.

    Args:
        comments: a string, an iterable of strings, a pandas Series, a DataFrame (from
            ``read_comments`` or any frame with a ``text`` column), or a path to a dump.
        model: a model folder, a loaded model, or None for the shipped default.
        batch_size: comments per forward pass.
        thresholds: decision thresholds to use instead of the model's (a {label: value}
            mapping, possibly partial, or nine values).
        progress: show a progress bar (default: when there are more than 2,000 comments).

    Returns:
        A DataFrame with one row per input comment, in input order (a DataFrame's own index
        and columns kept), plus ``<label>_prob`` (calibrated probability) and ``<label>``
        (bool) for each label. Empty or whitespace-only comments get 0 and False.
    """
    texts, frame = _texts_of(comments)
    loaded = model if isinstance(model, StanceModel) else load_model(model)
    cutoffs = _thresholds(loaded, thresholds)
    probabilities = np.zeros((len(texts), len(loaded.labels)))
    scored = [i for i, text in enumerate(texts) if text.strip()]
    if scored:
        show = progress if progress is not None else len(scored) > 2000
        probabilities[scored] = loaded.predict_proba([texts[i] for i in scored],
                                                     batch_size=batch_size, progress=show)
    for index, name in enumerate(loaded.labels):
        frame[f"{name}_prob"] = probabilities[:, index]
    for index, name in enumerate(loaded.labels):
        frame[name] = (probabilities[:, index] >= cutoffs[index]) & (probabilities[:, index] > 0)
    return frame


def _thresholds(model: StanceModel, override) -> np.ndarray:
    cutoffs = model.thresholds.copy()
    if override is None:
        return cutoffs
    if isinstance(override, dict):
        unknown = set(override) - set(model.labels)
        if unknown:
            raise ValueError(f"unknown label(s) in thresholds: {sorted(unknown)}; labels are {LABELS}")
        for name, value in override.items():
            cutoffs[model.labels.index(name)] = float(value)
        return cutoffs
    values = np.asarray(list(override), dtype=float)
    if values.shape != cutoffs.shape:
        raise ValueError(f"thresholds needs {len(cutoffs)} values, got {values.size}")
    return values
