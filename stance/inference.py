"""``classify``: comments in, one row per comment out, with nine probabilities and decisions.

Speed on a CPU comes from batches of comments of similar length (sorted by token count,
then restored to input order) padded only to the batch's longest comment, the tokenizer's
batch mode, and no gradients. Comments longer than the model's window are scored over
overlapping windows and the maximum per label is kept, so nothing is silently cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .labels import LABELS
from .model import StanceModel, load_model, pad_batch, prepare_text

TEXT_COLUMNS = ("text", "comment", "comments", "Comment", "body")
STREAMABLE_FORMATS = ("jsonl", "ycd-jsonl", "lines")
# Measured here on 2,000 real comments, 2 cores, windows sorted by length: padding to a
# multiple of 4 ran 5-10% faster than to a multiple of 8 at batch 16. Batches of 24-48 were
# a few percent faster still but raised peak memory by 70-100 MB (per-shape kernel caches),
# which streaming 100,000 comments could not afford under 1 GB.
DEFAULT_BATCH_SIZE = 16
PAD_MULTIPLE = 4
# The kinds of linear layer in a BERT encoder, by module name (for choosing what runs in int8).
LINEAR_LAYER_KINDS = {
    "query/key/value": lambda name: ".attention.self." in name,
    "attention output": lambda name: ".attention.output." in name,
    "feed-forward in": lambda name: ".intermediate." in name,
    "feed-forward out": lambda name: name.endswith("output.dense") and ".attention." not in name,
}


def int8_model(model: StanceModel, scope: str | Iterable[str] | None = None) -> StanceModel:
    """A copy of the model whose encoder's linear layers run in int8 (torch dynamic
    quantization with per-channel weight scales; per-tensor scales lost more accuracy).
    ``scope``: "all" linear layers of the encoder, "ffn" (only the feed-forward layers,
    two thirds of the work), or the names of the encoder modules to quantize; default: as
    the model folder's int8 check chose, else "all". Made once per model and scope, and
    cached on it."""
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    scope = scope or model.config.fast_path.get("scope", "all")
    key = scope if isinstance(scope, str) else frozenset(scope)
    cache = model.__dict__.setdefault("_int8_copies", {})
    if key in cache:
        return cache[key]
    linear = [name for name, module in model.encoder.named_modules() if isinstance(module, torch.nn.Linear)]
    if scope == "all":
        names = linear
    elif scope == "ffn":
        names = [name for name in linear if LINEAR_LAYER_KINDS["feed-forward in"](name)
                 or LINEAR_LAYER_KINDS["feed-forward out"](name)]
    elif isinstance(scope, str):
        raise ValueError(f"int8 scope must be 'all', 'ffn' or module names, not {scope!r}")
    else:
        names = sorted(key)
        unknown = set(names) - set(linear)
        if unknown:
            raise ValueError(f"not linear layers of the encoder: {sorted(unknown)}")
    spec = {name: per_channel_dynamic_qconfig for name in names}
    quantized = copy.copy(model)  # shares tokenizer, config, head and baseline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks its quantized tensors as deprecated
        encoder = quantize_dynamic(model.encoder, spec, dtype=torch.qint8, inplace=False)
    object.__setattr__(quantized, "_modules", {**model._modules, "encoder": encoder})
    quantized.__dict__["_int8_copies"] = {}
    cache[key] = quantized
    return quantized


def use_fast_path(model: StanceModel, fast: bool | None) -> StanceModel:
    """fast=None: int8 only when the model folder records that int8 kept validation
    macro-F1 within tolerance (``stance.json`` -> ``fast_path.int8_ok``)."""
    if fast is None:
        fast = bool(model.config.fast_path.get("int8_ok", False))
    return int8_model(model) if fast else model


def token_windows(model: StanceModel, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of every window ([CLS] body [SEP]) and the index of the text it belongs to."""
    tokenizer = model.tokenizer
    body = model.config.max_length - 2
    stride = min(model.config.window_stride, body)
    prepared = [prepare_text(text) for text in texts]
    encoded = tokenizer(prepared, add_special_tokens=False, truncation=False,
                        return_attention_mask=False, verbose=False)["input_ids"]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows: list[list[int]] = []
    owners: list[int] = []
    for index, ids in enumerate(encoded):
        starts = [0] if len(ids) <= body else list(range(0, len(ids) - body + stride, stride))
        for start in starts:
            windows.append([cls, *ids[start:start + body], sep])
            owners.append(index)
    return windows, np.asarray(owners, dtype=np.int64)


