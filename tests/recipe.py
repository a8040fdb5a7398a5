"""The plain-transformers lines documented in README.md, run as written (only ``folder`` is
pointed elsewhere), so the tests check the documentation itself rather than a paraphrase."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_recipe() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return next(b for b in blocks if "AutoModel.from_pretrained(folder" in b)


def documented_probabilities(folder: str, comments: list[str]) -> np.ndarray:
    code = re.sub(r'^folder = .*$', f"folder = {str(folder)!r}", documented_recipe(), flags=re.M)
    namespace = {"comments": comments}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace["probs"].numpy()


def documented_combination(folder: str, probs: np.ndarray, comments: list[str]) -> np.ndarray:
    """The combination with the TF-IDF part as README's comment describes it, written out."""
    import json

    from stance.baseline import TfidfBaseline
    from stance.labels import LABELS

    cfg = json.loads((Path(folder) / "stance.json").read_text(encoding="utf-8"))
    tfidf = TfidfBaseline.from_pretrained(Path(folder) / "baseline").predict_proba(comments)
    w = np.asarray(cfg["blend_weights"])
    combined = w * probs + (1 - w) * tfidf

    def logit(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    for label, stack in cfg.get("stacking", {}).items():
        x = np.stack([logit((probs if name.startswith("transformer:") else tfidf)[:, LABELS.index(name.split(":")[1])])
                      for name in stack["features"]], axis=1)
        combined[:, LABELS.index(label)] = 1 / (1 + np.exp(-(x @ np.asarray(stack["coef"]) + stack["intercept"])))
    return combined
