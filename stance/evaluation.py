"""Evaluate a model (or ready-made predictions) against labelled comments.

Every score comes from scikit-learn. Labels are scored only on the rows where they are
known (``label_mask`` 1): most corpora annotate only some of the nine labels, and a
masked cell is "unknown", not "negative".

:func:`evaluate` returns an :class:`EvaluationResult` (metrics dict + predictions table)
and, given ``output_dir``, writes the report folder (see :mod:`stance.report`).
:func:`cross_validate` runs grouped k-fold cross-validation for small corpora.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import (average_precision_score, brier_score_loss, classification_report,
                             f1_score, multilabel_confusion_matrix,
                             precision_recall_fscore_support, roc_auc_score)

from .labels import LABELS, STANCE_LABELS, SUBTYPE_LABELS, LabelCodeError, parse_codes

N_LABELS = len(LABELS)
HEADLINES: dict[str, tuple[str, ...]] = {
    "stance_macro_f1": STANCE_LABELS,
    "toxicity_subtype_macro_f1": SUBTYPE_LABELS,
    "toxic_f1": ("toxic",),
}
LENGTH_BANDS: tuple[tuple[str, int, float], ...] = (
    ("<50", 0, 50), ("50-150", 50, 150), ("150-400", 150, 400), (">400", 400, np.inf))
SLICE_COLUMNS = ("source", "video_id", "outlet")
CALIBRATION_BINS = 10
SCHEMA = "stance-evaluation/1"


# ---------------------------------------------------------------------------- results
@dataclass
class EvaluationResult:
    """What :func:`evaluate` found.

    ``metrics``: every number, JSON-ready (see ``metrics.json`` in the report folder).
    ``predictions``: one row per evaluated comment: id, text, slicing columns, and per
    label ``L_true`` (nullable, NA where masked), ``L_prob``, ``L`` (decision), plus
    ``baseline_L_prob`` / ``baseline_L`` and ``reference_toxic_prob`` when compared.
    ``errors``: the most confident false positives and negatives per label, with text.
    """

    metrics: dict[str, Any]
    predictions: pd.DataFrame
    output_dir: Path | None = None
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)

    def headline(self) -> dict[str, float | None]:
        return {name: value["value"] for name, value in self.metrics["headline"].items()}


@dataclass
class _Data:
    """Labelled comments in a normal form."""

    frame: pd.DataFrame  # id, text and the slicing/grouping columns present
    labels: np.ndarray  # (n, 9) int8, 0 where masked
    mask: np.ndarray  # (n, 9) int8
    info: dict[str, Any]

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].tolist()


@dataclass
class _Scored:
    """Probabilities and decisions of one system on the evaluated rows."""

    probs: np.ndarray  # (n, 9)
    decisions: np.ndarray  # (n, 9) bool
    thresholds: np.ndarray  # (9,)
    info: dict[str, Any]


# ---------------------------------------------------------------------------- data
def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False)
    if suffix == ".json":
        return pd.read_json(path, dtype=False)
    if suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"{path}: unsupported file type {suffix!r} "
                     "(use a corpus folder, .jsonl, .json, .csv, .tsv or .parquet)")


def _as_number(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return None if pd.isna(value) else value


def _label_matrix(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and mask from a `labels` list column, a `codes` column, or nine label columns
    (in that order of preference)."""
    n = len(frame)
    mask = np.ones((n, N_LABELS), dtype=np.int8)
    if "labels" in frame.columns:
        values = frame["labels"].tolist()
        y = np.zeros((n, N_LABELS), dtype=np.int8)
        for i, row in enumerate(values):
            row = np.asarray(row)
            if row.shape != (N_LABELS,) or not np.isin(row, (0, 1)).all():
                raise ValueError(f"{where}: row {i} (id {frame['id'].iloc[i]!r}): `labels` must "
                                 f"be nine 0/1 values in LABELS order, got {row.tolist()!r}")
            y[i] = row
    elif "codes" in frame.columns:
        # Before the nine columns: a classified table also has L columns (its decisions).
        y = np.zeros((n, N_LABELS), dtype=np.int8)
        for i, codes in enumerate(frame["codes"].tolist()):
            if not isinstance(codes, str) and pd.isna(codes):
                mask[i] = 0  # an unlabelled row: every label unknown
                continue
            try:
                y[i] = parse_codes(codes)
            except LabelCodeError as error:
                raise LabelCodeError(f"{where}: row {i} (id {frame['id'].iloc[i]!r}): "
                                     f"{error}") from error
    elif all(name in frame.columns for name in LABELS):
        y = np.zeros((n, N_LABELS), dtype=np.int8)
        for j, name in enumerate(LABELS):
            column = pd.to_numeric(frame[name].map(_as_number), errors="coerce")
            bad = frame[name].notna() & (column.isna() | ~column.isin([0, 1]))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(f"{where}: row {i} (id {frame['id'].iloc[i]!r}): label column "
                                 f"{name!r} must be 0/1 (or empty when unknown), got "
                                 f"{frame[name].iloc[i]!r}")
            known = column.notna().to_numpy()
            mask[:, j] &= known.astype(np.int8)  # empty cell = label unknown
            y[known, j] = column[known].astype(int).to_numpy()
    else:
        raise ValueError(f"{where}: no labels found: need a `labels` column (nine 0/1), the "
                         f"nine label columns ({', '.join(LABELS)}) or a `codes` column")
    if "label_mask" in frame.columns:
        for i, row in enumerate(frame["label_mask"].tolist()):
            row = np.asarray(row)
            if row.shape != (N_LABELS,) or not np.isin(row, (0, 1)).all():
                raise ValueError(f"{where}: row {i} (id {frame['id'].iloc[i]!r}): `label_mask` "
                                 f"must be nine 0/1 values, got {row.tolist()!r}")
            mask[i] &= row.astype(np.int8)
    else:
        for j, name in enumerate(LABELS):
            if f"{name}_mask" in frame.columns:
                mask[:, j] &= frame[f"{name}_mask"].fillna(0).astype(int).to_numpy().astype(np.int8)
    return y * mask, mask


