"""kill -9 at chosen points of the HNSW sidecar flush, two writer processes at once, and kill -9 during a
replace with the real embedder. test_store_crash.py kills a writer at random moments; here each step of the
sidecar save (ann.py: vector file to a temp name, fsync, rename, pointer likewise, old files removed, then
the removal log pruned) is a kill point of its own, so every one is covered on every run.

The sidecar child is this file run as a module: it writes, then arms one kill point (the real SIGKILL, sent
to itself from inside the step) and flushes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atlas.index import ann as ann_module
from atlas.index.ann import AnnIndex
from atlas.index.sqlite import SqliteIndex
from atlas.models import SearchFilters
from tests.conftest import FAKE_EMBEDDER, ROOT
from tests.crash_seed import crash_rng
from tests.fake_plugins import plugin_env
from tests.integration.test_store_crash import IDENTITY, VIDEO_IDS, version_record

# Before the kill: v0..v5 saved in a sidecar; then v3..v8 (re)written and v0 removed, the sidecar dirty.
EXPECTED = {"v1": 2, "v2": 3} | {f"v{i}": 100 + i for i in range(3, 9)}
KILL_POINTS = ("vectors-written", "vectors-renamed", "pointer-written", "pointer-replaced", "before-pruning")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at(owner: Any, name: str, nth: int, *, before: bool, truncate: bool = False) -> None:
    """Replace ``owner.name`` so that its ``nth`` call kills the process, before or after doing its work."""
    real: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def armed(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == nth and before:
            if truncate:  # the vector file only half on disk, as a kill in the middle of writing it leaves
                path = Path(args[0])
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
            _die()
        result = real(*args, **kwargs)
        if calls[0] == nth:
            _die()
        return result

    setattr(owner, name, armed)


def sidecar_child(directory: Path, point: str) -> None:
    store = SqliteIndex(directory)
    store.claim(IDENTITY)
    for number, video_id in enumerate(VIDEO_IDS[:6], 1):
        store.put_video(version_record(video_id, number))
    store.flush()
    for number in range(3, 9):
        store.put_video(version_record(f"v{number}", 100 + number))
    store.remove_video("v0")
    store.vector_search(np.ones(IDENTITY.dim, dtype=np.float32), 3, SearchFilters())  # sidecar in memory
    if point == "vectors-written":
        _kill_at(ann_module, "_fsync", 1, before=True, truncate=True)
    elif point == "vectors-renamed":
        _kill_at(os, "replace", 1, before=False)
    elif point == "pointer-written":
        _kill_at(ann_module, "_fsync", 2, before=True)
    elif point == "pointer-replaced":
        _kill_at(os, "replace", 2, before=False)  # the old vector file is not deleted yet
    elif point == "before-pruning":
        _kill_at(AnnIndex, "save", 1, before=False)  # saved; the removal log not pruned yet
    store.flush()
    print("the kill point was never reached", flush=True)


def check_store(directory: Path) -> None:
    with SqliteIndex(directory) as store:
        assert store.verify() == []
        present = {v.video_id: int(v.content_hash.split(":")[0]) for v in store.list_videos()}
        assert present == EXPECTED  # every committed write is there, whole; the removed video is gone
        for video_id, version in EXPECTED.items():
            want = version_record(video_id, version)
            for row in (0, len(want.windows) // 2, len(want.windows) - 1):
                hit = store.vector_search(want.window_vectors[row], 1, SearchFilters())[0]
                assert store.windows([hit.key])[0].window == want.windows[row], (video_id, row)


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_at_each_step_of_the_sidecar_flush(tmp_path: Path, point: str) -> None:
    directory = tmp_path / "lib"
    child = subprocess.run(
        [sys.executable, "-m", "tests.integration.test_crash_points", str(directory), point],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr  # killed at that very step
    check_store(directory)  # the library as it is after the kill, whatever sidecar files it left
    check_store(directory)  # and again, from the sidecar the first open saved
    with SqliteIndex(directory) as store:
        store.flush()
    names = sorted(p.name for p in directory.iterdir() if "usearch" in p.name or p.name.startswith("."))
    assert len([n for n in names if n.endswith(".usearch")]) == 1, names  # one vector file, nothing stale
    assert not [n for n in names if n.endswith(".tmp")], names


# -- two writers ------------------------------------------------------------------------------------------


def write_talks(folder: Path, numbers: range) -> None:
    folder.mkdir(parents=True)
    for n in numbers:
        cues = [
            f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\ntalk {n} line {i} about topic {n * 31 + i}.\n"
            for i in range(40)
        ]
        (folder / f"talk{n:02d}.srt").write_text("\n".join(cues))


def atlas(*args: str, library: Path, embedder: str | None = FAKE_EMBEDDER) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "atlas", *args, "--library", str(library)]
    if embedder:
        command += ["--embedder", embedder]
    env = plugin_env(os.environ)  # a library built with the fake embedder needs it to be opened, flag or not
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )


@pytest.mark.slow
def test_two_ingest_processes_at_once_lose_nothing_and_keep_one_copy(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    write_talks(tmp_path / "a", range(0, 30))
    write_talks(tmp_path / "b", range(30, 60))
    write_talks(tmp_path / "shared", range(60, 70))  # both processes race to write these ten
    shared = str(tmp_path / "shared")
    first = atlas("ingest", shared, str(tmp_path / "a"), "--quiet", "--json", library=library)
    second = atlas("ingest", str(tmp_path / "b"), shared, "--quiet", "--json", library=library)
    results = [process.communicate(timeout=600) for process in (first, second)]
    for process, (out, err) in zip((first, second), results, strict=True):
        assert process.returncode == 0, err
        statuses = {o["status"] for o in json.loads(out)}
        assert statuses <= {"added", "unchanged", "replaced"}, out
    with SqliteIndex(library) as store:
        assert store.verify() == []  # the sidecar holds exactly the windows, after two savers
        videos = store.list_videos()
        assert sorted(v.video_id for v in videos) == sorted(f"talk{n:02d}" for n in range(70))
        for video in videos:
            record = store.get_record(video.video_id)
            assert len(record.transcript.segments) == 40  # whole, one copy
            hit = store.vector_search(record.window_vectors[0], 1, SearchFilters())[0]
            assert store.windows([hit.key])[0].window == record.windows[0]


# -- a replace with the real embedder ---------------------------------------------------------------------


def talk_version(path: Path, version: str, cues: int = 240) -> None:
    lines = [
        f"{i + 1}\n00:{i // 60:02d}:{i % 60:02d},000 --> 00:{i // 60:02d}:{i % 60:02d},900\n"
        f"Version {version} says sentence {i} on {('gardens', 'rockets', 'violins')[i % 3]} number {i}.\n"
        for i in range(cues)
    ]
    path.write_text("\n".join(lines))


@pytest.mark.slow
@pytest.mark.real_model
def test_kill_9_during_a_replace_with_the_real_embedder(tmp_path: Path) -> None:
    from atlas.config import Settings
    from atlas.library import Library

    library, talk = tmp_path / "lib", tmp_path / "talk.srt"
    talk_version(talk, "A")
    started = time.monotonic()
    first = atlas("ingest", str(talk), "--quiet", library=library, embedder=None)
    assert first.wait(timeout=600) == 0, first.communicate()[1]
    full_run = time.monotonic() - started
    talk_version(talk, "B")
    rng, seed = crash_rng("replace crash")
    seen: list[str] = []
    for _ in range(3):
        process = atlas("ingest", str(talk), "--quiet", library=library, embedder=None)
        time.sleep(rng.uniform(0.3, 1.1) * full_run)  # model load, embedding, the replacing transaction
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        with SqliteIndex(library) as store:
            assert store.verify() == [], f"seed {seed}"
            (video,) = store.list_videos()
            record = store.get_record(video.video_id)
            texts = {segment.text.split(" says")[0] for segment in record.transcript.segments}
            assert texts in ({"Version A"}, {"Version B"}), f"a mix of versions (seed {seed})"
            assert len(record.transcript.segments) == 240
            seen.append(texts.pop())
    print(f"after each kill (seed {seed}): {seen}")
    final = atlas("ingest", str(talk), "--quiet", "--json", library=library, embedder=None)
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err
    assert [o["status"] for o in json.loads(out)] in (["replaced"], ["unchanged"])
    with Library.open(Settings(library_dir=library)) as lib:
        hits = lib.search("sentence about rockets", limit=3)
        assert hits and all("Version B" in hit.window.text for hit in hits)


if __name__ == "__main__":
    sidecar_child(Path(sys.argv[1]), sys.argv[2])
