"""GET /api/search: the CLI's --json hits over HTTP, filters, and the limits on what a client may ask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.cli.app import main
from atlas.config import Settings
from tests.api.conftest import MakeClient, ingest


@pytest.fixture
def loaded(client: TestClient, data_dir: Path) -> TestClient:
    job = ingest(client, data_dir)
    assert job["state"] == "done" and all(o["status"] == "added" for o in job["outcomes"]), job
    ingest(client, data_dir / "normconf-ml-cost-talk.txt", channel="NormConf", published="2023-12-15")
    return client


def test_hits_are_exactly_the_cli_json_hits(
    loaded: TestClient, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    response = loaded.get("/api/search", params={"q": "Gradescope grading", "limit": 3})
    assert response.status_code == 200
    body = response.json()

    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(
            ["search", "Gradescope grading", "--limit", "3", "--json", "--library", str(settings.library_dir)]
        )
    assert exited.value.code in (None, 0)
    cli = json.loads(capsys.readouterr().out)

    assert body["query"] == cli["query"] == "Gradescope grading"
    assert body["hits"] == cli["hits"]  # same keys, same values, same order
    assert 1 <= len(body["hits"]) <= 3
    assert body["hits"][0]["video_id"] == "berkeley-ai-rubric-lecture"
    assert set(body["videos"]) == {h["video_id"] for h in body["hits"]}


def test_highlights_are_snippet_words_matching_the_query_terms(loaded: TestClient) -> None:
    body = loaded.get("/api/search", params={"q": "grading rubrics", "limit": 5}).json()
    assert len(body["highlights"]) == len(body["hits"])
    marked = 0
    for hit, words in zip(body["hits"], body["highlights"], strict=True):
        for word in words:
            assert word in hit["snippet"].lower()
            assert word.startswith(("grad", "rubric"))  # matched by stem: grade, graded, grading, rubric(s)
        marked += len(words)
        assert bool(words) == bool(hit["matched_terms"])
    assert marked > 0


def test_filters_by_video_channel_and_date(loaded: TestClient) -> None:
    only = loaded.get("/api/search", params={"q": "cost", "video": "mixture-of-experts-meetup"}).json()
    assert only["hits"] and {h["video_id"] for h in only["hits"]} == {"mixture-of-experts-meetup"}

    channel = loaded.get("/api/search", params={"q": "cost", "channel": "NormConf"}).json()
    assert channel["hits"] and {h["video_id"] for h in channel["hits"]} == {"normconf-ml-cost-talk"}

    after = loaded.get("/api/search", params={"q": "cost", "after": "2023-12-01"}).json()
    assert {h["video_id"] for h in after["hits"]} == {"normconf-ml-cost-talk"}
    before = loaded.get("/api/search", params={"q": "cost", "before": "2023-12-01"}).json()
    assert before["hits"] == []  # undated videos never pass a date bound

    modes = {
        m: loaded.get("/api/search", params={"q": "Pedalboard", "mode": m}) for m in ("keyword", "vector")
    }
    assert all(r.status_code == 200 and r.json()["hits"] for r in modes.values())


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": "x" * 1001}, "q: String should have at most 1000 characters"),
        ({"q": ""}, "q: String should have at least 1 character"),
        ({}, "q: Field required"),
        ({"q": "   "}, "the query is empty"),
        ({"q": "gpu", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"q": "gpu", "limit": 201}, "limit: Input should be less than or equal to 200"),
        ({"q": "gpu", "limit": "ten"}, "limit: Input should be a valid integer"),
        ({"q": "gpu", "mode": "fuzzy"}, "mode: Input should be 'hybrid', 'keyword' or 'vector'"),
        ({"q": "gpu", "after": "2024-13-45"}, "after:"),
    ],
)
def test_bad_queries_are_400_in_the_error_shape(
    client: TestClient, params: dict[str, object], fragment: str
) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_input"
    assert fragment in error["message"]
    assert error["hint"]


def test_empty_library_finds_nothing(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "anything at all"})
    assert response.status_code == 200
    assert response.json() == {"query": "anything at all", "hits": [], "videos": {}, "highlights": []}


def test_search_is_open_to_readers_on_a_read_only_server(make_client: MakeClient) -> None:
    client = make_client(host="0.0.0.0")
    assert client.get("/api/search", params={"q": "gpu"}).status_code == 200