def _normalise_frame(frame: pd.DataFrame, where: str,
                     keep_columns: Sequence[str] = ()) -> _Data:
    frame = frame.copy()
    if "text" not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise ValueError(f"{where}: no `text` column (columns: {columns})")
    if "id" not in frame.columns:
        frame["id"] = (frame["comment_id"] if "comment_id" in frame.columns
                       else [str(index) for index in frame.index])
    if "video_id" not in frame.columns and "video" in frame.columns:
        frame["video_id"] = frame["video"]  # youtube_war files call it `video`
    bad_text = frame["text"].map(lambda t: not isinstance(t, str))
    if bad_text.any():
        i = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise ValueError(f"{where}: row {i} (id {frame['id'].iloc[i]!r}): text is "
                         f"{frame['text'].iloc[i]!r}, expected a string")
    y, mask = _label_matrix(frame, where)
    wanted = (*SLICE_COLUMNS, "split", *keep_columns)
    keep = ["id", "text"] + list(dict.fromkeys(c for c in wanted
                                               if c in frame.columns and c not in ("id", "text")))
    out = frame[keep].reset_index(drop=True)
    out["id"] = out["id"].astype(str)
    return _Data(out, y, mask, {"n_rows": len(out)})


def _load_data(data: Any, split: str | Sequence[str] | None,
               keep_columns: Sequence[str] = ()) -> _Data:
    """Normalise a DatasetDict, Dataset, DataFrame, corpus folder or table file.

    ``split``: which split of a DatasetDict (a name, several names, or None for all).
    ``keep_columns``: extra columns to keep beside id, text and the slicing columns.
    """
    info: dict[str, Any] = {"path": None, "split": None}
    if isinstance(data, (str, Path)):
        path = Path(data)
        info["path"] = str(path)
        if path.is_dir():
            from .corpus import load_corpus  # written by the lead; imported only when needed
            data = load_corpus(path)
        elif path.is_file():
            result = _normalise_frame(_read_table(path), str(path), keep_columns)
            result.info.update(info)
            return result
        else:
            raise FileNotFoundError(f"evaluation data not found: {path}")
    if isinstance(data, pd.DataFrame):
        result = _normalise_frame(data, "data", keep_columns)
        result.info.update(info)
        return result
    try:
        from datasets import Dataset, DatasetDict
    except ImportError:  # pragma: no cover - datasets is a dependency
        Dataset = DatasetDict = None  # type: ignore[assignment,misc]
    if DatasetDict is not None and isinstance(data, DatasetDict):
        names = list(data) if split is None else [split] if isinstance(split, str) else list(split)
        missing = [name for name in names if name not in data]
        if missing:
            raise KeyError(f"corpus has no split {missing[0]!r} (splits: {', '.join(data)})")
        frames = []
        for name in names:
            frame = data[name].to_pandas()
            frame["split"] = name
            frames.append(frame)
        info["split"] = names[0] if len(names) == 1 else names
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        result = _normalise_frame(frame, f"split {info['split']}", keep_columns)
        result.info.update(info)
        return result
    if Dataset is not None and isinstance(data, Dataset):
        result = _normalise_frame(data.to_pandas(), "dataset", keep_columns)
        result.info.update(info)
        return result
    raise TypeError(f"cannot evaluate on {type(data).__name__}: pass a DatasetDict, Dataset, "
                    "DataFrame, corpus folder or table file")


# ---------------------------------------------------------------------------- models
def _model_kind(model: Any) -> str:
    from .baseline import TfidfBaseline

    if isinstance(model, TfidfBaseline):
        return "tfidf-logistic"
    if hasattr(model, "encoder") and hasattr(model, "tokenizer"):
        return "transformer"  # stance.model.StanceModel
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    return str(model_type) if model_type else type(model).__name__


def _load_model_folder(path: Path) -> tuple[Any, str]:
    config_path = path / "config.json"
    model_type = None
    if config_path.is_file():
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    if model_type == "tfidf-logistic":
        from .baseline import TfidfBaseline

        return TfidfBaseline.from_pretrained(path), "tfidf-logistic"
    from .model import load_model  # written by the lead; imported only when needed

    return load_model(path), str(model_type or "transformer")


