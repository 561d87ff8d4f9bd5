"""Scale-out: ingest on a Ray cluster (``atlas ingest --ray [ADDRESS]``). Needs the ``cluster`` extra.
``ray_ingest`` imports Ray only inside the calls that use it, so importing this package loads no Ray code."""

from __future__ import annotations

from atlas.cluster.ray_ingest import ingest as ingest_on_ray

__all__ = ["ingest_on_ray"]
