"""GET /api/videos/{id}/chapters: ``atlas chapters --json`` over HTTP, and the page that shows them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ingest


@pytest.fixture
def loaded(client: TestClient, data_dir: Path) -> TestClient:
    assert ingest(client, data_dir)["state"] == "done"
    return client


def test_chapters_of_a_timed_talk(loaded: TestClient) -> None:
    response = loaded.get("/api/videos/berkeley-ai-rubric-lecture/chapters")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["video_id"] == "berkeley-ai-rubric-lecture" and body["timed"] is True
    assert body["segmenter"] == "optimal" and body["titles"] == "keyphrase"
    chapters = body["chapters"]
    assert len(chapters) >= 3  # a 49-minute lecture, chapters at most 15 minutes long
    assert chapters[0]["start"] == 0.0 and all(c["title"] for c in chapters)
    starts = [c["start"] for c in chapters]
    assert starts == sorted(starts)
    for chapter, following in itertools.pairwise(chapters):
        assert chapter["end"] == following["start"]
        assert 60.0 <= following["start"] - chapter["start"] <= 900.0
    assert chapters[1]["url"].endswith(f"#t={int(chapters[1]['start'])}")


def test_untimed_talk_has_chapters_without_times(loaded: TestClient) -> None:
    body = loaded.get("/api/videos/normconf-ml-cost-talk/chapters", params={"segmenter": "texttiling"}).json()
    assert body["timed"] is False and body["segmenter"] == "texttiling"
    assert body["chapters"] and all(c["start"] is None and c["end"] is None for c in body["chapters"])
    positions = [c["position"] for c in body["chapters"]]
    assert positions[0] == 0 and positions == sorted(positions)
    assert all("#t=" not in c["url"] for c in body["chapters"])


def test_lengths_are_honoured_and_checked(loaded: TestClient) -> None:
    short = loaded.get("/api/videos/berkeley-ai-rubric-lecture/chapters", params={"max": 300}).json()
    spans = [c["end"] - c["start"] for c in short["chapters"]]
    assert len(short["chapters"]) >= 10 and max(spans) <= 300.0
    bad = loaded.get("/api/videos/berkeley-ai-rubric-lecture/chapters", params={"min": 600, "max": 60})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_input"
    wrong = loaded.get("/api/videos/berkeley-ai-rubric-lecture/chapters", params={"titles": "poem"})
    assert wrong.status_code in (400, 422) and "error" in wrong.json()


def test_unknown_video_is_404(client: TestClient) -> None:
    response = client.get("/api/videos/no-such-video/chapters")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_page_loads_the_chapters_script(client: TestClient) -> None:
    page = client.get("/").text
    assert '<script src="/static/chapters.js" defer></script>' in page and 'id="player-chapters"' in page
    script = client.get("/static/chapters.js")
    assert script.status_code == 200 and "/chapters`" in script.text
    assert "showChapters(hit)" in client.get("/static/app.js").text
    assert (
        "chapters"
        in client.get("/openapi.json").json()["paths"]["/api/videos/{video_id}/chapters"]["get"][
            "operationId"
        ]
    )