def _score_system(model: Any, data: _Data, thresholds: Sequence[float] | None,
                  role: str) -> _Scored:
    """Run (or read) a system's probabilities for the evaluated rows."""
    given = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if given is not None and given.shape != (N_LABELS,):
        raise ValueError(f"thresholds must be {N_LABELS} numbers in LABELS order, "
                         f"got shape {given.shape}")
    info: dict[str, Any] = {"name": None, "type": None, "path": None}
    if isinstance(model, (str, Path)):
        path = Path(model)
        info["path"] = info["name"] = str(path)
        if path.is_file():
            model = _read_table(path)
        elif path.is_dir():
            model, info["type"] = _load_model_folder(path)
        else:
            raise FileNotFoundError(f"{role} not found: {path}")
    elif model is None:
        from .model import load_model  # the shipped default model

        model = load_model()
        info["name"], info["type"] = "default (models/stance-minilm)", _model_kind(model)
    if isinstance(model, pd.DataFrame):
        return _scored_from_frame(model, data, given, info, role)
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"{role} must have predict_proba(texts), or be a predictions DataFrame "
                        f"or a folder; got {type(model).__name__}")
    info["type"] = info["type"] or _model_kind(model)
    where = (getattr(model, "source_path", None) or getattr(model, "name_or_path", None)
             or getattr(model, "path", None))
    info["path"] = info["path"] or (str(where) if where else None)
    info["name"] = info["name"] or str(where or type(model).__name__)
    probs = np.asarray(model.predict_proba(data.texts), dtype=np.float64)
    if probs.shape != (len(data.texts), N_LABELS):
        raise ValueError(f"{role}.predict_proba returned shape {probs.shape}, expected "
                         f"({len(data.texts)}, {N_LABELS})")
    labels = tuple(getattr(model, "labels", LABELS))
    if labels != LABELS:
        raise ValueError(f"{role} labels {labels} differ from {LABELS}")
    model_thresholds = getattr(model, "thresholds", None)
    if given is not None:
        chosen, source = given, "given"
    elif model_thresholds is not None:
        chosen, source = np.asarray(model_thresholds, dtype=np.float64), "model"
    else:
        chosen, source = np.full(N_LABELS, 0.5), "default 0.5"
    info["threshold_source"] = source
    return _Scored(probs, probs >= chosen, chosen, info)


def _scored_from_frame(frame: pd.DataFrame, data: _Data, given: np.ndarray | None,
                       info: dict[str, Any], role: str) -> _Scored:
    missing = [f"{name}_prob" for name in LABELS if f"{name}_prob" not in frame.columns]
    if missing:
        raise ValueError(f"{role} predictions lack column(s) {', '.join(missing)}")
    id_column = next((c for c in ("id", "comment_id") if c in frame.columns), None)
    if id_column is not None:
        ids = frame[id_column].astype(str)
        if ids.duplicated().any():
            raise ValueError(f"{role} predictions repeat id {ids[ids.duplicated()].iloc[0]!r}")
        position = pd.Series(np.arange(len(frame)), index=ids.to_numpy())
        absent = ~data.frame["id"].isin(position.index)
        if absent.any():
            i = int(np.flatnonzero(absent.to_numpy())[0])
            raise ValueError(f"{role} predictions have no row for id {data.frame['id'].iloc[i]!r} "
                             f"(data row {i})")
        frame = frame.iloc[position.loc[data.frame["id"]].to_numpy()].reset_index(drop=True)
    elif len(frame) != len(data.frame):
        raise ValueError(f"{role} predictions have {len(frame)} rows but the data has "
                         f"{len(data.frame)}; add an `id` column to align them")
    probs = frame[[f"{name}_prob" for name in LABELS]].to_numpy(dtype=np.float64)
    if np.isnan(probs).any():
        i, j = np.argwhere(np.isnan(probs))[0]
        raise ValueError(f"{role} predictions: {LABELS[j]}_prob is missing in row {i}")
    attrs_thresholds = frame.attrs.get("thresholds") if hasattr(frame, "attrs") else None
    has_decisions = all(name in frame.columns for name in LABELS)
    if given is not None:
        thresholds, decisions, source = given, probs >= given, "given"
    elif attrs_thresholds is not None:
        thresholds = np.asarray(attrs_thresholds, dtype=np.float64)
        decisions, source = probs >= thresholds, "table attrs"
    elif has_decisions:
        # The table's own decisions (made at thresholds we do not know); 0.5 is reported.
        thresholds = np.full(N_LABELS, 0.5)
        decisions = frame[list(LABELS)].astype(bool).to_numpy()
        source = "decisions from the L columns; thresholds unknown (0.5 reported)"
    else:
        thresholds = np.full(N_LABELS, 0.5)
        decisions, source = probs >= thresholds, "default 0.5"
    info["type"] = info["type"] or "predictions table"
    info["name"] = info["name"] or "predictions DataFrame"
    info["threshold_source"] = source
    return _Scored(probs, decisions, thresholds, info)


# ---------------------------------------------------------------------------- scoring
def _nanmean(values: Sequence[float]) -> float:
    array = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(array)) if np.isfinite(array).any() else float("nan")


def _binary_scores(y: np.ndarray, decision: np.ndarray) -> tuple[float, float, float]:
    if y.size == 0:
        return (float("nan"),) * 3
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, decision.astype(int), average="binary", pos_label=1, zero_division=np.nan)
    return float(precision), float(recall), float(f1)


def _f1(y: np.ndarray, decision: np.ndarray) -> float:
    if y.size == 0:
        return float("nan")
    return float(f1_score(y, decision.astype(int), zero_division=np.nan))


