"""POST /api/ingest + GET /api/jobs: background jobs, progress, the write gate and the allowed directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.api.jobs import Job, JobCancelled, _JobObserver
from atlas.config import Settings
from atlas.library import Library
from atlas.models import IngestOptions
from tests.api.conftest import TOKEN, MakeClient, ingest, wait_for_job


def test_job_lifecycle_outcomes_and_progress(client: TestClient, data_dir: Path) -> None:
    response = client.post("/api/ingest", json={"targets": [str(data_dir)]})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["state"] in ("queued", "running", "done")
    assert len(job["targets"]) == 4  # the folder, expanded to its four transcripts

    done = wait_for_job(client, job["id"])
    assert done["state"] == "done" and done["error"] is None
    assert done["progress"] == {"targets_total": 4, "targets_finished": 4, "current": None}
    assert sorted(o["status"] for o in done["outcomes"]) == ["added"] * 4
    assert all(o["windows"] > 0 for o in done["outcomes"])
    assert done["started_at"] >= done["created_at"] and done["finished_at"] >= done["started_at"]
    assert client.get("/api/search", params={"q": "Pedalboard"}).json()["hits"]

    again = ingest(client, data_dir / "normconf-ml-cost-talk.txt")
    assert [o["status"] for o in again["outcomes"]] == ["unchanged"]
    assert [j["id"] for j in client.get("/api/jobs").json()] == [again["id"], job["id"]]


def test_options_reach_the_video(client: TestClient, data_dir: Path) -> None:
    job = ingest(
        client,
        data_dir / "normconf-ml-cost-talk.txt",
        video_id="cost-talk",
        title="What ML really costs",
        channel="NormConf",
        published="2023-12-15",
    )
    assert job["outcomes"][0]["video_id"] == "cost-talk"
    video = client.get("/api/videos/cost-talk").json()
    assert (video["title"], video["channel"], video["published"]) == (
        "What ML really costs",
        "NormConf",
        "2023-12-15",
    )


def test_a_bad_file_fails_alone(client: TestClient, data_dir: Path) -> None:
    (data_dir / "broken.vtt").write_text("this is not WebVTT\n")
    job = ingest(client, data_dir / "broken.vtt", data_dir / "normconf-ml-cost-talk.txt")
    assert job["state"] == "done"
    statuses = {Path(o["target"]).name: o for o in job["outcomes"]}
    assert statuses["broken.vtt"]["status"] == "failed" and "broken.vtt" in statuses["broken.vtt"]["message"]
    assert statuses["normconf-ml-cost-talk.txt"]["status"] == "added"


def test_observer_reports_stages_and_measured_progress(settings: Settings) -> None:
    job = Job(id="j", targets=["a.vtt", "b.vtt"], options=IngestOptions(), refused=[])
    job.state = "running"
    observer = _JobObserver(job)
    observer.item_started("a.vtt")
    observer.progress("a.vtt", "transcribe", 30.0, 120.0)
    snapshot = job.snapshot()
    assert snapshot["progress"] == {
        "targets_total": 2,
        "targets_finished": 0,
        "current": {"target": "a.vtt", "stage": "transcribe", "done": 30.0, "total": 120.0},
    }
    observer.item_started("b.vtt")
    observer.stage("b.vtt", "embed")
    assert job.snapshot()["progress"]["targets_finished"] == 1
    assert job.snapshot()["progress"]["current"]["stage"] == "embed"


def test_cancelling_stops_between_stages_and_writes_nothing(settings: Settings, data_dir: Path) -> None:
    job = Job(id="j", targets=[], options=IngestOptions(), refused=[])
    job.cancel.set()
    with Library.open(settings) as lib, pytest.raises(JobCancelled):
        lib.ingest([str(data_dir / "normconf-ml-cost-talk.txt")], observer=_JobObserver(job))
    with Library.open(settings) as lib:
        assert lib.list_videos() == []


# -- the write gate ----------------------------------------------------------------------------------------


def test_token_is_required_when_set(make_client: MakeClient, data_dir: Path) -> None:
    client = make_client(token=TOKEN)
    body = {"targets": [str(data_dir / "normconf-ml-cost-talk.txt")]}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        response = client.post("/api/ingest", json=body, headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/jobs").json() == []
    ok = client.post("/api/ingest", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 202
    # A loopback server answers only loopback names, token or not (DNS rebinding: docs/api.md).
    elsewhere = client.post(
        "/api/ingest", json=body, headers={"Authorization": f"Bearer {TOKEN}", "Host": "a.b"}
    )
    assert elsewhere.status_code == 421 and elsewhere.json()["error"]["code"] == "wrong_host"


def test_non_loopback_server_without_token_is_read_only(make_client: MakeClient, data_dir: Path) -> None:
    client = make_client(host="0.0.0.0")
    response = client.post("/api/ingest", json={"targets": [str(data_dir)]})
    assert response.status_code == 403
    error = response.json()["error"]
    assert (
        error["code"] == "forbidden" and "0.0.0.0" in error["message"] and "ATLAS_API_TOKEN" in error["hint"]
    )
    assert client.get("/api/health").json()["writes"] == "disabled"


def test_loopback_without_token_refuses_foreign_host_names(client: TestClient, data_dir: Path) -> None:
    body = {"targets": [str(data_dir / "normconf-ml-cost-talk.txt")]}
    rebound = client.post("/api/ingest", json=body, headers={"Host": "attacker.example:8000"})
    assert rebound.status_code == 421 and "attacker.example" in rebound.json()["error"]["message"]
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert client.post("/api/ingest", json=body, headers={"Host": host}).status_code == 202, host


def test_write_bodies_must_be_json(client: TestClient, data_dir: Path) -> None:
    # A cross-site form or a no-CORS fetch can send text/plain without a preflight; it must not count.
    payload = '{"targets": ["%s"]}' % (data_dir / "normconf-ml-cost-talk.txt")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post("/api/ingest", content=payload, headers=headers)
        assert response.status_code == 415, content_type
        assert response.json()["error"]["code"] == "unsupported_media"


# -- allowed directories -----------------------------------------------------------------------------------


def test_paths_outside_the_allowed_dirs_are_refused(
    client: TestClient, data_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nthe secret\n")
    for target in (
        outside / "secret.vtt",
        f"{data_dir}/../outside/secret.vtt",
        data_dir.parent,  # the parent of an allowed dir
        "/etc/passwd",
    ):
        response = client.post("/api/ingest", json={"targets": [str(target)]})
        assert response.status_code == 403, target
        error = response.json()["error"]
        assert error["code"] == "forbidden" and "--allow-dir" in error["hint"]
    assert client.get("/api/jobs").json() == []
    assert client.get("/api/videos").json() == []


def test_symlinks_out_of_an_allowed_folder_are_refused_per_file(
    client: TestClient, data_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nthe zanzibarquux dossier\n")
    os.symlink(outside / "secret.vtt", data_dir / "innocent.vtt")
    direct = client.post("/api/ingest", json={"targets": [str(data_dir / "innocent.vtt")]})
    assert direct.status_code == 403

    job = ingest(client, data_dir)  # the folder holds the link: that one file is refused, the rest go in
    refused = [o for o in job["outcomes"] if o["status"] == "failed"]
    assert [Path(o["target"]).name for o in refused] == ["innocent.vtt"]
    assert "outside" in refused[0]["message"]
    assert sum(o["status"] == "added" for o in job["outcomes"]) == 4
    assert client.get("/api/search", params={"q": "zanzibarquux", "mode": "keyword"}).json()["hits"] == []


def test_no_allowed_dirs_means_urls_only(make_client: MakeClient, data_dir: Path) -> None:
    client = make_client(allowed=())
    response = client.post("/api/ingest", json={"targets": [str(data_dir / "normconf-ml-cost-talk.txt")]})
    assert response.status_code == 403 and "--allow-dir" in response.json()["error"]["hint"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"targets": ["relative/talk.vtt"]}, "relative path"),
        ({"targets": ["file:///etc/passwd"]}, "unsupported URL scheme"),
        ({"targets": ["  "]}, "empty"),
        ({"targets": []}, "targets: List should have at least 1 item"),
        ({"targets": ["https://example.org/x"] * 101}, "targets: List should have at most 100 items"),
        ({"targets": ["/a", "/b"], "options": {"title": "T"}}, "name one video"),
        ({"targets": ["https://example.org/x"], "options": {"titel": "T"}}, "options.titel: Extra inputs"),
        ({"targets": ["https://example.org/x"], "options": {"published": "May"}}, "options.published"),
        ({"targets": ["https://example.org/x"], "options": {"beam": 0}}, "options.beam"),
        ({"target": "https://example.org/x"}, "targets: Field required"),
    ],
)
def test_bad_ingest_requests_are_400(client: TestClient, body: dict[str, object], fragment: str) -> None:
    response = client.post("/api/ingest", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_input"
    assert fragment in response.json()["error"]["message"]


def test_body_size_is_limited(client: TestClient) -> None:
    huge = {"targets": ["https://example.org/" + "x" * (2 << 20)]}
    response = client.post("/api/ingest", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_job_is_404(client: TestClient) -> None:
    response = client.get("/api/jobs/0123456789abcdef")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
