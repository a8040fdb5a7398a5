"""stance.summary on hand-made classified tables (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stance.labels import LABELS, STANCE_LABELS
from stance.summary import (ALL_GROUP, NO_STANCE, plot_stance_shares, plot_toxicity_by_stance,
                            summarize, top_toxic_threads, toxicity_by_stance, wilson_interval)

Z95 = 1.959963984540054


def wilson_by_hand(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def classified_table(flags: dict[str, list[int]], n: int, **columns) -> pd.DataFrame:
    """A classified table of n comments: given labels set at the listed positions."""
    frame = pd.DataFrame({"comment_id": [f"c{i}" for i in range(n)],
                          "text": [f"comment {i}" for i in range(n)], **columns})
    for label in LABELS:
        on = np.zeros(n, dtype=bool)
        on[flags.get(label, [])] = True
        frame[f"{label}_prob"] = np.where(on, 0.9, 0.1)
    for label in LABELS:
        frame[label] = frame[f"{label}_prob"] > 0.5
    return frame


def test_wilson_matches_closed_form():
    low, high = wilson_interval(3, 10)
    assert (float(low), float(high)) == pytest.approx(wilson_by_hand(3, 10), abs=1e-12)
    assert float(low) == pytest.approx(0.1078, abs=1e-4)
    assert float(high) == pytest.approx(0.6032, abs=1e-4)


def test_wilson_edges():
    low, high = wilson_interval([0, 5, 0], [5, 5, 0])
    assert low[0] == 0 and 0 < high[0] < 1
    assert high[1] == 1 and 0 < low[1] < 1
    assert np.isnan(low[2]) and np.isnan(high[2])
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


def test_summarize_one_group_without_video_id():
    frame = classified_table({"pro_ukraine": [0, 1, 2], "toxic": [2, 5], "insult": [5]}, 10)
    assert "video_id" not in frame.columns
    summary = summarize(frame)
    assert list(summary.index) == [ALL_GROUP]
    row = summary.loc[ALL_GROUP]
    assert row["n_comments"] == 10
    assert row["pro_ukraine_n"] == 3
    assert row["pro_ukraine_share"] == pytest.approx(0.3)
    assert (row["pro_ukraine_low"], row["pro_ukraine_high"]) == pytest.approx(wilson_by_hand(3, 10))
    assert row["toxic_share"] == pytest.approx(0.2)
    assert row["insult_share"] == pytest.approx(0.1)  # out of all comments, not of the toxic
    assert row["pro_ukraine_mean_prob"] == pytest.approx((3 * 0.9 + 7 * 0.1) / 10)
    assert row["pro_russia_share"] == 0 and row["pro_russia_low"] == 0
    for label in LABELS:
        for suffix in ("n", "share", "low", "high", "mean_prob"):
            assert f"{label}_{suffix}" in summary.columns


def test_summarize_all_none_video_id_is_one_group():
    frame = classified_table({"pro_russia": [1]}, 4, video_id=[None] * 4)
    summary = summarize(frame)
    assert list(summary.index) == [ALL_GROUP]
    assert summary["pro_russia_share"].iloc[0] == pytest.approx(0.25)


def test_summarize_per_video_in_order_of_appearance():
    videos = ["v2", "v2", "v1", "v1", "v1", None]
    frame = classified_table({"anti_us": [0, 2, 3], "toxic": [4]}, 6, video_id=videos)
    summary = summarize(frame)
    assert list(summary.index) == ["v2", "v1", "(none)"]
    assert summary.index.name == "video_id"
    assert summary["n_comments"].tolist() == [2, 3, 1]
    assert summary["anti_us_share"].tolist() == pytest.approx([0.5, 2 / 3, 0.0])
    assert summary.loc["v1", "toxic_n"] == 1


def test_summarize_by_several_columns_and_none():
    frame = classified_table({"anti_europe": [0]}, 4, video_id=["a", "a", "b", "b"],
                             source=["x", "y", "x", "x"])
    summary = summarize(frame, by=["video_id", "source"])
    assert summary.index.names == ["video_id", "source"]
    assert summary.loc[("a", "x"), "anti_europe_share"] == 1.0
    assert summary.loc[("b", "x"), "n_comments"] == 2
    assert list(summarize(frame, by=None).index) == [ALL_GROUP]


def test_summarize_rejects_unclassified_and_missing_decisions():
    with pytest.raises(ValueError, match="pro_ukraine_prob"):
        summarize(pd.DataFrame({"text": ["a"], "pro_ukraine": [True]}))
    frame = classified_table({}, 3)
    frame["toxic"] = pd.array([True, None, False], dtype="boolean")
    with pytest.raises(ValueError, match="'toxic'.*index 1"):
        summarize(frame)


def test_toxicity_by_stance_rates():
    # 4 pro_russia (2 toxic), 2 pro_ukraine (0 toxic), 4 with no stance (1 toxic)
    frame = classified_table({"pro_russia": [0, 1, 2, 3], "pro_ukraine": [4, 5],
                              "toxic": [0, 1, 9]}, 10)
    table = toxicity_by_stance(frame)
    assert list(table.index) == [*STANCE_LABELS, NO_STANCE]
    assert table.loc["pro_russia", ["n_comments", "toxic_n"]].tolist() == [4, 2]
    assert table.loc["pro_russia", "toxic_rate"] == pytest.approx(0.5)
    assert (table.loc["pro_russia", "toxic_low"], table.loc["pro_russia", "toxic_high"]) == \
        pytest.approx(wilson_by_hand(2, 4))
    assert table.loc["pro_ukraine", "toxic_rate"] == 0
    assert table.loc[NO_STANCE, ["n_comments", "toxic_n"]].tolist() == [4, 1]
    assert np.isnan(table.loc["anti_us", "toxic_rate"])  # no anti_us comment at all
    assert table.attrs["overall_toxic_rate"] == pytest.approx(0.3)


def test_top_toxic_threads_ranking():
    # thread r1: r1 <- a <- b (nested reply); thread r2: r2 <- c; r3 alone;
    # d replies to a comment outside the table ("gone") and makes its own thread.
    frame = classified_table({}, 8)
    frame["comment_id"] = ["r1", "a", "b", "r2", "c", "r3", "d", "e"]
    frame["parent_id"] = [None, "r1", "a", None, "r2", None, "gone", "gone"]
    frame["toxic_prob"] = [0.1, 0.3, 0.95, 0.7, 0.2, 0.8, 0.05, 0.4]
    frame["toxic"] = frame["toxic_prob"] > 0.5
    threads = top_toxic_threads(frame, n=3)
    assert threads["thread_id"].tolist() == ["r1", "r3", "r2"]
    assert threads["worst_comment_id"].tolist() == ["b", "r3", "r2"]
    assert threads["n_comments"].tolist() == [3, 1, 2]
    assert threads["toxic_prob"].tolist() == pytest.approx([0.95, 0.8, 0.7])
    assert threads["text"].iloc[0] == "comment 2"
    assert threads["n_toxic"].tolist() == [1, 1, 1]
    everything = top_toxic_threads(frame, n=None)
    assert len(everything) == 4
    orphan = everything.set_index("thread_id").loc["gone"]
    assert orphan["worst_comment_id"] == "e" and orphan["n_comments"] == 2


def test_top_toxic_threads_without_reply_columns():
    frame = pd.DataFrame({"text": ["x", "y", "z"]}, index=[10, 11, 12])
    for label in LABELS:
        frame[f"{label}_prob"] = 0.0
        frame[label] = False
    frame["toxic_prob"] = [0.2, 0.9, 0.5]
    threads = top_toxic_threads(frame, n=2)
    assert threads["thread_id"].tolist() == ["11", "12"]
    assert threads["n_comments"].tolist() == [1, 1]


def test_top_toxic_threads_rejects_a_loop():
    frame = classified_table({}, 2)
    frame["parent_id"] = ["c1", "c0"]
    with pytest.raises(ValueError, match="loops"):
        top_toxic_threads(frame)


def test_plots_return_figures():
    from matplotlib.figure import Figure

    frame = classified_table({"pro_ukraine": [0, 1], "pro_russia": [2], "toxic": [2, 3]}, 6,
                             video_id=["v1", "v1", "v1", "v2", "v2", "v2"])
    figure = plot_stance_shares(summarize(frame))
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1 and len(figure.axes[0].patches) == 2 * len(STANCE_LABELS)
    assert isinstance(plot_stance_shares(frame), Figure)  # a classified table is summarised
    figure = plot_toxicity_by_stance(frame)
    assert isinstance(figure, Figure)
    assert len(figure.axes[0].patches) == len(STANCE_LABELS) + 1
    figure.canvas.draw()  # renders headless on the Agg canvas


def test_plot_stance_shares_keeps_the_largest_groups():
    videos = [f"v{i % 15}" for i in range(30)] + ["big"] * 5
    frame = classified_table({"pro_ukraine": [1]}, 35, video_id=videos)
    figure = plot_stance_shares(summarize(frame), max_groups=5)
    assert len(figure.axes[0].patches) == 5 * len(STANCE_LABELS)
    assert "big (n=5)" in [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_empty_table():
    frame = classified_table({}, 0)
    assert summarize(frame).empty
    assert top_toxic_threads(frame).empty
    assert toxicity_by_stance(frame)["n_comments"].sum() == 0
