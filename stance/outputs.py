"""Safe writes for every file and folder the library produces.

One rule everywhere (README, "Writing outputs"): an output is built in a temporary sibling
and renamed into place only when complete, so a killed run never leaves something that looks
finished; an existing target is refused unless ``overwrite=True`` (``--overwrite``); leftovers
of killed runs (``.NAME-*.partial`` staging, ``.NAME.old`` backups) are named in the error or
cleaned up by the next successful write.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

logger = logging.getLogger(__name__)


class OutputExistsError(FileExistsError):
    """The target of a write exists and ``overwrite`` was not given."""


def _staging_prefix(target: Path) -> str:
    return f".{target.name}-"


def _backup(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def leftovers(target: str | Path) -> list[Path]:
    """Staging folders/files and backups that killed writes of ``target`` left behind."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    found = sorted(target.parent.glob(f"{_staging_prefix(target)}*.partial"))
    if _backup(target).exists():
        found.append(_backup(target))
    return found


def check_target(target: str | Path, overwrite: bool, *, what: str = "output") -> Path:
    """Refuse an existing ``target`` unless ``overwrite``; return it as a Path.

    Call it before long work so a user learns at once, not after an hour of training.
    """
    target = Path(target)
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise OutputExistsError(f"{what} {target} exists; pass overwrite=True (--overwrite) to replace it")
    backup = _backup(target)
    if backup.exists() and not target.exists():
        # A crash between the two renames of a replacement: the old output survives only here.
        raise OutputExistsError(f"{target} is missing but {backup} holds the output an interrupted "
                                f"write was replacing; move it back or delete it, then rerun")
    return target


def _replace(staging: Path, target: Path, overwrite: bool) -> None:
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise OutputExistsError(f"{target} appeared while writing; not replacing it")
        backup = _backup(target)
        _remove(backup)
        os.replace(target, backup)
        os.replace(staging, target)
        _remove(backup)
    else:
        os.replace(staging, target)
    for stale in leftovers(target):
        logger.info("removing %s, left by an interrupted write", stale)
        _remove(stale)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_folder(target: str | Path, *, overwrite: bool = False, what: str = "folder") -> Iterator[Path]:
    """Yield a staging folder beside ``target``; on success it replaces ``target``.

    On an exception the staging folder is removed and ``target`` is untouched.
    """
    target = check_target(target, overwrite, what=what)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), suffix=".partial", dir=target.parent))
    try:
        yield staging
        # mkdtemp makes a private folder; outputs are meant to be shared and read.
        staging.chmod(0o755)
        for path in staging.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        _replace(staging, target, overwrite)
    finally:
        _remove(staging)


@contextmanager
def atomic_file(target: str | Path, *, overwrite: bool = False, what: str = "file") -> Iterator[Path]:
    """Yield a staging file path beside ``target``; on success it replaces ``target``."""
    target = check_target(target, overwrite, what=what)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=_staging_prefix(target), suffix=".partial", dir=target.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        staging.chmod(0o644)
        _replace(staging, target, overwrite)
    finally:
        _remove(staging)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file once links are resolved (False if either is missing)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()
