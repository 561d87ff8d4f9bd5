"""Jobs beyond one request: kept across restarts (jobs.jsonl), listed, cancelled (DELETE /api/jobs/{id}).

Jobs that must be caught mid-way are held by a gate: the worker's observer waits at a chosen target and stage
until the test lets it go (or, for shutdown, until the job is told to stop), so nothing depends on timing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atlas.api import jobs as jobs_module
from atlas.api.app import create_app
from atlas.api.job_store import JOBS_FILE, JobStore
from atlas.api.jobs import _JobObserver
from atlas.api.routes.system import WEB_DIR
from atlas.config import ServeSettings, Settings
from tests.api.conftest import TOKEN, MakeClient, ingest, wait_for_job

TALK = "manual-talk.en.vtt"
COST = "normconf-ml-cost-talk.txt"  # the only file that says "Pedalboard"
MOE = "mixture-of-experts-meetup.txt"
HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
SUMMARY_KEYS = {
    "id",
    "state",
    "targets",
    "created_at",
    "started_at",
    "finished_at",
    "targets_total",
    "targets_finished",
    "counts",
    "error",
    "cancel_requested",
}


class Gate:
    """Holds the ingest worker at ``(file name, hook)``; hook is "start" or a stage name."""

    def __init__(self) -> None:
        self.at: tuple[str, str] | None = None
        self.wake_on_cancel = False  # also let go once the job is told to stop (shutdown)
        self.reached = threading.Event()
        self.release = threading.Event()

    def hold(self, observer: _JobObserver, target: str, hook: str) -> None:
        if self.at != (Path(target).name, hook):
            return
        self.reached.set()
        job = observer._job
        for _ in range(3000):  # 30 s at most: a broken test must not hang the worker (and the shutdown)
            if self.release.is_set() or (self.wake_on_cancel and job.cancel.is_set()):
                return
            self.release.wait(0.01)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()

    class HeldObserver(_JobObserver):
        def item_started(self, target: str) -> None:
            gate.hold(self, target, "start")
            super().item_started(target)

        def stage(self, target: str, stage: str) -> None:
            super().stage(target, stage)
            gate.hold(self, target, stage)

    monkeypatch.setattr(jobs_module, "_JobObserver", HeldObserver)
    yield gate
    gate.release.set()


def serve(data_dir: Path, **kwargs: Any) -> ServeSettings:
    return ServeSettings(allowed_dirs=(data_dir.resolve(),), **kwargs)


def app_client(settings: Settings, data_dir: Path) -> TestClient:
    """A client for a fresh app (use it in ``with``: leaving it shuts the app down, as a restart does)."""
    return TestClient(create_app(settings, serve(data_dir)), base_url="http://127.0.0.1:8000")


def submit(client: TestClient, *targets: Path, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/api/ingest", json={"targets": [str(t) for t in targets]}, headers=headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def video_ids(client: TestClient) -> list[str]:
    return sorted(v["video_id"] for v in client.get("/api/videos").json())


def job_lines(settings: Settings) -> list[dict[str, Any]]:
    text = (settings.library_dir / JOBS_FILE).read_text()
    return [json.loads(line) for line in text.splitlines()]


# -- persistence -------------------------------------------------------------------------------------------


def test_finished_jobs_survive_a_restart(settings: Settings, data_dir: Path) -> None:
    with app_client(settings, data_dir) as first:
        job = ingest(first, data_dir / COST)
        second_job = ingest(first, data_dir / TALK, data_dir / COST)
        listed = first.get("/api/jobs").json()
    lines = job_lines(settings)
    assert [(line["id"], line["state"]) for line in lines] == [
        (job_id, state) for job_id in (job["id"], second_job["id"]) for state in ("queued", "running", "done")
    ]  # a line when queued and started too, so that a killed server's job is not lost (test_jobs_killed.py)
    assert [line for line in lines if line["state"] == "done"] == [job, second_job]  # its final snapshot

    with app_client(settings, data_dir) as restarted:
        assert restarted.get(f"/api/jobs/{job['id']}").json() == job
        assert restarted.get(f"/api/jobs/{second_job['id']}").json() == second_job
        assert restarted.get("/api/jobs").json() == listed
        assert [o["status"] for o in second_job["outcomes"]] == ["added", "unchanged"]
        # New jobs go on top of the loaded ones.
        third = ingest(restarted, data_dir / TALK)
        newest_first = [third["id"], second_job["id"], job["id"]]
        assert [j["id"] for j in restarted.get("/api/jobs").json()] == newest_first


def test_a_cut_off_last_line_is_ignored_and_the_next_line_starts_fresh(
    settings: Settings, data_dir: Path
) -> None:
    with app_client(settings, data_dir) as first:
        job = ingest(first, data_dir / COST)
    path = settings.library_dir / JOBS_FILE
    whole = path.read_bytes()
    last = whole.splitlines()[-1]
    with path.open("ab") as log:  # a crash in the middle of writing the next record
        log.write(last[: len(last) // 2])

    with app_client(settings, data_dir) as restarted:
        assert [j["id"] for j in restarted.get("/api/jobs").json()] == [job["id"]]
        later = ingest(restarted, data_dir / TALK)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 7 and json.loads(lines[4])["id"] == later["id"]  # not glued to the cut-off line

    with app_client(settings, data_dir) as again:
        assert [j["id"] for j in again.get("/api/jobs").json()] == [later["id"], job["id"]]


def test_a_damaged_log_never_stops_the_server(settings: Settings, data_dir: Path) -> None:
    settings.library_dir.mkdir(parents=True)
    (settings.library_dir / JOBS_FILE).write_bytes(
        b'\xff\xfe not json\n{"id": "x"}\n[1, 2]\n{"id": "y", "state": "running"}\n'
    )
    with app_client(settings, data_dir) as client:
        assert client.get("/api/jobs").json() == []
        assert client.get("/api/jobs/x").status_code == 404
        assert ingest(client, data_dir / TALK)["state"] == "done"


def _finished(number: int) -> dict[str, Any]:
    return {
        "id": f"job-{number}",
        "state": "done",
        "targets": [],
        "created_at": 1_700_000_000.0 + number,
        "started_at": None,
        "finished_at": None,
        "progress": {"targets_total": 0, "targets_finished": 0, "current": None},
        "outcomes": [],
        "error": None,
        "cancel_requested": False,
    }


def test_the_log_keeps_the_newest_and_is_compacted_past_twice_that(tmp_path: Path) -> None:
    path = tmp_path / JOBS_FILE
    store = JobStore(path, keep=3)
    assert store.load() == []
    for number in range(6):
        store.append(_finished(number))
    assert len(path.read_text().splitlines()) == 6  # up to twice `keep`: appended, not rewritten
    store.append(_finished(6))
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["job-4", "job-5", "job-6"]
    assert not path.with_name(JOBS_FILE + ".tmp").exists()

    for number in range(7, 10):
        store.append(_finished(number))
    reloaded = JobStore(path, keep=3)
    assert [job["id"] for job in reloaded.load()] == ["job-7", "job-8", "job-9"]
    assert reloaded.load()[0] == _finished(7)


# -- listing -----------------------------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_with_outcome_counts(client: TestClient, data_dir: Path) -> None:
    (data_dir / "broken.vtt").write_text("this is not WebVTT\n")
    first = ingest(client, data_dir / "broken.vtt", data_dir / COST)
    second = ingest(client, data_dir / COST)
    listed = client.get("/api/jobs").json()
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert all(set(j) == SUMMARY_KEYS for j in listed)
    older = listed[1]
    assert older["counts"] == {"added": 1, "replaced": 0, "unchanged": 0, "skipped": 0, "failed": 1}
    assert (older["targets_total"], older["targets_finished"], older["state"]) == (2, 2, "done")
    assert older["targets"] == first["targets"] and older["finished_at"] == first["finished_at"]
    assert listed[0]["counts"]["unchanged"] == 1

    assert [j["id"] for j in client.get("/api/jobs", params={"limit": 1}).json()] == [second["id"]]
    bad = client.get("/api/jobs", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_input"


# -- cancelling --------------------------------------------------------------------------------------------


def test_cancelling_a_queued_job(client: TestClient, data_dir: Path, gate: Gate, settings: Settings) -> None:
    gate.at = (TALK, "start")
    running = submit(client, data_dir / TALK)
    assert gate.reached.wait(30)
    queued = submit(client, data_dir / COST)
    assert client.get(f"/api/jobs/{queued['id']}").json()["state"] == "queued"

    response = client.delete(f"/api/jobs/{queued['id']}")
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["state"] == "cancelled" and cancelled["cancel_requested"] is True
    assert cancelled["error"]["code"] == "cancelled" and "DELETE" in cancelled["error"]["message"]
    assert cancelled["outcomes"] == [] and cancelled["finished_at"] is not None
    states = {j["id"]: j["state"] for j in client.get("/api/jobs").json()}
    assert states == {running["id"]: "running", queued["id"]: "cancelled"}

    gate.release.set()
    assert wait_for_job(client, running["id"])["state"] == "done"
    assert client.get(f"/api/jobs/{queued['id']}").json() == cancelled  # the worker skipped it
    assert client.get("/api/search", params={"q": "Pedalboard", "mode": "keyword"}).json()["hits"] == []
    assert {line["id"]: line["state"] for line in job_lines(settings)} == {
        queued["id"]: "cancelled",
        running["id"]: "done",
    }


def test_cancelling_a_running_job_keeps_finished_items_and_writes_no_half_video(
    client: TestClient, data_dir: Path, gate: Gate
) -> None:
    gate.at = (COST, "embed")  # the second of three targets, chunked but not yet embedded or stored
    job = submit(client, data_dir / TALK, data_dir / COST, data_dir / MOE)
    assert gate.reached.wait(30)
    during = client.get(f"/api/jobs/{job['id']}").json()
    assert during["state"] == "running"
    assert during["progress"]["current"] == {
        "target": str((data_dir / COST).resolve()),
        "stage": "embed",
        "done": None,
        "total": None,
    }

    response = client.delete(f"/api/jobs/{job['id']}")
    assert response.status_code == 202  # still running: it stops at its next stage
    assert response.json()["state"] == "running" and response.json()["cancel_requested"] is True
    gate.release.set()

    done = wait_for_job(client, job["id"])
    assert done["state"] == "cancelled" and done["error"]["code"] == "cancelled"
    assert [(Path(o["target"]).name, o["status"]) for o in done["outcomes"]] == [(TALK, "added")]
    assert done["progress"] == {"targets_total": 3, "targets_finished": 1, "current": None}
    # The talk finished before the cancel and stays; the cost talk, caught mid-way, is not there at all.
    assert video_ids(client) == [done["outcomes"][0]["video_id"]]
    assert client.get("/api/search", params={"q": "Pedalboard", "mode": "keyword"}).json()["hits"] == []
    # Submitting it again finishes the job: the talk is unchanged, the rest goes in whole.
    again = ingest(client, data_dir / TALK, data_dir / COST)
    assert [o["status"] for o in again["outcomes"]] == ["unchanged", "added"]


def test_cancelling_a_finished_or_unknown_job(client: TestClient, data_dir: Path) -> None:
    job = ingest(client, data_dir / TALK)
    finished = client.delete(f"/api/jobs/{job['id']}")
    assert finished.status_code == 409
    error = finished.json()["error"]
    assert set(error) == {"code", "message", "hint"} and error["code"] == "job_finished"
    assert "done" in error["message"] and error["hint"]
    assert client.get(f"/api/jobs/{job['id']}").json() == job  # untouched

    unknown = client.delete("/api/jobs/0123456789abcdef")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_job_loaded_from_the_log_cannot_be_cancelled(settings: Settings, data_dir: Path) -> None:
    with app_client(settings, data_dir) as first:
        job = ingest(first, data_dir / TALK)
    with app_client(settings, data_dir) as restarted:
        assert restarted.delete(f"/api/jobs/{job['id']}").status_code == 409


def test_cancelling_needs_the_token_when_one_is_set(
    make_client: MakeClient, data_dir: Path, gate: Gate
) -> None:
    client = make_client(token=TOKEN)
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    gate.at = (TALK, "start")
    job = submit(client, data_dir / TALK, headers=authorized)
    assert gate.reached.wait(30)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        refused = client.delete(f"/api/jobs/{job['id']}", headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get(f"/api/jobs/{job['id']}").json()["cancel_requested"] is False
    assert client.delete(f"/api/jobs/{job['id']}", headers=authorized).status_code == 202
    gate.release.set()
    assert wait_for_job(client, job["id"])["state"] == "cancelled"


def test_cancelling_without_a_token_obeys_the_loopback_rules(
    client: TestClient, data_dir: Path, gate: Gate
) -> None:
    gate.at = (TALK, "start")
    job = submit(client, data_dir / TALK)
    assert gate.reached.wait(30)
    rebound = client.delete(f"/api/jobs/{job['id']}", headers={"Host": "attacker.example:8000"})
    assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "wrong_host"
    assert client.get(f"/api/jobs/{job['id']}").json()["cancel_requested"] is False
    gate.release.set()
    assert wait_for_job(client, job["id"])["state"] == "done"


def test_a_read_only_server_refuses_cancelling(make_client: MakeClient) -> None:
    response = make_client(host="0.0.0.0").delete("/api/jobs/0123456789abcdef")
    assert response.status_code == 403 and "ATLAS_API_TOKEN" in response.json()["error"]["hint"]


def test_a_clean_shutdown_records_unfinished_jobs_as_cancelled(
    settings: Settings, data_dir: Path, gate: Gate
) -> None:
    gate.at, gate.wake_on_cancel = (COST, "embed"), True
    with app_client(settings, data_dir) as first:
        running = submit(first, data_dir / TALK, data_dir / COST)
        assert gate.reached.wait(30)
        queued = submit(first, data_dir / MOE)
    # Leaving the client shut the app down: the running job stopped at its next stage, the queued one
    # never ran.
    with app_client(settings, data_dir) as restarted:
        for job in (running, queued):
            after = restarted.get(f"/api/jobs/{job['id']}").json()
            assert after["state"] == "cancelled", after
            assert after["error"]["message"] == "the server shut down before this job finished"
            assert "again" in after["error"]["hint"]
        stopped = restarted.get(f"/api/jobs/{running['id']}").json()
        assert [Path(o["target"]).name for o in stopped["outcomes"]] == [TALK]
        assert len(video_ids(restarted)) == 1


# -- the contract ------------------------------------------------------------------------------------------


def test_openapi_documents_cancelling_and_the_job_states(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    delete = spec["paths"]["/api/jobs/{job_id}"]["delete"]
    assert {"200", "202", "401", "403", "404", "409"} <= set(delete["responses"])
    schemas = spec["components"]["schemas"]
    states = schemas["JobOut"]["properties"]["state"]
    assert states["enum"] == ["queued", "running", "done", "failed", "cancelled", "interrupted"]
    assert "cancel_requested" in schemas["JobOut"]["properties"]
    listed = spec["paths"]["/api/jobs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["items"]["$ref"].endswith("/JobSummaryOut")


def test_the_page_scripts_never_parse_data_as_html(client: TestClient) -> None:
    page = client.get("/").text
    assert '<script src="/static/add.js"' in page and 'id="panel-add"' in page
    for script in sorted(WEB_DIR.glob("*.js")):
        text = script.read_text()
        for sink in HTML_SINKS:
            assert sink not in text, (script.name, sink)
    assert client.get("/static/add.js").status_code == 200
