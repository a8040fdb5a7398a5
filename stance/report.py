"""Write an evaluation's report folder: metrics.json, report.md, report.html, figures.

The folder holds:

- ``metrics.json``: every number of the evaluation (NaN written as null);
- ``report.md`` and a self-contained ``report.html`` (figures embedded as base64 PNG
  data URIs, no external assets) built from the same content;
- the figures as PNG files: per-label F1 with 95% CIs (model vs baseline), reliability
  diagrams, precision-recall curves, confusion matrices;
- ``predictions.csv`` (ids, truths, probabilities, decisions; no comment text);
- ``errors.md`` / ``errors.csv``: the most confident mistakes per label, *with comment
  text* — third-party text, so keep these files out of the repository.

Plots are drawn on matplotlib ``Figure`` objects with the Agg canvas, so writing a
report never changes the pyplot backend of the caller.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .labels import LABELS

CAVEAT = ("Labels are silver-standard judgements made under ANNOTATION.md (good but not "
          "perfect; borderline habits vary between annotators), so scores are measured "
          "against those judgements, not against ground truth. Decision thresholds were "
          "chosen on the validation split: scores on that split are optimistic; the test "
          "split gives the fair estimate.")
FIGURES = {
    "f1": "f1_by_label.png",
    "reliability": "reliability.png",
    "pr": "pr_curves.png",
    "confusion": "confusion_matrices.png",
}
HEADLINE_NAMES = {"stance_macro_f1": "Stance macro-F1 (U R E A)",
                  "toxicity_subtype_macro_f1": "Toxicity sub-type macro-F1 (I H X P)",
                  "toxic_f1": "Toxic F1 (T)"}


# ---------------------------------------------------------------------------- JSON
def clean_json(value: Any) -> Any:
    """A JSON-ready copy: numpy → Python, NaN/inf → None, Paths → str, tuples → lists."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean_json(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


# ---------------------------------------------------------------------------- formatting
def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "—" if not math.isfinite(number) else f"{number:.{digits}f}"


def _ci(interval: Sequence[Any] | None) -> str:
    if not interval or interval[0] is None or interval[1] is None:
        return "—"
    return f"[{_num(interval[0])}, {_num(interval[1])}]"


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


# ---------------------------------------------------------------------------- figures
def _figure(width: float, height: float, layout: str | None = None):  # -> Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def _grid(figure):  # 3x3 axes for the nine labels
    # Fixed spacing: a layout engine would double the drawing time of nine panels.
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.06, top=0.92, hspace=0.5,
                           wspace=0.3)
    return figure.subplots(3, 3).ravel()


def _plot_f1(metrics: dict[str, Any], path: Path) -> None:
    figure = _figure(10, 4.5, layout="constrained")
    axes = figure.subplots()
    systems = [("model", metrics["per_label"])]
    if metrics.get("baseline", {}).get("status") == "ok":
        systems.append(("baseline (TF-IDF)", metrics["baseline"]["per_label"]))
    x = np.arange(len(LABELS))
    width = 0.8 / len(systems)
    for k, (name, per_label) in enumerate(systems):
        values = np.array([_finite(per_label[label]["f1"]) for label in LABELS])
        low = np.array([_finite((per_label[label].get("f1_ci") or [None, None])[0])
                        for label in LABELS])
        high = np.array([_finite((per_label[label].get("f1_ci") or [None, None])[1])
                         for label in LABELS])
        error = np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)])
        error = np.nan_to_num(error)
        axes.bar(x + (k - (len(systems) - 1) / 2) * width, np.nan_to_num(values), width,
                 yerr=error, capsize=3, label=name)
    axes.set_xticks(x, [label.replace("_", "\n") for label in LABELS], fontsize=8)
    axes.set_ylim(0, 1.18)  # head room for the legend above the bars
    axes.set_yticks(np.linspace(0, 1, 6))
    axes.set_ylabel("F1 (known rows, at thresholds)")
    axes.set_title("Per-label F1 with 95% bootstrap CIs")
    axes.legend(loc="upper center", ncol=len(systems), frameon=False)
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, format="png")


