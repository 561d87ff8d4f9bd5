"""Scale-out: ingest on a Ray cluster (``atlas ingest --ray ADDRESS``). Needs the ``cluster`` extra; the Ray
code is imported only when asked for, so the embedded library never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from atlas.ingest_report import IngestReport
    from atlas.library import IngestObserver, Library
    from atlas.models import IngestOptions


def ingest_on_ray(
    library: Library,
    targets: Iterable[str],
    options: IngestOptions | None = None,
    observer: IngestObserver | None = None,
    *,
    address: str = "auto",
    workers: int | None = None,
) -> IngestReport:
    """``library.ingest`` with the reading, transcribing, chunking and embedding done by Ray actors (see
    ``atlas.cluster.ray_ingest``); the writes stay here, one transaction per video."""
    from atlas.cluster.ray_ingest import ingest

    return ingest(library, targets, options, observer, address=address, workers=workers)


__all__ = ["ingest_on_ray"]
