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
