"""The search pipeline: keyword + vector candidates -> fusion -> rerank -> pin -> hits.

query ─┬─ keyword_terms ─► index.keyword_search (BM25) ─┐
       └─ embed_query ───► index.vector_search (HNSW) ──┴─► RRF ─► rerank ─► de-overlap ─► pin ─► Hit
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from atlas.config import SearchSettings
from atlas.embedding.base import Embedder
from atlas.errors import UserInputError
from atlas.index.base import Candidate, Index, StoredWindow, Vectors
from atlas.models import Hit, SearchFilters, Sentence
from atlas.search.fusion import reciprocal_rank_fusion
from atlas.search.links import deep_link
from atlas.search.pinning import pin_sentence
from atlas.search.rerank import EvidenceReranker, Reranker, RerankInput
from atlas.search.text import keyword_terms

Mode = Literal["hybrid", "keyword", "vector"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "vector")
MAX_QUERY_CHARS = 1000
MAX_LIMIT = 200
RERANK_DEPTH = 40  # fused candidates the reranker looks at


class _Fetched(NamedTuple):
    stored: StoredWindow
    sentences: list[Sentence]
    sentence_vectors: Vectors


class SearchEngine:
    def __init__(
        self,
        index: Index,
        embedder: Callable[[], Embedder],
        settings: SearchSettings,
        reranker: Reranker | None = None,
    ) -> None:
        self._index = index
        self._embedder = embedder  # lazy: keyword mode never loads the model
        self._settings = settings
        self._reranker: Reranker = reranker or EvidenceReranker()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-keyword")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def search(
        self,
        query: str,
        *,
        limit: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        query = " ".join(query.split())
        limit = self._settings.limit if limit is None else limit
        _validate(query, limit, mode)
        filters = filters or SearchFilters()
        terms = keyword_terms(query)
        depth = max(self._settings.candidates, limit * 3)

        qvec: npt.NDArray[np.float32] | None = None
        rankings: list[list[Candidate]] = []
        keyword: Future[list[Candidate]] | None = None
        if mode in ("hybrid", "keyword"):
            # BM25 in SQLite and the model's forward pass both release the GIL: run them side by side.
            keyword = self._pool.submit(self._index.keyword_search, terms, depth, filters)
        if mode in ("hybrid", "vector"):
            qvec = self._embedder().embed_query(query)
            rankings.append(self._index.vector_search(qvec, depth, filters))
        if keyword is not None:
            rankings.insert(0, keyword.result())

        # Windows and sentences read while reranking, reused when building hits instead of read again.
        fetched: dict[int, _Fetched] = {}
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(rankings, k=self._settings.rrf_k)
            if self._settings.rerank and qvec is not None:
                ranked = self._rerank(qvec, terms, ranked[:RERANK_DEPTH], fetched) + ranked[RERANK_DEPTH:]
        else:
            ranked = rankings[0]
        return self._to_hits(ranked, qvec, terms, limit, fetched)

    def _fetch(self, keys: list[int], fetched: dict[int, _Fetched]) -> None:
        """Read the windows (with their sentences) of ``keys`` not fetched yet; missing keys stay absent."""
        for stored in self._index.windows([k for k in keys if k not in fetched]):
            window = stored.window
            sentences, vectors = self._index.sentences(
                stored.video.video_id, window.first_sentence, window.last_sentence
            )
            fetched[stored.key] = _Fetched(stored, sentences, vectors)

    def _rerank(
        self,
        qvec: npt.NDArray[np.float32],
        terms: list[str],
        shortlist: list[Candidate],
        fetched: dict[int, _Fetched],
    ) -> list[Candidate]:
        self._fetch([c.key for c in shortlist], fetched)
        present = [c for c in shortlist if c.key in fetched]
        vectors = self._index.window_vectors([c.key for c in present])
        items = [
            RerankInput(
                c.key, fetched[c.key].stored.window.text, vectors[row], fetched[c.key].sentence_vectors
            )
            for row, c in enumerate(present)
        ]
        return [Candidate(key, score) for key, score in self._reranker.rerank(qvec, terms, items)]

    def _to_hits(
        self,
        ranked: list[Candidate],
        qvec: npt.NDArray[np.float32] | None,
        terms: list[str],
        limit: int,
        fetched: dict[int, _Fetched],
    ) -> list[Hit]:
        hits: list[Hit] = []
        kept: list[StoredWindow] = []
        # Fetch in pages: de-overlapping may discard some candidates.
        page_size = max(limit * 2, 20)
        for page_start in range(0, len(ranked), page_size):
            page = ranked[page_start : page_start + page_size]
            self._fetch([c.key for c in page], fetched)
            for cand in page:
                if len(hits) >= limit:
                    return hits
                if cand.key not in fetched:
                    continue  # removed by a concurrent writer since retrieval
                stored, sentences, vectors = fetched[cand.key]
                if any(_overlaps(stored, other) for other in kept):
                    continue  # overlapping windows of one video show the same moment twice
                kept.append(stored)
                pin = pin_sentence(sentences, vectors, qvec, terms)
                moment = pin.sentence.start
                hits.append(
                    Hit(
                        video=stored.video,
                        window=stored.window,
                        moment=moment,
                        snippet=pin.snippet,
                        url=deep_link(stored.video, moment),
                        score=cand.score,
                        matched_terms=pin.matched,
                        position=pin.sentence.position,
                    )
                )
        return hits


def _overlaps(a: StoredWindow, b: StoredWindow) -> bool:
    return (
        a.video.video_id == b.video.video_id
        and a.window.first_sentence <= b.window.last_sentence
        and b.window.first_sentence <= a.window.last_sentence
    )


def _validate(query: str, limit: int, mode: str) -> None:
    if not query:
        raise UserInputError(
            "the query is empty", hint='type what you are looking for, e.g. atlas search "gpu cost"'
        )
    if len(query) > MAX_QUERY_CHARS:
        raise UserInputError(
            f"the query is {len(query)} characters long", hint=f"keep it under {MAX_QUERY_CHARS} characters"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise UserInputError(f"limit {limit} is out of range", hint=f"use a limit between 1 and {MAX_LIMIT}")
    if mode not in MODES:
        raise UserInputError(f"unknown search mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
