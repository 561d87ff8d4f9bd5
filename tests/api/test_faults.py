"""The HTTP API over a read-only library and on a full disk: reads answer, writes get one clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from tests.api.conftest import MakeClient, ingest
from tests.conftest import SAMPLES
from tests.integration.test_library_faults import _chmod_tree, _database_limited_to


@pytest.fixture
def read_only(settings: Settings) -> Iterator[Path]:
    with Library.open(settings) as library:
        library.ingest([str(SAMPLES / "normconf-ml-cost-talk.txt")])
    _chmod_tree(settings.library_dir, writable=False)
    try:
        yield settings.library_dir
    finally:
        _chmod_tree(settings.library_dir, writable=True)


def test_a_read_only_library_serves_reads_and_refuses_writes(
    read_only: Path, make_client: MakeClient, data_dir: Path
) -> None:
    client = make_client()
    assert client.get("/api/search", params={"q": "GPU"}).json()["hits"]
    assert client.get("/api/videos").status_code == 200
    assert client.get("/api/videos/normconf-ml-cost-talk").status_code == 200
    assert client.get("/api/health").status_code == 200

    response = client.delete("/api/videos/normconf-ml-cost-talk")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "read_only" and "is read-only" in error["message"]

    job = ingest(client, data_dir / "manual-talk.en.vtt")
    assert job["state"] == "failed" and job["error"]["code"] == "read_only"


def test_a_full_disk_fails_the_job_with_disk_full(
    make_client: MakeClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    with Library.open(settings):
        pass  # the empty library's schema, before the limit
    _database_limited_to(monkeypatch, extra_pages=2)
    client = make_client()
    job = ingest(client, data_dir / "normconf-ml-cost-talk.txt", data_dir / "manual-talk.en.vtt")
    assert job["state"] == "failed" and job["error"]["code"] == "disk_full", job
    assert [o["status"] for o in job["outcomes"]] == ["failed"]  # the second file was not tried
    assert client.get("/api/videos").json() == []  # the first one was rolled back whole
