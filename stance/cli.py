"""The ``stance`` command: one subcommand per stage, thin over the library's functions."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

DEFAULT_DATA = "../shared/data"


def _command_line(argv: list[str]) -> str:
    return "stance " + " ".join(shlex.quote(a) for a in argv)


def cmd_classify(args: argparse.Namespace) -> int:
    from .inference import classify, classify_to_file

    if args.out:
        written = classify_to_file(args.source, args.out, model=args.model, batch_size=args.batch_size,
                                   format=args.format, chunk_size=args.chunk_size,
                                   fast=_fast_option(args))
        print(f"wrote {written} labelled comments to {args.out}")
        return 0
    from .readers import read_comments

    comments = read_comments(args.source, format=args.format)
    result = classify(comments, model=args.model, batch_size=args.batch_size, fast=_fast_option(args))
    print(format_table(result, limit=args.limit))
    return 0


def _fast_option(args: argparse.Namespace) -> bool | None:
    """--exact: fp32; --int8: int8; neither: as the model folder's int8 check decided."""
    return False if args.exact else (True if args.int8 else None)


def format_table(result, *, limit: int = 50, width: int = 70) -> str:
    """A readable summary: one line per comment with its labels, then label counts."""
    from .labels import LABELS, LABEL_TO_CODE

    lines = []
    for _, row in result.head(limit).iterrows():
        codes = "".join(LABEL_TO_CODE[n] for n in LABELS if bool(row[n])) or "-"
        text = " ".join(str(row["text"]).split())
        text = text if len(text) <= width else text[: width - 1] + "…"
        lines.append(f"{codes:<6} {text}")
    if len(result) > limit:
        lines.append(f"… {len(result) - limit} more")
    counts = ", ".join(f"{n} {int(result[n].sum())}" for n in LABELS)
    lines += ["", f"{len(result)} comments; codes U R E A T I H X P = {', '.join(LABELS)}",
              f"label counts: {counts}"]
    return "\n".join(lines)


def cmd_build(args: argparse.Namespace) -> int:
    from .corpus import build_corpus

    if len(args.dump) != len(args.labels):
        print("error: give one --labels file for each --dump", file=sys.stderr)
        return 2
    data_dir = None if args.no_shared else args.data
    corpus = build_corpus(data_dir, sources=args.sources, dumps=list(zip(args.dump, args.labels)),
                          seed=args.seed, output_dir=args.out)
    print(corpus)
    print(f"saved to {args.out} (data card: {Path(args.out) / 'README.md'})")
    return 0


def cmd_train(args: argparse.Namespace, argv: list[str]) -> int:
    from .training import train

    settings = {k: v for k, v in {
        "epochs": args.epochs, "learning_rate": args.learning_rate, "batch_size": args.batch_size,
        "max_length": args.max_length, "seed": args.seed, "freeze_layers": args.freeze_layers,
        "max_steps": args.max_steps, "threads": args.threads, "ema_decay": args.ema_decay,
    }.items() if v is not None}
    if args.max_per_source:
        settings["max_per_source"] = json.loads(args.max_per_source)
    if args.source_weights:
        settings["source_weights"] = json.loads(args.source_weights)
    path = train(args.corpus, args.out, base_model=args.base_model, overwrite=args.overwrite,
                 command=_command_line(argv), baseline_blend=not args.no_blend, **settings)
    print(f"model written to {path}")
    return 0


