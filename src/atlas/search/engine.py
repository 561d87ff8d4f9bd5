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
from atlas.errors import NotFoundError, UserInputError
from atlas.index.base import Candidate, Index, StoredWindow, Vectors
from atlas.limits import MAX_QUERY_CHARS, MAX_SEARCH_LIMIT
from atlas.models import Hit, SearchFilters, Sentence
from atlas.search.fusion import reciprocal_rank_fusion
from atlas.search.links import deep_link
from atlas.search.pinning import pin_sentence
from atlas.search.rerank import EvidenceReranker, Reranker, RerankInput
from atlas.search.text import keyword_terms
from atlas.search.window_cache import WindowCache

Mode = Literal["hybrid", "keyword", "vector"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "vector")
RERANK_DEPTH = 40  # fused candidates the reranker looks at
# Each ranking feeds the fusion at least this many candidates per hit asked for: de-overlapping drops
# neighbouring windows of one video, so a large limit needs more candidates than hits to still fill up.
CANDIDATES_PER_HIT = 3
# Windows are read in pages of this many per hit asked for, and never fewer than MIN_PAGE: most searches
# fill up from the first page (one read), and a page only has to cover what de-overlapping discards.
PAGE_PER_HIT = 2
MIN_PAGE = 20


class _Fetched(NamedTuple):
    stored: StoredWindow
    sentences: list[Sentence]
    sentence_vectors: Vectors


class _Reads(dict[int, _Fetched]):
    """The windows one search read, and the store generation read before them (one read per search)."""

    def __init__(self, gen: int | None) -> None:
        super().__init__()
        self.gen = gen


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
        # Several: a server searches from many threads at once, and one worker would queue their BM25s.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="atlas-keyword")
        self._windows: WindowCache[_Fetched] = WindowCache(index)  # reused across searches
        self._vectors: WindowCache[Vectors] = WindowCache(index)

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
        depth = max(self._settings.candidates, limit * CANDIDATES_PER_HIT)

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
        fetched = _Reads(self._windows.generation())
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(rankings, k=self._settings.rrf_k)
            if self._settings.rerank and qvec is not None:
                ranked = self._rerank(qvec, terms, ranked[:RERANK_DEPTH], fetched) + ranked[RERANK_DEPTH:]
        else:
            ranked = rankings[0]
        return self._to_hits(ranked, qvec, terms, limit, fetched, filters.speaker)

    def _fetch(self, keys: list[int], fetched: dict[int, _Fetched]) -> None:
        """Read the windows (with their sentences) of ``keys`` not fetched yet; missing keys stay absent."""
        wanted = [k for k in keys if k not in fetched]
        gen = fetched.gen if isinstance(fetched, _Reads) else self._windows.generation()
        fetched.update(self._windows.get(gen, wanted))
        read: dict[int, _Fetched] = {}
        for stored in self._index.windows([k for k in wanted if k not in fetched]):
            window = stored.window
            try:
                sentences, vectors = self._index.sentences(
                    stored.video.video_id, window.first_sentence, window.last_sentence
                )
            except NotFoundError:
                continue  # its video was removed by a concurrent writer since its window was read
            read[stored.key] = _Fetched(stored, sentences, vectors)
        fetched.update(read)
        self._windows.put(gen, read)

    def _window_vectors(self, keys: list[int], gen: int | None) -> dict[int, Vectors]:
        """The vectors of ``keys`` by key; a window removed by a concurrent writer since it was read is
        absent."""
        known = self._vectors.get(gen, keys)
        missing = [k for k in keys if k not in known]
        if missing:
            try:
                rows = self._index.window_vectors(missing)
                read = {key: rows[i].copy() for i, key in enumerate(missing)}
            except NotFoundError:  # some were removed meanwhile (rare): read the rest one at a time
                read = {}
                for key in missing:
                    try:
                        read[key] = self._index.window_vectors([key])[0].copy()
                    except NotFoundError:
                        continue
            known.update(read)
            self._vectors.put(gen, read)
        return known

    def _rerank(
        self,
        qvec: npt.NDArray[np.float32],
        terms: list[str],
        shortlist: list[Candidate],
        fetched: dict[int, _Fetched],
    ) -> list[Candidate]:
        self._fetch([c.key for c in shortlist], fetched)
        present = [c for c in shortlist if c.key in fetched]
        vectors = self._window_vectors([c.key for c in present], getattr(fetched, "gen", None))
        items = [
            RerankInput(
                c.key, fetched[c.key].stored.window.text, vectors[c.key], fetched[c.key].sentence_vectors
            )
            for c in present
            if c.key in vectors
        ]
        return [Candidate(key, score) for key, score in self._reranker.rerank(qvec, terms, items)]

    def _to_hits(
        self,
        ranked: list[Candidate],
        qvec: npt.NDArray[np.float32] | None,
        terms: list[str],
        limit: int,
        fetched: dict[int, _Fetched],
        speaker: str | None = None,
    ) -> list[Hit]:
        hits: list[Hit] = []
        kept: list[StoredWindow] = []
        # Fetch in pages: de-overlapping may discard some candidates.
        page_size = max(limit * PAGE_PER_HIT, MIN_PAGE)
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
                if speaker:  # a window kept for the speaker's words pins to them, not to whoever else talks
                    sentences, vectors = _said_by(speaker, sentences, vectors)
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
                        speaker=pin.sentence.speaker,
                    )
                )
        return hits


def _said_by(speaker: str, sentences: list[Sentence], vectors: Vectors) -> tuple[list[Sentence], Vectors]:
    """The sentences of ``speaker`` (the store matched the name case-insensitively) with their vectors; all
    of them if none is (a video replaced between the search and this read)."""
    wanted = speaker.casefold()
    rows = [i for i, s in enumerate(sentences) if s.speaker is not None and s.speaker.casefold() == wanted]
    if not rows:
        return sentences, vectors
    return [sentences[i] for i in rows], vectors[rows] if len(vectors) == len(sentences) else vectors


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
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise UserInputError(
            f"limit {limit} is out of range", hint=f"use a limit between 1 and {MAX_SEARCH_LIMIT}"
        )
    if mode not in MODES:
        raise UserInputError(f"unknown search mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
