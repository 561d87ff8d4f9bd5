"""Ingest embeds each distinct text once, in batches of similar length (issue 17), and may pool window
vectors from sentence vectors; neither may change which vector a text gets, nor a library's recorded
recipe behind its back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from atlas.config import Settings, WindowSettings
from atlas.embedding.base import Kind, Matrix
from atlas.embedding.pooling import (
    RECIPE_KEY,
    pooled_from_sentences,
    pools_windows,
    window_vectors,
)
from atlas.library import Library
from atlas.models import Sentence, Window
from tests.fake_plugins import HashingEmbedder

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"

TEXTS = [
    "a long sentence about renting GPUs by the hour when the load is spiky",
    "short",
    "the same line again",
    "medium length text about prices",
    "the same line again",
    "x",
    "another fairly long sentence that talks about pricing GPUs and their load",
    "short",
]


class Recording(HashingEmbedder):
    """The hashing embedder, remembering every batch it was asked to encode; length = word count."""

    def __init__(self, batch_size: int) -> None:
        super().__init__(64)
        self.batch_size = batch_size
        self.batches: list[list[str]] = []

    def _lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        self.batches.append(list(texts))
        return super()._encode(texts, kind)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_batched_vectors_are_in_input_order_and_equal_one_by_one(batch_size: int) -> None:
    one_by_one = np.vstack([HashingEmbedder(64).embed([t]) for t in TEXTS])
    batched = Recording(batch_size).embed(TEXTS)
    assert batched.shape == (len(TEXTS), 64)
    assert np.abs(batched - one_by_one).max() < 1e-5


def test_each_distinct_text_is_encoded_once() -> None:
    embedder = Recording(batch_size=100)
    vectors = embedder.embed(TEXTS)
    encoded = [t for batch in embedder.batches for t in batch]
    assert sorted(encoded) == sorted(set(TEXTS))
    assert np.array_equal(vectors[2], vectors[4]) and np.array_equal(vectors[1], vectors[7])


def test_batches_are_cut_from_texts_sorted_by_length() -> None:
    embedder = Recording(batch_size=2)
    embedder.embed(TEXTS)
    lengths = [len(t.split()) for batch in embedder.batches for t in batch]
    assert lengths == sorted(lengths)
    assert all(len(batch) <= 2 for batch in embedder.batches)


def test_empty_input_gives_no_rows() -> None:
    assert Recording(4).embed([]).shape == (0, 64)


def _sentences(texts: Sequence[str], first_index: int = 0) -> list[Sentence]:
    return [Sentence(first_index + i, t, float(i), float(i + 1), i) for i, t in enumerate(texts)]


def test_pooled_window_vector_is_the_normalised_word_weighted_mean() -> None:
    sentences = _sentences(["one two three", "four", "five six"], first_index=10)
    vectors = HashingEmbedder(64).embed([s.text for s in sentences])
    windows = [
        Window(0, "", 0.0, 2.0, 10, 11),
        Window(1, "", 1.0, 3.0, 11, 12),
        Window(2, "", 2.0, 3.0, 12, 12),
    ]
    pooled = pooled_from_sentences(windows, sentences, vectors)
    for row, (a, b) in zip(pooled, [(0, 1), (1, 2), (2, 2)], strict=True):
        weights = np.array([len(s.text.split()) for s in sentences[a : b + 1]], dtype=np.float32)
        expected = (vectors[a : b + 1] * weights[:, None]).sum(axis=0)
        assert np.abs(row - expected / np.linalg.norm(expected)).max() < 1e-5
    assert np.allclose(pooled[2], vectors[2], atol=1e-6)  # one sentence: its own vector
    assert pooled_from_sentences([], sentences, vectors).shape == (0, 64)


def test_window_vectors_follow_the_recorded_recipe() -> None:
    sentences = _sentences(["prices of GPUs", "renting by the hour"])
    windows = [Window(0, "prices of GPUs renting by the hour", 0.0, 2.0, 0, 1)]
    embedder = Recording(batch_size=8)
    vectors = embedder.embed([s.text for s in sentences])
    embedded = window_vectors(
        embedder, windows, sentences, vectors, WindowSettings(vectors_from_sentences=False).as_dict()
    )
    assert np.allclose(embedded, embedder.embed([windows[0].text]))
    embedder.batches.clear()
    pooled = window_vectors(embedder, windows, sentences, vectors, {RECIPE_KEY: 1})
    assert not embedder.batches  # no model call
    assert np.allclose(pooled, pooled_from_sentences(windows, sentences, vectors))


def test_libraries_recorded_before_the_recipe_keep_embedding_windows() -> None:
    # Libraries recorded before the recipe existed hold no key; the key only appears when set (the default).
    embedded = WindowSettings(vectors_from_sentences=False).as_dict()
    assert RECIPE_KEY not in embedded
    assert WindowSettings().as_dict()[RECIPE_KEY] == 1
    assert WindowSettings.from_recorded(embedded).vectors_from_sentences is False


def _pooled_everywhere(lib: Library) -> None:
    for video in lib.list_videos():
        record = lib.get_record(video.video_id)
        expected = pooled_from_sentences(record.windows, record.sentences, record.sentence_vectors)
        assert np.abs(record.window_vectors - expected).max() < 1e-3  # sentences are stored as float16


def test_a_library_records_pooled_windows_and_keeps_its_recipe(tmp_path: Path) -> None:
    pooled = Settings(
        library_dir=tmp_path / "lib",
        embedder="fake/hashing-64",
        windows=WindowSettings(vectors_from_sentences=True),
    )
    with Library.open(pooled) as lib:
        report = lib.ingest([str(TRANSCRIPTS / "manual-talk.en.vtt")])
        assert not report.failed, report.failed
        identity = lib.index.identity()
        assert identity is not None and identity.windows[RECIPE_KEY] == 1
        _pooled_everywhere(lib)
    # Opened later with other defaults, the library still pools: one library never mixes two recipes.
    with Library.open(replace(pooled, windows=WindowSettings())) as lib:
        report = lib.ingest([str(TRANSCRIPTS / "podcast-episode-12.srt")])
        assert not report.failed, report.failed
        assert len(lib.list_videos()) == 2
        _pooled_everywhere(lib)


def test_a_library_recorded_without_the_recipe_keeps_embedding_windows(tmp_path: Path) -> None:
    settings = Settings(
        library_dir=tmp_path / "lib",
        embedder="fake/hashing-64",
        windows=WindowSettings(vectors_from_sentences=False),
    )
    with Library.open(settings) as lib:
        lib.ingest([str(TRANSCRIPTS / "manual-talk.en.vtt")])
    with Library.open(replace(settings, windows=WindowSettings(vectors_from_sentences=True))) as lib:
        lib.ingest([str(TRANSCRIPTS / "podcast-episode-12.srt")])
        identity = lib.index.identity()
        assert identity is not None and RECIPE_KEY not in identity.windows
        embedder = HashingEmbedder(64)
        for video in lib.list_videos():
            record = lib.get_record(video.video_id)
            assert (
                np.abs(record.window_vectors - embedder.embed([w.text for w in record.windows])).max() < 1e-5
            )


def test_a_new_library_takes_the_window_recipe_of_its_embedder(tmp_path: Path) -> None:
    # all-mpnet-base-v2 is chosen for quality and its own window vectors found more; everything else pools.
    assert not pools_windows("all-mpnet-base-v2")
    assert not pools_windows("sentence-transformers/all-mpnet-base-v2")
    assert pools_windows("all-MiniLM-L6-v2")
    assert pools_windows("fake/hashing-64")
    unset = WindowSettings()
    assert unset.with_recipe(False).vectors_from_sentences is False
    assert RECIPE_KEY not in unset.with_recipe(False).as_dict()
    assert WindowSettings(vectors_from_sentences=True).with_recipe(False).vectors_from_sentences is True
    # The library resolves the recipe from the embedder's name as the user typed it, before loading any model.
    for name, pooled in [("sentence-transformers/all-mpnet-base-v2", False), ("all-MiniLM-L6-v2", True)]:
        with Library.open(Settings(library_dir=tmp_path / name.replace("/", "_"), embedder=name)) as lib:
            assert lib.window_settings().vectors_from_sentences is pooled
            assert lib._embedder is None
