"""Plugins by name, one registry per kind: sources, embedders and generators are all found the same way.

A registry holds the built-ins, the plugins registered in code, and the entry points that installed
distributions declare in its group (``atlas.sources``, ``atlas.embedders``, ``atlas.generators``). On a
name, a built-in wins over a registered plugin, which wins over an entry point, so an installed package
cannot replace a built-in by accident.

A plugin that is not a distribution (a test's fake, a script beside a deployment) is a module that calls
``register`` when imported, named in ``ATLAS_PLUGINS`` (comma-separated); every lookup imports those
modules first, like ``pytest -p``, so a child ``atlas`` process finds the same plugins as its parent.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from atlas.config import ENV_PLUGINS, plugin_modules
from atlas.errors import UserInputError

T = TypeVar("T")


class Registry(Generic[T]):
    """The plugins of one kind (``kind`` names it in errors), by name.

    Entry points are read at every lookup, not cached: a distribution installed while the process runs (a
    test's temporary dist-info) is found, and a lookup costs a scan of the installed metadata, as before.
    """

    def __init__(
        self,
        group: str,
        kind: str,
        builtins: Mapping[str, T] | None = None,
        *,
        modules: Callable[[], Iterable[str]] = plugin_modules,
    ) -> None:
        self.group = group
        self.kind = kind
        self._builtins = dict(builtins or {})
        self._registered: dict[str, T] = {}
        self._modules = modules

    def register(self, name: str, plugin: T) -> None:
        """Add ``plugin`` under ``name`` (a module named in ``ATLAS_PLUGINS`` calls this when imported)."""
        if name in self._builtins:
            raise ValueError(f"{name!r} is a built-in {self.kind}; a plugin needs a name of its own")
        self._registered[name] = plugin

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)

    def names(self) -> list[str]:
        """Every name this registry answers to: built-ins, registered plugins, then entry points."""
        self._import_modules()
        names = [*self._builtins, *self._registered]
        return names + [ep.name for ep in self._entry_points() if ep.name not in names]

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is provided, without loading it (an entry point's code stays unimported)."""
        self._import_modules()
        return isinstance(name, str) and (
            name in self._builtins or name in self._registered or self._entry_point(name) is not None
        )

    def find(self, name: str) -> T | None:
        """The plugin of that name (an entry point is loaded now), or None when nothing provides it."""
        if name in self._builtins:
            return self._builtins[name]
        self._import_modules()
        if name in self._registered:
            return self._registered[name]
        ep = self._entry_point(name)
        return None if ep is None else self._load(ep)

    def get(self, name: str) -> T:
        """The plugin of that name; a ``UserInputError`` listing the names there are when none."""
        plugin = self.find(name)
        if plugin is None:
            raise self.unknown(name)
        return plugin

    def require(self, name: str) -> None:
        """Refuse a name nothing provides (before any work), without loading anything."""
        if name not in self:
            raise self.unknown(name)

    def unknown(self, name: str) -> UserInputError:
        return UserInputError(f"unknown {self.kind} {name!r}", hint=f"use one of: {', '.join(self.names())}")

    def all(self) -> list[T]:
        """Every plugin, in the order of ``names`` (entry points loaded now)."""
        self._import_modules()
        plugins = [*self._builtins.values(), *self._registered.values()]
        taken = {*self._builtins, *self._registered}
        return plugins + [self._load(ep) for ep in self._entry_points() if ep.name not in taken]

    def _entry_point(self, name: str) -> EntryPoint | None:
        return next((ep for ep in self._entry_points() if ep.name == name), None)

    def _entry_points(self) -> list[EntryPoint]:
        return list(entry_points(group=self.group))

    def _load(self, ep: EntryPoint) -> T:
        plugin: T = ep.load()
        return plugin

    def _import_modules(self) -> None:
        """Import the modules ``ATLAS_PLUGINS`` names; Python imports each once, so a later call is cheap."""
        for module in self._modules():
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise UserInputError(
                    f"{ENV_PLUGINS} names {module!r}, which cannot be imported: {exc}",
                    hint=f"check the name and that its folder is on PYTHONPATH, or unset {ENV_PLUGINS}",
                ) from exc
