"""GET /api/search: hits carry the pinned sentence's speaker, and ``speaker`` filters by it."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient, ingest
from tests.conftest import FIXTURES

SHOW = [FIXTURES / "transcripts" / f"garden-hour-ep{n}" for n in ("7.srt", "8.vtt", "9.json")]


def test_api_hits_carry_speaker_and_filter(make_client: MakeClient, data_dir: Path) -> None:
    for path in SHOW:
        shutil.copy(path, data_dir / path.name)
    client: TestClient = make_client()
    job = ingest(client, *(data_dir / p.name for p in SHOW))
    assert job["state"] == "done", job
    body = client.get("/api/search", params={"q": "beans", "mode": "keyword", "limit": 1}).json()
    assert body["hits"][0]["speaker"] == "Bekah Jones"
    body = client.get("/api/search", params={"q": "compost jars", "mode": "keyword", "speaker": "DAN"}).json()
    assert body["hits"] and {hit["speaker"] for hit in body["hits"]} == {"Dan"}
    none = client.get("/api/search", params={"q": "compost", "mode": "keyword", "speaker": "Nobody"}).json()
    assert none["hits"] == []
