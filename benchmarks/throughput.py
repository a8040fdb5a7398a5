"""Throughput, memory and agreement of ``stance.classify`` against plain transformers code.

    python benchmarks/throughput.py                     # 5,000 real comments, both paths
    python benchmarks/throughput.py --n 1000 --threads 1
    python benchmarks/throughput.py --memory 100000     # peak RSS of the streaming path

Both paths score the same comments with the same folder's weights, in one process. The
reference is what a user would write with plain transformers: fp32, batches of 32 in input
order padded to the longest, mean pooling, the head, temperatures and (where the folder
has one) the TF-IDF blend. Ratios matter, not absolute times: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POOL = ROOT.parent / "shared" / "data" / "youtube_war" / "pool.jsonl"


def load_comments(n: int) -> tuple[list[str], str]:
    if POOL.is_file():
        texts = []
        with POOL.open(encoding="utf-8") as handle:
            for line in handle:
                texts.append(json.loads(line)["text"])
        rng = np.random.default_rng(0)
        chosen = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
        return [texts[i] for i in chosen], f"{len(chosen)} comments from {POOL}"
    rng = np.random.default_rng(0)
    words = ("ukraine russia nato europe usa putin zelensky war peace talks aid weapons "
             "sanctions people army front city drone gas money west news video why how").split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(4, 60)))) for _ in range(n)]
    return texts, f"{n} generated comments (../shared absent)"


def reference_probabilities(folder: str, comments: list[str]) -> np.ndarray:
    """Plain transformers, as the README documents it: fp32, batches of 32 in input order."""
    import emoji
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    cfg = json.load(open(f"{folder}/stance.json"))
    tok = AutoTokenizer.from_pretrained(folder)
    enc = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
    head = load_file(f"{folder}/head.safetensors")
    out = []
    for start in range(0, len(comments), 32):
        texts = [" ".join(emoji.demojize(t, delimiters=(" ", " ")).replace("_", " ").split())
                 for t in comments[start:start + 32]]
        batch = tok(texts, padding=True, truncation=True, max_length=cfg["max_length"], return_tensors="pt")
        with torch.no_grad():
            states = enc(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1)
        logits = pooled @ head["weight"].T + head["bias"]
        out.append(torch.sigmoid(logits / torch.tensor(cfg["temperatures"])).numpy())
    probs = np.concatenate(out)
    if Path(folder, "baseline").is_dir():  # the TF-IDF part, combined as classify does
        from stance.baseline import TfidfBaseline
        from stance.model import StanceConfig, combine_with_baseline

        baseline = TfidfBaseline.from_pretrained(Path(folder, "baseline"))
        probs = combine_with_baseline(StanceConfig.from_file(Path(folder, "stance.json")), probs,
                                      baseline.predict_proba(comments))
    return probs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_speed(args) -> None:
    import torch

    import stance
    from stance.labels import LABELS
    from stance.model import default_model_path, load_model, prepare_text

    folder = str(args.model or default_model_path())
    if args.threads:
        torch.set_num_threads(args.threads)
    comments, what = load_comments(args.n)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"data: {what}; model: {folder}")
    model = load_model(folder)
    stance.classify(comments[:64], model=model)  # warm-up: int8 copy, tokenizer, caches
    reference_probabilities(folder, comments[:64])

    timings = {"reference": [], "classify": []}
    for _ in range(args.repeat):
        start = time.perf_counter()
        reference = reference_probabilities(folder, comments)
        timings["reference"].append(time.perf_counter() - start)
        start = time.perf_counter()
        result = stance.classify(comments, model=model, fast=args.fast, progress=False)
        timings["classify"].append(time.perf_counter() - start)
    ref_rate = len(comments) / min(timings["reference"])
    fast_rate = len(comments) / min(timings["classify"])
    probabilities = result[[f"{n}_prob" for n in LABELS]].to_numpy()
    thresholds = model.thresholds
    same = ((reference >= thresholds) == (probabilities >= thresholds)).mean(axis=0)
    print(f"reference (plain transformers, fp32, batch 32, input order): {ref_rate:8.1f} comments/s")
    print(f"stance.classify (as shipped, fast={args.fast}):               {fast_rate:8.1f} comments/s")
    print(f"ratio classify / reference: {fast_rate / ref_rate:.2f}x")
    print(f"peak resident memory of this process: {peak_rss_mb():.0f} MB")
    print(f"max |probability difference|: {np.abs(reference - probabilities).max():.4f}")
    # The reference truncates at max_length; classify scores long comments over windows.
    window = model.config.max_length - 2
    lengths = np.array([len(ids) for ids in model.tokenizer(
        [prepare_text(t) for t in comments], add_special_tokens=False)["input_ids"]])
    short = lengths <= window
    print(f"comments within the {model.config.max_length}-token window: {short.sum()} of {len(comments)}; "
          f"max |probability difference| on them: {np.abs(reference[short] - probabilities[short]).max():.4f}")
    print("identical decisions per label: " + ", ".join(f"{n} {s:.4f}" for n, s in zip(LABELS, same)))
    fast_path = model.config.fast_path
    if fast_path:
        print(f"validation check stored with the model (int8 vs fp32): {json.dumps(fast_path['fp32'])} vs "
              f"{json.dumps(fast_path['int8'])}; int8_ok={fast_path['int8_ok']}")


def run_memory(args) -> None:
    """Stream N comments (the pool repeated, or generated) through classify_to_file in a
    child process and report that process's peak resident memory."""
    comments, what = load_comments(min(args.memory, 25_000))
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "big.jsonl"
        with dump.open("w", encoding="utf-8") as handle:
            for i in range(args.memory):
                handle.write(json.dumps({"id": f"b{i}", "text": comments[i % len(comments)]}) + "\n")
        out = Path(tmp) / "labels.parquet"
        code = ("import resource, sys, time; from stance.inference import classify_to_file; "
                f"t = time.perf_counter(); n = classify_to_file({str(dump)!r}, {str(out)!r}, "
                f"model={args.model!r}, chunk_size=2000, progress=False); "
                "print(n, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        n, seconds, peak = done.stdout.split()[-3:]
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out).metadata.num_rows
    print(f"streaming {n} comments ({what}, repeated) to parquet: {float(seconds):.0f} s, "
          f"{int(n) / float(seconds):.1f} comments/s, peak resident memory {float(peak):.0f} MB, "
          f"{rows} rows written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="comments for the speed comparison")
    parser.add_argument("--model", help="model folder (default: the shipped one)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path (best is kept)")
    parser.add_argument("--fast", default=None, type=lambda v: {"true": True, "false": False}[v.lower()],
                        help="force int8 on (true) or off (false); default: as the model folder says")
    parser.add_argument("--memory", type=int, help="instead: stream this many comments, report peak memory")
    args = parser.parse_args()
    if args.memory:
        run_memory(args)
    else:
        run_speed(args)


if __name__ == "__main__":
    main()
