"""Typed settings, resolved once at the edge (CLI flags > environment > defaults).

This is the only module that reads ``os.environ``; everything below receives a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ENV_LIBRARY = "ATLAS_LIBRARY"
ENV_EMBEDDER = "ATLAS_EMBEDDER"
ENV_THREADS = "ATLAS_THREADS"
ENV_STORE = "ATLAS_STORE"
STORE_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """How transcripts are cut into windows. Recorded in the index; changing it means re-ingesting."""

    target_words: int = 90  # close a window once it holds this many words...
    max_words: int = 150  # ...and never let it grow past this (MiniLM reads ~256 word pieces)
    max_seconds: float = 60.0  # a window never spans more than this much media time
    overlap: float = 0.5  # share of a window's sentences that the next window repeats
    max_sentence_words: int = 40  # unpunctuated caption streams are cut into slices this long
    max_sentence_seconds: float = 15.0
    # Long sentences are cut into pieces for pinning (chunking/pieces.py); piece_seconds 0 keeps whole
    # sentences. Fitted on the dev half of benchmarks/queries.jsonl: 6 s / 5 words (with 0.6 s pauses, then)
    # took moments within 3 s from 0.53 to 0.66 at the same late share; 4 s made more pins late, 10 s less.
    piece_seconds: float = 6.0  # a piece closes at the next cue once it spans this long...
    # ...or at a spoken pause this long between timed words (0: never). Speech recognised by Atlas has its
    # pauses measured in the audio (asr/pauses.py); 0.3 s then finds the breaks between a talk's lines, and on
    # the dev queries took ASR'd talks' moments within 5 s from 0.79 to 0.90 (0.25 s the same, 0.35 s less).
    piece_pause: float = 0.3
    piece_min_words: int = 5  # never a piece shorter than this
    # Window vectors pooled from the window's sentence vectors instead of embedding the window's text
    # (embedding/pooling.py): ingest runs the model over the sentences only (2.7x faster, bench_ingest.py),
    # and with pieces it measured as good or better for MiniLM (benchmarks/README.md, issue 12). None: the
    # embedder's own choice (``with_recipe``). Recorded in the identity only when set: libraries recorded
    # without it keep embedding their windows (from_recorded).
    vectors_from_sentences: bool | None = None

    def with_recipe(self, pooled: bool) -> WindowSettings:
        """These settings with ``pooled`` as the window-vector recipe where none was set (the caller knows the
        embedder's choice: ``embedding.pooling.pools_windows``)."""
        if self.vectors_from_sentences is not None:
            return self
        return replace(self, vectors_from_sentences=pooled)

    def as_dict(self) -> dict[str, float | int]:
        return (
            {
                "target_words": self.target_words,
                "max_words": self.max_words,
                "max_seconds": self.max_seconds,
                "overlap": self.overlap,
                "max_sentence_words": self.max_sentence_words,
                "max_sentence_seconds": self.max_sentence_seconds,
            }
            | ({"vectors_from_sentences": 1} if self.vectors_from_sentences is not False else {})
            | self._pieces_dict()
        )

    def _pieces_dict(self) -> dict[str, float | int]:
        if self.piece_seconds <= 0:
            return {}  # whole sentences: the identity of every library built before pieces existed
        return {
            "piece_seconds": self.piece_seconds,
            "piece_pause": self.piece_pause,
            "piece_min_words": self.piece_min_words,
        }

    @classmethod
    def from_recorded(cls, recorded: Mapping[str, float | int]) -> WindowSettings:
        """The settings a library was built with, from its recorded identity. A key the record lacks was not
        there when the library was built: it takes the value that reproduces what was built then (no pieces,
        window vectors embedded from text), not today's default."""
        legacy: dict[str, float | int | bool] = {
            "piece_seconds": 0.0,
            "piece_pause": 0.0,
            "vectors_from_sentences": False,
        }
        names = {f.name for f in fields(cls)}
        values = legacy | {k: v for k, v in recorded.items() if k in names}
        values["vectors_from_sentences"] = bool(values["vectors_from_sentences"])
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SearchSettings:
    limit: int = 10
    candidates: int = 60  # how many keyword and vector candidates each feed the fusion
    rrf_k: int = 60
    rerank: bool = True


ENV_GENERATOR = "ATLAS_GENERATOR"
ENV_GENERATOR_MODEL = "ATLAS_GENERATOR_MODEL"
ENV_GENERATOR_BASE_URL = "ATLAS_GENERATOR_BASE_URL"
ENV_OPENAI_API_KEY = "ATLAS_OPENAI_API_KEY"
ENV_OPENAI_API_KEY_COMMON = "OPENAI_API_KEY"  # what most OpenAI-compatible tools read; ours wins over it


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How ``ask`` answers: which generator writes the answer, its model or endpoint, how much it reads."""

    generator: str | None = None  # None: llama-cpp with the bundled model when installed, else extractive
    model: str | None = None  # llama-cpp: qwen-1.5b (bundled) or a GGUF path; openai-compatible: a name
    base_url: str | None = None  # an OpenAI-compatible API root, e.g. http://127.0.0.1:11434/v1
    api_key: str | None = field(default=None, repr=False)
    threads: int | None = None  # None: the library's threads (ATLAS_THREADS), else the generator's default
    context_tokens: int | None = None  # None: the generator's own context budget
    max_answer_tokens: int = 256
    limit: int = 6  # moments retrieved and offered to the generator (``AskOptions.limit``, ``--limit``)
    # A question of several parts ("what is X, and how much does Y cost?") is searched whole and part by part
    # and its passages cut to the sentences that answer; False searches it whole and packs whole windows.
    question_parts: bool = True
    timeout_s: float = 120.0  # per network read of an HTTP generator
    model_cache_dir: Path | None = None  # where the bundled GGUF parts are joined; None: the user cache dir

    def with_(self, **changes: object) -> AnswerSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Settings:
    library_dir: Path
    # None: use the embedder recorded in the library (DEFAULT_EMBEDDER for a new one). A name given here that
    # differs from the recorded one is refused rather than silently mixing vector spaces.
    embedder: str | None = None
    threads: int | None = None
    # None: the embedded SQLite store in ``library_dir``; else a PostgreSQL URL (``--store`` / ATLAS_STORE).
    # ``library_dir`` still holds what stays local either way: the Whisper transcript cache, jobs, follows.
    store: str | None = None
    windows: WindowSettings = field(default_factory=WindowSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def default_library_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("atlas", appauthor=False)) / "library"


def resolve_settings(
    *,
    library: str | Path | None = None,
    embedder: str | None = None,
    threads: int | None = None,
    store: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Flags win over the environment, which wins over defaults."""
    env = os.environ if environ is None else environ
    lib = library or env.get(ENV_LIBRARY) or default_library_dir()
    emb = embedder or env.get(ENV_EMBEDDER) or None
    thr = threads if threads is not None else _int_or_none(env.get(ENV_THREADS))
    answer = resolve_answer_settings(environ=env)
    chosen = check_store(store or (env.get(ENV_STORE) or "").strip() or None)
    return Settings(
        library_dir=Path(lib).expanduser(), embedder=emb, threads=thr, store=chosen, answer=answer
    )


def check_store(store: str | None) -> str | None:
    """None (the embedded store) or a PostgreSQL URL; anything else is a one-line error naming the fix."""
    if store is None or store.startswith(STORE_SCHEMES):
        return store
    from atlas.errors import UserInputError

    shown = store.split("@", 1)[-1]  # never echo a password
    raise UserInputError(
        f"--store / {ENV_STORE} must be a PostgreSQL URL, got {shown!r}",
        hint="use postgresql://user@host:5432/database, or leave it unset for the embedded library",
    )


ENV_RAY_ADDRESS = "ATLAS_RAY_ADDRESS"


def _ray_from_env(environ: Mapping[str, str] | None) -> str:
    return (os.environ if environ is None else environ).get(ENV_RAY_ADDRESS, "").strip()


def ray_address_alone(environ: Mapping[str, str] | None = None) -> str:
    """What ``--ray`` without an address means: ``ATLAS_RAY_ADDRESS`` when set, else ``auto``."""
    return _ray_from_env(environ) or "auto"


def resolve_ray_address(flag: str | None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """Where ``atlas ingest`` runs its work: ``--ray`` wins over ``ATLAS_RAY_ADDRESS``; None: in this process.
    ``auto`` joins the cluster ``ray start`` runs on this machine, ``local`` starts a private one, else a
    ``HOST:PORT`` (or ``ray://HOST:PORT``) of a cluster's head."""
    chosen = flag.strip() if flag is not None else _ray_from_env(environ)
    if not chosen:
        if flag is not None:
            from atlas.errors import UserInputError

            raise UserInputError(
                "--ray needs an address", hint="use --ray auto, --ray local or --ray HOST:PORT"
            )
        return None
    return chosen


def default_model_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("atlas", appauthor=False)) / "models"


def resolve_answer_settings(
    *,
    generator: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AnswerSettings:
    """Flags win over ``ATLAS_GENERATOR`` / ``ATLAS_GENERATOR_MODEL`` / ``ATLAS_GENERATOR_BASE_URL``. The
    API key comes from ``ATLAS_OPENAI_API_KEY``, else ``OPENAI_API_KEY``, never from a flag (the process list
    would show it to every user of the machine)."""
    env = os.environ if environ is None else environ
    key = (env.get(ENV_OPENAI_API_KEY) or env.get(ENV_OPENAI_API_KEY_COMMON) or "").strip() or None
    return AnswerSettings(
        generator=generator or env.get(ENV_GENERATOR) or None,
        model=model or env.get(ENV_GENERATOR_MODEL) or None,
        base_url=base_url or env.get(ENV_GENERATOR_BASE_URL) or None,
        api_key=key,
    )


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        from atlas.errors import UserInputError

        raise UserInputError(
            f"{ENV_THREADS}={value!r} is not a whole number", hint=f"unset it or set e.g. {ENV_THREADS}=2"
        ) from None


# -- atlas serve ---------------------------------------------------------------------------------------------

ENV_API_TOKEN = "ATLAS_API_TOKEN"
ENV_ALLOWED_DIRS = "ATLAS_ALLOWED_DIRS"  # several directories separated by os.pathsep, like PATH
ENV_ALLOWED_HOSTS = "ATLAS_ALLOWED_HOSTS"  # comma-separated host names a loopback server also answers to
ENV_ALLOWED_ASR_MODELS = "ATLAS_ALLOWED_ASR_MODELS"  # comma-separated Whisper models the API may load
MAX_REQUEST_BYTES = 1 << 20  # request bodies are small JSON documents; anything bigger is a mistake or abuse


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How ``atlas serve`` listens and what its HTTP API may touch (docs/api.md, "Security model")."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None  # the bearer token write endpoints require; None when the operator set none
    allowed_dirs: tuple[Path, ...] = ()  # resolved; local paths the API may ingest and media it may serve
    # Host names (lower-case, no port) a loopback server answers to besides the loopback ones (DNS rebinding:
    # api/security.py), e.g. a name in /etc/hosts or a reverse proxy's.
    allowed_hosts: tuple[str, ...] = ()
    # Whisper models an API client may ask for besides the bundled ones (a hub name or a local model folder
    # the operator trusts); the API never fetches or loads other models.
    allowed_asr_models: tuple[str, ...] = ()
    max_body_bytes: int = MAX_REQUEST_BYTES
    # Server processes sharing the library (``atlas serve --workers``). Above 1 the API is read-only: a job
    # lives in the process that queued it, so another process could not report or cancel it.
    workers: int = 1

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for names that only this machine can reach: 127.0.0.0/8, ::1, localhost."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower().rstrip(".") == "localhost"


def resolve_serve_settings(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    allowed_dirs: tuple[str | Path, ...] = (),
    allowed_hosts: tuple[str, ...] = (),
    allowed_asr_models: tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> ServeSettings:
    """``--allow-dir`` flags win over ``ATLAS_ALLOWED_DIRS``. The token comes from ``ATLAS_API_TOKEN`` only:
    a flag would show it to every user of the machine in the process list."""
    from atlas.errors import UserInputError

    env = os.environ if environ is None else environ
    if not 1 <= port <= 65535:
        raise UserInputError(f"port {port} is out of range", hint="use a port between 1 and 65535")
    token = (env.get(ENV_API_TOKEN) or "").strip() or None
    raw_dirs = allowed_dirs or tuple(
        d for d in (env.get(ENV_ALLOWED_DIRS) or "").split(os.pathsep) if d.strip()
    )
    resolved: list[Path] = []
    for raw in raw_dirs:
        # Resolved once here (symlinks, ..) so every later check compares real paths with real paths.
        directory = Path(raw).expanduser().resolve()
        if not directory.is_dir():
            raise UserInputError(
                f"allowed directory {str(raw)!r} is not a directory",
                hint=f"pass an existing folder to --allow-dir or in {ENV_ALLOWED_DIRS}",
            )
        resolved.append(directory)
    hosts = allowed_hosts or _comma_list(env.get(ENV_ALLOWED_HOSTS))
    models = allowed_asr_models or _comma_list(env.get(ENV_ALLOWED_ASR_MODELS))
    return ServeSettings(
        host=host,
        port=port,
        token=token,
        allowed_dirs=tuple(resolved),
        allowed_hosts=tuple(h.strip().lower().rstrip(".") for h in hosts if h.strip()),
        allowed_asr_models=tuple(m.strip() for m in models if m.strip()),
    )


ENV_PLUGINS = "ATLAS_PLUGINS"  # comma-separated modules that register plugins on import (atlas/plugins.py)


def plugin_modules(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The modules ``ATLAS_PLUGINS`` names, for plugins not installed as a distribution with entry points."""
    env = os.environ if environ is None else environ
    return _comma_list(env.get(ENV_PLUGINS))


def _comma_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())
