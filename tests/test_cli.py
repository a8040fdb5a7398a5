"""The `stance` command line, thin over the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from stance.cli import main
from stance.model import default_model_path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.skipif(not (default_model_path() / "stance.json").is_file(), reason="no shipped model")
def test_main_job_prints_every_comment(capsys, tmp_path):
    assert main(["classify", str(EXAMPLES / "war_news_comments.txt"), "--limit", "100"]) == 0
    out = capsys.readouterr().out
    assert "24 comments" in out and "label counts:" in out
    assert len([line for line in out.splitlines() if line[:1] in "UREATIHXP-"]) >= 24
    target = tmp_path / "labels.jsonl"
    assert main(["classify", str(EXAMPLES / "comments.ycd.jsonl"), "--out", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 7


def test_build_from_a_users_dump(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["build", "--no-shared", "--dump", str(EXAMPLES / "news_site_comments.txt"),
                 "--labels", str(EXAMPLES / "annotations.tsv"), "--out", str(out)]) == 0
    assert (out / "README.md").is_file() and (out / "dataset_dict.json").is_file()
    assert main(["build", "--no-shared", "--dump", "a.txt", "--out", str(out)]) == 2


def test_unknown_subcommand_is_refused():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