@torch.inference_mode()
def window_outputs(model: StanceModel, texts: Sequence[str], forward, width: int, *,
                   batch_size: int = 32, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``forward(input_ids, attention_mask)`` -> (batch, width) for every window of every
    text, in batches of windows sorted by length. Returns the outputs (n_windows, width)
    and the index of the text each window belongs to."""
    windows, owners = token_windows(model, texts)
    order = np.argsort([len(w) for w in windows], kind="stable")
    outputs = np.empty((len(windows), width), dtype=np.float32)
    pad = model.tokenizer.pad_token_id or 0
    batches = range(0, len(order), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="classify", unit="batch")
    for start in batches:
        chosen = order[start:start + batch_size]
        # Lengths rounded up to a multiple of 4: a few dozen distinct shapes instead of
        # one per length keeps the CPU kernels' per-shape caches (and memory) small.
        ids, mask = pad_batch(windows, chosen, pad, multiple=PAD_MULTIPLE)
        outputs[chosen] = forward(ids, mask).float().numpy()
    return outputs, owners


def predict_logits(model: StanceModel, texts: Sequence[str], *, batch_size: int = 32,
                   progress: bool = False) -> np.ndarray:
    """Raw logits (n, 9): windows sorted by length, batched, then max per text and label."""
    model.eval()
    n_labels = len(model.labels)
    if not texts:
        return np.zeros((0, n_labels))
    window_logits, owners = window_outputs(model, texts, model, n_labels, batch_size=batch_size,
                                           progress=progress)
    logits = np.full((len(texts), n_labels), -np.inf, dtype=np.float32)
    np.maximum.at(logits, owners, window_logits)
    return logits


def _texts_of(comments) -> tuple[list[str], pd.DataFrame]:
    """The texts to score and the frame the results are joined onto (input index kept)."""
    if isinstance(comments, (str, Path)) and _is_path(comments):
        from .readers import read_comments

        frame = read_comments(comments)
        return _check_texts(frame["text"].tolist()), frame
    if isinstance(comments, str):
        return [comments], pd.DataFrame({"text": [comments]})
    if isinstance(comments, pd.DataFrame):
        column = next((c for c in TEXT_COLUMNS if c in comments.columns), None)
        if column is None:
            raise ValueError(f"the DataFrame has no text column ({', '.join(TEXT_COLUMNS)}); "
                             f"columns are {list(comments.columns)}")
        return _check_texts(comments[column].tolist()), comments.copy()
    if isinstance(comments, pd.Series):
        texts = _check_texts(comments.tolist())
        return texts, pd.DataFrame({"text": comments.to_numpy()}, index=comments.index)
    if isinstance(comments, Iterable):
        texts = _check_texts(list(comments))
        return texts, pd.DataFrame({"text": texts})
    raise TypeError(f"classify takes a string, strings, a Series, a DataFrame or a dump path, "
                    f"not {type(comments).__name__}")


def _is_path(value) -> bool:
    if isinstance(value, Path):
        return True
    return "\n" not in value and len(value) < 4096 and Path(value).is_file()


def _check_texts(items: list) -> list[str]:
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"comment at position {position} is {type(item).__name__} "
                            f"({item!r:.60}), not a string")
    return items


def classify(comments, *, model: StanceModel | str | Path | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE,
             thresholds: dict[str, float] | Sequence[float] | None = None,
             progress: bool | None = None, fast: bool | None = None,
             threads: int | None = None) -> pd.DataFrame:
    """Label comments with the nine labels.

    Args:
        comments: a string, an iterable of strings, a pandas Series, a DataFrame (from
            ``read_comments`` or any frame with a ``text`` column), or a path to a dump.
        model: a model folder, a loaded model, or None for the shipped default.
        batch_size: comments per forward pass.
        thresholds: decision thresholds to use instead of the model's (a {label: value}
            mapping, possibly partial, or nine values).
        progress: show a progress bar (default: when there are more than 2,000 comments).
        fast: int8 encoder (faster on a CPU, decisions within the tolerance checked on
            validation). None (default): on when the model folder records that the check
            passed; False: exact fp32.
        threads: torch CPU threads for this call (default: torch's setting).

    Returns:
        A DataFrame with one row per input comment, in input order (a DataFrame's own index
        and columns kept), plus ``<label>_prob`` (calibrated probability) and ``<label>``
        (bool) for each label. Empty or whitespace-only comments get 0 and False.
    """
    texts, frame = _texts_of(comments)
    loaded = model if isinstance(model, StanceModel) else load_model(model)
    cutoffs = _thresholds(loaded, thresholds)
    probabilities = np.zeros((len(texts), len(loaded.labels)))
    scored = [i for i, text in enumerate(texts) if text.strip()]
    if scored:
        show = progress if progress is not None else len(scored) > 2000
        runner = use_fast_path(loaded, fast)
        with torch_threads(threads):
            probabilities[scored] = runner.predict_proba([texts[i] for i in scored],
                                                         batch_size=batch_size, progress=show)
    for index, name in enumerate(loaded.labels):
        frame[f"{name}_prob"] = probabilities[:, index]
    for index, name in enumerate(loaded.labels):
        frame[name] = (probabilities[:, index] >= cutoffs[index]) & (probabilities[:, index] > 0)
    return frame


def _thresholds(model: StanceModel, override) -> np.ndarray:
    cutoffs = model.thresholds.copy()
    if override is None:
        return cutoffs
    if isinstance(override, dict):
        unknown = set(override) - set(model.labels)
        if unknown:
            raise ValueError(f"unknown label(s) in thresholds: {sorted(unknown)}; labels are {LABELS}")
        for name, value in override.items():
            cutoffs[model.labels.index(name)] = float(value)
        return cutoffs
    values = np.asarray(list(override), dtype=float)
    if values.shape != cutoffs.shape:
        raise ValueError(f"thresholds needs {len(cutoffs)} values, got {values.size}")
    return values


class torch_threads:
    """Set torch's intra-op threads for a block (None: leave as is). On a machine whose
    cores are busy, fewer threads than cores can be faster; let the caller choose."""

    def __init__(self, threads: int | None):
        self.threads, self.saved = threads, None

    def __enter__(self):
        if self.threads:
            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc):
        if self.saved:
            torch.set_num_threads(self.saved)


# ---------------------------------------------------------------------------------------
# Streaming: large dumps in chunks, bounded memory, written as they come
# ---------------------------------------------------------------------------------------

def iter_comment_chunks(source: str | Path, *, chunk_size: int = 2000, format: str = "auto",
                        **options) -> Iterable[pd.DataFrame]:
    """The comments of a dump as DataFrames of at most ``chunk_size`` rows, in order.

    Line-oriented formats (jsonl, ycd-jsonl, lines) are read a chunk of lines at a time, so
    memory stays bounded whatever the file's size; ``position``, generated ids and error
    line numbers are those of the whole file. Other formats are read whole, then sliced.
    """
    from .readers import DumpFormatError, detect_format, read_comments

    path = Path(source)
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in STREAMABLE_FORMATS:
        frame = read_comments(path, format=fmt, **options)
        for start in range(0, len(frame), chunk_size):
            yield frame.iloc[start:start + chunk_size]
        return
    name = options.pop("name", None) or str(source)
    position = 0  # comments before this chunk
    first_line = 1  # the chunk's first line in the file
    lines: list[str] = []
    comments_in_chunk = 0
    with path.open(encoding=options.pop("encoding", "utf-8-sig"), newline="") as handle:
        for line_number, line in enumerate(handle, 1):
            lines.append(line)
            comments_in_chunk += bool(line.strip())
            if comments_in_chunk >= chunk_size:
                yield _parse_chunk(lines, fmt, name, position, first_line, options)
                position += comments_in_chunk
                first_line = line_number + 1
                lines, comments_in_chunk = [], 0
    if comments_in_chunk:
        yield _parse_chunk(lines, fmt, name, position, first_line, options)
    elif position == 0:
        raise DumpFormatError("the file is empty", source=name)


def _parse_chunk(lines: list[str], fmt: str, name: str, offset: int, first_line: int,
                 options: dict) -> pd.DataFrame:
    """One chunk of a line-oriented dump, with positions, generated ids and error lines of
    the whole file (generated ids hash the file name, position and text, as read_comments)."""
    from .readers import DumpFormatError, _make_id, read_comments

    try:
        frame = read_comments("".join(lines) + "\n", format=fmt, name=name, **options)
    except DumpFormatError as failure:
        if failure.line is None:
            raise
        # Re-raise with the line number in the whole file, not in this chunk.
        message = str(failure).removeprefix(f"{failure.source}:{failure.line}: ")
        raise DumpFormatError(message, source=name, line=failure.line + first_line - 1) from None
    generated = frame["comment_id"] == [_make_id(name, p, t) for p, t in zip(frame["position"], frame["text"])]
    frame["position"] = frame["position"] + offset
    key = Path(name).name
    frame.loc[generated, "comment_id"] = [_make_id(key, p, t) for p, t in
                                         zip(frame.loc[generated, "position"], frame.loc[generated, "text"])]
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def classify_chunks(source, *, chunk_size: int = 2000, model=None, progress: bool = True,
                    format: str = "auto", **classify_options) -> Iterable[pd.DataFrame]:
    """Classify a dump path (streamed) or an iterable of strings chunk by chunk; yields
    classified DataFrames in input order, so 1,000,000 comments never sit in memory at once."""
    loaded = model if isinstance(model, StanceModel) else load_model(model)
    if isinstance(source, (str, Path)) and _is_path(str(source)):
        chunks = iter_comment_chunks(source, chunk_size=chunk_size, format=format)
    else:
        chunks = _string_chunks(source, chunk_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="classify", unit="comment")
    try:
        for chunk in chunks:
            result = classify(chunk, model=loaded, progress=False, **classify_options)
            if bar is not None:
                bar.update(len(result))
            yield result
    finally:
        if bar is not None:
            bar.close()


def _string_chunks(items: Iterable[str], chunk_size: int) -> Iterable[pd.DataFrame]:
    batch: list[str] = []
    start = 0
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"comment at position {position} is {type(item).__name__}, not a string")
        batch.append(item)
        if len(batch) == chunk_size:
            yield pd.DataFrame({"text": batch}, index=pd.RangeIndex(start, start + len(batch)))
            start += len(batch)
            batch = []
    if batch:
        yield pd.DataFrame({"text": batch}, index=pd.RangeIndex(start, start + len(batch)))


def classify_to_file(source, out: str | Path, *, chunk_size: int = 2000, progress: bool = True,
                     **options) -> int:
    """Classify a dump (or iterable of strings) and write every row to ``out`` as it goes:
    ``.parquet`` (one row group per chunk), ``.csv`` or ``.jsonl``. Returns the row count."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        raise ValueError(f"--out must end in .parquet, .csv or .jsonl, not {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    written = 0
    try:
        for result in classify_chunks(source, chunk_size=chunk_size, progress=progress, **options):
            result = _plain_columns(result)
            if suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(result, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(str(out), table.schema)
                writer.write_table(table.cast(writer.schema))
            elif suffix == ".csv":
                result.to_csv(out, mode="a" if written else "w", header=not written, index=False)
            else:
                with out.open("a" if written else "w", encoding="utf-8") as handle:
                    handle.write(result.to_json(orient="records", lines=True, force_ascii=False))
            written += len(result)
    finally:
        if writer is not None:
            writer.close()
    return written


def _plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns a file format can hold the same in every chunk (all-None objects as strings)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    return frame


# ---------------------------------------------------------------------------------------
# The int8 check: is the fast path within tolerance on validation?
# ---------------------------------------------------------------------------------------

INT8_TOLERANCE = 0.005


def check_int8(model: StanceModel, texts: Sequence[str], labels: np.ndarray, mask: np.ndarray,
               *, tolerance: float = INT8_TOLERANCE, batch_size: int = DEFAULT_BATCH_SIZE,
               scope: str = "all") -> dict:
    """Score validation comments with fp32 and with int8 at the model's thresholds; int8 is
    acceptable when every headline F1 (stance macro, toxic, sub-type macro, all-label macro)
    moves by at most ``tolerance``. Returns the record kept in stance.json ``fast_path``."""
    from .training import headline_scores

    exact = model.predict_proba(texts, batch_size=batch_size)
    fast = int8_model(model, scope).predict_proba(texts, batch_size=batch_size)
    scores = {}
    for name, probabilities in (("fp32", exact), ("int8", fast)):
        s = headline_scores(probabilities, labels, mask, model.thresholds)
        s["all_labels_macro_f1"] = float(np.mean([s[n] for n in model.labels if n in s]))
        scores[name] = s
    keys = ("stance_macro_f1", "toxic_f1", "subtype_macro_f1", "all_labels_macro_f1")
    worst = max(abs(scores["fp32"][k] - scores["int8"][k]) for k in keys)
    decisions = (exact >= model.thresholds) == (fast >= model.thresholds)
    return {
        "int8_ok": bool(worst <= tolerance),
        "tolerance": tolerance,
        "largest_f1_change": round(float(worst), 4),
        "fp32": {k: round(scores["fp32"][k], 4) for k in keys},
        "int8": {k: round(scores["int8"][k], 4) for k in keys},
        "max_probability_difference": round(float(np.abs(exact - fast).max()), 4),
        "identical_decisions": {n: round(float(decisions[:, j].mean()), 4) for j, n in enumerate(model.labels)},
        "rows": int(len(texts)),
        "scope": scope,
        "quantization": f"torch dynamic int8, per-channel weights, encoder linear layers ({scope})",
    }
