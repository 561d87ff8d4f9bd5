"""kill -9 a real `atlas ingest` mid-run: the library stays consistent, and running it again finishes the job.

The store's own crash test (test_store_crash.py) hammers the storage layer; this one checks the whole
product path: parsing, chunking, embedding and the per-video transaction, in the real CLI process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from atlas.index.sqlite import SqliteIndex
from tests.conftest import FAKE_EMBEDDER
from tests.crash_seed import crash_rng
from tests.fake_plugins import plugin_env

FILES = 60
CUES = 150
WORDS = (
    "river canyon falcon engine budget lecture python model garden orbit harvest violin "
    "glacier circuit market thunder lantern compass meadow quartz"
).split()


def make_transcripts(folder: Path) -> None:
    rng = random.Random(7)
    folder.mkdir()
    for n in range(FILES):
        cues = []
        for i in range(CUES):
            words = " ".join(rng.choice(WORDS) for _ in range(12))
            stamp = f"00:{i // 60:02d}:{i % 60:02d}"
            cues.append(f"{i + 1}\n{stamp},000 --> {stamp},900\n{words}.\n")
        (folder / f"talk{n:02d}.srt").write_text("\n".join(cues))


def atlas(*args: str, library: Path) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "atlas",
        *args,
        "--library",
        str(library),
        "--embedder",
        FAKE_EMBEDDER,
    ]
    env = plugin_env(os.environ)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stored_videos(library: Path) -> int:
    db = library / "atlas.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM videos").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # schema not created yet


def test_killed_ingest_leaves_whole_videos_and_resumes(tmp_path: Path) -> None:
    folder, library = tmp_path / "talks", tmp_path / "lib"
    make_transcripts(folder)
    rng, seed = crash_rng("ingest crash")
    partial_seen = 0
    for _ in range(3):
        before = stored_videos(library)
        proc = atlas("ingest", str(folder), "--quiet", library=library)
        deadline = time.monotonic() + 120
        while stored_videos(library) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until this run has committed something, then kill it mid-stream
        time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with SqliteIndex(library) as index:
            assert index.verify() == []
            videos = index.list_videos()
            partial_seen += 0 < len(videos) < FILES
            for video in videos:
                record = index.get_record(video.video_id)
                # Whole or absent: every stored video has all its cues and windows over all its sentences.
                assert len(record.transcript.segments) == CUES
                assert record.windows[-1].last_sentence == len(record.sentences) - 1
    assert partial_seen, f"no kill landed mid-ingest; make the job bigger (seed {seed})"
    done = atlas("ingest", str(folder), "--quiet", "--json", library=library)
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    statuses = [o["status"] for o in json.loads(out)]
    assert len(statuses) == FILES and set(statuses) <= {"added", "unchanged"}
    assert "unchanged" in statuses  # videos finished before a kill are not redone
    with SqliteIndex(library) as index:
        assert index.verify() == []
        assert index.counts()["videos"] == FILES
