"""TF-IDF + logistic regression baseline: one masked binary classifier per label.

The baseline is what the transformer model has to beat, and a fast fallback. Features are
word 1-2-grams and character (``char_wb``) 2-5-grams with sublinear tf, capped in size so
that ~40k short comments fit in a minute or two on two cores. Each label gets its own
logistic regression, fitted only on the rows where that label is known (``label_mask``
is 1), because most corpora annotate only some of the nine labels.

Rare labels: ``class_weight="balanced"`` makes the classifier see positives at all; the
intercept is then shifted back by the log prior odds (``prior_correction``) so that
``predict_proba`` returns probabilities on the scale of the training data rather than of a
50/50 world. On validation data, :meth:`TfidfBaseline.fit_thresholds`
then fits a Platt scaling per label (``calibrate``; a monotone map, so rankings and AUCs
are unchanged, but probabilities become calibrated) and picks the F1-maximising decision
threshold per label on the calibrated probabilities.

Constant predictors (documented behaviour): a label with no known training rows predicts
probability 0.0 everywhere; a label whose known rows are all one class predicts that
class's rate (0.0 or 1.0) everywhere. Such labels are listed in ``constant_labels``.

Saved folders hold no pickles: ``config.json`` (``model_type: "tfidf-logistic"``, labels,
thresholds, settings), ``vocabulary.json`` (the word and character n-grams in column
order) and ``weights.safetensors`` (idf vectors, coefficients, intercepts, constants).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve

from .labels import LABELS

if TYPE_CHECKING:  # datasets is heavy to import; only needed for fit_corpus
    from datasets import DatasetDict

MODEL_TYPE = "tfidf-logistic"
CONFIG_NAME = "config.json"
VOCAB_NAME = "vocabulary.json"
WEIGHTS_NAME = "weights.safetensors"
FORMAT_VERSION = 1


@dataclass
class BaselineSettings:
    """Hyper-parameters of :class:`TfidfBaseline` (all JSON-serialisable)."""

    word_ngram_range: tuple[int, int] = (1, 2)
    char_ngram_range: tuple[int, int] = (2, 5)
    min_df: int = 2
    max_df: float = 1.0
    word_max_features: int = 50_000
    char_max_features: int = 100_000
    sublinear_tf: bool = True
    lowercase: bool = True
    C: float = 2.0
    class_weight: str | None = "balanced"
    prior_correction: bool = True
    solver: str = "liblinear"
    # The dual liblinear problem is several times faster when features outnumber rows.
    dual: bool = True
    max_iter: int = 1000
    # liblinear shuffles coordinates; a fixed seed makes fitting reproducible.
    random_state: int = 0
    default_threshold: float = 0.5
    # Platt-scale each label on the validation data given to fit_thresholds.
    calibrate: bool = True

    def __post_init__(self) -> None:
        # JSON round trips turn tuples into lists; keep one canonical form.
        self.word_ngram_range = _pair(self.word_ngram_range)
        self.char_ngram_range = _pair(self.char_ngram_range)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "BaselineSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown TfidfBaseline setting(s): {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
        return cls(**values)


def _pair(values: Sequence[int]) -> tuple[int, int]:
    low, high = (int(v) for v in values)
    return low, high


def _as_label_array(values: Any, name: str, n_rows: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2 or array.shape != (n_rows, len(LABELS)):
        raise ValueError(f"{name} must have shape ({n_rows}, {len(LABELS)}) "
                         f"(rows, labels in LABELS order), got {array.shape}")
    if array.size and not np.isin(array, (0, 1)).all():
        bad = np.argwhere(~np.isin(array, (0, 1)))[0]
        raise ValueError(f"{name} must hold only 0/1; row {bad[0]}, label "
                         f"{LABELS[bad[1]]!r} holds {array[bad[0], bad[1]]!r}")
    return array.astype(np.int8)


def _as_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not a single string")
    out = list(texts)
    for index, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is {type(text).__name__}, expected str: {text!r}")
    return out


class TfidfBaseline:
    """Word + character TF-IDF features and one masked logistic regression per label."""

    def __init__(self, **settings: Any) -> None:
        self.settings = BaselineSettings.from_dict(settings)
        self.labels: tuple[str, ...] = LABELS
        self.thresholds = np.full(len(LABELS), self.settings.default_threshold, dtype=np.float64)
        self.word_vectorizer: TfidfVectorizer | None = None
        self.char_vectorizer: TfidfVectorizer | None = None
        self.coef_: np.ndarray | None = None  # (9, n_features)
        self.intercept_: np.ndarray | None = None  # (9,)
        # NaN where a real classifier exists, else the constant probability for that label.
        self.constant_: np.ndarray = np.full(len(LABELS), np.nan)
        # Platt scaling: probability = sigmoid(scale * logit + shift); identity until
        # fit_thresholds() calibrates on validation data.
        self.calibration_scale_ = np.ones(len(LABELS), dtype=np.float64)
        self.calibration_shift_ = np.zeros(len(LABELS), dtype=np.float64)
        self.n_train_: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------------ features
    def _make_vectorizers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        s = self.settings
        word = TfidfVectorizer(analyzer="word", ngram_range=s.word_ngram_range, min_df=s.min_df,
                               max_df=s.max_df, max_features=s.word_max_features,
                               sublinear_tf=s.sublinear_tf, lowercase=s.lowercase,
                               dtype=np.float32)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=s.char_ngram_range,
                               min_df=s.min_df, max_df=s.max_df,
                               max_features=s.char_max_features, sublinear_tf=s.sublinear_tf,
                               lowercase=s.lowercase, dtype=np.float32)
        return word, char

    def _features(self, texts: list[str]) -> sp.csr_matrix:
        if self.word_vectorizer is None or self.char_vectorizer is None:
            raise RuntimeError("TfidfBaseline is not fitted: call fit() or from_pretrained()")
        return sp.hstack([self.word_vectorizer.transform(texts),
                          self.char_vectorizer.transform(texts)], format="csr")

    @property
    def n_features(self) -> int:
        return 0 if self.coef_ is None else int(self.coef_.shape[1])

    @property
    def constant_labels(self) -> tuple[str, ...]:
        """Labels predicted by a constant (no known rows, or one class only)."""
        return tuple(name for name, c in zip(self.labels, self.constant_) if not np.isnan(c))

    # ------------------------------------------------------------------ fitting
    def fit(self, texts: Sequence[str], labels: Any, label_mask: Any | None = None,
            *, progress: bool = True) -> "TfidfBaseline":
        """Fit the vectorisers on all texts and each label's classifier on its known rows.

        ``labels`` and ``label_mask`` are (n, 9) 0/1 arrays in LABELS order; a missing
        mask means every label is known. Rows masked out for a label have no influence
        on that label's classifier (their text still shapes the shared vocabulary).
        """
        from tqdm.auto import tqdm

        texts = _as_texts(texts)
        if not texts:
            raise ValueError("cannot fit TfidfBaseline on zero texts")
        y = _as_label_array(labels, "labels", len(texts))
        mask = (np.ones_like(y) if label_mask is None
                else _as_label_array(label_mask, "label_mask", len(texts)))
        s = self.settings
        word, char = self._make_vectorizers()
        # min_df larger than the data would leave an empty vocabulary; relax it for tiny sets.
        for vectorizer in (word, char):
            if isinstance(vectorizer.min_df, int) and vectorizer.min_df > len(texts):
                vectorizer.min_df = 1
        x = sp.hstack([word.fit_transform(texts), char.fit_transform(texts)], format="csr")
        self.word_vectorizer, self.char_vectorizer = word, char
        n_features = x.shape[1]
        self.coef_ = np.zeros((len(LABELS), n_features), dtype=np.float32)
        self.intercept_ = np.zeros(len(LABELS), dtype=np.float64)
        self.constant_ = np.full(len(LABELS), np.nan)
        self.calibration_scale_ = np.ones(len(LABELS), dtype=np.float64)
        self.calibration_shift_ = np.zeros(len(LABELS), dtype=np.float64)
        self.n_train_ = {}
        for j in tqdm(range(len(LABELS)), desc="fitting TF-IDF baseline", unit="label",
                      disable=not progress):
            known = mask[:, j].astype(bool)
            y_j = y[known, j]
            n_pos = int(y_j.sum())
            n_neg = int(known.sum()) - n_pos
            self.n_train_[LABELS[j]] = {"known": int(known.sum()), "positive": n_pos}
            if n_pos == 0 or n_neg == 0:
                # No known rows → 0.0; one class only → that class (rate 0.0 or 1.0).
                self.constant_[j] = 0.0 if n_pos == 0 else 1.0
                continue
            clf = LogisticRegression(C=s.C, class_weight=s.class_weight, solver=s.solver,
                                     dual=s.dual and s.solver == "liblinear",
                                     max_iter=s.max_iter, random_state=s.random_state)
            clf.fit(x[known], y_j)
            self.coef_[j] = clf.coef_[0]
            intercept = float(clf.intercept_[0])
            if s.prior_correction and s.class_weight == "balanced":
                # Balanced weights fit the odds of a 50/50 world; shift back to the true prior.
                intercept += math.log(n_pos / n_neg)
            self.intercept_[j] = intercept
        return self

    def fit_thresholds(self, texts: Sequence[str], labels: Any,
                       label_mask: Any | None = None) -> np.ndarray:
        """Calibrate on the given (validation) data and pick each label's F1-best threshold.

        Only rows where the label is known count. With ``settings.calibrate`` a Platt
        scaling is fitted first for each label that has both classes among those rows.
        Labels without both classes keep the identity calibration and the default
        threshold (``settings.default_threshold``). Stores and returns ``self.thresholds``.
        """
        texts = _as_texts(texts)
        y = _as_label_array(labels, "labels", len(texts))
        mask = (np.ones_like(y) if label_mask is None
                else _as_label_array(label_mask, "label_mask", len(texts)))
        self.calibration_scale_ = np.ones(len(LABELS), dtype=np.float64)
        self.calibration_shift_ = np.zeros(len(LABELS), dtype=np.float64)
        if self.settings.calibrate and texts:
            logits = self._logits(texts)
            for j in range(len(LABELS)):
                known = mask[:, j].astype(bool)
                y_j = y[known, j]
                if not np.isnan(self.constant_[j]) or y_j.size == 0 or y_j.min() == y_j.max():
                    continue
                # Nearly unregularised 1-D logistic regression on the logit = Platt scaling.
                platt = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
                platt.fit(logits[known, j][:, None], y_j)
                self.calibration_scale_[j] = float(platt.coef_[0, 0])
                self.calibration_shift_[j] = float(platt.intercept_[0])
        probs = self.predict_proba(texts) if texts else np.zeros((0, len(LABELS)))
        self.thresholds = best_f1_thresholds(probs, y, mask, self.settings.default_threshold)
        return self.thresholds

    # ------------------------------------------------------------------ prediction
    def _logits(self, texts: list[str]) -> np.ndarray:
        """Uncalibrated log-odds (n, 9) of the per-label classifiers."""
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("TfidfBaseline is not fitted: call fit() or from_pretrained()")
        x = self._features(texts)
        return np.asarray(x @ self.coef_.T, dtype=np.float64) + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (n, 9) in LABELS order (calibrated once fit_thresholds has run)."""
        texts = _as_texts(texts)
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("TfidfBaseline is not fitted: call fit() or from_pretrained()")
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float64)
        logits = self._logits(texts) * self.calibration_scale_ + self.calibration_shift_
        with np.errstate(over="ignore"):  # exp overflow → probability 0.0, as it should
            probs = 1.0 / (1.0 + np.exp(-logits))
        constant = ~np.isnan(self.constant_)
        probs[:, constant] = self.constant_[constant]
        return probs

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean decisions (n, 9): probability >= that label's threshold."""
        return self.predict_proba(texts) >= self.thresholds

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write config.json, vocabulary.json and weights.safetensors (no pickles)."""
        from safetensors.numpy import save_file

        if self.coef_ is None or self.word_vectorizer is None or self.char_vectorizer is None:
            raise RuntimeError("cannot save an unfitted TfidfBaseline")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "model_type": MODEL_TYPE,
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "thresholds": [float(t) for t in self.thresholds],
            "settings": _jsonable(asdict(self.settings)),
            "constant_labels": list(self.constant_labels),
            "n_train": self.n_train_,
            "n_features": {"word": len(self.word_vectorizer.vocabulary_),
                           "char": len(self.char_vectorizer.vocabulary_)},
        }
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        vocab = {"word": _terms_in_order(self.word_vectorizer),
                 "char": _terms_in_order(self.char_vectorizer)}
        (folder / VOCAB_NAME).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        save_file({
            "idf_word": np.ascontiguousarray(self.word_vectorizer.idf_, dtype=np.float64),
            "idf_char": np.ascontiguousarray(self.char_vectorizer.idf_, dtype=np.float64),
            "coef": np.ascontiguousarray(self.coef_, dtype=np.float32),
            "intercept": np.ascontiguousarray(self.intercept_, dtype=np.float64),
            "constant": np.ascontiguousarray(self.constant_, dtype=np.float64),
            "calibration_scale": np.ascontiguousarray(self.calibration_scale_, dtype=np.float64),
            "calibration_shift": np.ascontiguousarray(self.calibration_shift_, dtype=np.float64),
        }, str(folder / WEIGHTS_NAME), metadata={"model_type": MODEL_TYPE})
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "TfidfBaseline":
        """Load a folder written by :meth:`save_pretrained`."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        config_path = folder / CONFIG_NAME
        if not config_path.is_file():
            raise FileNotFoundError(f"no {CONFIG_NAME} in {folder}: not a saved TfidfBaseline")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("model_type") != MODEL_TYPE:
            raise ValueError(f"{config_path}: model_type is {config.get('model_type')!r}, "
                             f"expected {MODEL_TYPE!r}")
        if tuple(config.get("labels", ())) != LABELS:
            raise ValueError(f"{config_path}: labels {config.get('labels')} differ from {LABELS}")
        model = cls(**config.get("settings", {}))
        model.thresholds = np.asarray(config["thresholds"], dtype=np.float64)
        model.n_train_ = config.get("n_train", {})
        vocab = json.loads((folder / VOCAB_NAME).read_text(encoding="utf-8"))
        weights = load_file(str(folder / WEIGHTS_NAME))
        word, char = model._make_vectorizers()
        for vectorizer, terms, idf in ((word, vocab["word"], weights["idf_word"]),
                                       (char, vocab["char"], weights["idf_char"])):
            if len(terms) != len(idf):
                raise ValueError(f"{folder}: vocabulary and idf sizes differ "
                                 f"({len(terms)} vs {len(idf)})")
            vectorizer.vocabulary = {term: i for i, term in enumerate(terms)}
            vectorizer.idf_ = idf
        model.word_vectorizer, model.char_vectorizer = word, char
        model.coef_ = weights["coef"]
        model.intercept_ = weights["intercept"]
        model.constant_ = weights["constant"]
        model.calibration_scale_ = weights["calibration_scale"]
        model.calibration_shift_ = weights["calibration_shift"]
        if model.coef_.shape != (len(LABELS), len(vocab["word"]) + len(vocab["char"])):
            raise ValueError(f"{folder}: coefficient shape {model.coef_.shape} does not match "
                             "the vocabulary")
        return model

    def __repr__(self) -> str:
        state = f"{self.n_features} features" if self.coef_ is not None else "unfitted"
        return f"TfidfBaseline({state})"


