"""Summaries of a classified comment section: shares per video, toxic threads, plots.

Input is the classified table (``stance.classify``): the comments' own columns plus, for
each label L, ``L_prob`` (calibrated probability) and ``L`` (bool decision).

- :func:`summarize`: per group (default: per ``video_id``) the comment count and, for each
  of the nine labels, the share of comments with that label and its Wilson 95% interval.
- :func:`toxicity_by_stance`: the toxicity rate among the comments of each stance.
- :func:`top_toxic_threads`: reply chains ranked by their most toxic comment.
- :func:`plot_stance_shares`, :func:`plot_toxicity_by_stance`: matplotlib Figures drawn on
  the Agg canvas (the caller's pyplot backend is left alone).

Shares count decisions (a comment is pro_ukraine or not), so they depend on the model's
thresholds; ``<label>_mean_prob`` (the mean calibrated probability) is an estimate of the
same share that does not. The intervals cover sampling noise only, not model error.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Sequence

import numpy as np
import pandas as pd

from .labels import LABELS, STANCE_LABELS, SUBTYPE_LABELS

__all__ = [
    "ALL_GROUP",
    "NO_STANCE",
    "plot_stance_shares",
    "plot_toxicity_by_stance",
    "summarize",
    "top_toxic_threads",
    "toxicity_by_stance",
    "wilson_interval",
]

#: Name of the single group when the grouping column is missing or empty.
ALL_GROUP = "all"
#: Group value for rows whose grouping column is empty while others have one.
MISSING_GROUP = "(none)"
#: Row of :func:`toxicity_by_stance` for comments with none of the four stances.
NO_STANCE = "no_stance"


# ---------------------------------------------------------------------------- intervals
def wilson_interval(successes, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (vectorised; NaN where n == 0).

    Closed form: with p = k/n and z the normal quantile,
    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``. Unlike the normal
    approximation it stays inside [0, 1] and behaves for shares near 0 or 1 and small n.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > total):
        raise ValueError("successes must lie between 0 and n")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / total
        denominator = 1 + z**2 / total
        centre = (p + z**2 / (2 * total)) / denominator
        half = z * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denominator
        # k == 0 and k == n give exactly 0 and 1 (rounding would leave ~1e-17).
        low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high = np.where(k == total, 1.0, np.clip(centre + half, 0.0, 1.0))
        low = np.where(total > 0, low, np.nan)
        high = np.where(total > 0, high, np.nan)
    return low, high


# ---------------------------------------------------------------------------- input checks
def _check_classified(classified: pd.DataFrame, labels: Sequence[str] = LABELS,
                      probabilities: bool = True) -> None:
    if not isinstance(classified, pd.DataFrame):
        raise TypeError(f"expected the classified DataFrame from stance.classify, "
                        f"not {type(classified).__name__}")
    needed = [name for label in labels
              for name in ((label, f"{label}_prob") if probabilities else (label,))]
    missing = [name for name in needed if name not in classified.columns]
    if missing:
        raise ValueError(f"not a classified table: column(s) {', '.join(missing)} missing "
                         f"(run stance.classify first); columns are {list(classified.columns)}")


def _decisions(classified: pd.DataFrame, label: str) -> np.ndarray:
    """A decision column as a bool array; NA or values other than 0/1 are an error."""
    column = classified[label]
    empty = column.isna().to_numpy()
    if empty.any():
        raise ValueError(f"column {label!r} has no decision at index "
                         f"{classified.index[int(np.argmax(empty))]!r}")
    values = column.to_numpy()
    if values.dtype != bool:
        bad = ~np.isin(values, (0, 1, True, False))
        if bad.any():
            raise ValueError(f"column {label!r} must hold True/False (or 0/1); index "
                             f"{classified.index[int(np.argmax(bad))]!r} holds {values[bad][0]!r}")
    return values.astype(bool)


def _group_keys(classified: pd.DataFrame, by: str | Sequence[str] | None) -> tuple[list[str], pd.DataFrame]:
    """The grouping keys: a column that is missing or wholly empty is one group named
    ``"all"``; empty cells in a filled column are ``"(none)"``."""
    names = [] if by is None else [by] if isinstance(by, str) else list(by)
    if not names:
        names = ["group"]
        return names, pd.DataFrame({"group": ALL_GROUP}, index=classified.index)
    keys = {}
    for name in names:
        if name not in classified.columns or classified[name].isna().all():
            keys[name] = pd.Series(ALL_GROUP, index=classified.index, dtype=object)
        else:
            column = classified[name]
            if column.isna().any():
                column = column.astype(object).where(column.notna(), MISSING_GROUP)
            keys[name] = column
    return names, pd.DataFrame(keys, index=classified.index)


# ---------------------------------------------------------------------------- summaries
def _share_columns(label: str) -> list[str]:
    return [f"{label}_n", f"{label}_share", f"{label}_low", f"{label}_high", f"{label}_mean_prob"]


def summarize(classified: pd.DataFrame, by: str | Sequence[str] | None = "video_id", *,
              confidence: float = 0.95) -> pd.DataFrame:
    """Per group: comment count and the share of each label with its Wilson interval.

    Args:
        classified: the table from ``stance.classify``.
        by: the column(s) to group by (default ``video_id``). A column that is missing or
            holds no value at all (a dump without video ids) makes one group, ``"all"``;
            None groups everything together. Empty cells in a filled column form the group
            ``"(none)"``.
        confidence: level of the Wilson intervals.

    Returns:
        One row per group (in order of first appearance), indexed by the ``by`` column(s),
        with ``n_comments`` and, for each label L of LABELS (four stances, toxic, the four
        toxicity sub-types): ``L_n`` (comments with L), ``L_share`` (= L_n / n_comments),
        ``L_low`` / ``L_high`` (Wilson interval of the share) and ``L_mean_prob`` (mean
        calibrated probability). Sub-type shares are out of all comments, not out of the
        toxic ones.
    """
    _check_classified(classified)
    names, keys = _group_keys(classified, by)
    decisions = pd.DataFrame({label: _decisions(classified, label) for label in LABELS},
                             index=classified.index)
    probabilities = classified[[f"{label}_prob" for label in LABELS]].astype(float)
    grouped_decisions = decisions.groupby([keys[name] for name in names], sort=False)
    counts = grouped_decisions.sum()
    sizes = grouped_decisions.size()
    means = probabilities.groupby([keys[name] for name in names], sort=False).mean()

    result = pd.DataFrame({"n_comments": sizes.astype(int)}, index=sizes.index)
    for label in LABELS:
        k = counts[label].to_numpy(dtype=int)
        n = result["n_comments"].to_numpy()
        low, high = wilson_interval(k, n, confidence)
        result[f"{label}_n"] = k
        result[f"{label}_share"] = k / np.maximum(n, 1)
        result[f"{label}_low"] = low
        result[f"{label}_high"] = high
        result[f"{label}_mean_prob"] = means[f"{label}_prob"].to_numpy()
    result.index.names = names
    result.attrs["confidence"] = confidence
    return result


def toxicity_by_stance(classified: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Toxicity among the comments of each stance (and of comments with no stance).

    One row per stance label plus ``"no_stance"`` with ``n_comments`` (comments with that
    stance; a comment with two stances counts in both), ``toxic_n``, ``toxic_rate`` and its
    Wilson interval ``toxic_low`` / ``toxic_high``. The overall rate is in ``attrs``.
    """
    _check_classified(classified, (*STANCE_LABELS, "toxic"), probabilities=False)
    toxic = _decisions(classified, "toxic")
    stances = np.column_stack([_decisions(classified, label) for label in STANCE_LABELS])
    members = {label: stances[:, j] for j, label in enumerate(STANCE_LABELS)}
    members[NO_STANCE] = ~stances.any(axis=1)
    n = np.array([member.sum() for member in members.values()], dtype=int)
    k = np.array([(toxic & member).sum() for member in members.values()], dtype=int)
    low, high = wilson_interval(k, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    result = pd.DataFrame({"n_comments": n, "toxic_n": k, "toxic_rate": rate,
                           "toxic_low": low, "toxic_high": high},
                          index=pd.Index(list(members), name="stance"))
    result.attrs["overall_toxic_rate"] = float(toxic.mean()) if len(toxic) else float("nan")
    result.attrs["confidence"] = confidence
    return result


# ---------------------------------------------------------------------------- threads
def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def _thread_roots(ids: list[str], parents: list[str | None]) -> list[str]:
    """The root of every comment: its topmost ancestor in the table. A reply whose parent
    is not in the table hangs on that parent id (its siblings then share the thread)."""
    parent_of = dict(zip(ids, parents))
    roots: dict[str, str] = {}
    for start in ids:
        chain = []
        current = start
        while current not in roots:
            if current in chain:
                raise ValueError(f"reply chain loops: comment {current!r} is its own ancestor "
                                 f"(parent_id chain {' -> '.join([*chain, current])})")
            chain.append(current)
            parent = parent_of.get(current)
            if parent is None:  # a top-level comment, or a parent outside the table
                roots[current] = current
                break
            current = parent
        root = roots[current]
        for visited in chain:
            roots[visited] = root
    return [roots[i] for i in ids]


def top_toxic_threads(classified: pd.DataFrame, n: int | None = 5) -> pd.DataFrame:
    """Reply threads ranked by their most toxic comment.

    A thread is a top-level comment and all replies below it (``parent_id`` pointing at
    ``comment_id``); without those columns every comment is its own thread (ids then come
    from the index).

    Returns up to ``n`` rows (None: all threads), most toxic first, with ``thread_id`` (the
    root comment's id), ``worst_comment_id``, ``text`` (the worst comment's), ``toxic_prob``
    (its probability), ``toxic`` (its decision), ``n_comments`` (in the thread) and
    ``n_toxic`` (comments of the thread decided toxic). Ties go to the thread with more
    toxic comments, then the earlier one.
    """
    _check_classified(classified, ("toxic",))
    columns = ["thread_id", "worst_comment_id", "text", "toxic_prob", "toxic", "n_comments",
               "n_toxic"]
    if n is not None and n < 0:
        raise ValueError(f"n must be a positive number of threads or None, got {n}")
    if len(classified) == 0:
        return pd.DataFrame(columns=columns)
    if "comment_id" in classified.columns:
        ids = [str(value) for value in classified["comment_id"]]
        if len(set(ids)) != len(ids):
            duplicated = pd.Series(ids).duplicated()
            raise ValueError(f"comment_id {ids[int(np.argmax(duplicated.to_numpy()))]!r} occurs "
                             f"more than once; thread ids must be unique")
    else:
        ids = [str(value) for value in classified.index]
    if "parent_id" in classified.columns:
        parents = [None if _missing(value) else str(value) for value in classified["parent_id"]]
    else:
        parents = [None] * len(ids)
    texts = classified["text"].tolist() if "text" in classified.columns else [None] * len(ids)
    frame = pd.DataFrame({
        "thread_id": _thread_roots(ids, parents),
        "comment_id": ids,
        "text": texts,
        "toxic_prob": classified["toxic_prob"].astype(float).to_numpy(),
        "toxic": _decisions(classified, "toxic"),
        "order": np.arange(len(ids)),
    })
    # The worst comment of each thread: highest probability, the earliest on ties.
    worst = frame.sort_values(["toxic_prob", "order"], ascending=[False, True], kind="stable") \
        .drop_duplicates("thread_id")
    stats = frame.groupby("thread_id", sort=False).agg(n_comments=("comment_id", "size"),
                                                      n_toxic=("toxic", "sum"),
                                                      first=("order", "min"))
    threads = worst.join(stats, on="thread_id").rename(columns={"comment_id": "worst_comment_id"})
    threads = threads.sort_values(["toxic_prob", "n_toxic", "first"],
                                  ascending=[False, False, True], kind="stable")
    threads = threads[columns].reset_index(drop=True)
    threads["n_comments"] = threads["n_comments"].astype(int)
    threads["n_toxic"] = threads["n_toxic"].astype(int)
    return threads if n is None else threads.head(n)


# ---------------------------------------------------------------------------- plots
def _figure(width: float, height: float):  # -> matplotlib.figure.Figure
    # A bare Figure with its own Agg canvas: works headless and leaves pyplot alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _errors(share: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.vstack([np.clip(share - low, 0, None), np.clip(high - share, 0, None)])


def plot_stance_shares(summary: pd.DataFrame, *, labels: Sequence[str] = STANCE_LABELS,
                       max_groups: int = 12, title: str | None = None):
    """Bars of each stance's share per group, with Wilson interval error bars.

    ``summary`` is the frame from :func:`summarize` (a classified table is summarised
    first, per ``video_id``). ``labels`` can add ``toxic`` or sub-types. With more than
    ``max_groups`` groups only the largest are drawn. Returns the matplotlib Figure.
    """
    if "n_comments" not in summary.columns:
        summary = summarize(summary)
    missing = [f"{label}_share" for label in labels if f"{label}_share" not in summary.columns]
    if missing:
        raise ValueError(f"not a summary from stance.summarize: {', '.join(missing)} missing")
    shown = summary
    if len(summary) > max_groups:
        shown = summary.sort_values("n_comments", ascending=False, kind="stable").head(max_groups)
    names = [" / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
             for key in shown.index]
    figure = _figure(max(6.0, 1.6 * len(labels) + 0.25 * len(shown) * len(labels))
                     + (2.5 if len(shown) > 1 else 0), 4.2)
    axes = figure.add_subplot()
    x = np.arange(len(labels))
    width = 0.8 / max(len(shown), 1)
    for i, (name, (_, row)) in enumerate(zip(names, shown.iterrows())):
        share = np.array([row[f"{label}_share"] for label in labels], dtype=float)
        low = np.array([row[f"{label}_low"] for label in labels], dtype=float)
        high = np.array([row[f"{label}_high"] for label in labels], dtype=float)
        offset = (i - (len(shown) - 1) / 2) * width
        axes.bar(x + offset, share, width * 0.95, yerr=_errors(share, low, high), capsize=3,
                 label=f"{name} (n={int(row['n_comments'])})")
    axes.set_xticks(x, [label.replace("_", " ") for label in labels])
    axes.set_ylabel("share of comments")
    axes.set_ylim(0, 1)
    confidence = summary.attrs.get("confidence", 0.95)
    if title is None:
        title = f"Stance shares ({confidence:.0%} Wilson intervals)"
        if len(summary) == 1:
            title = (f"Stance shares of {int(summary['n_comments'].iloc[0])} comments "
                     f"({confidence:.0%} Wilson intervals)")
    axes.set_title(title)
    if len(shown) > 1 or names != [ALL_GROUP]:
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if len(shown) < len(summary):
        axes.text(0.0, 1.0, f"largest {len(shown)} of {len(summary)} groups", fontsize="small",
                  transform=axes.transAxes, va="bottom")
    return figure


def plot_toxicity_by_stance(classified: pd.DataFrame, *, title: str | None = None):
    """Toxicity rate among the comments of each stance (and with no stance), with Wilson
    intervals, the comment count under each bar and the overall rate as a dashed line.
    Returns the matplotlib Figure."""
    table = toxicity_by_stance(classified)
    figure = _figure(7.0, 4.2)
    axes = figure.add_subplot()
    x = np.arange(len(table))
    rate = np.nan_to_num(table["toxic_rate"].to_numpy(dtype=float))
    low = np.nan_to_num(table["toxic_low"].to_numpy(dtype=float))
    high = np.nan_to_num(table["toxic_high"].to_numpy(dtype=float))
    colours = ["tab:blue", "tab:red", "tab:purple", "tab:orange", "tab:gray"]
    axes.bar(x, rate, 0.6, yerr=_errors(rate, low, high), capsize=4, color=colours[:len(table)])
    overall = table.attrs["overall_toxic_rate"]
    if np.isfinite(overall):
        axes.axhline(overall, color="black", linestyle="--", linewidth=1,
                     label=f"all comments: {overall:.0%}")
        axes.legend(fontsize="small", loc="upper right")
    axes.set_xticks(x, [f"{name.replace('_', ' ')}\nn={count}"
                        for name, count in zip(table.index, table["n_comments"])])
    axes.set_ylabel("share toxic")
    axes.set_ylim(0, 1.15)  # room above 1 for the legend: no bar or interval goes there
    axes.set_yticks(np.linspace(0, 1, 6))
    axes.set_title(title or f"Toxicity by stance ({table.attrs['confidence']:.0%} Wilson intervals)")
    return figure