def cmd_calibrate(args: argparse.Namespace, argv: list[str]) -> int:
    from .training import calibrate

    path = calibrate(args.model, args.corpus, args.out, overwrite=args.overwrite,
                     check_fast_path=not args.no_int8_check, command=_command_line(argv))
    print(f"model written to {path}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from .modelcard import write_model_card

    reports = {}
    for item in args.report or []:
        split, sep, folder = item.partition("=")
        if not sep or not split or not folder:
            raise SystemExit(f"--report wants SPLIT=FOLDER (e.g. test=runs/report-test), got {item!r}")
        reports[split] = folder
    write_model_card(args.model, reports)
    print(f"model card written to {args.model}/README.md")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    import numpy as np

    from .baseline import TfidfBaseline
    from .corpus import corpus_arrays, load_corpus
    from .training import in_domain_rows

    corpus = load_corpus(args.corpus)
    train = corpus["train"]
    if args.train_sources:
        train = train.filter(lambda row: row["source"] in args.train_sources)
    texts, labels, mask = corpus_arrays(train)
    baseline = TfidfBaseline().fit(texts, labels.astype(int), mask.astype(int))
    # Thresholds (and the baseline's calibration) on validation comments of the kind the
    # library is for, as for the transformer: in-domain rows where there are any.
    val_texts, val_labels, val_mask = corpus_arrays(corpus["validation"])
    rows = in_domain_rows(list(corpus["validation"]["source"]))
    baseline.fit_thresholds([val_texts[i] for i in rows], val_labels[rows].astype(int),
                            val_mask[rows].astype(int))
    baseline.save_pretrained(args.out)
    print(f"TF-IDF baseline written to {args.out} (trained on {len(texts)} rows; thresholds on "
          f"{len(rows)} validation rows)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    data = args.data
    if args.sources:
        from .corpus import load_corpus

        data = load_corpus(args.data)[args.split].filter(lambda row: row["source"] in args.sources)
    result = evaluate(args.model, data, split=args.split, output_dir=args.out,
                      baseline=args.baseline, n_bootstrap=args.bootstrap,
                      group_column=args.group_column)
    headline = result.metrics.get("headline", {})
    print(json.dumps(headline, indent=2, default=str))
    print(f"report written to {args.out} (report.html, report.md, metrics.json, figures)")
    return 0


def cmd_cross_validate(args: argparse.Namespace) -> int:
    from .evaluation import cross_validate

    summary = cross_validate(args.data, k=args.folds, model=args.model, epochs=args.epochs,
                             seed=args.seed, output_dir=args.out)
    print(json.dumps(summary.get("headline", summary), indent=2, default=str))
    return 0


def cmd_summarize(args: argparse.Namespace) -> int:
    import pandas as pd

    from .inference import classify
    from .readers import read_comments
    from .summary import summarize

    classified = classify(read_comments(args.source, format=args.format), model=args.model)
    table = summarize(classified, by=args.by)
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(table.to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("classify", help="label the comments of a dump")
    p.add_argument("source", help="a comment dump (youtube page text, numbered, jsonl, csv, ...)")
    p.add_argument("--model", help="model folder (default: the shipped models/stance-minilm)")
    p.add_argument("--format", default="auto", help="dump format (default: detect)")
    p.add_argument("--out", help="write all rows to .parquet/.csv/.jsonl in chunks instead of printing")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--chunk-size", type=int, default=2000, help="comments per chunk with --out")
    p.add_argument("--limit", type=int, default=50, help="rows to print")
    p.add_argument("--exact", action="store_true", help="fp32 only (no int8 fast path)")
    p.add_argument("--int8", action="store_true",
                   help="int8 encoder even where the model's validation check did not pass it")

    p = sub.add_parser("build", help="build a labelled corpus (datasets folder + data card)")
    p.add_argument("--data", default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    p.add_argument("--no-shared", action="store_true", help="use only --dump/--labels")
    p.add_argument("--sources", nargs="+", help="built-in sources to include (default all)")
    p.add_argument("--dump", action="append", default=[], help="a comment dump of your own")
    p.add_argument("--labels", action="append", default=[], help="its annotation file (codes per comment_id or number)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")

    p = sub.add_parser("train", help="fine-tune a model on a corpus")
    p.add_argument("corpus", help="corpus folder written by `stance build`")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--base-model", help="continue from this model folder (retraining)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-length", type=int)
    p.add_argument("--freeze-layers", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--ema-decay", type=float,
                   help="also score an exponential moving average of the weights (e.g. 0.999)")
    p.add_argument("--max-per-source", help='JSON, e.g. \'{"davidson": 2000}\'')
    p.add_argument("--source-weights", help='JSON, e.g. \'{"ruw": 0.5}\'')
    p.add_argument("--no-blend", action="store_true", help="no TF-IDF blend in the model")

    p = sub.add_parser("calibrate", help="refit a trained model's validation stage (temperatures, "
                       "TF-IDF blend and stacking, thresholds) without training the encoder")
    p.add_argument("model", help="a model folder written by `stance train`")
    p.add_argument("corpus", help="corpus folder written by `stance build`")
    p.add_argument("--out", required=True, help="model folder to write (may be the same with --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.add_argument("--no-int8-check", action="store_true", help="skip the int8 check on validation")

    p = sub.add_parser("card", help="rewrite a model folder's card (README.md), adding evaluation reports")
    p.add_argument("model", help="a model folder")
    p.add_argument("--report", action="append", metavar="SPLIT=FOLDER",
                   help="a report folder of `stance evaluate` (repeatable), e.g. test=runs/report-test")

    p = sub.add_parser("baseline", help="train the TF-IDF + logistic regression baseline")
    p.add_argument("corpus", help="corpus folder written by `stance build`")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--train-sources", nargs="+", help="train on these sources only (default all)")

    p = sub.add_parser("evaluate", help="evaluate a model on labelled comments; write a report folder")
    p.add_argument("data", help="corpus folder (stance build) or labelled table (jsonl/csv with codes)")
    p.add_argument("--model", help="model folder (transformer or TF-IDF baseline; default shipped)")
    p.add_argument("--baseline", help="a second model folder to compare on the same comments")
    p.add_argument("--split", default="validation")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for CIs")
    p.add_argument("--group-column", help="bootstrap unit (default: video_id where known)")
    p.add_argument("--sources", nargs="+", help="only rows of these corpus sources (e.g. youtube_war)")

    p = sub.add_parser("cross-validate", help="grouped k-fold cross-validation (small corpora)")
    p.add_argument("data", help="corpus folder or labelled table")
    p.add_argument("--model", default="baseline", choices=["baseline", "transformer"])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="folder for cross_validation.json")

    p = sub.add_parser("summarize", help="classify a dump and print per-video shares")
    p.add_argument("source")
    p.add_argument("--by", default="video_id")
    p.add_argument("--model")
    p.add_argument("--format", default="auto")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "classify":
        return cmd_classify(args)
    if args.command == "build":
        return cmd_build(args)
    if args.command == "train":
        return cmd_train(args, argv)
    if args.command == "calibrate":
        return cmd_calibrate(args, argv)
    handlers = {"card": cmd_card, "baseline": cmd_baseline, "evaluate": cmd_evaluate, "cross-validate": cmd_cross_validate,
                "summarize": cmd_summarize}
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
