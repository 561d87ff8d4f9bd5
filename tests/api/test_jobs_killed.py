"""A server killed with SIGKILL mid-job: after a restart on the same library its running and queued jobs say
``interrupted`` (and how to finish them) instead of vanishing, and re-submitting finishes the work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.api.conftest import TOKEN, wait_for_job
from tests.api.serve_process import Served, atlas_serve

pytestmark = pytest.mark.slow

TALKS = 150  # enough that the job is still running well after its first video is written


def write_talks(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for number in range(TALKS):
        path = folder / f"talk-{number:03d}.txt"
        path.write_text(f"Talk number {number} is about topic {number * 7919 % 1000}.\n" * 20)
        paths.append(path)
    return paths


def submit(served: Served, *targets: Path) -> str:
    response = served.http.post("/api/ingest", json={"targets": [str(t) for t in targets]})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def wait_for_first_outcome(served: Served, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = served.http.get(f"/api/jobs/{job_id}").json()
        assert job["state"] in ("queued", "running"), job  # it must still be running when it is killed
        if job["outcomes"]:
            return
        time.sleep(0.01)
    raise AssertionError("the job wrote no video in 60 s")


def test_jobs_cut_off_by_sigkill_are_interrupted_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    talks = write_talks(data / "talks")
    extra = data / "extra.txt"
    extra.write_text("A queued job that never got to run.\n")
    library, log = tmp_path / "library", tmp_path / "serve.log"

    with atlas_serve(library, [data], log, token=TOKEN) as first:
        running = submit(first, data / "talks")
        queued = submit(first, extra)
        wait_for_first_outcome(first, running)
        first.kill()

    with atlas_serve(library, [data], log, token=TOKEN) as restarted:
        for job_id in (running, queued):
            job = restarted.http.get(f"/api/jobs/{job_id}").json()
            assert job["state"] == "interrupted", job
            assert job["error"]["code"] == "interrupted"
            assert "killed or crashed" in job["error"]["message"]
            assert "submit the targets again" in job["error"]["hint"]
            assert job["progress"]["current"] is None
            # Nothing is running it any more: cancelling is refused like for any finished job.
            assert restarted.http.delete(f"/api/jobs/{job_id}").status_code == 409
        listed = {job["id"]: job["state"] for job in restarted.http.get("/api/jobs").json()}
        assert listed == {running: "interrupted", queued: "interrupted"}
        written = len(restarted.http.get("/api/videos").json())
        assert 1 <= written < TALKS, written  # killed mid-way: some videos in, whole ones only

        # Submitting again finishes the work; what went in before the kill is unchanged.
        again = wait_for_job(restarted.http, submit(restarted, data / "talks", extra), timeout=120)
        counts = {status: 0 for status in ("added", "unchanged")}
        for outcome in again["outcomes"]:
            counts[outcome["status"]] += 1
        assert again["state"] == "done" and counts == {"added": TALKS + 1 - written, "unchanged": written}
        assert len(restarted.http.get("/api/videos").json()) == len(talks) + 1

    # A third start still reports the same (the interrupted record stays as it was).
    with atlas_serve(library, [data], log, token=TOKEN) as third:
        assert third.http.get(f"/api/jobs/{running}").json()["state"] == "interrupted"
