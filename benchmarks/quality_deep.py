"""``bench_quality.py --deep``: hybrid search with the bundled LLM's query rewrites (``deep=True``).

The rewrites take seconds per query on a CPU, and greedy decoding makes them the same on every run, so they
can be kept in a JSON file (``--rewrites FILE``): a query found there replays its saved rewrites and adds the
LLM seconds recorded when they were made to its time, so ``ms/q`` still says what a user waits for; a query
not found there runs the model and is saved. Delete the file after changing the prompt or the model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEEP_LABEL = "deep"


class SavedRewriter:
    """Replays saved rewrites, else asks the bundled model and saves what it said and how long it took."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.saved: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            # Keyed as the engine asks: the query with its whitespace collapsed.
            loaded = json.loads(path.read_text(encoding="utf-8"))
            self.saved = {" ".join(query.split()): entry for query, entry in loaded.items()}
        self.replayed_seconds: dict[str, float] = {}  # per replayed query: the LLM time it did not spend now
        self._live: Any = None

    def rewrite(self, query: str) -> list[str]:
        if query in self.saved:
            entry = self.saved[query]
            self.replayed_seconds[query] = float(entry["seconds"])
            return list(entry["rewrites"])
        if self._live is None:
            from atlas.search.rewrite import bundled_rewriter

            self._live = bundled_rewriter()
        began = time.perf_counter()
        rewrites: list[str] = self._live.rewrite(query)
        self.saved[query] = {"rewrites": rewrites, "seconds": time.perf_counter() - began}
        if self.path is not None:  # after every query: a long run stopped half way keeps what it made
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(
                json.dumps(self.saved, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        return rewrites


def evaluate_deep(
    lib: Any, queries: Sequence[Any], limit: int, rewrites: Path | None, evaluate: Callable[..., Any]
) -> Any:
    """``evaluate`` (bench_quality's) in hybrid mode with ``deep=True``, through a second handle on the same
    library that rewrites with a ``SavedRewriter``; returns its ``ModeReport``."""
    from atlas.library import Library

    rewriter = SavedRewriter(rewrites)
    with Library.open(lib.settings, create=False, embedder=lib.embedder, rewriter=rewriter) as deep_lib:
        report = evaluate(deep_lib, list(queries), "hybrid", limit, DEEP_LABEL, deep=True)
    for result in report.results:
        result.seconds += rewriter.replayed_seconds.get(" ".join(result.query.query.split()), 0.0)
    return report
