"""``atlas serve`` as a real child process on a free loopback port (hashing embedder), for tests that must
kill it (SIGKILL mid-job) or drive it from outside (schemathesis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.conftest import free_port
from tests.conftest import FAKE_EMBEDDER
from tests.fake_plugins import plugin_env


@dataclass
class Served:
    base: str
    http: httpx.Client  # sends the token, when one is set
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when the machine loses power or the OOM killer strikes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def atlas_serve(
    library: Path,
    allowed: list[Path],
    log: Path,
    *,
    token: str | None = None,
    embedder: str = FAKE_EMBEDDER,
    workers: int | None = None,
) -> Iterator[Served]:
    """Start ``atlas serve`` (with ``--workers`` when given) and wait until /api/health answers; terminated
    (if still alive) on exit."""
    port = free_port()
    env = plugin_env({k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")})  # + the fake
    env["ATLAS_GENERATOR"] = "extractive"  # /api/ask answers without loading a language model
    if token:
        env["ATLAS_API_TOKEN"] = token
    atlas = Path(sys.executable).with_name("atlas")
    command = [str(atlas), "serve", "--library", str(library), "--port", str(port), "--embedder", embedder]
    for folder in allowed:
        command += ["--allow-dir", str(folder)]
    if workers is not None:
        command += ["--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # The log goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(base, httpx.Client(base_url=base, timeout=60, headers=headers), process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, served.output()
            try:
                if served.http.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"atlas serve did not come up:\n{served.output()}"
            time.sleep(0.1)
        yield served
    finally:
        served.http.close()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
