"""One module per resource: search, videos, media, ingest (and its jobs), ask, system (health, the page)."""
