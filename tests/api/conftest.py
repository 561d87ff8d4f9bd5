"""Fixtures for the HTTP API: an app over a real library (hashing embedder), in-process or on loopback."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from atlas.api.app import create_app
from atlas.config import ServeSettings, Settings
from tests.conftest import FAKE_EMBEDDER, FIXTURES, SAMPLES

TOKEN = "s3cret-token-for-tests"
MakeClient = Callable[..., TestClient]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The folder the server may read: the three samples plus a timed WebVTT talk with audio beside it."""
    data = tmp_path / "data"
    data.mkdir()
    for sample in SAMPLES.iterdir():
        shutil.copy(sample, data / sample.name)
    shutil.copy(FIXTURES / "transcripts" / "manual-talk.en.vtt", data / "manual-talk.en.vtt")
    write_wav(data / "manual-talk.wav", seconds=3.0)
    return data


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)


@pytest.fixture
def make_client(settings: Settings, data_dir: Path) -> Iterator[MakeClient]:
    """``make_client(host=..., token=..., allowed=[...], **ServeSettings fields)``: a started TestClient
    addressed as 127.0.0.1."""
    opened: list[TestClient] = []

    def make(
        *,
        host: str = "127.0.0.1",
        token: str | None = None,
        allowed: tuple[Path, ...] | None = None,
        raise_server_exceptions: bool = True,
        **serve_options: Any,
    ) -> TestClient:
        roots = (data_dir,) if allowed is None else allowed
        dirs = tuple(p.resolve() for p in roots)
        serve = ServeSettings(host=host, token=token, allowed_dirs=dirs, **serve_options)
        client = TestClient(
            create_app(settings, serve),
            base_url="http://127.0.0.1:8000",
            raise_server_exceptions=raise_server_exceptions,
        )
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def write_wav(path: Path, *, seconds: float, rate: int = 8000) -> None:
    """A real (if dull) PCM WAV file: a 440 Hz tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def wait_for_job(client: Any, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET /api/jobs/{id} until the job ends (``client`` is a TestClient or an httpx.Client)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def ingest(
    client: Any, *targets: Path | str, headers: dict[str, str] | None = None, **options: Any
) -> dict[str, Any]:
    """POST /api/ingest and wait for the job; returns the finished job."""
    body: dict[str, Any] = {"targets": [str(t) for t in targets]}
    if options:
        body["options"] = options
    response = client.post("/api/ingest", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return wait_for_job(client, response.json()["id"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
