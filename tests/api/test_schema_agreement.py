"""What schemathesis found (test_schemathesis.py), pinned one by one: the document and the server agree on
what is valid, 405s name every method a path serves, and no input makes an item fail "unexpectedly"."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.errors import UserInputError
from atlas.sources.validate import check_web_url
from tests.api.conftest import TOKEN, MakeClient, ingest

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
    assert {"extractive", "llama-cpp", "openai-compatible"} <= set(generators)
    assert spec["IngestIn"]["then"] == {"properties": {"targets": {"maxItems": 1}}}
    assert spec["IngestIn"]["properties"]["targets"]["items"]["pattern"].startswith("^")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    refused = client.post("/api/ask", json={"question": "cost?", "generator": ""}, headers=headers)
    assert refused.status_code == 400  # "" is not a generator: the document's enum says so too
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
