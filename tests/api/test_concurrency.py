"""Many searches over real HTTP while an ingest job runs: every response is whole and consistent."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.api.app import create_app
from atlas.config import ServeSettings, Settings
from tests.api.conftest import live_server, wait_for_job

VIDEOS = 30
SEGMENTS = 60
SEARCHERS = 4
_WORD = re.compile(r"[a-z0-9]+")


def _write_batch(folder: Path) -> dict[str, set[str]]:
    """30 WebVTT talks that all mention "lumen"; returns each video's vocabulary."""
    folder.mkdir()
    vocab: dict[str, set[str]] = {}
    for i in range(VIDEOS):
        video_id = f"batch-{i:02d}"
        cues = []
        for j in range(SEGMENTS):
            stamp = f"00:{j * 4 // 60:02d}:{j * 4 % 60:02d}"
            text = f"Part {j} of talk {i} says lumen and token{i}x{j} near marker{i}."
            cues.append(f"{stamp}.000 --> {stamp}.900\n{text}")
        (folder / f"{video_id}.vtt").write_text("WEBVTT\n\n" + "\n\n".join(cues) + "\n")
        vocab[video_id] = set(_WORD.findall("\n".join(cues).lower()))
    return vocab


@pytest.mark.slow
def test_searches_during_an_ingest_job_always_see_whole_videos(settings: Settings, data_dir: Path) -> None:
    vocab = _write_batch(data_dir / "batch")
    app = create_app(settings, ServeSettings(allowed_dirs=(data_dir.resolve(),)))
    problems: list[str] = []
    library_sizes: Counter[int] = Counter()
    windows_seen: dict[str, set[int]] = {}
    lock = threading.Lock()
    finished = threading.Event()

    def check_detail(http: httpx.Client, video_id: str) -> None:
        detail = http.get(f"/api/videos/{video_id}")
        if detail.status_code != 200:
            problems.append(f"detail {video_id}: {detail.status_code} {detail.text[:200]}")
            return
        body = detail.json()
        if len(body["segments"]) != SEGMENTS:
            problems.append(f"{video_id} has {len(body['segments'])} of {SEGMENTS} segments")
        with lock:
            windows_seen.setdefault(video_id, set()).add(body["windows"])

    def search_until_done(base: str, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30) as http:
            while not finished.is_set():
                mode = rng.choice(["hybrid", "keyword", "vector"])
                response = http.get("/api/search", params={"q": "lumen marker", "limit": 20, "mode": mode})
                if response.status_code != 200:
                    problems.append(f"search: {response.status_code} {response.text[:200]}")
                    continue
                for hit in response.json()["hits"]:
                    words = set(_WORD.findall(hit["text"].lower()))
                    if hit["video_id"] not in vocab or not words <= vocab[hit["video_id"]]:
                        problems.append(f"hit from {hit['video_id']} holds text not in that video")
                listed = http.get("/api/videos").json()
                with lock:
                    library_sizes[len(listed)] += 1
                if listed:
                    check_detail(http, rng.choice(listed)["video_id"])

    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        response = http.post("/api/ingest", json={"targets": [str(data_dir / "batch")]})
        assert response.status_code == 202
        threads = [threading.Thread(target=search_until_done, args=(base, n)) for n in range(SEARCHERS)]
        for thread in threads:
            thread.start()
        try:
            job: dict[str, Any] = wait_for_job(http, response.json()["id"], timeout=300)
        finally:
            finished.set()
            for thread in threads:
                thread.join(timeout=60)
        final = http.get("/api/search", params={"q": "token7x13", "mode": "keyword"}).json()

    assert problems == []
    assert job["state"] == "done" and [o["status"] for o in job["outcomes"]] == ["added"] * VIDEOS
    # Searches really ran beside the job: they saw the library at several sizes on its way to 30 videos.
    assert len([size for size in library_sizes if 0 < size < VIDEOS]) >= 2, library_sizes
    outcome_windows = {o["video_id"]: o["windows"] for o in job["outcomes"]}
    assert all(seen == {outcome_windows[vid]} for vid, seen in windows_seen.items())
    assert final["hits"][0]["video_id"] == "batch-07"
