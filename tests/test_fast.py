"""The fast path (int8, sorted batches) and streaming keep order, index and answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stance.inference import (check_int8, classify, classify_chunks, classify_to_file,
                              iter_comment_chunks, predict_logits)
from stance.labels import LABELS
from stance.model import StanceModel
from stance.readers import DumpFormatError, read_comments

from .test_model import synthetic_corpus, tiny_encoder_folder

COMMENTS = ["Glory to Ukraine, send them more air defence 3", "", "Russia is right 9 " * 40,
            "you are a stupid clown", "talks resume on monday", "🇺🇦🇺🇦 slava", "NATO provoked it"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from stance.training import train

    tmp = tmp_path_factory.mktemp("fast")
    folder = train(synthetic_corpus(6), tmp / "m", base_model=tiny_encoder_folder(tmp), epochs=2,
                   batch_size=8, learning_rate=1e-3, max_length=32, progress=False,
                   baseline_blend=True, check_fast_path=True)
    return StanceModel.from_pretrained(folder)


def test_fast_path_keeps_order_and_index_and_agrees_with_reference(model):
    frame = pd.DataFrame({"text": COMMENTS, "n": range(len(COMMENTS))}, index=[f"r{i}" for i in range(7)][::-1])
    exact = classify(frame, model=model, fast=False, batch_size=32)
    fast = classify(frame, model=model, fast=True, batch_size=3)
    assert list(fast.index) == list(frame.index) and list(fast["n"]) == list(frame["n"])
    columns = [f"{n}_prob" for n in LABELS]
    np.testing.assert_allclose(fast[columns].to_numpy(), exact[columns].to_numpy(), atol=0.05)
    # sorted batches alone (fp32) change nothing beyond float noise
    one_by_one = np.vstack([predict_logits(model, [t], batch_size=1) for t in COMMENTS if t])
    batched = predict_logits(model, [t for t in COMMENTS if t], batch_size=4)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)


def test_the_int8_check_is_recorded_in_the_folder(model):
    record = model.config.fast_path
    assert set(record) >= {"int8_ok", "fp32", "int8", "tolerance", "identical_decisions"}
    texts, labels, mask = ["Glory to Ukraine 1", "clown 2"], np.eye(2, 9), np.ones((2, 9))
    again = check_int8(model, texts, labels, mask)
    assert again["rows"] == 2 and 0 <= again["max_probability_difference"] <= 1


def test_int8_scope_quantizes_only_the_named_layers(model):
    import torch

    from stance.inference import int8_model

    linear = [n for n, m in model.encoder.named_modules() if isinstance(m, torch.nn.Linear)]
    chosen = [n for n in linear if ".intermediate." in n]
    partial = int8_model(model, chosen)
    still_float = {n for n, m in partial.encoder.named_modules() if type(m) is torch.nn.Linear}
    assert still_float == set(linear) - set(chosen)
    assert int8_model(model, set(chosen)) is partial  # cached per scope
    assert not {n for n, m in int8_model(model, "all").encoder.named_modules() if type(m) is torch.nn.Linear}
    with pytest.raises(ValueError, match="not linear layers"):
        int8_model(model, ["encoder.layer.0.nope"])
    with pytest.raises(ValueError, match="scope"):
        int8_model(model, "most")


def test_streaming_matches_reading_whole(tmp_path, model):
    dump = tmp_path / "big.jsonl"
    rows = [{"id": f"x{i}", "text": COMMENTS[i % len(COMMENTS)] + f" {i}"} for i in range(23)]
    dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    whole = read_comments(dump)
    chunks = list(iter_comment_chunks(dump, chunk_size=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    joined = pd.concat(chunks)
    assert list(joined["comment_id"]) == list(whole["comment_id"])
    assert list(joined["position"]) == list(range(23))
    out = tmp_path / "labels.parquet"
    assert classify_to_file(dump, out, model=model, chunk_size=5, progress=False) == 23
    written = pd.read_parquet(out)
    assert list(written["comment_id"]) == [f"x{i}" for i in range(23)]
    direct = classify(whole, model=model)
    np.testing.assert_allclose(written["toxic_prob"].to_numpy(), direct["toxic_prob"].to_numpy(), atol=1e-6)
    csv_out = tmp_path / "labels.csv"
    classify_to_file(dump, csv_out, model=model, chunk_size=7, progress=False)
    assert len(pd.read_csv(csv_out)) == 23


def test_streamed_lines_keep_generated_ids_and_error_lines(tmp_path, model):
    dump = tmp_path / "c.txt"
    dump.write_text("one\n\ntwo\nthree\nfour\n")
    whole = read_comments(dump, format="lines")
    streamed = pd.concat(iter_comment_chunks(dump, chunk_size=2, format="lines"))
    assert list(streamed["comment_id"]) == list(whole["comment_id"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n{not json\n')
    with pytest.raises(DumpFormatError, match=r"bad.jsonl:4: .*JSON") as raised:
        list(iter_comment_chunks(bad, chunk_size=2))
    whole_file_message = str(pytest.raises(DumpFormatError, read_comments, bad).value)
    assert str(raised.value).split(": ", 1)[1] == whole_file_message.split(": ", 1)[1]


def test_iterables_stream_in_order(model):
    generator = (c for c in COMMENTS * 3)
    parts = list(classify_chunks(generator, chunk_size=4, model=model, progress=False))
    joined = pd.concat(parts)
    assert list(joined["text"]) == COMMENTS * 3 and list(joined.index) == list(range(21))
    with pytest.raises(TypeError, match="position 2"):
        list(classify_chunks(iter(["a", "b", None]), chunk_size=10, model=model, progress=False))
