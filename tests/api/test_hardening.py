"""Issue 15, at the HTTP level: DNS rebinding, files swapped after submission, model names, framing, stored
URLs, NUL bytes, video ids. Host checks run against a real uvicorn server (a TestClient sets Host itself)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from atlas.api import security
from atlas.api.app import create_app
from atlas.config import ServeSettings, Settings, resolve_serve_settings
from atlas.library import Library
from atlas.models import Segment, Transcript, Video
from atlas.sources.base import Ingestible
from tests.api.conftest import MakeClient, ingest, live_server, wait_for_job
from tests.api.test_jobs import Gate
from tests.api.test_jobs import gate as gate  # the fixture, shared with test_jobs

GOOD_VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nthe garden needs water every morning\n"
SECRET = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nthe launch codes are zero zero zero\n"
READ_ROUTES = (
    "/",
    "/static/app.js",
    "/docs",
    "/openapi.json",
    "/api/health",
    "/api/videos",
    "/api/videos/manual-talk",
    "/api/search?q=morning",
    "/api/jobs",
    "/media/manual-talk",
)


@pytest.fixture
def served(settings: Settings, data_dir: Path) -> Iterator[str]:
    """A real loopback server (no token) holding the data folder, with ``atlas.lan`` configured as a name."""
    serve = ServeSettings(allowed_dirs=(data_dir.resolve(),), allowed_hosts=("atlas.lan",))
    with live_server(create_app(settings, serve)) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert ingest(http, data_dir)["state"] == "done"
        yield base


# -- 1. DNS rebinding ------------------------------------------------------------------------------------


def test_a_loopback_server_answers_only_loopback_and_configured_host_names(served: str) -> None:
    port = served.rsplit(":", 1)[1]
    with httpx.Client(base_url=served, timeout=60) as http:
        for route in READ_ROUTES:
            for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
                response = http.get(route, headers={"Host": host})
                assert response.status_code == 421, (route, host, response.status_code)
                error = response.json()["error"]
                assert error["code"] == "wrong_host" and "evil.example" in error["message"], error
                assert "the launch codes" not in response.text
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", "atlas.lan"):
                assert http.get(route, headers={"Host": host}).status_code == 200, (route, host)
        rebound_write = http.delete("/api/videos/manual-talk", headers={"Host": f"evil.example:{port}"})
        assert rebound_write.status_code == 421
        assert http.get("/api/videos/manual-talk").status_code == 200


def test_a_server_bound_elsewhere_answers_any_host_name(make_client: MakeClient) -> None:
    client = make_client(host="0.0.0.0")
    assert client.get("/api/health", headers={"Host": "atlas.example.org"}).status_code == 200


def test_allowed_host_names_come_from_flags_or_the_environment() -> None:
    env = {"ATLAS_ALLOWED_HOSTS": "atlas.lan, Media.Box "}
    assert resolve_serve_settings(environ=env).allowed_hosts == ("atlas.lan", "media.box")
    assert resolve_serve_settings(allowed_hosts=("x.lan",), environ=env).allowed_hosts == ("x.lan",)


# -- 2. the allowed directories, checked when a file is opened ---------------------------------------------


def test_a_symlink_swapped_in_after_submission_is_not_followed(
    client: TestClient, data_dir: Path, tmp_path: Path, gate: Gate
) -> None:
    outside = tmp_path / "outside"
    (outside / "talks").mkdir(parents=True)
    (outside / "secret.vtt").write_text(SECRET)
    (outside / "talks" / "inner.vtt").write_text(SECRET)
    (data_dir / "talks").mkdir()
    (data_dir / "talks" / "inner.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nharmless\n")
    victim = data_dir / "victim.vtt"
    victim.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nharmless\n")

    gate.at = ("normconf-ml-cost-talk.txt", "start")  # hold the job before it opens anything
    body = {"targets": [str(data_dir / "normconf-ml-cost-talk.txt"), str(victim), str(data_dir / "talks")]}
    response = client.post("/api/ingest", json=body)
    assert response.status_code == 202, response.text
    assert gate.reached.wait(30)
    victim.unlink()
    victim.symlink_to(outside / "secret.vtt")  # the file itself becomes a link out
    shutil.rmtree(data_dir / "talks")
    (data_dir / "talks").symlink_to(outside / "talks")  # a folder on the way becomes a link out
    gate.release.set()

    job = wait_for_job(client, response.json()["id"])
    statuses = {Path(o["target"]).name: (o["status"], o["message"]) for o in job["outcomes"]}
    assert statuses["normconf-ml-cost-talk.txt"][0] == "added"
    for name in ("victim.vtt", "inner.vtt"):
        status, message = statuses[name]
        assert status == "failed" and "outside the directories" in message, (name, message)
    hits = client.get("/api/search", params={"q": "launch codes", "mode": "keyword"}).json()["hits"]
    assert not any("launch codes" in hit["text"] for hit in hits)


def _add_media_video(settings: Settings, video_id: str, media_path: Path) -> None:
    transcript = Transcript((Segment("some words", 0.0, 2.0),), origin="file:webvtt")
    source = str(media_path.with_suffix(".vtt"))
    video = Video(video_id, "Talk", source, kind="media", extra={"media_path": str(media_path)})
    with Library.open(settings) as lib:
        lib.add(Ingestible(video, transcript))


def test_media_checks_the_file_it_opened_not_the_name_it_checked(
    make_client: MakeClient,
    settings: Settings,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.wav").write_bytes(b"RIFF-private-bytes" * 100)
    (data_dir / "link.wav").symlink_to(outside / "private.wav")
    _add_media_video(settings, "swapped", data_dir / "link.wav")
    client = make_client()
    # The name check passes, as it would have a moment before the link was swapped in.
    monkeypatch.setattr(security.PathPolicy, "inside", lambda self, path: True)
    response = client.get("/media/swapped")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert b"private-bytes" not in response.content


# -- 3. model names ----------------------------------------------------------------------------------------


def test_asr_model_accepts_only_bundled_and_allowed_names(make_client: MakeClient, data_dir: Path) -> None:
    target = str(data_dir / "normconf-ml-cost-talk.txt")
    client = make_client()
    for name in ("Systran/faster-whisper-large-v3", "small.en", str(data_dir), "/etc", "../models/x"):
        response = client.post("/api/ingest", json={"targets": [target], "options": {"asr_model": name}})
        assert response.status_code == 400, (name, response.text)
        assert (
            response.json()["error"]["code"] == "bad_input" and "tiny.en" in response.json()["error"]["hint"]
        )
    for name in ("tiny.en", "base"):
        ok = client.post("/api/ingest", json={"targets": [target], "options": {"asr_model": name}})
        assert ok.status_code == 202, name
    allowing = make_client(allowed_asr_models=("small.en",))
    ok = allowing.post("/api/ingest", json={"targets": [target], "options": {"asr_model": "small.en"}})
    assert ok.status_code == 202


# -- 4. framing and content policies -----------------------------------------------------------------------


def test_every_response_refuses_to_be_framed(served: str) -> None:
    with httpx.Client(base_url=served, timeout=60) as http:
        for route in (*READ_ROUTES, "/api/videos/nosuch", "/docs-assets/swagger-ui.css"):
            response = http.get(route)
            policy = response.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in policy, route
            assert response.headers.get("x-frame-options") == "DENY", route
            assert response.headers.get("x-content-type-options") == "nosniff", route


def test_the_docs_page_allows_exactly_its_own_inline_script(served: str) -> None:
    with httpx.Client(base_url=served, timeout=60) as http:
        docs = http.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    inline = re.findall(r"<script>(.*?)</script>", docs.text, flags=re.S)
    assert inline, "the Swagger UI page starts itself with an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    for src in re.findall(r'<script src="([^"]+)"', docs.text):
        assert src.startswith("/docs-assets/"), src  # served by Atlas: 'self' covers it


# -- 6. stored URLs ----------------------------------------------------------------------------------------


def test_url_option_accepts_only_web_urls(client: TestClient, data_dir: Path) -> None:
    target = str(data_dir / "normconf-ml-cost-talk.txt")
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "vbscript:x", "//x"):
        response = client.post("/api/ingest", json={"targets": [target], "options": {"url": url}})
        assert response.status_code == 400, (url, response.text)
        assert "http" in response.json()["error"]["hint"]
    job = ingest(client, target, url="https://example.org/talk")
    assert job["outcomes"][0]["status"] == "added"
    assert client.get("/api/videos/normconf-ml-cost-talk").json()["url"] == "https://example.org/talk"


def test_a_stored_script_url_is_never_returned(settings: Settings, make_client: MakeClient) -> None:
    transcript = Transcript((Segment("pedalboard is a library", 0.0, 2.0),), origin="file:webvtt")
    video = Video("legacy", "Legacy", "/x/legacy.vtt", kind="transcript", url="javascript:alert(1)")
    with Library.open(settings) as lib:
        lib.add(Ingestible(video, transcript))
    client = make_client()
    assert client.get("/api/videos/legacy").json()["url"] is None
    hits = client.get("/api/search", params={"q": "pedalboard"}).json()["hits"]
    assert hits and all(not hit["url"].lower().startswith("javascript:") for hit in hits)


# -- 8. NUL bytes ------------------------------------------------------------------------------------------


def test_a_nul_byte_in_a_path_is_bad_input(make_client: MakeClient, data_dir: Path) -> None:
    client = make_client(raise_server_exceptions=False)
    for target in (f"{data_dir}/a\x00.vtt", "\x00", f"{data_dir}\x00/../etc"):
        response = client.post("/api/ingest", json={"targets": [target]})
        assert response.status_code == 400, (target, response.text)
        assert response.json()["error"]["code"] == "bad_input"


# -- 12. video ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "video_id", ["../../etc/passwd", "/abs", "a/b", " ", "", "two words", "line\nbreak", ".hidden", "x" * 129]
)
def test_bad_video_ids_are_refused(client: TestClient, data_dir: Path, video_id: str) -> None:
    target = str(data_dir / "normconf-ml-cost-talk.txt")
    response = client.post("/api/ingest", json={"targets": [target], "options": {"video_id": video_id}})
    assert response.status_code == 400, response.text
    assert "A-Z" in response.json()["error"]["hint"]


def test_derived_ids_are_addressable(client: TestClient, data_dir: Path) -> None:
    odd = data_dir / "Ünïcode talk (final) #2.vtt"
    odd.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsomething said\n")
    job = ingest(client, odd)
    video_id = job["outcomes"][0]["video_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}", video_id), video_id
    assert client.get(f"/api/videos/{video_id}").status_code == 200


def test_legacy_ids_with_slashes_stay_readable_and_removable(
    settings: Settings, make_client: MakeClient, data_dir: Path
) -> None:
    transcript = Transcript((Segment("old words", 0.0, 2.0),), origin="file:webvtt")
    wav = data_dir / "manual-talk.wav"
    video = Video("old/id", "Old", str(data_dir / "old.vtt"), kind="media", extra={"media_path": str(wav)})
    with Library.open(settings) as lib:
        lib.add(Ingestible(video, transcript))
    client = make_client()
    listed = {v["video_id"]: v for v in client.get("/api/videos").json()}
    assert client.get(listed["old/id"]["media_url"]).content == wav.read_bytes()
    assert client.get("/api/videos/old%2Fid").json()["title"] == "Old"
    assert client.delete("/api/videos/old%2Fid").status_code == 200
    assert client.get("/api/videos/old%2Fid").status_code == 404


def test_media_jobs_read_the_checked_file_and_name_the_real_one(client: TestClient, data_dir: Path) -> None:
    from tests.speech import SENTENCES, build_recording, espeak_available
    from tests.speech import write_wav as write_speech

    (data_dir / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16)
    (data_dir / "captions.mp4").write_text(GOOD_VTT)
    targets = [data_dir / "corrupt.mp4", data_dir / "captions.mp4"]
    if espeak_available():  # transcribed by Whisper through /proc/self/fd, as the job opened it
        targets.append(write_speech(build_recording([SENTENCES[10][0]], gap=1.0), data_dir / "spoken.wav"))
    job = ingest(client, *targets)
    outcomes = {Path(o["target"]).name: o for o in job["outcomes"]}
    for name in ("corrupt.mp4", "captions.mp4"):
        message = outcomes[name]["message"]
        assert outcomes[name]["status"] == "failed" and str(data_dir / name) in message, message
        assert "/proc/" not in message
    assert "WebVTT" in outcomes["captions.mp4"]["message"]
    if espeak_available():
        assert outcomes["spoken.wav"]["status"] == "added", outcomes["spoken.wav"]
        detail = client.get(f"/api/videos/{outcomes['spoken.wav']['video_id']}").json()
        assert detail["transcript_origin"].startswith("asr:") and detail["segments"]
