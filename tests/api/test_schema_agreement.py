"""What schemathesis found (test_schemathesis.py), pinned one by one: the document and the server agree on
what is valid, 405s name every method a path serves, and no input makes an item fail "unexpectedly".

Then the response shapes: each is built by one serializer (atlas.views, the models' ``to_json``, api.jobs),
shared by the CLI's ``--json`` and the API, and its ``*Out`` model declares exactly the fields it builds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

import atlas
from atlas.answer.registry import runnable_generator_names
from atlas.api.jobs import summarize
from atlas.api.routes.chapters import ChaptersOut
from atlas.api.schemas import (
    AnswerOut,
    HitOut,
    JobOut,
    JobSummaryOut,
    OutcomeCountsOut,
    OutcomeOut,
    VideoDetailOut,
    VideoOut,
)
from atlas.config import AnswerSettings, Settings
from atlas.errors import UserInputError
from atlas.ingest_report import STATUSES, ItemOutcome
from atlas.models import AskOptions, Video, VideoKind
from atlas.sources.validate import check_web_url
from atlas.views import outcome_counts, outcome_json, record_json, video_json
from tests.api.conftest import TOKEN, MakeClient, ingest
from tests.conftest import run_cli

LECTURE = "berkeley-ai-rubric-lecture"


@pytest.mark.parametrize("value", ["0", "86400", "20240101", "2024-1-1", "1700000000"])
def test_a_date_is_only_yyyy_mm_dd_never_a_unix_time(client: TestClient, value: str) -> None:
    response = client.get("/api/search", params={"q": "cost", "after": value})
    assert response.status_code == 400, response.text  # after=0 was read as 1970-01-01
    assert "YYYY-MM-DD" in response.json()["error"]["message"]
    body = {"targets": ["/nowhere"], "options": {"since": value}}
    assert client.post("/api/ingest", json=body).status_code == 400
    assert client.post("/api/ask", json={"question": "cost?", "after": value}).status_code == 400
    assert client.get("/api/search", params={"q": "cost", "after": "2024-03-01"}).status_code == 200


@pytest.mark.parametrize("value", [0, 1, "yes", "true"])
def test_a_boolean_option_is_true_or_false_never_a_number_or_word(client: TestClient, value: object) -> None:
    # schemathesis (seed 20261206): {"refresh": 0} was accepted as false though the document says boolean.
    body = {"targets": ["/nowhere"], "options": {"refresh": value}}
    assert client.post("/api/ingest", json=body).status_code == 400
    assert (
        client.post(
            "/api/ingest", json={"targets": ["/nowhere"], "options": {"force_asr": value}}
        ).status_code
        == 400
    )
    assert client.post("/api/ask", json={"question": "cost?", "fallback": value}).status_code == 400


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/jobs/0123456789abcdef", "DELETE, GET"),
        (f"/api/videos/{LECTURE}", "DELETE, GET"),
        (f"/api/videos/{LECTURE}/chapters", "GET"),  # not DELETE: that would be a video "<id>/chapters"
        (f"/media/{LECTURE}", "GET, HEAD"),
        ("/api/ingest", "POST"),
        ("/api/search", "GET"),
    ],
)
def test_405_names_every_method_the_path_serves(client: TestClient, path: str, allow: str) -> None:
    response = client.request("PATCH", path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow  # it named only the first route's (GET, not DELETE)
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_one_chapter_bound_given_moves_the_default_other(client: TestClient, data_dir: Path) -> None:
    assert ingest(client, data_dir)["state"] == "done"
    url = f"/api/videos/{LECTURE}/chapters"
    tiny = client.get(url, params={"max": 5e-324})  # below the default minimum of 60 s: was a 400
    assert tiny.status_code == 200, tiny.text
    long = client.get(url, params={"min": 1200})  # above the default maximum of 15 min
    assert long.status_code == 200, long.text
    both = client.get(url, params={"min": 600, "max": 60})  # two given bounds that contradict: still 400
    assert both.status_code == 400


def test_the_document_lists_the_models_and_generators_this_server_accepts(make_client: MakeClient) -> None:
    client = make_client(token=TOKEN, allowed_asr_models=("small.en",))
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    asr = spec["IngestOptionsIn"]["properties"]["asr_model"]["anyOf"]
    assert asr == [{"type": "string", "enum": ["tiny.en", "base", "small.en"]}, {"type": "null"}]
    generators = spec["AskIn"]["properties"]["generator"]["anyOf"][0]["enum"]
    # openai-compatible is installed but this server has no endpoint for it, and a client cannot give one
    assert {"extractive", "llama-cpp"} <= set(generators) and "openai-compatible" not in generators
    with_endpoint = AnswerSettings(base_url="http://127.0.0.1:11434/v1", model="llama3.1")
    assert "openai-compatible" in runnable_generator_names(with_endpoint)
    assert "openai-compatible" not in runnable_generator_names(
        AnswerSettings(base_url="http://127.0.0.1:1/v1")
    )
    assert spec["IngestIn"]["then"] == {"properties": {"targets": {"maxItems": 1}}}
    assert spec["IngestIn"]["properties"]["targets"]["items"]["pattern"].startswith("^")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    refused = client.post("/api/ask", json={"question": "cost?", "generator": ""}, headers=headers)
    assert refused.status_code == 400  # "" is not a generator: the document's enum says so too
    unconfigured = {"question": "cost?", "generator": "openai-compatible"}
    assert client.post("/api/ask", json=unconfigured, headers=headers).status_code == 400
    body = {"targets": ["/x"], "options": {"asr_model": "tiny"}}
    assert client.post("/api/ingest", json=body, headers=headers).status_code == 400


BAD_URLS = ["http://a\tb", "http://a\nb", "http://", "http://?q", "ftp://a", "http://a b"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_stored_url_matches_the_documented_pattern(url: str) -> None:
    with pytest.raises(UserInputError):
        check_web_url(url)
    assert check_web_url("  HTTPS://example.org/talk?t=3 ") == "HTTPS://example.org/talk?t=3"


def test_a_url_python_cannot_split_fails_alone_as_unsupported(client: TestClient, data_dir: Path) -> None:
    job = ingest(client, "https://\U0001f60dh[\u00ba", data_dir / "manual-talk.en.vtt")
    bad, good = job["outcomes"]
    assert bad["status"] == "failed" and "unsupported URL" in bad["message"]  # not "failed unexpectedly"
    assert good["status"] == "added"


# -- each response shape: one serializer, and its *Out model declares exactly what it builds ----------------


def assert_shape(data: Any, annotation: Any, where: str = "") -> None:
    """``data`` has exactly the fields the model (or list/dict/optional of models) declares, at every depth,
    and validates against it: FastAPI's response_model would silently drop an extra key, so check here."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        assert isinstance(data, dict), f"{where}: {data!r} is not an object"
        fields = annotation.model_fields
        assert set(data) == set(fields), f"{where or annotation.__name__}: {sorted(set(data) ^ set(fields))}"
        annotation.model_validate(data)
        for name, field in fields.items():
            assert_shape(data[name], field.annotation, f"{where}.{name}")
    elif origin is list:
        for number, item in enumerate(data):
            assert_shape(item, args[0], f"{where}[{number}]")
    elif origin is dict:
        for key, value in data.items():
            assert_shape(value, args[1], f"{where}[{key!r}]")
    elif origin in (Union, UnionType) and data is not None:
        for model in (a for a in args if isinstance(a, type) and issubclass(a, BaseModel)):
            assert_shape(data, model, where)