def _plot_reliability(metrics: dict[str, Any], path: Path) -> None:
    figure = _figure(10, 9)
    for axes, label in zip(_grid(figure), LABELS):
        entry = metrics["per_label"][label]
        bins = entry.get("reliability", {})
        pairs = [(m, f, c) for m, f, c in zip(bins.get("mean_predicted", []),
                                              bins.get("fraction_positive", []),
                                              bins.get("count", [])) if m is not None]
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        if pairs:
            mean_pred, frac_pos, counts = map(np.asarray, zip(*pairs))
            axes.plot(mean_pred, frac_pos, marker="o", markersize=3)
            axes.scatter(mean_pred, frac_pos, s=10 + 60 * counts / counts.max(), alpha=0.4)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_title(f"{label}  ECE {_num(entry.get('ece'))}", fontsize=9)
        axes.set_xlabel("mean predicted", fontsize=8)
        axes.set_ylabel("fraction positive", fontsize=8)
        axes.tick_params(labelsize=7)
    figure.suptitle("Reliability diagrams (10 bins; dot size = rows in bin)")
    figure.savefig(path, format="png")


def _plot_pr(metrics: dict[str, Any], predictions: pd.DataFrame, path: Path) -> None:
    from sklearn.metrics import precision_recall_curve

    figure = _figure(10, 9)
    for axes, label in zip(_grid(figure), LABELS):
        truth = predictions[f"{label}_true"]
        known = truth.notna().to_numpy()
        y = truth[known].astype(int).to_numpy()
        title = label
        curves = [("model", f"{label}_prob",
                   metrics["per_label"][label].get("average_precision"))]
        if f"baseline_{label}_prob" in predictions.columns:
            curves.append(("baseline", f"baseline_{label}_prob",
                           metrics.get("baseline", {}).get("per_label", {})
                           .get(label, {}).get("average_precision")))
        if y.size and y.sum() > 0:
            for name, column, ap in curves:
                precision, recall, _ = precision_recall_curve(
                    y, predictions[column].to_numpy()[known])
                axes.plot(recall, precision, label=f"{name} AP {_num(ap, 2)}", linewidth=1.2)
            axes.axhline(y.mean(), color="grey", linestyle=":", linewidth=1)
            axes.legend(fontsize=7, loc="lower left")
        else:
            title += " (no known positives)"
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("recall", fontsize=8)
        axes.set_ylabel("precision", fontsize=8)
        axes.tick_params(labelsize=7)
    figure.suptitle("Precision-recall curves (known rows; dotted = positive rate)")
    figure.savefig(path, format="png")


def _plot_confusion(metrics: dict[str, Any], path: Path) -> None:
    figure = _figure(9, 9)
    for axes, label in zip(_grid(figure), LABELS):
        matrix = np.asarray(metrics["per_label"][label]["confusion_matrix"], dtype=float)
        share = matrix / matrix.sum() if matrix.sum() else matrix
        axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (r, c), count in np.ndenumerate(matrix):
            axes.text(c, r, f"{int(count)}", ha="center", va="center", fontsize=9,
                      color="white" if share[r, c] > 0.5 else "black")
        axes.set_xticks([0, 1], ["pred 0", "pred 1"], fontsize=7)
        axes.set_yticks([0, 1], ["true 0", "true 1"], fontsize=7)
        axes.set_title(label, fontsize=9)
    figure.suptitle("Confusion matrices (known rows, at thresholds)")
    figure.savefig(path, format="png")


