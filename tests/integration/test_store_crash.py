"""kill -9 a process that is writing to the store, several times, and check the library after each kill.

The child (this file run as a script) replaces and removes videos in a loop, searches now and then (so its
HNSW sidecar is in memory and dirty) and flushes the sidecar now and then (so a kill can land mid-save). It
logs ``begin <op>`` before each write and ``ok <op>`` after its commit. After each kill the parent checks:

* SQLite integrity, FTS rows == windows, no orphans, and the vector index holds exactly the windows
  (``SqliteIndex.verify``);
* every video is exactly one whole version (all its windows, texts and vectors), never a mix;
* no committed write was lost: each video is in the state of its last ``ok`` op, or of the op in flight;
* a window's own vector finds it first.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from atlas.index.base import IndexIdentity, VideoRecord
from atlas.index.sqlite import SqliteIndex
from atlas.models import SearchFilters, Segment, Sentence, Transcript, Video, Window

DIM = 32
IDENTITY = IndexIdentity(embedder="test/random-32", dim=DIM, windows={"max_words": 40})
VIDEO_IDS = [f"v{i}" for i in range(12)]
ROUNDS = 8


def version_record(video_id: str, version: int) -> VideoRecord:
    """A deterministic video: its size, texts and vectors all follow from (video_id, version)."""
    rng = np.random.default_rng(version)
    n = 150 + version % 200
    texts = [
        f"tag{version} {video_id} clip{i} " + " ".join(f"w{x}" for x in rng.integers(0, 500, 12))
        for i in range(n)
    ]
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return VideoRecord(
        video=Video(video_id=video_id, title=video_id, source="crash", content_hash=f"{version}:{n}"),
        transcript=Transcript(
            segments=tuple(Segment(t, float(i), i + 1.0) for i, t in enumerate(texts)), origin="x"
        ),
        sentences=tuple(Sentence(i, t, float(i), i + 1.0, i) for i, t in enumerate(texts)),
        windows=tuple(Window(i, t, float(i), i + 1.0, i, i) for i, t in enumerate(texts)),
        sentence_vectors=vectors,
        window_vectors=vectors,
    )


def child(directory: Path, log_path: Path, first_version: int) -> None:
    rng = random.Random(first_version)
    with open(log_path, "a", buffering=1) as log:
        store = SqliteIndex(directory)
        store.claim(IDENTITY)
        log.write("ready\n")
        for version in range(first_version, first_version + 100_000):
            video_id = rng.choice(VIDEO_IDS)
            if rng.random() < 0.1:
                log.write(f"begin remove {video_id}\n")
                store.remove_video(video_id)
                log.write(f"ok remove {video_id}\n")
            else:
                record = version_record(video_id, version)
                log.write(f"begin put {video_id} {version}\n")
                store.put_video(record)
                log.write(f"ok put {video_id} {version}\n")
            if rng.random() < 0.2:
                store.vector_search(np.ones(DIM, dtype=np.float32), 5, SearchFilters())
            if rng.random() < 0.1:
                store.flush()


def expected_states(log_lines: list[str], known: dict[str, int | None]) -> dict[str, set[int | None]]:
    """Per video, the states the library may hold: after its last committed op, or after the op in flight."""
    state = dict(known)
    allowed: dict[str, set[int | None]] = {}
    for line in log_lines:
        parts = line.split()
        if not parts or parts[0] not in ("begin", "ok"):
            continue
        video_id = parts[2]
        target = int(parts[3]) if parts[1] == "put" else None
        if parts[0] == "begin":
            allowed[video_id] = {state.get(video_id), target}
        else:
            state[video_id] = target
            allowed[video_id] = {target}
    return {v: allowed.get(v, {state.get(v)}) for v in VIDEO_IDS}


def check_library(
    directory: Path, allowed: dict[str, set[int | None]], rng: random.Random
) -> dict[str, int | None]:
    with SqliteIndex(directory) as store:
        assert store.verify() == []
        present = {v.video_id: v for v in store.list_videos()}
        state: dict[str, int | None] = {}
        for video_id in VIDEO_IDS:
            if video_id not in present:
                state[video_id] = None
                assert None in allowed[video_id], f"{video_id}: a committed video was lost"
                continue
            version, n = map(int, present[video_id].content_hash.split(":"))
            assert version in allowed[video_id], (
                f"{video_id}: version {version}, expected {allowed[video_id]}"
            )
            state[video_id] = version
            got = store.get_record(video_id)
            want = version_record(video_id, version)
            assert len(got.windows) == n and got.windows == want.windows  # whole, one version
            assert got.transcript == want.transcript and got.sentences == want.sentences
            np.testing.assert_array_equal(got.window_vectors, want.window_vectors)
            hit = store.vector_search(want.window_vectors[n // 2], 1, SearchFilters())[0]
            assert store.windows([hit.key])[0].window == want.windows[n // 2]
            keyword = store.keyword_search([f"tag{version}"], 1000, SearchFilters())
            assert len(keyword) == n
        if rng.random() < 0.5:
            store._ann = None  # sometimes leave without saving the sidecar, like a crash would
        return state


@pytest.mark.slow
def test_kill_9_during_writes_never_leaves_a_mixed_or_lost_video(tmp_path: Path) -> None:
    from tests.crash_seed import crash_rng  # here, not at the top: the child runs this file as a script

    directory = tmp_path / "lib"
    rng, seed = crash_rng("store crash")
    state: dict[str, int | None] = {}
    mid_write = 0
    for round_no in range(ROUNDS):
        log_path = tmp_path / f"child{round_no}.log"
        log_path.touch()
        first_version = (round_no + 1) * 1_000_000 + rng.randrange(1000)  # the child's own choices, too
        proc = subprocess.Popen([sys.executable, __file__, str(directory), str(log_path), str(first_version)])
        try:
            deadline = time.monotonic() + 60
            while "ready" not in log_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, "the writer died before it was killed"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.1, 1.2))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        lines = log_path.read_text().splitlines()
        ops = [line for line in lines if line.startswith("ok ")]
        mid_write += bool(lines) and lines[-1].startswith("begin ")
        print(f"round {round_no} (seed {seed}): {len(ops)} commits, last line {lines[-1]!r}")
        assert ops, f"the writer committed nothing before the kill: give it more time (seed {seed})"
        state = check_library(directory, expected_states(lines, state), rng)
    assert mid_write >= 1, f"no kill landed during a write; the test did not test much (seed {seed})"


if __name__ == "__main__":
    child(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
