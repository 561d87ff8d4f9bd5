"""One registry for sources, embedders and generators (atlas/plugins.py): built-ins, plugins registered in
code or by a module ``ATLAS_PLUGINS`` names, and entry points of installed distributions."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.answer.extractive import ExtractiveGenerator
from atlas.answer.registry import BUILTINS, ENTRY_POINT_GROUP, GeneratorCache, Generators, generators
from atlas.config import AnswerSettings, Settings
from atlas.embedding.registry import EMBEDDERS, create_embedder, embedder_id_for
from atlas.errors import UserInputError
from atlas.library import Library
from atlas.models import AskOptions
from atlas.plugins import Registry
from atlas.sources.registry import SOURCES, all_sources
from tests.conftest import SAMPLES
from tests.fake_plugins import FAKE_EMBEDDER, HashingEmbedder, create_hashing, plugin_env

ROOT = Path(__file__).resolve().parents[2]


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, source: str, groups: str) -> None:
    """A distribution installed the way pip installs one: a module and a dist-info with its entry points."""
    (tmp_path / f"{module}.py").write_text(source)
    dist = tmp_path / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(groups)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One installed package with an embedder, a source, and a generator named like a built-in."""
    source = (
        "from tests.fake_plugins import HashingEmbedder\n"
        "from atlas.sources.transcript_files import TranscriptFileSource\n"
        "def embedder(name, threads):\n"
        "    return HashingEmbedder(16)\n"
        "class Notes(TranscriptFileSource):\n"
        "    pass\n"
        "def generator(settings):\n"
        "    raise AssertionError('a built-in of the same name wins')\n"
    )
    groups = (
        "[atlas.embedders]\nsixteen = third_party:embedder\n\n"
        "[atlas.sources]\nnotes = third_party:Notes\n\n"
        "[atlas.generators]\nextractive = third_party:generator\n"
    )
    install(tmp_path, monkeypatch, "third_party", source, groups)
    yield "third_party"
    sys.modules.pop("third_party", None)


def test_an_unknown_name_is_refused_with_the_names_there_are() -> None:
    registry = Registry("atlas.test-nothing", "widget", {"round": 1, "square": 2})
    with pytest.raises(UserInputError, match="unknown widget 'hexagonal'") as info:
        registry.get("hexagonal")
    assert info.value.hint == "use one of: round, square"
    registry.register("oval", 3)
    assert registry.get("oval") == 3 and registry.names() == ["round", "square", "oval"]
    with pytest.raises(ValueError, match="built-in"):
        registry.register("round", 4)


def test_entry_points_are_found_without_loading_them_until_used(installed: str) -> None:
    assert "sixteen" in EMBEDDERS and installed not in sys.modules  # asking does not import the plugin
    assert embedder_id_for("sixteen") is None  # only loading a plugin tells its id
    assert create_embedder("sixteen").id == "fake/hashing-16"
    assert "sixteen" in EMBEDDERS.names()


def test_a_plugin_source_is_asked_after_the_built_ins(installed: str) -> None:
    names = SOURCES.names()
    assert names[:3] == ["youtube", "transcript-file", "media-file"] and names[-1] == "notes"
    sources = all_sources()
    assert [s.name for s in sources[:3]] == names[:3] and type(sources[-1]).__name__ == "Notes"


def test_a_built_in_wins_over_an_entry_point_of_its_name(installed: str) -> None:
    generators = Generators(Registry(ENTRY_POINT_GROUP, "generator", BUILTINS))
    assert generators.registry.names().count("extractive") == 1
    assert isinstance(generators.create(AnswerSettings(generator="extractive")), ExtractiveGenerator)


def test_each_generator_cache_keeps_its_own_loaded_generators() -> None:
    one, other = GeneratorCache(), GeneratorCache()
    settings = AnswerSettings(generator="extractive")
    assert one.get(settings) is one.get(settings)
    assert other.get(settings) is not one.get(settings)
    with pytest.raises(UserInputError, match="unknown generator 'gpt-17'"):
        one.get(AnswerSettings(generator="gpt-17"))


def test_a_library_loads_a_generator_once_and_another_library_loads_its_own(fake_settings: Settings) -> None:
    """No module-level cache: the model a Library loaded answers its next question; a second Library (another
    directory, other settings) does not share it."""
    created: list[ExtractiveGenerator] = []

    def counting(settings: AnswerSettings) -> ExtractiveGenerator:
        created.append(ExtractiveGenerator())
        return created[-1]

    generators.registry.register("counting", counting)
    try:
        options = AskOptions(generator="counting")
        with Library.open(fake_settings) as lib:
            assert not lib.ingest([str(SAMPLES / "normconf-ml-cost-talk.txt")]).failed
            first, second = lib.ask("what does renting cost?", options), lib.ask("renting cost?", options)
            assert len(created) == 1, (first, second)
        with Library.open(fake_settings) as again:
            again.ask("what does renting cost?", options)
        assert len(created) == 2
    finally:
        generators.registry.unregister("counting")


def test_a_module_named_in_atlas_plugins_registers_on_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "local_plugins.py").write_text(
        "from atlas.embedding.registry import EMBEDDERS\n"
        "from tests.fake_plugins import create_hashing\n"
        "EMBEDDERS.register('fake/hashing-8', create_hashing)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ATLAS_PLUGINS", " local_plugins, ")
    try:
        assert "fake/hashing-8" in EMBEDDERS
        assert create_embedder("fake/hashing-8").dim == 8
    finally:
        EMBEDDERS.unregister("fake/hashing-8")
        sys.modules.pop("local_plugins", None)
    monkeypatch.setenv("ATLAS_PLUGINS", "no_such_plugin_module")
    with pytest.raises(UserInputError, match="ATLAS_PLUGINS names 'no_such_plugin_module'"):
        EMBEDDERS.names()


def test_the_test_embedder_is_a_plugin_not_a_name_atlas_knows() -> None:
    assert EMBEDDERS.find(FAKE_EMBEDDER) is create_hashing  # registered by tests/conftest.py's import
    assert isinstance(create_embedder(FAKE_EMBEDDER), HashingEmbedder)
    for path in (ROOT / "src" / "atlas").rglob("*.py"):
        assert "fake/" not in path.read_text(), f"{path} special-cases a test plugin"


def test_a_child_process_gets_the_test_plugins_from_its_environment(tmp_path: Path) -> None:
    code = "from atlas.embedding.registry import create_embedder as c; print(c('fake/hashing-32').id)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # not the checkout: PYTHONPATH must find the tests package
        env=plugin_env({"PATH": "/usr/bin:/bin"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fake/hashing-32"
