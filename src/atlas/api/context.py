"""What every route shares: one Library (one store, one loaded embedding model), the jobs, the policies.

One Library serves every request thread: the SQLite store gives each thread its own connection (WAL readers
beside the one writer, each reading committed videos only) and guards its in-memory vector index with a lock;
the embedding model is loaded once at start-up and shared (its forward pass is read-only).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from atlas.api.jobs import JobManager
from atlas.api.search_cache import SearchCache
from atlas.api.security import PathPolicy, WriteMode, check_writer, write_mode
from atlas.config import ServeSettings
from atlas.library import Library


@dataclass(slots=True)
class ApiContext:
    library: Library
    serve: ServeSettings
    jobs: JobManager
    paths: PathPolicy
    # An answer generator holds one model context: answers are generated one at a time.
    ask_lock: threading.Lock = field(default_factory=threading.Lock)
    # Recent /api/search bodies, keyed by the store's write generation (search_cache.py).
    search_cache: SearchCache = field(default_factory=SearchCache)

    @property
    def writes(self) -> WriteMode:
        return write_mode(self.serve)

    def close(self) -> None:
        self.jobs.shutdown()
        self.library.close()


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.atlas
    return context


def writer_context(request: Request) -> ApiContext:
    """The context, for a request allowed to change the library (raises 401/403/415 otherwise)."""
    context = get_context(request)
    check_writer(request, context.serve)
    return context


Context = Annotated[ApiContext, Depends(get_context)]
WriterContext = Annotated[ApiContext, Depends(writer_context)]
