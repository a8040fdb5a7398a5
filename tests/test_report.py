"""The report folder: strict JSON, a self-contained HTML with its figures, provenance."""

from __future__ import annotations

import base64
import json
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from stance.evaluation import evaluate
from stance.labels import LABELS
from stance.report import CAVEAT, clean_json, write_report

SECRET = "zqxjv-unique-comment-word"  # must only reach errors.md / errors.csv


def make_data(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(LABELS))) < 0.3).astype(int)
    y[:, LABELS.index("threat")] = 0  # no positives: ROC-AUC undefined → null in JSON
    mask = np.ones_like(y)
    mask[n // 2:, :4] = 0  # a toxicity-only half
    data = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)],
        "text": [f"{SECRET} comment {i} " + "word " * int(rng.integers(1, 120)) for i in range(n)],
        "source": np.where(np.arange(n) < n // 2, "youtube_war", "olid"),
        "video_id": [f"v{i % 5}" if i < n // 2 else None for i in range(n)],
        "labels": list(y * mask), "label_mask": list(mask),
    })
    probs = np.clip(0.35 * y + 0.6 * rng.random(y.shape), 0, 1)  # imperfect: errors exist
    predictions = pd.DataFrame(probs, columns=[f"{name}_prob" for name in LABELS])
    predictions.insert(0, "id", data["id"])
    return data, predictions


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    data, predictions = make_data()
    baseline = predictions.copy()
    baseline[[f"{n}_prob" for n in LABELS]] = baseline[[f"{n}_prob" for n in LABELS]] ** 2
    folder = tmp_path_factory.mktemp("report")
    result = evaluate(predictions, data, baseline=baseline, n_bootstrap=30,
                      output_dir=folder, reference_toxic=False, progress=False)
    assert result.output_dir == folder
    return folder


class _ImageCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def test_html_parses_and_embeds_every_figure(report_dir):
    html_text = (report_dir / "report.html").read_text(encoding="utf-8")
    parser = _ImageCollector()
    parser.feed(html_text)
    parser.close()
    pngs = sorted(report_dir.glob("*.png"))
    assert {p.name for p in pngs} == {"f1_by_label.png", "reliability.png", "pr_curves.png",
                                      "confusion_matrices.png"}
    assert len(parser.sources) == len(pngs)
    assert all(src.startswith("data:image/png;base64,") for src in parser.sources)
    embedded = {base64.b64decode(src.split(",", 1)[1]) for src in parser.sources}
    assert embedded == {p.read_bytes() for p in pngs}
    assert "table" in parser.tags
    # Self-contained: nothing fetched from elsewhere.
    assert "http://" not in html_text and "https://" not in html_text
    assert "<link" not in html_text and "<script" not in html_text


def test_metrics_json_is_strict_and_nan_is_null(report_dir):
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    metrics = json.loads((report_dir / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["per_label"]["threat"]["roc_auc"] is None
    assert metrics["per_label"]["threat"]["support"] == 0
    assert metrics["baseline"]["status"] == "ok"
    assert set(metrics["per_label"]) == set(LABELS)


def test_report_states_provenance_and_caveat(report_dir):
    for name in ("report.md", "report.html"):
        text = (report_dir / name).read_text(encoding="utf-8")
        assert "ANNOTATION.md" in text and "silver-standard" in text
        assert "chosen on the validation split" in text
        assert "scikit-learn" in text and "predictions DataFrame" in text
        assert "120 rows" in text
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert CAVEAT in markdown
    for figure in ("f1_by_label.png", "reliability.png", "pr_curves.png",
                   "confusion_matrices.png"):
        assert f"]({figure})" in markdown


def test_comment_text_stays_in_the_error_files(report_dir):
    assert SECRET in (report_dir / "errors.md").read_text(encoding="utf-8")
    assert SECRET in (report_dir / "errors.csv").read_text(encoding="utf-8")
    for name in ("metrics.json", "report.md", "report.html", "predictions.csv"):
        assert SECRET not in (report_dir / name).read_text(encoding="utf-8"), name


def test_write_report_from_metrics_only(tmp_path):
    data, predictions = make_data(60, 1)
    result = evaluate(predictions, data, n_bootstrap=10, reference_toxic=False, progress=False)
    folder = write_report(result.metrics, output_dir=tmp_path / "only-metrics")
    pngs = list(folder.glob("*.png"))
    assert "pr_curves.png" not in {p.name for p in pngs}  # needs the predictions
    parser = _ImageCollector()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert len(parser.sources) == len(pngs) == 3
    assert not (folder / "errors.md").exists()
    with pytest.raises(ValueError, match="output_dir"):
        write_report(result.metrics)


def test_clean_json():
    cleaned = clean_json({"a": np.float32(0.5), "b": float("nan"), "c": np.array([1, 2]),
                          "d": (np.int64(3), math.inf), "e": np.bool_(True), "f": None,
                          1: pd.NA})
    assert cleaned == {"a": 0.5, "b": None, "c": [1, 2], "d": [3, None], "e": True,
                       "f": None, "1": None}
    json.dumps(cleaned, allow_nan=False)