def write_figures(metrics: dict[str, Any], predictions: pd.DataFrame | None,
                  output_dir: str | Path) -> dict[str, Path]:
    """Draw the report's PNG figures into ``output_dir``; returns {key: path}."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for key, draw in (("f1", _plot_f1), ("reliability", _plot_reliability),
                      ("confusion", _plot_confusion)):
        draw(metrics, folder / FIGURES[key])
        written[key] = folder / FIGURES[key]
    if predictions is not None and all(f"{label}_true" in predictions.columns
                                       for label in LABELS):
        _plot_pr(metrics, predictions, folder / FIGURES["pr"])
        written["pr"] = folder / FIGURES["pr"]
    return written


# ---------------------------------------------------------------------------- content
# The report is a list of blocks rendered both to Markdown and to HTML:
# ("h1"|"h2"|"h3"|"p"|"note", text), ("list", [items]),
# ("table", headers, rows), ("figure", filename, caption).
Block = tuple


def _provenance(metrics: dict[str, Any]) -> list[Block]:
    model, data = metrics.get("model", {}), metrics.get("data", {})
    versions = metrics.get("versions", {})
    split = data.get("split")
    items = [
        f"Model: {model.get('name')} (type {model.get('type')}"
        + (f", folder {model.get('path')}" if model.get("path") else "") + ")",
        f"Thresholds: {model.get('threshold_source', 'model')}",
        f"Data: {data.get('path') or 'in-memory data'}"
        + (f", split {split}" if split else "") + f", {data.get('n_rows')} rows",
        f"Date: {metrics.get('date')}",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
    ]
    sources = data.get("sources")
    if sources:
        items.append("Rows per source: " + ", ".join(f"{k} {v}" for k, v in sources.items()))
    return [("list", items)]


def _blocks(metrics: dict[str, Any], figures: dict[str, Path],
            has_errors: bool) -> list[Block]:
    per_label = metrics["per_label"]
    baseline = metrics.get("baseline", {})
    has_baseline = baseline.get("status") == "ok"
    bootstrap = metrics.get("bootstrap", {})
    blocks: list[Block] = [("h1", "Evaluation report — stance"), *_provenance(metrics),
                           ("note", CAVEAT)]

    blocks.append(("h2", "Headline"))
    headers = ["metric", "value", "95% CI"]
    if has_baseline:
        headers += ["baseline", "baseline 95% CI", "model − baseline 95% CI"]
    rows = []
    for name, entry in metrics["headline"].items():
        row = [HEADLINE_NAMES.get(name, name), _num(entry["value"]), _ci(entry.get("ci"))]
        if has_baseline:
            other = baseline["headline"][name]
            row += [_num(other["value"]), _ci(other.get("ci")), _ci(other.get("difference_ci"))]
        rows.append(row)
    blocks.append(("table", headers, rows))
    blocks.append(("p", f"Macro-F1 is the mean of the per-label F1s, each label scored only on "
                        f"the rows where it is known. 95% percentile bootstrap intervals from "
                        f"{bootstrap.get('n')} replicates, resampling {bootstrap.get('unit')} "
                        f"({bootstrap.get('n_groups')} groups; seed {bootstrap.get('seed')})."))

    blocks.append(("h2", "Per label"))
    rows = []
    for label in LABELS:
        e = per_label[label]
        rows.append([label, e["n_known"], e["support"], e["n_predicted"], _num(e["precision"]),
                     _num(e["recall"]), _num(e["f1"]), _ci(e.get("f1_ci")), _num(e["roc_auc"]),
                     _num(e["average_precision"])])
    blocks.append(("table", ["label", "known rows", "positives", "predicted", "precision",
                             "recall", "F1", "F1 95% CI", "ROC-AUC", "avg precision"], rows))

    blocks.append(("h3", "Thresholds and calibration"))
    rows = [[label, _num(per_label[label]["threshold"]), _num(per_label[label]["f1_at_threshold"]),
             _num(per_label[label]["f1_at_0.5"]), _num(per_label[label]["ece"]),
             _num(per_label[label]["brier"], 4)] for label in LABELS]
    blocks.append(("table", ["label", "threshold", "F1 at threshold", "F1 at 0.5",
                             "ECE (10 bins)", "Brier"], rows))

    blocks.append(("h3", "Confusion matrices (known rows)"))
    rows = []
    for label in LABELS:
        (tn, fp), (fn, tp) = per_label[label]["confusion_matrix"]
        rows.append([label, tn, fp, fn, tp])
    blocks.append(("table", ["label", "TN", "FP", "FN", "TP"], rows))

    averages = metrics.get("averages_all_known", {})
    blocks.append(("h3", "Averages over rows with all nine labels known"))
    if averages.get("n_rows"):
        rows = [[name, _num(averages[name]["precision"]), _num(averages[name]["recall"]),
                 _num(averages[name]["f1"])]
                for name in ("micro", "macro", "weighted", "samples") if name in averages]
        blocks.append(("p", f"On {averages['n_rows']} rows where every label is known "
                            "(scikit-learn classification_report)."))
        blocks.append(("table", ["average", "precision", "recall", "F1"], rows))
    else:
        blocks.append(("p", averages.get("note", "no row has all nine labels known")))

    if has_baseline:
        blocks.append(("h2", f"Baseline: {baseline.get('name')} ({baseline.get('type')})"))
        rows = []
        for label in LABELS:
            b = baseline["per_label"][label]
            rows.append([label, _num(per_label[label]["f1"]), _num(b["f1"]), _ci(b.get("f1_ci")),
                         _ci(b.get("f1_difference_ci")), _num(per_label[label]["roc_auc"]),
                         _num(b["roc_auc"])])
        blocks.append(("table", ["label", "model F1", "baseline F1", "baseline 95% CI",
                                 "model − baseline 95% CI", "model ROC-AUC",
                                 "baseline ROC-AUC"], rows))

    reference = metrics.get("reference", {}).get("profanity_check", {})
    blocks.append(("h2", "Outside reference for toxic: alt-profanity-check"))
    if reference.get("status") == "ok":
        blocks.append(("table", ["system", "precision", "recall", "F1", "F1 95% CI", "ROC-AUC",
                                 "avg precision"],
                       [["alt-profanity-check (cut 0.5)", _num(reference.get("precision")),
                         _num(reference.get("recall")), _num(reference.get("f1")),
                         _ci(reference.get("f1_ci")), _num(reference.get("roc_auc")),
                         _num(reference.get("average_precision"))],
                        ["model", _num(per_label["toxic"]["precision"]),
                         _num(per_label["toxic"]["recall"]), _num(per_label["toxic"]["f1"]),
                         _ci(per_label["toxic"].get("f1_ci")), _num(per_label["toxic"]["roc_auc"]),
                         _num(per_label["toxic"]["average_precision"])]]))
        blocks.append(("p", f"Model − reference F1 95% CI: "
                            f"{_ci(reference.get('f1_difference_ci'))}; "
                            f"{reference.get('n_known')} rows with toxic known."))
    else:
        blocks.append(("p", f"Status: {reference.get('status', 'not run')}."))

    slices = metrics.get("slices", {})
    if slices:
        blocks.append(("h2", "Slices"))
        blocks.append(("p", "Each label scored on its known rows within the slice; the largest "
                            "groups are shown. Small slices give noisy numbers."))
        for column, entries in slices.items():
            title = {"length": "comment length (characters)"}.get(column, column)
            blocks.append(("h3", f"By {title}"))
            rows = [[e["group"], e["n"], _num(e["stance_macro_f1"]),
                     _num(e["toxicity_subtype_macro_f1"]), _num(e["toxic_f1"])]
                    + [_num(e["per_label_f1"][label], 2) for label in LABELS[:4]]
                    for e in entries]
            blocks.append(("table", [column, "rows", "stance macro-F1", "sub-type macro-F1",
                                     "toxic F1", *LABELS[:4]], rows))

    blocks.append(("h2", "Figures"))
    captions = {"f1": "Per-label F1 with 95% bootstrap CIs (model vs baseline)",
                "reliability": "Reliability diagrams (calibration)",
                "pr": "Precision-recall curves",
                "confusion": "Confusion matrices"}
    for key in ("f1", "reliability", "pr", "confusion"):
        if key in figures:
            blocks.append(("figure", figures[key].name, captions[key]))

    blocks.append(("h2", "Error analysis"))
    if has_errors:
        blocks.append(("p", "The most confident false positives and false negatives per label, "
                            "with their text, are in errors.md and errors.csv in this folder "
                            "(they quote third-party comments: keep them out of the repository)."))
    else:
        blocks.append(("p", "No error examples were recorded."))
    return blocks


# ---------------------------------------------------------------------------- rendering
def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + block[1])
        elif kind == "p":
            out.append(block[1])
        elif kind == "note":
            out.append("> **Caveat.** " + block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            headers, rows = block[1], block[2]
            lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
                     "|" + "|".join("---" for _ in headers) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "figure":
            out.append(f"![{block[2]}]({block[1]})")
    return "\n\n".join(out) + "\n"


HTML_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0 1.4em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f3f7; } td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
figure { margin: 1.5em 0; } img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
"""


