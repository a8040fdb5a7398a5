"""Labelled corpus builder: comment dumps + annotations and the shared corpora -> DatasetDict.

Every row carries nine 0/1 ``labels`` and a nine 0/1 ``label_mask`` (1 where the source
annotates that label). A label a source does not define is *unknown*, not 0, so training
and metrics can ignore it. Splits are grouped (a video's comments never straddle splits),
de-duplicated on normalised text, and deterministic for a given seed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .labels import CODES, LABELS, LabelCodeError, parse_codes

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
BUILTIN_SOURCES = ("youtube_war", "seed", "ruw", "youtoxic", "olid", "davidson")
# When a normalised text occurs in several sources, the copy of the first source here wins
# (in-domain first) and decides the one split that keeps it.
SOURCE_PRIORITY = ("youtube_war", "seed", "dump", "ruw", "youtoxic", "olid", "davidson")

N = len(LABELS)
ALL_KNOWN = (1,) * N
TOXICITY_ONLY = (0, 0, 0, 0, 1, 1, 1, 1, 1)
STANCE_PRO_ONLY = (1, 1, 0, 0, 0, 0, 0, 0, 0)

# Written into the data card so every mapping is on record.
SOURCE_MAPPINGS: dict[str, str] = {
    "youtube_war": "youtube_war/annotated.jsonl: our scheme directly (nine 0/1 fields under "
                   "ANNOTATION.md); all nine labels known. Grouped by `video` where known, else by id.",
    "seed": "seed/france24_berlin_talks.txt + .labels.tsv: our scheme directly (codes by comment "
            "number); all nine labels known; one video (one group).",
    "dump": "a user's dump + annotation file (codes or nine 0/1 columns per comment_id or row); "
            "all nine labels known; grouped by the dump's video_id, else placed by id hash.",
    "ruw": "RUW tweets: pro_russia = Russia FAVOR or Ukraine AGAINST; pro_ukraine = Ukraine FAVOR "
           "or Russia AGAINST; the other seven labels unknown. Official train/val/test kept.",
    "youtoxic": "YouToxic: toxic = IsToxic; insult = IsAbusive; threat = IsThreat; profanity = "
                "IsObscene; identity_attack = IsHatespeech or IsRacist or IsNationalist or IsSexist "
                "or IsHomophobic or IsReligiousHate; a sub-type implies toxic (ANNOTATION.md rule); "
                "stance unknown. Grouped by VideoId (no official split).",
    "olid": "OLID: toxic = subtask A OFF. NOT -> toxic and all four sub-types 0. OFF+UNT "
            "(untargeted profanity) -> profanity 1, insult/threat/identity_attack 0. OFF+TIN "
            "(targeted insult or threat, not separable) -> sub-types unknown. Stance unknown. "
            "Official training/test kept; validation is a stable 10% hash of training.",
    "davidson": "Davidson: class 0 hate speech -> toxic 1, identity_attack 1 (insult/threat/"
                "profanity unknown); class 1 offensive -> toxic 1, identity_attack 0 (others "
                "unknown); class 2 neither -> toxic and all sub-types 0. Stance unknown. No "
                "official split: stable hash.",
}


class CorpusError(ValueError):
    """An annotation file or corpus input that cannot be used, with file and line."""


@dataclass
class Rows:
    """Columns of one source before splitting; split is None where a stable hash decides."""

    source: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    video_ids: list[str | None] = field(default_factory=list)
    outlets: list[str | None] = field(default_factory=list)
    labels: list[tuple[int, ...]] = field(default_factory=list)
    masks: list[tuple[int, ...]] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def add(self, id_: str, text: str, labels: Sequence[int], mask: Sequence[int], *,
            video_id: str | None = None, outlet: str | None = None,
            split: str | None = None, group: str | None = None) -> None:
        self.ids.append(str(id_))
        self.texts.append("" if text is None else str(text))
        self.video_ids.append(video_id)
        self.outlets.append(outlet)
        # Unknown labels are stored as 0 so the column stays 0/1; the mask says they are unknown.
        self.labels.append(tuple(int(v) * int(m) for v, m in zip(labels, mask)))
        self.masks.append(tuple(int(m) for m in mask))
        self.splits.append(split)
        self.groups.append(group or (f"video:{video_id}" if video_id else f"id:{source_key(self.source)}:{id_}"))


def source_key(source: str) -> str:
    return source if source in SOURCE_PRIORITY else "dump"


# ---------------------------------------------------------------------------------------
# Text normalisation and stable hashing
# ---------------------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Key for near-exact duplicates: case, accents' forms, URLs, @mentions, punctuation and
    spacing do not count ("RT @user: Putin is a liar!!" == "putin is a liar")."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = re.sub(r"^rt\b", " ", text.strip())
    return _NON_WORD.sub(" ", text).strip()


def stable_unit(key: str, seed: int) -> float:
    """A number in [0, 1) that depends only on the key and the seed (not on Python's hash)."""
    digest = hashlib.sha1(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# ---------------------------------------------------------------------------------------
# Readers for the shared corpora
# ---------------------------------------------------------------------------------------

def load_youtube_war(data_dir: Path) -> Rows:
    rows = Rows("youtube_war")
    path = data_dir / "youtube_war" / "annotated.jsonl"
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                values = [int(record[name]) for name in LABELS]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise CorpusError(f"{path}:{line_number}: not an annotated comment ({error})") from error
            rows.add(record["id"], record["text"], values, ALL_KNOWN,
                     video_id=record.get("video"), outlet=record.get("outlet"))
    return rows


def load_seed(data_dir: Path) -> Rows:
    dump = data_dir / "seed" / "france24_berlin_talks.txt"
    labels = data_dir / "seed" / "france24_berlin_talks.labels.tsv"
    rows = load_annotated_dump(dump, labels, source="seed", video_id="france24_berlin_talks")
    return rows


def load_ruw(data_dir: Path) -> Rows:
    rows = Rows("ruw")
    official = {"train": "train", "val": "validation", "test": "test"}
    for file_split, split in official.items():
        path = data_dir / "corpora" / "ruw" / f"{file_split}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for index, record in enumerate(frame.itertuples(index=False)):
            russia, ukraine = record[2].strip().upper(), record[4].strip().upper()
            pro_russia = int(russia == "FAVOR" or ukraine == "AGAINST")
            pro_ukraine = int(ukraine == "FAVOR" or russia == "AGAINST")
            values = (pro_ukraine, pro_russia, 0, 0, 0, 0, 0, 0, 0)
            rows.add(f"ruw-{file_split}-{index}", record[0], values, STANCE_PRO_ONLY, split=split)
    return rows


def load_youtoxic(data_dir: Path) -> Rows:
    rows = Rows("youtoxic")
    path = data_dir / "corpora" / "youtoxic" / "youtoxic_english_1000.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")

    def flag(record: pd.Series, *columns: str) -> int:
        return int(any(str(record[c]).strip().upper() == "TRUE" for c in columns))

    for _, record in frame.iterrows():
        insult = flag(record, "IsAbusive")
        identity = flag(record, "IsHatespeech", "IsRacist", "IsNationalist", "IsSexist",
                        "IsHomophobic", "IsReligiousHate")
        threat = flag(record, "IsThreat")
        profanity = flag(record, "IsObscene")
        toxic = flag(record, "IsToxic") or insult or identity or threat or profanity
        values = (0, 0, 0, 0, toxic, insult, identity, threat, profanity)
        rows.add(f"youtoxic-{record['CommentId']}", record["Text"], values, TOXICITY_ONLY,
                 video_id=record["VideoId"] or None)
    return rows


def load_olid(data_dir: Path) -> Rows:
    rows = Rows("olid")
    folder = data_dir / "corpora" / "olid"
    read = dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    train = pd.read_csv(folder / "olid-training-v1.0.tsv", **read)
    test = pd.read_csv(folder / "testset-levela.tsv", **read)
    # The label files use old Mac line endings; pandas reads them with lineterminator="\r".
    level_a = _read_cr_csv(folder / "labels-levela.csv")
    level_b = _read_cr_csv(folder / "labels-levelb.csv")
    test["subtask_a"] = test["id"].map(level_a).fillna("")
    test["subtask_b"] = test["id"].map(level_b).fillna("NULL")
    for frame, official in ((train, "train"), (test, "test")):
        for record in frame.itertuples(index=False):
            offensive = record.subtask_a.strip() == "OFF"
            if not record.subtask_a.strip():
                raise CorpusError(f"{folder}: OLID test tweet {record.id} has no level-A label")
            if not offensive:
                values, mask = (0,) * N, TOXICITY_ONLY
            elif record.subtask_b.strip() == "UNT":
                values, mask = (0, 0, 0, 0, 1, 0, 0, 0, 1), TOXICITY_ONLY
            else:
                values, mask = (0, 0, 0, 0, 1, 0, 0, 0, 0), (0, 0, 0, 0, 1, 0, 0, 0, 0)
            split = official
            if official == "train" and stable_unit(f"olid-{record.id}", 0) < 0.1:
                split = "validation"
            rows.add(f"olid-{record.id}", record.tweet, values, mask, split=split)
    return rows


def _read_cr_csv(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.split(",") for line in text.splitlines() if line.strip()]
    return {parts[0].strip(): parts[1].strip() for parts in lines[1:]}


def load_davidson(data_dir: Path) -> Rows:
    rows = Rows("davidson")
    frame = pd.read_csv(data_dir / "corpora" / "davidson" / "labeled_data.csv", dtype=str,
                        keep_default_na=False)
    first = frame.columns[0]
    for _, record in frame.iterrows():
        label_class = int(record["class"])
        if label_class == 0:
            values, mask = (0, 0, 0, 0, 1, 0, 1, 0, 0), (0, 0, 0, 0, 1, 0, 1, 0, 0)
        elif label_class == 1:
            values, mask = (0, 0, 0, 0, 1, 0, 0, 0, 0), (0, 0, 0, 0, 1, 0, 1, 0, 0)
        else:
            values, mask = (0,) * N, TOXICITY_ONLY
        rows.add(f"davidson-{record[first]}", record["tweet"], values, mask)
    return rows


LOADERS: dict[str, Callable[[Path], Rows]] = {
    "youtube_war": load_youtube_war,
    "seed": load_seed,
    "ruw": load_ruw,
    "youtoxic": load_youtoxic,
    "olid": load_olid,
    "davidson": load_davidson,
}


# ---------------------------------------------------------------------------------------
# A user's dump + annotation file
# ---------------------------------------------------------------------------------------

def read_annotations(path: str | Path) -> pd.DataFrame:
    """Read an annotation file (TSV/CSV) into a frame with a key column and nine 0/1 labels.

    Keys: ``comment_id``; or ``number`` (1-based, as a numbered dump shows it); or
    ``position``/``row`` (0-based). Labels: a ``codes`` column (``RTI``, ``-``) or the nine
    label columns (0/1). Returns columns ``key_kind``, ``key``, ``line`` and the nine labels.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    if frame.empty:
        raise CorpusError(f"{path}: the annotation file has no rows")
    columns = {c.strip().lower(): c for c in frame.columns}
    for kind in ("comment_id", "number", "position", "row"):
        if kind in columns:
            key_kind, key_column = kind, columns[kind]
            break
    else:
        raise CorpusError(f"{path}: no key column (comment_id, number, position or row) among "
                          f"{list(frame.columns)}")
    out = pd.DataFrame({"key_kind": key_kind, "key": frame[key_column].str.strip(),
                        "line": np.arange(len(frame)) + 2})
    if "codes" in columns:
        values = []
        for line, codes in zip(out["line"], frame[columns["codes"]]):
            try:
                values.append(parse_codes(codes))
            except LabelCodeError as error:
                raise CorpusError(f"{path}:{line}: {error}") from error
        matrix = np.array(values, dtype=int).reshape(-1, N)
    elif all(name in columns for name in LABELS):
        try:
            matrix = frame[[columns[name] for name in LABELS]].astype(int).to_numpy()
        except ValueError as error:
            raise CorpusError(f"{path}: label columns must hold 0 or 1 ({error})") from error
        bad = np.argwhere((matrix != 0) & (matrix != 1))
        if len(bad):
            row, col = bad[0]
            raise CorpusError(f"{path}:{row + 2}: column {LABELS[col]} must be 0 or 1, "
                              f"got {matrix[row, col]}")
        for row, values in enumerate(matrix):
            if not values[4] and values[5:].any():
                raise CorpusError(f"{path}:{row + 2}: a toxicity sub-type is set without toxic")
    else:
        raise CorpusError(f"{path}: needs a `codes` column ({CODES} or -) or the nine label "
                          f"columns {', '.join(LABELS)}; found {list(frame.columns)}")
    for index, name in enumerate(LABELS):
        out[name] = matrix[:, index]
    duplicated = out["key"].duplicated(keep=False)
    if duplicated.any():
        lines = out.loc[duplicated, "line"].tolist()
        raise CorpusError(f"{path}: {key_kind} {out.loc[duplicated, 'key'].iloc[0]!r} is annotated "
                          f"more than once (lines {lines})")
    return out


def load_annotated_dump(dump: str | Path, annotations: str | Path, *, source: str | None = None,
                        video_id: str | None = None, **read_options) -> Rows:
    """Rows for the annotated comments of one dump (comments without annotation are left out:
    they carry no labels)."""
    from .readers import read_comments  # the readers module owns dump formats

    dump = Path(dump)
    comments = read_comments(dump, **read_options)
    table = read_annotations(annotations)
    kind = table["key_kind"].iloc[0]
    if kind == "comment_id":
        index = {str(cid): i for i, cid in enumerate(comments["comment_id"])}
    else:
        offset = 1 if kind == "number" else 0
        index = {str(i + offset): i for i in range(len(comments))}
    rows = Rows(source or f"dump:{dump.stem}")
    for record in table.itertuples(index=False):
        position = index.get(record.key)
        if position is None:
            raise CorpusError(f"{annotations}:{record.line}: {kind} {record.key!r} is not in "
                              f"{dump} ({len(comments)} comments)")
        comment = comments.iloc[position]
        comment_video = video_id or _none_if_missing(comment.get("video_id")) or None
        # Without a video id a comment is its own group (placed by a stable hash of its id).
        rows.add(str(comment["comment_id"]), comment["text"], [getattr(record, n) for n in LABELS],
                 ALL_KNOWN, video_id=comment_video)
    return rows


def _none_if_missing(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


# ---------------------------------------------------------------------------------------
# Splitting, de-duplication, and the DatasetDict
# ---------------------------------------------------------------------------------------

def assign_splits(frame: pd.DataFrame, fractions: Sequence[float], seed: int) -> pd.Series:
    """Split of every row: the source's official split where it has one; otherwise whole
    groups (videos) are dealt to the split furthest below its target size, and the remaining
    singletons fill each split up to its target by a stable hash of their id."""
    fractions = np.asarray(fractions, dtype=float) / np.sum(fractions)
    split = frame["official_split"].copy()
    free = split.isna()
    for source, part in frame[free].groupby("source", sort=False):
        target = fractions * len(part)
        filled = np.zeros(len(SPLITS))
        sizes = part.groupby("group", sort=False).size()
        grouped = sizes[sizes > 1]
        order = sorted(grouped.index, key=lambda g: stable_unit(g, seed))
        for group in order:
            choice = int(np.argmax((target - filled) / np.maximum(target, 1)))
            filled[choice] += grouped[group]
            split.loc[part.index[part["group"] == group]] = SPLITS[choice]
        single = part.index[part["group"].map(sizes) == 1]
        remaining = np.clip(target - filled, 0, None)
        cut = np.cumsum(remaining / max(remaining.sum(), 1e-9))
        units = np.array([stable_unit(g, seed) for g in frame.loc[single, "group"]])
        split.loc[single] = [SPLITS[min(int(np.searchsorted(cut, u, side="right")), 2)] for u in units]
    return split


def deduplicate(frame: pd.DataFrame) -> tuple[pd.DataFrame, Counter]:
    """Keep each normalised text in one split only, once: the copy of the highest-priority
    source (in-domain first), then the first seen. Empty normalised texts are all kept."""
    key = frame["text"].map(normalize_text)
    priority = frame["source"].map(lambda s: SOURCE_PRIORITY.index(source_key(s)))
    order = np.lexsort((np.arange(len(frame)), priority.to_numpy()))
    keep = np.ones(len(frame), dtype=bool)
    seen: set[str] = set()
    dropped: Counter = Counter()
    for i in order:
        k = key.iat[i]
        if not k:
            continue
        if k in seen:
            keep[i] = False
            dropped[frame["source"].iat[i]] += 1
        else:
            seen.add(k)
    return frame[keep], dropped


def build_corpus(data_dir: str | Path | None = None, *,
                 sources: Iterable[str] | None = None,
                 dumps: Iterable[tuple[str | Path, str | Path]] = (),
                 seed: int = 0,
                 fractions: Sequence[float] = DEFAULT_FRACTIONS,
                 output_dir: str | Path | None = None):
    """Build the labelled corpus as a ``datasets.DatasetDict`` (train / validation / test).

    Args:
        data_dir: the shared data folder (``../shared/data``) holding the labelled corpora;
            None to use only ``dumps``.
        sources: which of BUILTIN_SOURCES to take from ``data_dir`` (default: all of them).
        dumps: pairs (comment dump, annotation file) of the user's own labelled comments.
        seed: decides the grouped split; the same seed gives the same corpus.
        fractions: train / validation / test shares for sources without an official split.
        output_dir: when given, the corpus is saved there (``save_to_disk``) with a data
            card README.md and ``corpus.json`` (counts, label names, mappings).
    """
    import datasets

    parts: list[Rows] = []
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"data folder not found: {data_dir}")
        for name in (BUILTIN_SOURCES if sources is None else tuple(sources)):
            if name not in LOADERS:
                raise ValueError(f"unknown source {name!r}: choose from {', '.join(BUILTIN_SOURCES)}")
            parts.append(LOADERS[name](data_dir))
    for dump, annotations in dumps:
        parts.append(load_annotated_dump(dump, annotations))
    if not parts:
        raise ValueError("nothing to build: give data_dir (shared corpora) and/or dumps")

    frame = pd.DataFrame({
        "id": [i for p in parts for i in p.ids],
        "text": [t for p in parts for t in p.texts],
        "source": [p.source for p in parts for _ in p.ids],
        "video_id": [v for p in parts for v in p.video_ids],
        "outlet": [o for p in parts for o in p.outlets],
        "labels": [list(v) for p in parts for v in p.labels],
        "label_mask": [list(m) for p in parts for m in p.masks],
        "official_split": pd.Series([s for p in parts for s in p.splits], dtype=object),
        "group": [g for p in parts for g in p.groups],
    })
    duplicated_ids = frame["id"].duplicated(keep=False)
    if duplicated_ids.any():
        raise CorpusError(f"comment id {frame.loc[duplicated_ids, 'id'].iloc[0]!r} occurs in more "
                          "than one input; ids must be unique across dumps")
    frame["split"] = assign_splits(frame, fractions, seed)
    frame, dropped = deduplicate(frame)

    features = corpus_features()
    columns = list(features)
    result = datasets.DatasetDict({
        name: datasets.Dataset.from_pandas(frame.loc[frame["split"] == name, columns],
                                           features=features, preserve_index=False,
                                           info=datasets.DatasetInfo(description=_description(),
                                                                             features=features))
        for name in SPLITS
    })
    card = corpus_card(result, dropped=dropped, seed=seed, data_dir=data_dir)
    if output_dir is not None:
        save_corpus(result, output_dir, card)
    return result


def corpus_features():
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"),
        "text": datasets.Value("string"),
        "source": datasets.Value("string"),
        "video_id": datasets.Value("string"),
        "outlet": datasets.Value("string"),
        "labels": datasets.Sequence(datasets.Value("int8"), length=N),
        "label_mask": datasets.Sequence(datasets.Value("int8"), length=N),
    })


def _description() -> str:
    # datasets has no slot for the names of a multi-hot vector, so they travel in the
    # description (and in corpus.json); label_names() reads them back.
    return json.dumps({"label_names": list(LABELS)})


def label_names(dataset) -> tuple[str, ...]:
    """The label names stored with a corpus split (LABELS order)."""
    try:
        return tuple(json.loads(dataset.info.description)["label_names"])
    except (TypeError, ValueError, KeyError):
        return LABELS


def corpus_counts(corpus) -> dict:
    """Counts per split, per source, and positives / known per label (for the data card)."""
    counts: dict = {"splits": {}, "total": 0}
    for split, dataset in corpus.items():
        frame = dataset.select_columns(["source", "labels", "label_mask", "video_id"]).to_pandas()
        labels = np.array(frame["labels"].tolist(), dtype=int).reshape(-1, N)
        mask = np.array(frame["label_mask"].tolist(), dtype=int).reshape(-1, N)
        per_source = {}
        for source, part in frame.groupby("source", sort=True):
            rows = part.index.to_numpy()
            per_source[source] = {
                "rows": int(len(part)),
                "positives": {n: int(labels[rows, i].sum()) for i, n in enumerate(LABELS) if mask[rows, i].any()},
            }
        counts["splits"][split] = {
            "rows": int(len(frame)),
            "videos": int(frame["video_id"].nunique()),
            "sources": per_source,
            "positives": {n: int(labels[:, i].sum()) for i, n in enumerate(LABELS)},
            "known": {n: int(mask[:, i].sum()) for i, n in enumerate(LABELS)},
        }
        counts["total"] += int(len(frame))
    return counts


def corpus_card(corpus, *, dropped: Counter | None = None, seed: int = 0,
                data_dir: Path | None = None) -> str:
    """The data card (markdown): counts per split, source and label, and every mapping."""
    counts = corpus_counts(corpus)
    lines = ["# stance corpus", "",
             f"Built by `stance.build_corpus` (seed {seed}) from {data_dir or 'user dumps only'}.",
             "Labels follow ANNOTATION.md (silver standard: judgements by annotators, not by the "
             "comments' authors). `label_mask` is 1 where a source annotates a label; unknown "
             "labels are stored as 0 with mask 0 and must be ignored.", "",
             "## Rows per split and source", "",
             "| source | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    sources = sorted({s for sp in counts["splits"].values() for s in sp["sources"]})
    for source in sources:
        cells = [str(counts["splits"][sp]["sources"].get(source, {}).get("rows", 0)) for sp in SPLITS]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(str(counts["splits"][sp]["rows"]) for sp in SPLITS) + " |")
    lines += ["", "## Positives / known rows per label", "",
              "| label | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for name in LABELS:
        cells = [f"{counts['splits'][sp]['positives'][name]} / {counts['splits'][sp]['known'][name]}"
                 for sp in SPLITS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Label mapping per source", ""]
    for source in sources:
        lines.append(f"- **{source}**: {SOURCE_MAPPINGS[source_key(source)]}")
    lines += ["", "## Splits and duplicates", "",
              "Comments of one video never straddle splits; comments without a video id are "
              "assigned by a stable hash of their id; RUW and OLID keep their official splits. "
              "Exact and near-exact duplicates (same text after case, URL, @mention and "
              "punctuation normalisation) are kept once, in one split."]
    if dropped:
        lines.append("Duplicates dropped: " + ", ".join(f"{s} {n}" for s, n in sorted(dropped.items())) + ".")
    return "\n".join(lines) + "\n"


def save_corpus(corpus, output_dir: str | Path, card: str | None = None) -> Path:
    output_dir = Path(output_dir)
    corpus.save_to_disk(str(output_dir))
    (output_dir / "README.md").write_text(card or corpus_card(corpus), encoding="utf-8")
    meta = {"label_names": list(LABELS), "counts": corpus_counts(corpus),
            "mappings": SOURCE_MAPPINGS}
    (output_dir / "corpus.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return output_dir


def load_corpus(corpus):
    """A DatasetDict from a folder written by ``stance build`` (or pass one through)."""
    import datasets

    if isinstance(corpus, datasets.DatasetDict):
        return corpus
    path = Path(corpus)
    if not (path / "dataset_dict.json").is_file():
        raise FileNotFoundError(f"{path} is not a corpus folder written by `stance build` "
                                "(no dataset_dict.json)")
    return datasets.load_from_disk(str(path))


def corpus_arrays(dataset) -> tuple[list[str], np.ndarray, np.ndarray]:
    """texts, labels (n, 9) and label_mask (n, 9) of one split, as plain Python / numpy."""
    texts = list(dataset["text"])
    labels = np.array(dataset["labels"], dtype=np.float32).reshape(-1, N)
    mask = np.array(dataset["label_mask"], dtype=np.float32).reshape(-1, N)
    return texts, labels, mask
