"""The /api/search cache (api/search_cache.py) and ``atlas serve --workers N``: a repeated query is answered
from the cache, a write (over HTTP, or by another process on the same SQLite library) is seen by the very
next search, and several server processes serve one library, read-only."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from atlas.api.context import ApiContext
from atlas.api.search_cache import SearchCache
from atlas.config import Settings
from atlas.library import Library
from tests.api.conftest import MakeClient, ingest
from tests.api.serve_process import atlas_serve

QUERY = "quokka zanzibar"


def _quokka_talk(folder: Path) -> Path:
    path = folder / "quokka-talk.txt"
    path.write_text(
        "Today we count every quokka on the island. A quokka in Zanzibar would be a long way from home. "
        "The zanzibar quokka census is, of course, a joke we tell new students.\n"
    )
    return path


def _video_ids(body: dict[str, object]) -> list[str]:
    hits = body["hits"]
    assert isinstance(hits, list)
    return [hit["video_id"] for hit in hits]


def _context(client: TestClient) -> ApiContext:
    context: ApiContext = client.app.state.atlas  # type: ignore[attr-defined]
    return context


def test_a_repeated_search_is_served_from_the_cache(client: TestClient, data_dir: Path) -> None:
    ingest(client, data_dir / "normconf-ml-cost-talk.txt")
    cache = _context(client).search_cache
    first = client.get("/api/search", params={"q": "GPU cost", "limit": 3})
    second = client.get("/api/search", params={"q": "GPU cost", "limit": 3})
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert (cache.misses, cache.hits) == (1, 1)
    # Another limit, mode or filter is another answer.
    client.get("/api/search", params={"q": "GPU cost", "limit": 2})
    client.get("/api/search", params={"q": "GPU cost", "limit": 3, "mode": "keyword"})
    client.get("/api/search", params={"q": "GPU cost", "limit": 3, "channel": "none"})
    assert (cache.misses, cache.hits) == (4, 1)


def test_a_search_after_an_ingest_or_a_delete_over_http_sees_it(client: TestClient, data_dir: Path) -> None:
    ingest(client, data_dir / "normconf-ml-cost-talk.txt")
    before = client.get("/api/search", params={"q": QUERY}).json()
    assert "quokka-talk" not in _video_ids(before)
    assert client.get("/api/search", params={"q": QUERY}).json() == before  # cached

    job = ingest(client, _quokka_talk(data_dir))
    assert job["outcomes"][0]["status"] == "added", job
    added = client.get("/api/search", params={"q": QUERY}).json()
    assert _video_ids(added)[0] == "quokka-talk"
    assert "quokka-talk" in added["videos"]

    assert client.delete("/api/videos/quokka-talk").status_code == 200
    after = client.get("/api/search", params={"q": QUERY}).json()
    assert "quokka-talk" not in _video_ids(after)


def test_a_write_by_another_process_is_seen_by_the_next_search(
    client: TestClient, settings: Settings, data_dir: Path
) -> None:
    """``atlas ingest`` beside a running server: its own connection, its own write, the same generation."""
    ingest(client, data_dir / "normconf-ml-cost-talk.txt")
    assert "quokka-talk" not in _video_ids(client.get("/api/search", params={"q": QUERY}).json())
    with Library.open(settings) as other:
        assert other.ingest([str(_quokka_talk(data_dir))]).count("added") == 1
    assert _video_ids(client.get("/api/search", params={"q": QUERY}).json())[0] == "quokka-talk"
    with Library.open(settings) as other:
        other.remove("quokka-talk")
    assert "quokka-talk" not in _video_ids(client.get("/api/search", params={"q": QUERY}).json())


def test_errors_are_not_cached(make_client: MakeClient) -> None:
    client = make_client()
    for _ in range(2):
        response = client.get("/api/search", params={"q": "   "})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_input"
    assert len(_context(client).search_cache) == 0


def test_the_cache_is_bounded_and_forgets_an_old_generation() -> None:
    cache = SearchCache(max_entries=3, max_bytes=10)
    cache.at(1)
    for name in "abcd":
        cache.put((1, name), b"xx")
    assert len(cache) == 3 and cache.get((1, "a")) is None  # the least recently used went first
    assert cache.get((1, "b")) == b"xx"
    cache.put((1, "e"), b"xxxxxx")  # 2 + 2 + 6 = 10 bytes: fits; "c" was the least recently used
    assert cache.get((1, "c")) is None and cache.get((1, "b")) == b"xx"
    cache.put((1, "big"), b"x" * 11)  # over the whole budget: never kept
    assert cache.get((1, "big")) is None
    cache.at(2)
    assert len(cache) == 0


# -- atlas serve --workers N ---------------------------------------------------------------------------------


def test_several_workers_serve_one_library_read_only(
    settings: Settings, data_dir: Path, tmp_path: Path
) -> None:
    with Library.open(settings) as library:
        library.ingest([str(data_dir / "normconf-ml-cost-talk.txt")])
    log = tmp_path / "serve.log"
    with atlas_serve(settings.library_dir, [], log, workers=2) as served:
        http = served.http
        # Fresh connections: uvicorn's workers share the listening socket, so both of them answer.
        for _ in range(6):
            response = http.get(
                "/api/search", params={"q": "GPU cost", "limit": 3}, headers={"Connection": "close"}
            )
            assert response.status_code == 200, log.read_text()
            assert _video_ids(response.json())[0] == "normconf-ml-cost-talk"
        assert http.get("/api/health").json()["writes"] == "disabled"
        refused = http.delete("/api/videos/normconf-ml-cost-talk")
        assert refused.status_code == 403
        assert "--workers" in refused.json()["error"]["message"]

        # An ingest beside the server (as `atlas ingest` would do): every worker sees it at its next search.
        with Library.open(settings) as library:
            assert library.ingest([str(_quokka_talk(data_dir))]).count("added") == 1
        for _ in range(6):
            body = http.get("/api/search", params={"q": QUERY}, headers={"Connection": "close"}).json()
            assert _video_ids(body)[0] == "quokka-talk", body
    assert "Traceback" not in log.read_text()
