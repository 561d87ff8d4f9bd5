"""Transcript -> sentences -> overlapping windows (pure functions)."""

from atlas.chunking.sentences import split_sentences
from atlas.chunking.windows import build_windows

__all__ = ["build_windows", "split_sentences"]
