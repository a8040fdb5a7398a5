"""The model card (README.md) written into every model folder."""

from __future__ import annotations

from .labels import DEFINITIONS, LABEL_TO_CODE


def model_card(model, evaluations: dict[str, dict] | None = None) -> str:
    """The card's markdown. ``evaluations``: split name -> a ``metrics.json`` written by
    ``stance evaluate`` (with a baseline), shown as an evaluation section."""
    config = model.config
    training = config.training or {}
    settings = training.get("settings", {})
    validation = training.get("validation", {})
    scores = validation.get("scores", {})
    lines = [
        "---",
        "language: en",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags: [multi-label, stance, toxicity, youtube-comments, russia-ukraine-war]",
        "---",
        "",
        f"# {config.model_type}",
        "",
        "Labels a comment under a news video about the Russia–Ukraine war with four stances and "
        "toxicity with four sub-types (any number at once), as defined by the project's "
        "ANNOTATION.md. Encoder: all-MiniLM-L6-v2 fine-tuned with mean pooling and a linear "
        "head of nine sigmoid outputs (`head.safetensors`); thresholds and per-label "
        "temperatures (calibration) in `stance.json`, both fitted on the validation split.",
        "",
        "## Use",
        "",
        "```python",
        "import stance",
        f"stance.classify([\"Slava Ukraini!\"], model=\"{model.source_path or 'path/to/this/folder'}\")",
        "```",
        "",
        "## Labels",
        "",
        "| label | code | threshold | temperature | meaning |",
        "|---|---|---|---|---|",
    ]
    for i, name in enumerate(config.labels):
        lines.append(f"| {name} | {LABEL_TO_CODE.get(name, '?')} | {config.thresholds[i]:.3f} | "
                     f"{config.temperatures[i]:.3f} | {DEFINITIONS.get(name, '')} |")
    lines += ["", "## Training data", ""]
    rows = training.get("train_rows_by_source", {})
    if rows:
        lines += ["Training rows used, by source (out-of-domain corpora sampled and down-weighted):", "",
                  "| source | rows | loss weight |", "|---|---|---|"]
        weights = settings.get("source_weights", {})
        for source, count in rows.items():
            lines.append(f"| {source} | {count} | {weights.get(source, 1.0)} |")
        counts = training.get("corpus_counts", {}).get("splits", {})
        if counts:
            lines += ["", "Corpus rows per split: " + ", ".join(f"{k} {v['rows']}" for k, v in counts.items()) + "."]
    lines += ["", "Labels a source does not annotate were masked out of the loss (see the corpus data card).",
              "", "## Settings", ""]
    if settings:
        lines.append(", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("source_weights",)))
    if training.get("command"):
        lines += ["", "Command:", "", "```", training["command"], "```"]
    calibrated = training.get("calibrated")
    if calibrated:
        lines += ["", f"The validation stage (temperatures, TF-IDF combination, thresholds) was then refitted "
                  f"from `{calibrated.get('from')}` without training the encoder again (`stance.calibrate`):", "",
                  "```", calibrated.get("command") or "stance calibrate", "```"]
    if training.get("training_seconds") is not None:
        lines += ["", f"Training time: {training['training_seconds'] / 60:.1f} minutes on {training.get('machine', '?')}"
                  " (wall clock, including validation passes and the TF-IDF fit)."]
    lines += ["", "## Validation metrics", "",
              f"On {validation.get('rows', '?')} validation comments from {', '.join(validation.get('sources', [])) or '?'}"
              f" (best epoch {training.get('best_epoch', '?')}). Thresholds were chosen on this same "
              "split, so these figures are a little optimistic; the test split was not used for "
              "training, thresholds, calibration or model selection.", "",
              "| label | F1 (as shipped) | F1 (transformer alone, no TF-IDF blend) |", "|---|---|---|"]
    alone = validation.get("transformer_only_scores", {})
    for name in [*config.labels, "stance_macro_f1", "toxic_f1", "subtype_macro_f1"]:
        if name in scores:
            shown = f"**{name}**" if name not in config.labels else name
            other = f"{alone[name]:.3f}" if name in alone else "—"
            lines.append(f"| {shown} | {scores[name]:.3f} | {other} |")
    history = training.get("history", [])
    if history:
        lines += ["", "Per epoch (transformer alone, thresholds picked on validation each time):", "",
                  "| epoch | weights | training loss | stance macro-F1 | toxic F1 | sub-type macro-F1 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {h['epoch']} | {h.get('weights', 'trained')} | {h['train_loss']:.4f} | {h.get('stance_macro_f1', float('nan')):.3f} | "
                  f"{h.get('toxic_f1', float('nan')):.3f} | {h.get('subtype_macro_f1', float('nan')):.3f} |"
                  for h in history if h.get("train_loss") is not None]
    lines += _combination_section(config, validation)
    lines += evaluation_section(evaluations or {})
    for extra in training.get("extra_metrics", []):
        lines += ["", extra]
    lines += _fast_path_section(config.fast_path)
    lines += [
        "",
        "## Limits",
        "",
        "- English only: the tokenizer splits Cyrillic into single letters and the encoder was "
        "trained on English; other languages get unreliable labels.",
        "- Emoji are turned into words first (`emoji.demojize`), since the base tokenizer maps them to [UNK].",
        "- The labels are judgements made by annotators following ANNOTATION.md (silver "
        "standard), not by the comments' authors; borderline habits vary (e.g. 'Western "
        "propaganda', a bare 'BS').",
        "- Trained on comments under war news videos (2022–2025) and on tweets; other topics, "
        "platforms or later events may shift the labels' meaning.",
        "- Rare labels (threat, identity_attack, profanity) have few examples: expect wide "
        "uncertainty on them.",
        "- Not a moderation decision on its own: use it to measure comment sections, and read "
        "the comments before acting on one.",
        "",
        "## Reproduce the probabilities with plain transformers",
        "",
        "```python",
        "import json, emoji, torch",
        "from safetensors.torch import load_file",
        "from transformers import AutoModel, AutoTokenizer",
        "folder = 'path/to/this/folder'",
        "cfg = json.load(open(f'{folder}/stance.json'))",
        "tok = AutoTokenizer.from_pretrained(folder)",
        "enc = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()  # mean pooling, no pooler",
        "head = load_file(f'{folder}/head.safetensors')",
        "texts = [' '.join(emoji.demojize(t, delimiters=(' ', ' ')).replace('_', ' ').split()) for t in comments]",
        "batch = tok(texts, padding=True, truncation=True, max_length=cfg['max_length'], return_tensors='pt')",
        "with torch.no_grad():",
        "    states = enc(**batch).last_hidden_state",
        "mask = batch['attention_mask'].unsqueeze(-1).float()",
        "pooled = (states * mask).sum(1) / mask.sum(1)",
        "logits = pooled @ head['weight'].T + head['bias']",
        "probs = torch.sigmoid(logits / torch.tensor(cfg['temperatures']))",
        "# stance.classify then combines them with the TF-IDF part in f'{folder}/baseline':",
        "# labels in cfg['stacking']: sigmoid(x @ coef + intercept), x = the logits log(p / (1 - p))",
        "# (p clipped to [1e-6, 1 - 1e-6]) of the probabilities named in its 'features';",
        "# other labels: w * probs + (1 - w) * TF-IDF probs, w = cfg['blend_weights'].",
        "```",
        "",
        "(Comments longer than `max_length` tokens are scored by `stance.classify` over "
        "overlapping windows, keeping each label's maximum.)",
    ]
    return "\n".join(lines) + "\n"


HEADLINES = (("stance_macro_f1", "stance macro-F1 (U R E A)"), ("toxic_f1", "toxic F1"),
             ("toxicity_subtype_macro_f1", "sub-type macro-F1 (I H X P)"))


def evaluation_section(evaluations: dict[str, dict]) -> list[str]:
    """Headline and per-label tables, beside the TF-IDF baseline, from evaluation reports."""
    if not evaluations:
        return []
    lines = ["", "## Evaluation with `stance evaluate`", "",
             "From `stance evaluate <corpus> --split <split> --model <this folder> --baseline <baseline> "
             "--bootstrap 500` (95% intervals resample whole videos where known). The baseline is "
             "TF-IDF + logistic regression per label, trained on the same corpus with thresholds on "
             "the same validation comments. Labels are silver standard (ANNOTATION.md). Thresholds "
             "and the TF-IDF combination were fitted on validation, so validation figures are "
             "optimistic; a test split is the fair figure. On validation, stacked labels use the final "
             "stacking regression, fitted on those same comments (the validation table above scores "
             "them out of fold)."]
    # Undefined figures (None in metrics.json, e.g. AP of a label without positives) show as "—".
    num = lambda value: "—" if value is None else f"{value:.3f}"
    fmt = lambda ci: f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else "—"
    for split, metrics in evaluations.items():
        data = metrics.get("data", {})
        sources = ", ".join(data.get("sources", {})) or "?"
        base = metrics.get("baseline", {})
        base_head = base.get("headline", {}) if base.get("status") == "ok" else {}
        lines += ["", f"### {split} ({data.get('n_rows', '?'):,} comments from {sources})", "",
                  "| metric | this model | 95% CI | TF-IDF baseline | 95% CI | difference 95% CI |",
                  "|---|---|---|---|---|---|"]
        for key, name in HEADLINES:
            ours, theirs = metrics["headline"].get(key), base_head.get(key, {})
            if ours is None:
                continue
            lines.append(f"| {name} | {num(ours['value'])} | {fmt(ours.get('ci'))} | "
                         f"{num(theirs.get('value'))} | {fmt(theirs.get('ci'))} | "
                         f"{fmt(theirs.get('difference_ci'))} |")
        lines += ["", "| label | F1 | avg precision | baseline F1 | baseline AP |", "|---|---|---|---|---|"]
        base_labels = base.get("per_label", {}) if base_head else {}
        for label, values in metrics.get("per_label", {}).items():
            other = base_labels.get(label, {})
            lines.append(f"| {label} | {num(values.get('f1'))} | {num(values.get('average_precision'))} | "
                         f"{num(other.get('f1'))} | {num(other.get('average_precision'))} |")
    return lines


def write_model_card(folder, reports: dict[str, str] | None = None) -> None:
    """Rewrite a model folder's README.md, with the evaluation section from report folders
    (split name -> folder holding metrics.json, written by ``stance evaluate``)."""
    import json
    from pathlib import Path

    from .model import StanceModel

    folder = Path(folder)
    evaluations = {split: json.loads((Path(report) / "metrics.json").read_text(encoding="utf-8"))
                   for split, report in (reports or {}).items()}
    model = StanceModel.from_pretrained(folder)
    (folder / "README.md").write_text(model_card(model, evaluations), encoding="utf-8")


def _combination_section(config, validation: dict) -> list[str]:
    """How the TF-IDF part is combined with the transformer, label by label."""
    stacking = getattr(config, "stacking", {}) or {}
    weights = dict(zip(config.labels, config.blend_weights))
    if not stacking and all(w >= 1.0 for w in weights.values()):
        return []
    lines = ["", "## Combination with the TF-IDF part", "",
             "The TF-IDF + logistic regression part (`baseline/`) was fitted on the same training "
             "rows. Per label, `classify` either stacks the two models (a logistic regression over "
             "the logits of both for the four stance labels, fitted on validation) or mixes their "
             "probabilities with a weight chosen on validation (1.0 = transformer only)."]
    if stacking:
        lines += ["Stacked labels are scored above out of fold (5 folds): each validation comment "
                  "was predicted by a regression that did not see it, and thresholds were picked on "
                  "those predictions."]
    lines += ["", "| label | combination |", "|---|---|"]
    for name in config.labels:
        how = (f"stacked ({len(stacking[name]['coef'])} logits, fitted on {stacking[name].get('fitted_on_rows', '?')} rows)"
               if name in stacking else f"blend, transformer weight {weights[name]:.1f}")
        lines.append(f"| {name} | {how} |")
    return lines


def _fast_path_section(record: dict) -> list[str]:
    """The int8 check recorded by training: what it measured and what classify does with it."""
    if not record:
        return []
    keys = [k for k in ("stance_macro_f1", "toxic_f1", "subtype_macro_f1", "all_labels_macro_f1")
            if k in record.get("fp32", {})]
    verdict = ("within the tolerance, so `classify` uses int8 by default (`fast=False` or "
               "`--exact` for fp32)." if record.get("int8_ok") else
               "above the tolerance, so `classify` uses fp32 by default (`fast=True` or "
               "`--int8` opts in).")
    lines = ["", "## int8 fast path", "",
             f"{record.get('quantization', 'int8')}: on {record.get('rows', '?')} validation comments "
             f"it changed F1 by up to {record.get('largest_f1_change', float('nan')):.3f}, "
             f"{verdict} Tolerance: {record.get('tolerance', float('nan'))}.", "",
             "| metric | fp32 | int8 |", "|---|---|---|"]
    lines += [f"| {k} | {record['fp32'][k]:.3f} | {record['int8'][k]:.3f} |" for k in keys]
    return lines
