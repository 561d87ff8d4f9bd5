"""Every error has one shape; the OpenAPI document lists every endpoint; health; the page and its headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.api.app import PAGE_POLICY
from atlas.api.routes.system import WEB_DIR
from atlas.api.schemas import NOT_BLANK_PATTERN
from atlas.config import ServeSettings, Settings, is_loopback, resolve_serve_settings
from atlas.errors import UserInputError
from tests.api.conftest import TOKEN, MakeClient

ENDPOINTS = {
    ("/api/search", "get"),
    ("/api/ask", "post"),
    ("/api/videos", "get"),
    ("/api/videos/{video_id}", "get"),
    ("/api/videos/{video_id}", "delete"),
    ("/api/ingest", "post"),
    ("/api/jobs", "get"),
    ("/api/jobs/{job_id}", "get"),
    ("/api/health", "get"),
    ("/media/{video_id}", "get"),
}


def assert_error_shape(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "hint"}
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]


def test_framework_errors_use_the_shape(client: TestClient) -> None:
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404
    assert_error_shape(unknown.json(), "not_found")
    wrong_method = client.put("/api/search")
    assert wrong_method.status_code == 405
    assert_error_shape(wrong_method.json(), "method_not_allowed")
    bad_json = client.post("/api/ingest", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert_error_shape(bad_json.json(), "bad_input")


def test_unexpected_errors_are_500_without_details(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(raise_server_exceptions=False)
    library = client.app.state.atlas.library  # type: ignore[attr-defined]

    def explode() -> None:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(library, "list_videos", explode)
    response = client.get("/api/videos")
    assert response.status_code == 500
    assert_error_shape(response.json(), "internal_error")
    assert "/secret/path" not in response.text


def test_openapi_lists_every_endpoint_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    found = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert found >= ENDPOINTS
    assert "ErrorOut" in spec["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    # Offline: the page's script and style come from Atlas itself, not a CDN.
    assert "cdn.jsdelivr" not in docs.text and "/docs-assets/swagger-ui-bundle.js" in docs.text
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text


def test_a_blank_query_or_question_is_refused_as_the_document_says(client: TestClient) -> None:
    """The document says what the server refuses as empty: text with no character outside Python's white
    space (the fuzzer sent q=U+0085, which str.split() counts as space and JSON Schema's \\s does not)."""
    spec = client.get("/openapi.json").json()
    q = next(p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["pattern"] == NOT_BLANK_PATTERN
    assert spec["components"]["schemas"]["AskIn"]["properties"]["question"]["pattern"] == NOT_BLANK_PATTERN
    disagree = [
        hex(c) for c in range(0x110000) if (re.search(NOT_BLANK_PATTERN, chr(c)) is None) != chr(c).isspace()
    ]
    assert disagree == []  # the pattern's blanks are exactly str.split()'s, every code point
    for blank in ("\x85", " \u3000\t"):
        response = client.get("/api/search", params={"q": blank})
        assert response.status_code == 400 and "empty" in response.json()["error"]["message"]
        assert client.post("/api/ask", json={"question": blank}).status_code == 400
    assert client.get("/api/search", params={"q": "\ufeff"}).status_code == 200  # not space to either


def test_health(make_client: MakeClient, settings: Settings) -> None:
    health = make_client(token=TOKEN).get("/api/health").json()
    assert health == {
        "status": "ok",
        "version": health["version"],
        "library": str(settings.library_dir),
        "videos": 0,
        "windows": 0,
        "embedder": None,
        "writes": "token",
    }


def test_page_and_its_files_carry_a_strict_content_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert "script-src 'self'" in PAGE_POLICY and "unsafe-inline" not in PAGE_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../../config.py").status_code == 404


def test_the_page_script_never_parses_data_as_html() -> None:
    # The browser test checks the DOM with a hostile title; this guards the code paths it does not click.
    script = (WEB_DIR / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


# -- settings at the edge ----------------------------------------------------------------------------------


def test_serve_settings_from_flags_and_environment(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    env = {"ATLAS_API_TOKEN": " tok ", "ATLAS_ALLOWED_DIRS": f"{a}:{b}/../b"}
    from_env = resolve_serve_settings(environ=env)
    assert from_env == ServeSettings(token="tok", allowed_dirs=(a.resolve(), b.resolve()))
    from_flags = resolve_serve_settings(host="0.0.0.0", port=9000, allowed_dirs=(str(b),), environ=env)
    assert from_flags.allowed_dirs == (b.resolve(),) and from_flags.port == 9000
    assert not from_flags.loopback
    assert resolve_serve_settings(environ={"ATLAS_API_TOKEN": "  "}).token is None
    with pytest.raises(UserInputError, match="not a directory"):
        resolve_serve_settings(allowed_dirs=(str(tmp_path / "missing"),), environ={})
    with pytest.raises(UserInputError, match="port"):
        resolve_serve_settings(port=70000, environ={})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
