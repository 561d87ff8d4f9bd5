"""`atlas ingest --ray` on a real Ray cluster: `ray start --head` plus a second node (`ray start --address`),
each a separate set of Ray processes (GCS, raylets, worker processes) with one CPU, on this machine.

The cluster, and the `atlas ingest` drivers, run in a private network namespace whose only interface is the
loopback: Ray 2.60 rewrites `--node-ip-address=127.0.0.1` to the machine's routable address when it has one,
and nothing it runs may be reachable from outside during a test. The test checks that every socket the cluster
listens on is a loopback one, and that the head's port cannot be reached from this (the host's) namespace.
Token authentication is on (a random token per run).

Eight espeak-ng recordings of a few seconds go through Whisper tiny.en and MiniLM on the cluster; the library
must equal a serial ingest of the same folder (windows, sentences, vectors to 1e-6, search results). Then a
worker process is killed (SIGKILL) while it transcribes: the item is retried elsewhere and the library ends
with every recording exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from atlas.config import Settings
from atlas.library import Library
from atlas.models import Hit
from tests.speech import SENTENCES, build_recording, espeak_available, write_wav

ray = pytest.importorskip("ray", reason="needs the cluster extra (ray)")

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,
    pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (scripts/system-deps.sh)"),
    pytest.mark.skipif(
        not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")),
        reason="needs unshare, nsenter and ip (scripts/system-deps.sh)",
    ),
]

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
RECORDINGS = 8
START_TIMEOUT_S = 120


@dataclass
class Cluster:
    """Ray's processes in a network namespace held open by ``holder``."""

    holder: subprocess.Popen[bytes]
    address: str
    port: int
    env: dict[str, str]

    def command(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-n", *argv]

    def run(self, *argv: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*argv), env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def pids(self) -> list[int]:
        """Every process in the namespace but the holder: all of them are this test's."""
        namespace = os.readlink(f"/proc/{self.holder.pid}/ns/net")
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == self.holder.pid:
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == namespace:
                    found.append(int(entry))
            except OSError:
                continue
        return found

    def processes(self) -> dict[int, str]:
        """Namespace processes by pid: their command line as Ray retitles it (``ray::IngestWorker.read``)."""
        titles = {}
        for pid in self.pids():
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            titles[pid] = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        return titles

    def listening(self) -> list[str]:
        """The local addresses of the namespace's listening TCP sockets, as hex from /proc/net/tcp{,6}."""
        addresses = []
        for table in ("tcp", "tcp6"):
            lines = Path(f"/proc/{self.holder.pid}/net/{table}").read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    addresses.append(fields[1])
        return addresses

    def stop(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.holder.kill()
        self.holder.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    holder = subprocess.Popen(["unshare", "--net", "sh", "-c", "ip link set lo up && exec sleep 100000"])
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_USAGE_STATS_ENABLED": "0",
        "ATLAS_THREADS": "1",
    }
    env.pop("RAY_ADDRESS", None)
    env.pop("ATLAS_RAY_ADDRESS", None)
    running = Cluster(holder, f"127.0.0.1:{port}", port, env)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{holder.pid}/ns/net").exists() or _interfaces(running) != ["lo"]:
            assert time.monotonic() < deadline, "the network namespace did not come up"
            time.sleep(0.05)
        common = ("--num-cpus=1", f"--temp-dir={temp}", "--disable-usage-stats")
        head = running.run(
            "ray", "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
            "--include-dashboard=false", *common,
        )  # fmt: skip
        assert head.returncode == 0, head.stderr[-3000:]
        second = running.run("ray", "start", f"--address={running.address}", *common)
        assert second.returncode == 0, second.stderr[-3000:]
        _wait_for_nodes(running, 2)
        yield running
    finally:
        running.stop()
        shutil.rmtree(temp, ignore_errors=True)


def _interfaces(cluster: Cluster) -> list[str]:
    shown = subprocess.run(
        cluster.command("ip", "-o", "link", "show"), capture_output=True, text=True, check=False
    )
    return [line.split(":")[1].strip() for line in shown.stdout.splitlines() if ":" in line]


def _wait_for_nodes(cluster: Cluster, count: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        status = cluster.run("ray", "status", f"--address={cluster.address}", timeout=60)
        if status.returncode == 0 and status.stdout.count("node_") >= count:
            return
        assert time.monotonic() < deadline, status.stdout + status.stderr
        time.sleep(1)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight WAV files of one or two sentences each (3-9 s of speech)."""
    folder = tmp_path_factory.mktemp("ray-talks")
    for index in range(RECORDINGS):
        texts = [SENTENCES[index][0]] + ([SENTENCES[index + 4][0]] if index % 2 else [])
        write_wav(build_recording(texts, lead=0.5, gap=1.0, tail=0.5), folder / f"talk-{index}.wav")
    return folder


@pytest.fixture(scope="module")
def serial(recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The reference: the same folder ingested by `atlas ingest` without --ray, one item after the other, with
    the one thread a Ray worker of one CPU runs its models with (Ray sets OMP_NUM_THREADS=1 for it, and
    Whisper's output depends on the thread count)."""
    directory = tmp_path_factory.mktemp("serial") / "library"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ATLAS_THREADS": "1"}
    env.pop("ATLAS_RAY_ADDRESS", None)
    argv = [str(VENV_BIN / "atlas"), "ingest", str(recordings), "--library", str(directory), "--json"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [o["status"] for o in json.loads(done.stdout)] == ["added"] * RECORDINGS
    with Library.open(Settings(library_dir=directory), create=False) as lib:
        yield lib


def _ingest_on(cluster: Cluster, folder: Path, library: Path) -> subprocess.Popen[str]:
    argv = ("atlas", "ingest", str(folder), "--ray", cluster.address, "--library", str(library), "--json")
    return subprocess.Popen(
        cluster.command(*argv),
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_same_library(got: Library, want: Library) -> None:
    videos = {v.video_id: v for v in got.list_videos()}
    expected = {v.video_id: v for v in want.list_videos()}
    assert sorted(videos) == sorted(expected)
    for video_id, video in expected.items():
        assert videos[video_id] == video  # metadata, duration, content hash
        mine, theirs = got.get_record(video_id), want.get_record(video_id)
        assert mine.windows == theirs.windows
        assert mine.sentences == theirs.sentences
        np.testing.assert_allclose(mine.window_vectors, theirs.window_vectors, atol=1e-6)
        np.testing.assert_allclose(mine.sentence_vectors, theirs.sentence_vectors, atol=1e-6)
    counts = want.health().counts
    assert got.health().counts == counts
    assert not got.health().problems
    for _, paraphrase in SENTENCES[:RECORDINGS]:
        hits, reference = got.search(paraphrase), want.search(paraphrase)
        assert [_place(h) for h in hits] == [_place(h) for h in reference]
        np.testing.assert_allclose([h.score for h in hits], [h.score for h in reference], atol=1e-6)


def test_cluster_listens_on_loopback_only(cluster: Cluster) -> None:
    assert _interfaces(cluster) == ["lo"]
    listening = cluster.listening()
    assert listening, "the cluster listens nowhere?"
    loopback = ("0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000")
    assert all(address.split(":")[0] in loopback for address in listening), listening
    assert f"{cluster.port:04X}" in {address.split(":")[1] for address in listening}
    # From the host's namespace, the head's port is not there, on loopback or on the machine's address.
    for host in {"127.0.0.1", *_host_addresses()}:
        with socket.socket() as probe, pytest.raises(OSError):
            probe.settimeout(2)
            probe.connect((host, cluster.port))


def _host_addresses() -> set[str]:
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False)
    return {line.split()[3].split("/")[0] for line in shown.stdout.splitlines() if " inet " in line}


def test_cluster_ingest_equals_serial_ingest(
    cluster: Cluster, recordings: Path, serial: Library, tmp_path: Path
) -> None:
    directory = tmp_path / "library"
    driver = _ingest_on(cluster, recordings, directory)
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err[-3000:]
    outcomes = json.loads(out)
    assert [o["status"] for o in outcomes] == ["added"] * RECORDINGS
    assert f"ray: {RECORDINGS}/{RECORDINGS} done, 2 workers alive" in err, err[-3000:]
    with Library.open(Settings(library_dir=directory), create=False) as got:
        _assert_same_library(got, serial)
    again = _ingest_on(cluster, recordings, directory)  # idempotent: nothing new, nothing embedded again
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    assert [o["status"] for o in json.loads(out)] == ["unchanged"] * RECORDINGS


def test_a_worker_killed_mid_item_loses_and_doubles_nothing(
    cluster: Cluster, recordings: Path, serial: Library, tmp_path: Path
) -> None:
    directory = tmp_path / "library"
    driver = _ingest_on(cluster, recordings, directory)
    killed = None
    deadline = time.monotonic() + 240
    try:
        while killed is None and driver.poll() is None and time.monotonic() < deadline:
            busy = [pid for pid, title in cluster.processes().items() if "IngestWorker.read" in title]
            if busy:
                killed = busy[0]
                os.kill(killed, signal.SIGKILL)  # mid-item: decoding or transcribing
            time.sleep(0.05)
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert killed is not None, "no worker was seen busy with an item"
    assert driver.returncode == 0, err[-3000:]
    assert "1 lost and replaced" in err, err[-3000:]
    outcomes = json.loads(out)
    assert [o["status"] for o in outcomes] == ["added"] * RECORDINGS
    assert sorted(o["video_id"] for o in outcomes) == sorted(v.video_id for v in serial.list_videos())
    with Library.open(Settings(library_dir=directory), create=False) as got:
        _assert_same_library(got, serial)  # every recording exactly once, nothing half-written


def _place(hit: Hit) -> tuple[str, float | None, float | None, str]:
    return hit.video.video_id, hit.window.start, hit.moment, hit.snippet
