"""stance.outputs: every write is staged beside its target and renamed into place."""

from pathlib import Path

import pytest

from stance.outputs import OutputExistsError, atomic_file, atomic_folder, check_target, leftovers, same_file


def test_folder_appears_only_when_complete(tmp_path: Path):
    target = tmp_path / "out"
    with atomic_folder(target) as staging:
        (staging / "a.txt").write_text("x")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "x"
    assert leftovers(target) == []


def test_failed_write_keeps_the_old_output_and_leaves_nothing(tmp_path: Path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(target, overwrite=True) as staging:
            (staging / "new.txt").write_text("new")
            raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_existing_target_refused_unless_overwrite(tmp_path: Path):
    target = tmp_path / "labels.csv"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with atomic_file(target):
            pass
    with atomic_file(target, overwrite=True) as staging:
        staging.write_text("new")
    assert target.read_text() == "new"


def test_leftovers_of_killed_runs_are_cleaned_by_the_next_write(tmp_path: Path):
    target = tmp_path / "corpus"
    stale = tmp_path / ".corpus-abc.partial"
    stale.mkdir()
    assert leftovers(target) == [stale]
    with atomic_folder(target):
        pass
    assert not stale.exists()


def test_crash_between_renames_is_named(tmp_path: Path):
    target = tmp_path / "model"
    (tmp_path / ".model.old").mkdir()
    with pytest.raises(OutputExistsError, match=r"\.model\.old"):
        check_target(target, overwrite=True)


def test_same_file_through_a_link(tmp_path: Path):
    real = tmp_path / "d.jsonl"
    real.write_text("{}\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert same_file(real, link)
    assert not same_file(real, tmp_path / "other.jsonl")
