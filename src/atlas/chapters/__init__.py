"""Chapters: a talk cut into topic segments with start times and short titles, from the stored sentence
vectors (``Library.chapters``, ``atlas chapters``, ``GET /api/videos/{id}/chapters``)."""

from atlas.chapters.base import Chapter, Limits, Segmenter, Titler
from atlas.chapters.service import ChapterOptions, Chapters, chapters_of

__all__ = ["Chapter", "ChapterOptions", "Chapters", "Limits", "Segmenter", "Titler", "chapters_of"]