def _ranking_scores(y: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and average precision; NaN when the known rows lack a class."""
    if y.size == 0 or y.min() == y.max():
        auc = float("nan")
    else:
        auc = float(roc_auc_score(y, prob))
    ap = float(average_precision_score(y, prob)) if y.sum() > 0 else float("nan")
    return auc, ap


def _calibration(y: np.ndarray, prob: np.ndarray) -> dict[str, Any]:
    """Reliability diagram data (10 equal-width bins), expected calibration error, Brier."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    if y.size == 0:
        return {"ece": float("nan"), "brier": float("nan"),
                "reliability": {"bin_lower": edges[:-1].tolist(), "bin_upper": edges[1:].tolist(),
                                "count": [0] * CALIBRATION_BINS,
                                "mean_predicted": [None] * CALIBRATION_BINS,
                                "fraction_positive": [None] * CALIBRATION_BINS}}
    index = np.clip((prob * CALIBRATION_BINS).astype(int), 0, CALIBRATION_BINS - 1)
    counts, mean_pred, frac_pos = [], [], []
    ece = 0.0
    for b in range(CALIBRATION_BINS):
        in_bin = index == b
        count = int(in_bin.sum())
        counts.append(count)
        if count:
            confidence, accuracy = float(prob[in_bin].mean()), float(y[in_bin].mean())
            mean_pred.append(confidence)
            frac_pos.append(accuracy)
            ece += count / y.size * abs(accuracy - confidence)
        else:
            mean_pred.append(None)
            frac_pos.append(None)
    return {"ece": float(ece), "brier": float(brier_score_loss(y, prob, pos_label=1)),
            "reliability": {"bin_lower": edges[:-1].tolist(), "bin_upper": edges[1:].tolist(),
                            "count": counts, "mean_predicted": mean_pred,
                            "fraction_positive": frac_pos}}


def _per_label(y: np.ndarray, mask: np.ndarray, scored: _Scored) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(LABELS):
        known = mask[:, j].astype(bool)
        y_j, p_j, d_j = y[known, j], scored.probs[known, j], scored.decisions[known, j]
        precision, recall, f1 = _binary_scores(y_j, d_j)
        auc, ap = _ranking_scores(y_j, p_j)
        if y_j.size:
            cm = multilabel_confusion_matrix(y_j, d_j.astype(int), labels=[1])[0]
        else:
            cm = np.zeros((2, 2), dtype=int)
        half_p, half_r, half_f1 = _binary_scores(y_j, p_j >= 0.5)
        out[name] = {
            "precision": precision, "recall": recall, "f1": f1,
            "support": int(y_j.sum()), "n_known": int(known.sum()),
            "n_predicted": int(d_j.sum()),
            "roc_auc": auc, "average_precision": ap,
            "threshold": float(scored.thresholds[j]),
            "f1_at_threshold": f1, "f1_at_0.5": half_f1,
            "precision_at_0.5": half_p, "recall_at_0.5": half_r,
            # sklearn layout: [[tn, fp], [fn, tp]]
            "confusion_matrix": cm.astype(int).tolist(),
            **_calibration(y_j, p_j),
        }
    return out


def _headlines(per_label_f1: dict[str, float]) -> dict[str, float]:
    return {name: _nanmean([per_label_f1[label] for label in labels])
            for name, labels in HEADLINES.items()}


def _averages_all_known(y: np.ndarray, mask: np.ndarray, scored: _Scored) -> dict[str, Any]:
    """micro / macro / weighted / samples averages on the rows where all nine are known."""
    full = mask.all(axis=1)
    out: dict[str, Any] = {"n_rows": int(full.sum())}
    if not full.any():
        out["note"] = "no row has all nine labels known"
        return out
    report = classification_report(y[full], scored.decisions[full].astype(int),
                                   target_names=list(LABELS), output_dict=True,
                                   zero_division=np.nan)
    for average in ("micro avg", "macro avg", "weighted avg", "samples avg"):
        if average in report:
            values = report[average]
            out[average.split()[0]] = {"precision": float(values["precision"]),
                                       "recall": float(values["recall"]),
                                       "f1": float(values["f1-score"]),
                                       "support": int(values["support"])}
    return out


# ---------------------------------------------------------------------------- bootstrap
def _group_codes(frame: pd.DataFrame, group_column: str | None) -> tuple[np.ndarray, str]:
    """Resampling unit per row: whole videos where known, single rows otherwise.

    ``group_column`` overrides (e.g. "source"); rows where it is empty stand alone.
    """
    if group_column is not None:
        if group_column not in frame.columns:
            raise KeyError(f"group_column {group_column!r} is not a column of the data "
                           f"({', '.join(frame.columns)})")
        column, unit = frame[group_column], group_column
    elif "video_id" in frame.columns and frame["video_id"].notna().any():
        column, unit = frame["video_id"], "video_id"
    else:
        return np.arange(len(frame)), "row"
    keys = [f"row:{i}" if pd.isna(value) or value == "" else f"g:{value}"
            for i, value in enumerate(column.tolist())]
    codes = pd.factorize(pd.Series(keys))[0]
    return codes, f"{unit} (rows without one resampled singly)"


class _CellCounts:
    """Per group, how many (label, TP/FP/FN) cells each group holds.

    F1 = 2TP / (2TP + FP + FN) ignores true negatives, so a masked cell may be treated as
    a true negative without changing any F1. For a bootstrap replicate, rows only change
    weight; the weighted TP/FP/FN counts per label are all F1 needs, so we feed scikit-
    learn 27 representative rows (3 per label) weighted by those counts: exact, and fast.
    """

    def __init__(self, y: np.ndarray, mask: np.ndarray, decisions: np.ndarray,
                 groups: np.ndarray, n_groups: int) -> None:
        known = mask.astype(bool)
        t, d = (y == 1) & known, decisions.astype(bool) & known
        cells = np.stack([t & d, ~t & d, t & ~d], axis=2).reshape(len(y), N_LABELS * 3)
        self.counts = np.zeros((n_groups, N_LABELS * 3))
        np.add.at(self.counts, groups, cells.astype(np.float64))
        self.y_rows = np.zeros((N_LABELS * 3, N_LABELS), dtype=int)
        self.d_rows = np.zeros((N_LABELS * 3, N_LABELS), dtype=int)
        for j in range(N_LABELS):
            self.y_rows[3 * j, j], self.d_rows[3 * j, j] = 1, 1  # TP
            self.d_rows[3 * j + 1, j] = 1  # FP
            self.y_rows[3 * j + 2, j] = 1  # FN

    def f1(self, group_weights: np.ndarray) -> np.ndarray:
        weights = group_weights @ self.counts
        if not weights.any():  # no TP, FP or FN anywhere: every F1 is undefined
            return np.full(N_LABELS, np.nan)
        return f1_score(self.y_rows, self.d_rows, average=None, sample_weight=weights,
                        zero_division=np.nan)


def _bootstrap(y: np.ndarray, mask: np.ndarray, systems: dict[str, np.ndarray],
               groups: np.ndarray, n_bootstrap: int, seed: int,
               progress: bool) -> dict[str, np.ndarray]:
    """Per-label F1 of each system on ``n_bootstrap`` cluster-resampled replicates.

    All systems share the same replicates, so differences between them are paired.
    Returns {system: array (n_bootstrap, 9)}.
    """
    from tqdm.auto import tqdm

    n_groups = int(groups.max()) + 1 if groups.size else 0
    counters = {name: _CellCounts(y, mask, d, groups, n_groups) for name, d in systems.items()}
    out = {name: np.full((n_bootstrap, N_LABELS), np.nan) for name in systems}
    if n_groups == 0:
        return out
    rng = np.random.default_rng(seed)
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        for b in tqdm(range(n_bootstrap), desc="bootstrap", unit="replicate",
                      disable=not progress):
            draw = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
            for name, counter in counters.items():
                out[name][b] = counter.f1(draw.astype(np.float64))
    return out


def _ci(values: np.ndarray, level: float = 0.95) -> list[float | None]:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [None, None]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return [float(low), float(high)]


def _headline_replicates(replicates: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name, labels in HEADLINES.items():
        columns = replicates[:, [LABELS.index(label) for label in labels]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN replicate → NaN
            out[name] = np.nanmean(columns, axis=1)
    return out


# ---------------------------------------------------------------------------- slices
def _length_band(n_chars: int) -> str:
    for name, low, high in LENGTH_BANDS:
        if low <= n_chars < high:
            return name
    return LENGTH_BANDS[-1][0]


def _slices(frame: pd.DataFrame, y: np.ndarray, mask: np.ndarray, decisions: np.ndarray,
            max_groups: int) -> dict[str, list[dict[str, Any]]]:
    """Per-label F1 and headlines within slices (each label on its known rows there)."""
    # A slice is a 0/1 row weighting, so the bootstrap's cell counts give every label's
    # F1 in one scikit-learn call per slice.
    counter = _CellCounts(y, mask, decisions, np.arange(len(y)), len(y))

    def scores(rows: np.ndarray) -> dict[str, Any]:
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            f1 = counter.f1(rows.astype(np.float64))
        known = mask.astype(bool) & rows[:, None]
        per_label_f1 = {name: float(f1[j]) for j, name in enumerate(LABELS)}
        return {"n": int(rows.sum()), **_headlines(per_label_f1), "per_label_f1": per_label_f1,
                "support": {name: int(y[known[:, j], j].sum()) for j, name in enumerate(LABELS)},
                "n_known": {name: int(known[:, j].sum()) for j, name in enumerate(LABELS)}}

    out: dict[str, list[dict[str, Any]]] = {}
    for column in SLICE_COLUMNS:
        if column not in frame.columns or not frame[column].notna().any():
            continue
        sizes = frame[column].value_counts(dropna=True).head(max_groups)
        out[column] = [{"group": str(value), **scores((frame[column] == value).to_numpy())}
                       for value in sizes.index]
    bands = frame["text"].str.len().map(_length_band)
    out["length"] = [{"group": name, **scores((bands == name).to_numpy())}
                     for name, _, _ in LENGTH_BANDS]
    return out


# ---------------------------------------------------------------------------- reference
def _reference_toxic(texts: list[str]) -> tuple[dict[str, Any], np.ndarray | None]:
    """alt-profanity-check's probabilities as an outside reference for `toxic`."""
    info: dict[str, Any] = {"package": "alt-profanity-check", "label": "toxic"}
    try:
        from profanity_check import predict_prob
    except ImportError:
        info["status"] = "not installed"
        return info, None
    try:
        probs = np.asarray(predict_prob(texts), dtype=np.float64).reshape(-1)
    except Exception as error:  # its pickled model may not load under this scikit-learn
        info["status"] = f"failed: {type(error).__name__}: {error}"
        return info, None
    try:
        info["version"] = importlib.metadata.version("alt-profanity-check")
    except importlib.metadata.PackageNotFoundError:
        info["version"] = None
    info["status"] = "ok"
    return info, probs


# ---------------------------------------------------------------------------- provenance
def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of the software that produced an evaluation (without importing torch)."""
    try:
        stance_version = getattr(importlib.import_module("stance"), "__version__", None)
    except Exception:  # __init__ may be mid-edit; fall back to the installed metadata
        stance_version = None
    return {
        "stance": stance_version or _version("stance-comments"),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "datasets": _version("datasets"),
        "transformers": _version("transformers"),
        "torch": _version("torch"),
    }


# ---------------------------------------------------------------------------- errors
def _error_examples(data: _Data, scored: _Scored, k: int) -> pd.DataFrame:
    rows = []
    for j, name in enumerate(LABELS):
        known = data.mask[:, j].astype(bool)
        y, d, p = data.labels[:, j], scored.decisions[:, j], scored.probs[:, j]
        false_pos = np.flatnonzero(known & (y == 0) & d)
        false_neg = np.flatnonzero(known & (y == 1) & ~d)
        for kind, index in (("false positive", false_pos[np.argsort(-p[false_pos], kind="stable")]),
                            ("false negative", false_neg[np.argsort(p[false_neg], kind="stable")])):
            for i in index[:k]:
                rows.append({"label": name, "kind": kind, "id": data.frame["id"].iloc[i],
                             "prob": float(p[i]), "threshold": float(scored.thresholds[j]),
                             "source": data.frame["source"].iloc[i]
                             if "source" in data.frame.columns else None,
                             "text": data.frame["text"].iloc[i]})
    return pd.DataFrame(rows, columns=["label", "kind", "id", "prob", "threshold", "source",
                                       "text"])


# ---------------------------------------------------------------------------- evaluate
def _compare(y: np.ndarray, mask: np.ndarray, scored: _Scored, replicates: np.ndarray,
             model_replicates: np.ndarray) -> dict[str, Any]:
    per_label_f1 = {}
    per_label = {}
    for j, name in enumerate(LABELS):
        known = mask[:, j].astype(bool)
        precision, recall, f1 = _binary_scores(y[known, j], scored.decisions[known, j])
        auc, ap = _ranking_scores(y[known, j], scored.probs[known, j])
        per_label_f1[name] = f1
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1,
                           "f1_ci": _ci(replicates[:, j]), "roc_auc": auc,
                           "average_precision": ap, "threshold": float(scored.thresholds[j]),
                           "f1_difference_ci": _ci(model_replicates[:, j] - replicates[:, j])}
    heads = _headlines(per_label_f1)
    model_heads = _headline_replicates(model_replicates)
    other_heads = _headline_replicates(replicates)
    headline = {name: {"value": value, "ci": _ci(other_heads[name]),
                       "difference_ci": _ci(model_heads[name] - other_heads[name])}
                for name, value in heads.items()}
    return {**scored.info, "per_label": per_label, "headline": headline}


def evaluate(model: Any, data: Any, *, split: str = "validation",
             output_dir: str | Path | None = None, baseline: Any = None,
             n_bootstrap: int = 1000, seed: int = 0, group_column: str | None = None,
             reference_toxic: bool = True, error_examples: int = 5,
             thresholds: Sequence[float] | None = None, max_slice_groups: int = 10,
             progress: bool = True) -> EvaluationResult:
    """Score a model on labelled comments; optionally write the report folder.

    model: an object with ``predict_proba`` and ``thresholds`` (transformer or
        TfidfBaseline), a model folder (``config.json`` ``model_type`` "tfidf-logistic"
        → TfidfBaseline, else ``stance.model.load_model``), a predictions DataFrame (or
        table file) with ``L_prob`` columns (and optionally ``L`` decisions, ``id``), or
        None for the shipped default model.
    data: a DatasetDict (``split`` is taken), a Dataset, a corpus folder, a table file,
        or a DataFrame with ``text`` and labels (first found of: ``labels`` lists,
        ``codes`` — empty = unlabelled —, nine label columns — empty cells = unknown) and
        optionally ``label_mask``.
    baseline: a second system scored on the same rows (TfidfBaseline, folder or table).
    group_column: bootstrap resampling unit (any column of the data, e.g. "source");
        default whole videos (``video_id``) where known, single rows otherwise.
    thresholds: decision thresholds overriding the model's (LABELS order).
    """
    evaluated = _load_data(data, split, [group_column] if group_column else [])
    if len(evaluated.frame) == 0:
        raise ValueError("no rows to evaluate")
    y, mask = evaluated.labels, evaluated.mask
    scored = _score_system(model, evaluated, thresholds, "model")
    per_label = _per_label(y, mask, scored)

    systems = {"model": scored.decisions}
    other: _Scored | None = None
    if baseline is not None:
        other = _score_system(baseline, evaluated, None, "baseline")
        systems["baseline"] = other.decisions
    reference_info: dict[str, Any] = {"package": "alt-profanity-check", "label": "toxic",
                                      "status": "disabled"}
    reference_probs = None
    if reference_toxic:
        reference_info, reference_probs = _reference_toxic(evaluated.texts)
    if reference_probs is not None:
        reference_decisions = np.zeros_like(scored.decisions)
        reference_decisions[:, LABELS.index("toxic")] = reference_probs >= 0.5
        systems["reference"] = reference_decisions

    groups, unit = _group_codes(evaluated.frame, group_column)
    replicates = _bootstrap(y, mask, systems, groups, n_bootstrap, seed, progress)
    model_heads = _headline_replicates(replicates["model"])
    for j, name in enumerate(LABELS):
        per_label[name]["f1_ci"] = _ci(replicates["model"][:, j])
    point_heads = _headlines({name: per_label[name]["f1"] for name in LABELS})
    headline = {name: {"value": value, "ci": _ci(model_heads[name]),
                       "labels": list(HEADLINES[name])}
                for name, value in point_heads.items()}

    known_rows = int(mask.any(axis=1).sum())
    metrics: dict[str, Any] = {
        "schema": SCHEMA,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {**scored.info, "thresholds": dict(zip(LABELS, map(float, scored.thresholds)))},
        "data": {**evaluated.info, "n_rows": len(evaluated.frame),
                 "n_rows_with_any_known_label": known_rows,
                 "sources": ({str(k): int(v) for k, v in
                              evaluated.frame["source"].value_counts().items()}
                             if "source" in evaluated.frame.columns else None)},
        "versions": versions(),
        "labels": list(LABELS),
        "notes": {
            "masks": "each label is scored only on rows where it is known (label_mask 1)",
            "thresholds": "decisions use the model's thresholds, chosen on validation data; "
                          "f1_at_0.5 shows the same probabilities cut at 0.5",
            "labels": "silver-standard labels made under ANNOTATION.md",
        },
        "headline": headline,
        "per_label": per_label,
        "averages_all_known": _averages_all_known(y, mask, scored),
        "bootstrap": {"n": int(n_bootstrap), "seed": int(seed), "confidence": 0.95,
                      "method": "percentile", "unit": unit,
                      "n_groups": int(groups.max()) + 1 if groups.size else 0},
        "slices": _slices(evaluated.frame, y, mask, scored.decisions, max_slice_groups),
        "baseline": ({"status": "not given"} if other is None else
                     {"status": "ok", **_compare(y, mask, other, replicates["baseline"],
                                                 replicates["model"])}),
        "reference": {"profanity_check": reference_info},
    }
    if reference_probs is not None:
        j = LABELS.index("toxic")
        known = mask[:, j].astype(bool)
        y_t, p_t = y[known, j], reference_probs[known]
        precision, recall, f1 = _binary_scores(y_t, p_t >= 0.5)
        auc, ap = _ranking_scores(y_t, p_t)
        reference_info.update({"n_known": int(known.sum()), "threshold": 0.5,
                               "precision": precision, "recall": recall, "f1": f1,
                               "f1_ci": _ci(replicates["reference"][:, j]),
                               "roc_auc": auc, "average_precision": ap,
                               "model_f1": per_label["toxic"]["f1"],
                               "f1_difference_ci": _ci(replicates["model"][:, j]
                                                       - replicates["reference"][:, j])})

    predictions = evaluated.frame.copy()
    predictions["n_chars"] = predictions["text"].str.len()
    predictions["length_band"] = predictions["n_chars"].map(_length_band)
    for j, name in enumerate(LABELS):
        truth = pd.array(y[:, j], dtype="Int8")
        truth[~mask[:, j].astype(bool)] = pd.NA
        predictions[f"{name}_true"] = truth
        predictions[f"{name}_prob"] = scored.probs[:, j]
        predictions[name] = scored.decisions[:, j]
    if other is not None:
        for j, name in enumerate(LABELS):
            predictions[f"baseline_{name}_prob"] = other.probs[:, j]
            predictions[f"baseline_{name}"] = other.decisions[:, j]
    if reference_probs is not None:
        predictions["reference_toxic_prob"] = reference_probs

    result = EvaluationResult(metrics, predictions, None,
                              _error_examples(evaluated, scored, error_examples))
    if output_dir is not None:
        from .report import write_report

        result.output_dir = write_report(result, output_dir=output_dir)
    return result


# ---------------------------------------------------------------------------- cross-validation
def _point_f1(y: np.ndarray, mask: np.ndarray, decisions: np.ndarray) -> dict[str, float]:
    return {name: _f1(y[mask[:, j].astype(bool), j], decisions[mask[:, j].astype(bool), j])
            for j, name in enumerate(LABELS)}


def _corpus_from_rows(data: _Data, rows: np.ndarray) -> Any:
    from datasets import Dataset

    frame = data.frame.iloc[rows]
    columns = {"id": frame["id"].tolist(), "text": frame["text"].tolist()}
    for column in ("source", "video_id", "outlet"):
        columns[column] = ([None if pd.isna(value) else str(value) for value in frame[column]]
                           if column in frame.columns else [None] * len(rows))
    columns["labels"] = data.labels[rows].astype(np.int8).tolist()
    columns["label_mask"] = data.mask[rows].astype(np.int8).tolist()
    return Dataset.from_dict(columns)


def _fold_transformer(data: _Data, fit_rows: np.ndarray, val_rows: np.ndarray,
                      test_rows: np.ndarray, fold_dir: Path, epochs: int, seed: int,
                      progress: bool, train_kwargs: dict[str, Any]) -> _Scored:
    from datasets import DatasetDict

    from .model import load_model  # written by the lead; imported only when needed
    from .training import train

    corpus = DatasetDict({"train": _corpus_from_rows(data, fit_rows),
                          "validation": _corpus_from_rows(data, val_rows),
                          "test": _corpus_from_rows(data, test_rows)})
    path = train(corpus, fold_dir, epochs=epochs, seed=seed, overwrite=True, progress=progress,
                 **train_kwargs)
    model = load_model(path)
    texts = data.frame["text"].iloc[test_rows].tolist()
    probs = np.asarray(model.predict_proba(texts), dtype=np.float64)
    thresholds = np.asarray(model.thresholds, dtype=np.float64)
    return _Scored(probs, probs >= thresholds, thresholds, {"type": "transformer"})


def _fold_baseline(data: _Data, fit_rows: np.ndarray, val_rows: np.ndarray,
                   test_rows: np.ndarray, settings: dict[str, Any]) -> _Scored:
    from .baseline import TfidfBaseline

    texts = data.frame["text"].tolist()
    model = TfidfBaseline(**settings)
    model.fit([texts[i] for i in fit_rows], data.labels[fit_rows], data.mask[fit_rows],
              progress=False)
    if len(val_rows):
        model.fit_thresholds([texts[i] for i in val_rows], data.labels[val_rows],
                             data.mask[val_rows])
    probs = model.predict_proba([texts[i] for i in test_rows])
    return _Scored(probs, probs >= model.thresholds, model.thresholds.copy(),
                   {"type": "tfidf-logistic"})


def cross_validate(data: Any, *, k: int = 5, model: str = "baseline", seed: int = 0,
                   epochs: int = 1, split: str | Sequence[str] | None = None,
                   group_column: str | None = None, validation_fraction: float = 0.15,
                   baseline_settings: dict[str, Any] | None = None,
                   output_dir: str | Path | None = None, progress: bool = True,
                   **train_kwargs: Any) -> dict[str, Any]:
    """Grouped k-fold cross-validation: mean ± std of per-label F1 and headline macro-F1s.

    Folds never split a video (``video_id``; rows without one are their own group;
    ``group_column`` overrides). Within each training fold, a grouped
    ``validation_fraction`` is held out to choose thresholds (and, for the transformer,
    for the training loop's validation). ``model``: "baseline" (TF-IDF, settings from
    ``baseline_settings``) or "transformer" (``stance.training.train`` with ``epochs``
    and ``train_kwargs``, one folder per fold under ``output_dir`` or a temporary
    folder). ``split``: which splits of a DatasetDict to pool (default all).
    Writes ``cross_validation.json`` to ``output_dir`` when given.
    """
    from sklearn.model_selection import GroupKFold, GroupShuffleSplit
    from tqdm.auto import tqdm

    if model not in ("baseline", "transformer"):
        raise ValueError(f"model must be 'baseline' or 'transformer', got {model!r}")
    pooled = _load_data(data, split, [group_column] if group_column else [])
    groups, unit = _group_codes(pooled.frame, group_column)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    if n_groups < k:
        raise ValueError(f"cannot make {k} folds from {n_groups} group(s) ({unit})")
    folds = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    work_dir = Path(output_dir) if output_dir is not None else None
    temporary = None
    if model == "transformer" and work_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="stance-cv-")
        work_dir = Path(temporary.name)
    fold_results = []
    try:
        splits = list(folds.split(np.zeros(len(groups)), groups=groups))
        for fold, (train_rows, test_rows) in enumerate(
                tqdm(splits, desc=f"{k}-fold {model}", unit="fold", disable=not progress)):
            inner = GroupShuffleSplit(n_splits=1, test_size=validation_fraction,
                                      random_state=seed + fold)
            if len(np.unique(groups[train_rows])) >= 2 and validation_fraction > 0:
                fit_pos, val_pos = next(inner.split(train_rows, groups=groups[train_rows]))
                fit_rows, val_rows = train_rows[fit_pos], train_rows[val_pos]
            else:
                fit_rows, val_rows = train_rows, train_rows[:0]
            if model == "baseline":
                scored = _fold_baseline(pooled, fit_rows, val_rows, test_rows,
                                        dict(baseline_settings or {}))
            else:
                assert work_dir is not None
                scored = _fold_transformer(pooled, fit_rows, val_rows, test_rows,
                                           work_dir / f"fold{fold}", epochs, seed, progress,
                                           train_kwargs)
            f1 = _point_f1(pooled.labels[test_rows], pooled.mask[test_rows], scored.decisions)
            fold_results.append({"fold": fold, "n_train": int(len(fit_rows)),
                                 "n_threshold": int(len(val_rows)),
                                 "n_test": int(len(test_rows)), "per_label_f1": f1,
                                 "headline": _headlines(f1),
                                 "thresholds": dict(zip(LABELS, map(float, scored.thresholds)))})
    finally:
        if temporary is not None:
            temporary.cleanup()

    def summarise(values: list[float]) -> dict[str, Any]:
        array = np.asarray(values, dtype=np.float64)
        finite = array[np.isfinite(array)]
        return {"mean": float(finite.mean()) if finite.size else float("nan"),
                "std": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
                "n_folds": int(finite.size), "values": array.tolist()}

    result = {
        "schema": "stance-cross-validation/1",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model, "k": k, "seed": seed,
        "epochs": epochs if model == "transformer" else None,
        "data": {**pooled.info, "n_rows": len(pooled.frame)},
        "groups": {"unit": unit, "n_groups": n_groups},
        "versions": versions(),
        "per_label_f1": {name: summarise([f["per_label_f1"][name] for f in fold_results])
                         for name in LABELS},
        "headline": {name: summarise([f["headline"][name] for f in fold_results])
                     for name in HEADLINES},
        "folds": fold_results,
    }
    if output_dir is not None:
        from .report import clean_json

        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "cross_validation.json").write_text(
            json.dumps(clean_json(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return result


__all__ = ["EvaluationResult", "HEADLINES", "LENGTH_BANDS", "cross_validate", "evaluate",
           "versions"]
