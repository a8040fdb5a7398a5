import re
from pathlib import Path

import pytest

from stance.labels import (CODES, DEFINITIONS, LABELS, STANCE_LABELS, SUBTYPE_LABELS, LabelCodeError,
                           format_codes, parse_codes)


def test_nine_labels_in_annotation_order():
    assert LABELS == ("pro_ukraine", "pro_russia", "anti_europe", "anti_us", "toxic", "insult",
                      "identity_attack", "threat", "profanity")
    assert CODES == "UREATIHXP"
    assert STANCE_LABELS == LABELS[:4] and SUBTYPE_LABELS == LABELS[5:]
    assert set(DEFINITIONS) == set(LABELS)


@pytest.mark.parametrize("codes, expected", [
    ("-", [0] * 9),
    ("RTI", [0, 1, 0, 0, 1, 1, 0, 0, 0]),
    ("UETI", [1, 0, 1, 0, 1, 1, 0, 0, 0]),
    ("REAT", [0, 1, 1, 1, 1, 0, 0, 0, 0]),
    ("TIHXP", [0, 0, 0, 0, 1, 1, 1, 1, 1]),
])
def test_parse_and_format_round_trip(codes, expected):
    assert parse_codes(codes) == expected
    assert format_codes(expected) == codes
    assert format_codes(dict(zip(LABELS, expected))) == codes


@pytest.mark.parametrize("bad, message", [
    ("RQ", "unknown label code 'Q'"),
    ("TR", "out of order"),
    ("UU", "repeated"),
    ("RI", "without T"),
    ("P", "without T"),
    ("", "empty"),
])
def test_malformed_codes_are_rejected(bad, message):
    with pytest.raises(LabelCodeError, match=message):
        parse_codes(bad)


def test_format_needs_nine_values():
    with pytest.raises(LabelCodeError):
        format_codes([1, 0])


def test_codes_agree_with_annotation_guidelines(shared_data: Path):
    """Every code/label pair in ANNOTATION.md's tables is ours, and the seed gold codes parse."""
    text = (shared_data / "ANNOTATION.md").read_text(encoding="utf-8")
    pairs = re.findall(r"^\| ([A-Z]) \| (\w+) \|", text, flags=re.M)
    pairs += [(c, n) for n, c in re.findall(r"^\| (\w+) \| ([A-Z]) \|", text, flags=re.M)]
    found = {code: name for code, name in pairs}
    assert found == dict(zip(CODES, LABELS))
    for line in (shared_data / "seed" / "france24_berlin_talks.labels.tsv").read_text().splitlines()[1:]:
        parse_codes(line.split("\t")[1])