def _terms_in_order(vectorizer: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return terms


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def best_f1_thresholds(probs: np.ndarray, labels: np.ndarray, label_mask: np.ndarray,
                       default: float = 0.5) -> np.ndarray:
    """Per label, the probability threshold that maximises F1 on the known rows.

    Candidates are the distinct predicted probabilities (from ``precision_recall_curve``);
    a label whose known rows lack either class keeps ``default``.
    """
    thresholds = np.full(probs.shape[1], default, dtype=np.float64)
    for j in range(probs.shape[1]):
        known = np.asarray(label_mask[:, j]).astype(bool)
        y = np.asarray(labels[known, j])
        if y.size == 0 or y.min() == y.max():
            continue
        precision, recall, cuts = precision_recall_curve(y, probs[known, j])
        precision, recall = precision[:-1], recall[:-1]  # last point has no threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0,
                          2 * precision * recall / (precision + recall), 0.0)
        thresholds[j] = float(cuts[int(np.argmax(f1))])
    return thresholds


def fit_corpus(corpus: "DatasetDict", *, progress: bool = True, **settings: Any) -> TfidfBaseline:
    """Fit a TfidfBaseline on ``corpus["train"]`` and its thresholds on ``corpus["validation"]``.

    Without a validation split the thresholds stay at the default (0.5).
    """
    if "train" not in corpus:
        raise KeyError(f"corpus has no 'train' split (splits: {list(corpus)})")
    train = corpus["train"]
    model = TfidfBaseline(**settings)
    model.fit(list(train["text"]), np.asarray(train["labels"]), np.asarray(train["label_mask"]),
              progress=progress)
    if "validation" in corpus and len(corpus["validation"]):
        valid = corpus["validation"]
        model.fit_thresholds(list(valid["text"]), np.asarray(valid["labels"]),
                             np.asarray(valid["label_mask"]))
    return model
