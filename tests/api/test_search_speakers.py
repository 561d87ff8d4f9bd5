"""GET /api/search: hits carry the pinned sentence's speaker, and ``speaker`` filters by it."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient, ingest
from tests.conftest import FIXTURES

SHOW = [FIXTURES / "transcripts" / f"garden-hour-ep{n}" for n in ("7.srt", "8.vtt", "9.json")]


def show_client(make_client: MakeClient, data_dir: Path) -> TestClient:
    """A client of a server whose library holds the three garden-hour episodes."""
    for path in SHOW:
        shutil.copy(path, data_dir / path.name)
    client: TestClient = make_client()
    job = ingest(client, *(data_dir / p.name for p in SHOW))
    assert job["state"] == "done", job
    return client


def test_api_hits_carry_speaker_and_filter(make_client: MakeClient, data_dir: Path) -> None:
    client = show_client(make_client, data_dir)
    body = client.get("/api/search", params={"q": "beans", "mode": "keyword", "limit": 1}).json()
    assert body["hits"][0]["speaker"] == "Bekah Jones"
    body = client.get("/api/search", params={"q": "compost jars", "mode": "keyword", "speaker": "DAN"}).json()
    assert body["hits"] and {hit["speaker"] for hit in body["hits"]} == {"Dan"}
    none = client.get("/api/search", params={"q": "compost", "mode": "keyword", "speaker": "Nobody"}).json()
    assert none["hits"] == []


def test_api_ask_keeps_to_one_speaker(make_client: MakeClient, data_dir: Path) -> None:
    client = show_client(make_client, data_dir)
    question = {"question": "What goes into the compost?", "generator": "extractive"}
    # The hashing embedder of these tests may find the moments too far from the question to answer; the
    # moments it read (cited or closest) are what the filter decides.
    bekah = client.post("/api/ask", json={**question, "speaker": "BEKAH JONES"}).json()
    assert bekah["citations"] and {c["speaker"] for c in bekah["citations"]} == {"Bekah Jones"}
    dan = client.post("/api/ask", json={**question, "speaker": "dan"}).json()
    assert dan["citations"] and {c["speaker"] for c in dan["citations"]} == {"Dan"}
    nobody = client.post("/api/ask", json={**question, "speaker": "Nobody"}).json()
    assert nobody["answered"] is False and nobody["citations"] == []
