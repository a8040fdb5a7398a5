"""stance: stance and toxicity labels for comment sections under Russia-Ukraine war news.

Public API: read_comments, build_corpus, train, calibrate, classify, evaluate, summarize, load_model,
LABELS. Heavy modules are imported on first use so ``import stance`` stays quick.
"""

from __future__ import annotations

from importlib import import_module

from .labels import LABELS, STANCE_LABELS, SUBTYPE_LABELS, TOXICITY_LABELS, format_codes, parse_codes

__version__ = "0.1.0"

_LAZY = {
    "read_comments": "readers",
    "build_corpus": "corpus",
    "load_corpus": "corpus",
    "train": "training",
    "calibrate": "training",
    "classify": "inference",
    "load_model": "model",
    "evaluate": "evaluation",
    "summarize": "summary",
}

__all__ = ["LABELS", "STANCE_LABELS", "TOXICITY_LABELS", "SUBTYPE_LABELS", "parse_codes",
           "format_codes", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
