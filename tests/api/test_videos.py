"""Videos (list, detail with timed segments, delete) and /media (Range, and the files it refuses)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.config import Settings
from atlas.library import Library
from atlas.models import Segment, Transcript, Video
from atlas.sources.base import Ingestible
from tests.api.conftest import TOKEN, MakeClient, ingest, write_wav
from tests.conftest import FIXTURES


@pytest.fixture
def loaded(client: TestClient, data_dir: Path) -> TestClient:
    assert ingest(client, data_dir)["state"] == "done"
    return client


def test_list_and_detail(loaded: TestClient, data_dir: Path) -> None:
    videos = {v["video_id"]: v for v in loaded.get("/api/videos").json()}
    assert set(videos) == {
        "berkeley-ai-rubric-lecture",
        "manual-talk",
        "mixture-of-experts-meetup",
        "normconf-ml-cost-talk",
    }
    talk = videos["manual-talk"]
    assert talk["kind"] == "media" and talk["media_type"] == "audio"
    assert talk["media_url"] == "/media/manual-talk"
    assert videos["normconf-ml-cost-talk"]["media_url"] is None
    assert videos["normconf-ml-cost-talk"]["timed"] is False

    detail = loaded.get("/api/videos/manual-talk").json()
    assert detail["title"] == talk["title"] and detail["windows"] >= 1 and detail["sentences"] >= 1
    first = detail["segments"][0]
    assert (first["start"], first["end"]) == (1.0, 4.25)
    assert "Good morning, everyone." in first["text"]

    untimed = loaded.get("/api/videos/normconf-ml-cost-talk").json()
    assert untimed["segments"] and all(s["start"] is None for s in untimed["segments"])


def test_youtube_video_gets_an_embed_id_and_thumbnail(client: TestClient, data_dir: Path) -> None:
    name = "How Transformers Pay Attention [aBcD3fG_h-1].en.vtt"
    shutil.copy(FIXTURES / "transcripts" / name, data_dir / name)
    assert ingest(client, data_dir / name)["state"] == "done"
    video = client.get("/api/videos/aBcD3fG_h-1").json()
    assert video["kind"] == "youtube" and video["youtube_id"] == "aBcD3fG_h-1"
    assert video["thumbnail"] == "https://i.ytimg.com/vi/aBcD3fG_h-1/hqdefault.jpg"
    assert video["media_url"] is None


def test_unknown_video_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/videos/no-such-video")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "no-such-video" in error["message"] and error["hint"]


def test_delete_on_loopback_without_token(loaded: TestClient) -> None:
    response = loaded.delete("/api/videos/manual-talk")
    assert response.status_code == 200 and response.json() == {"video_id": "manual-talk", "deleted": True}
    assert loaded.get("/api/videos/manual-talk").status_code == 404
    assert loaded.delete("/api/videos/manual-talk").status_code == 404
    assert all(h["video_id"] != "manual-talk" for h in loaded.get("/api/search?q=attention").json()["hits"])


def test_delete_needs_the_token_when_one_is_set(make_client: MakeClient, data_dir: Path) -> None:
    client = make_client(token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert ingest(client, data_dir / "manual-talk.en.vtt", headers=headers)["state"] == "done"
    for given in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.delete("/api/videos/manual-talk", headers=given)
        assert response.status_code == 401, given
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/videos/manual-talk").status_code == 200  # still there
    assert client.delete("/api/videos/manual-talk", headers=headers).status_code == 200


def test_read_only_server_refuses_delete(make_client: MakeClient) -> None:
    client = make_client(host="0.0.0.0")
    response = client.delete("/api/videos/anything")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and "ATLAS_API_TOKEN" in error["hint"]


# -- /media ------------------------------------------------------------------------------------------------


def test_media_full_and_ranges(loaded: TestClient, data_dir: Path) -> None:
    data = (data_dir / "manual-talk.wav").read_bytes()
    full = loaded.get("/media/manual-talk")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "audio/wav" and full.headers["accept-ranges"] == "bytes"

    part = loaded.get("/media/manual-talk", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"

    tail = loaded.get("/media/manual-talk", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    open_ended = loaded.get("/media/manual-talk", headers={"Range": f"bytes={len(data) - 10}-"})
    assert open_ended.status_code == 206 and open_ended.content == data[-10:]

    beyond = loaded.get("/media/manual-talk", headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"

    head = loaded.head("/media/manual-talk")
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data) and not head.content


def test_media_refuses_what_is_not_a_local_media_file(loaded: TestClient, data_dir: Path) -> None:
    transcript_only = loaded.get("/media/normconf-ml-cost-talk")
    assert transcript_only.status_code == 404 and transcript_only.json()["error"]["code"] == "not_found"
    assert loaded.get("/media/no-such-video").status_code == 404
    # Path-looking ids are just unknown ids: the client never names a file.
    for probe in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "manual-talk%2F..%2F..%2Fsecret"):
        assert loaded.get(f"/media/{probe}").status_code == 404

    (data_dir / "manual-talk.wav").unlink()
    missing = loaded.get("/media/manual-talk")
    assert missing.status_code == 404 and "missing" in missing.json()["error"]["message"]


def _add_media_video(settings: Settings, video_id: str, media_path: str, source: Path) -> None:
    """Store a media video directly (the operator's CLI can ingest anything; the API checks at serve time)."""
    transcript = Transcript((Segment("the secret plans are hidden here", 0.0, 2.0),), origin="file:webvtt")
    video = Video(video_id, "Secret", str(source), kind="media", extra={"media_path": media_path})
    with Library.open(settings) as lib:
        lib.add(Ingestible(video, transcript))


def test_media_never_escapes_the_allowed_dirs(
    make_client: MakeClient, settings: Settings, data_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_wav(outside / "private.wav", seconds=1.0)
    _add_media_video(settings, "outside", str(outside / "private.wav"), outside / "private.vtt")
    dotdot = f"{data_dir}/../outside/private.wav"  # textually under data/, really outside it
    _add_media_video(settings, "dotdot", dotdot, data_dir / "dotdot.vtt")
    os.symlink(outside / "private.wav", data_dir / "link.wav")  # a link inside data/ pointing out
    _add_media_video(settings, "symlink", str(data_dir / "link.wav"), data_dir / "link.vtt")
    _add_media_video(settings, "not-media", str(data_dir / "normconf-ml-cost-talk.txt"), data_dir / "x.vtt")
    write_wav(data_dir / "inside.wav", seconds=1.0)
    _add_media_video(settings, "inside", str(data_dir / "inside.wav"), data_dir / "inside.vtt")

    client = make_client()
    for video_id in ("outside", "dotdot", "symlink"):
        response = client.get(f"/media/{video_id}")
        assert response.status_code == 403, video_id
        assert (
            response.json()["error"]["code"] == "forbidden"
            and "--allow-dir" in response.json()["error"]["hint"]
        )
    assert client.get("/media/not-media").status_code == 404  # a .txt is never served as media
    assert client.get("/media/inside").content == (data_dir / "inside.wav").read_bytes()

    no_dirs = make_client(allowed=())
    assert no_dirs.get("/media/inside").status_code == 403