def test_every_serializer_builds_exactly_its_response_model(client: TestClient, data_dir: Path) -> None:
    job = ingest(client, data_dir)
    assert job["state"] == "done"
    context = client.app.state.atlas  # type: ignore[attr-defined]
    library = context.library
    youtube = Video("dQw4w9WgXcQ", "A talk", "https://youtu.be/dQw4w9WgXcQ", kind="youtube")
    videos = [*library.list_videos(), youtube]
    assert {v.kind for v in videos} == set(get_args(VideoKind))  # every kind of video, media included
    for video in videos:
        assert_shape(video_json(video), VideoOut, video.video_id)
    for video in videos[:-1]:
        assert_shape(record_json(library.get_record(video.video_id)), VideoDetailOut, video.video_id)

    hits = library.search("gpu cost", limit=5)
    assert hits
    for hit in hits:
        assert_shape(hit.to_json(), HitOut, "hit")
    answer = library.ask("how can I cut GPU costs?", AskOptions(generator="extractive"))
    assert answer.citations
    assert_shape(answer.to_json(), AnswerOut, "answer")
    assert_shape(library.chapters(LECTURE).to_json(), ChaptersOut, "chapters")

    (finished,) = context.jobs.recent()
    assert_shape(finished.snapshot(), JobOut, "job")
    assert_shape(summarize(finished.snapshot()), JobSummaryOut, "job summary")
    warned = ItemOutcome("/x.vtt", "added", "x", "X", windows=2, warnings=("a cue ends before it starts",))
    assert_shape(outcome_json(warned), OutcomeOut, "outcome")
    assert_shape(outcome_counts(STATUSES), OutcomeCountsOut, "counts")


def test_the_cli_lists_and_shows_videos_as_the_api_does(
    client: TestClient, data_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest(client, data_dir)["state"] == "done"
    library = ["--library", str(settings.library_dir)]
    code, listed, _ = run_cli(capsys, "list", "--json", *library)
    assert code == 0 and json.loads(listed) == client.get("/api/videos").json()
    for video in json.loads(listed):
        code, shown, _ = run_cli(capsys, "show", video["video_id"], "--json", *library)
        assert code == 0 and json.loads(shown) == client.get(f"/api/videos/{video['video_id']}").json()


def test_the_statuses_are_written_once(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["OutcomeOut"]["properties"]["status"]["enum"] == list(STATUSES)
    assert list(schemas["OutcomeCountsOut"]["properties"]) == list(STATUSES)
    # The web page keeps its own list (it has no other use for the OpenAPI document): it must be this one.
    page = (Path(atlas.__file__).parent / "web" / "add.js").read_text()
    listed = re.search(r"const OUTCOME_ORDER = (\[[^\]]*\]);", page)
    assert listed is not None and json.loads(listed.group(1)) == list(STATUSES)