def _render_html(blocks: list[Block], folder: Path) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<title>Evaluation report — stance</title>", f"<style>{HTML_STYLE}</style>",
           "</head>", "<body>"]
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{esc(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{esc(block[1])}</p>")
        elif kind == "note":
            out.append(f'<p class="note"><strong>Caveat.</strong> {esc(block[1])}</p>')
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{esc(str(i))}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            headers, rows = block[1], block[2]
            head = "".join(f"<th>{esc(str(h))}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                           for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "figure":
            data = base64.b64encode((folder / block[1]).read_bytes()).decode("ascii")
            out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(block[2])}">'
                       f"<figcaption>{esc(block[2])} ({esc(block[1])})</figcaption></figure>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _errors_markdown(errors: pd.DataFrame) -> str:
    lines = ["# Most confident errors", "",
             "Quotes third-party comments: keep this file out of the repository.", ""]
    for label in LABELS:
        subset = errors[errors["label"] == label]
        if subset.empty:
            continue
        lines.append(f"## {label}")
        for kind in ("false positive", "false negative"):
            rows = subset[subset["kind"] == kind]
            if rows.empty:
                continue
            lines.append(f"### {kind}s")
            for _, row in rows.iterrows():
                text = " ".join(str(row["text"]).split())
                lines.append(f"- `{row['id']}` p={row['prob']:.3f} (threshold "
                             f"{row['threshold']:.3f}): {text}")
            lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- entry point
def write_report(result: Any, predictions: pd.DataFrame | None = None,
                 output_dir: str | Path | None = None, *,
                 errors: pd.DataFrame | None = None) -> Path:
    """Write the report folder for an evaluation; returns the folder.

    ``result``: an :class:`~stance.evaluation.EvaluationResult` (its predictions and
    errors are used unless given) or a metrics dict as produced by ``evaluate``.
    """
    if output_dir is None:
        raise ValueError("write_report needs output_dir (the report folder)")
    if isinstance(result, dict):
        metrics = result
    else:
        metrics = result.metrics
        predictions = result.predictions if predictions is None else predictions
        errors = getattr(result, "errors", None) if errors is None else errors
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)

    (folder / "metrics.json").write_text(
        json.dumps(clean_json(metrics), indent=2, allow_nan=False, ensure_ascii=False) + "\n",
        encoding="utf-8")
    figures = write_figures(metrics, predictions, folder)
    has_errors = errors is not None and not errors.empty
    blocks = _blocks(metrics, figures, has_errors)
    (folder / "report.md").write_text(_render_markdown(blocks), encoding="utf-8")
    (folder / "report.html").write_text(_render_html(blocks, folder), encoding="utf-8")
    if predictions is not None:
        # No comment text here: ids, truths, probabilities and decisions only.
        predictions.drop(columns=["text"], errors="ignore").to_csv(
            folder / "predictions.csv", index=False)
    if has_errors:
        errors.to_csv(folder / "errors.csv", index=False)
        (folder / "errors.md").write_text(_errors_markdown(errors), encoding="utf-8")
    return folder


__all__ = ["CAVEAT", "FIGURES", "clean_json", "write_figures", "write_report"]
