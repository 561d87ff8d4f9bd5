"""One request type per operation, one name per option across the CLI, the HTTP API and Python, one
constant per limit: the API's bodies and the library's request types are checked against each other here."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
import typer.main
from fastapi.testclient import TestClient

from atlas.api.routes.ingest import ingest_options
from atlas.api.schemas import AskIn, IngestOptionsIn
from atlas.cli.app import app
from atlas.config import ServeSettings
from atlas.errors import UserInputError
from atlas.library import Library
from atlas.limits import MAX_ASK_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT
from atlas.models import AskOptions, IngestOptions
from tests.conftest import SAMPLES


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_api_ingest_options_are_the_library_ingest_options() -> None:
    assert set(IngestOptionsIn.model_fields) == _field_names(IngestOptions)


def test_every_api_ingest_option_reaches_the_library_under_its_name() -> None:
    body = IngestOptionsIn(
        title="T",
        video_id="abc",
        url="https://example.com/talk",
        channel="C",
        published=date(2024, 5, 1),
        asr_model="base",
        force_asr=True,
        beam=1,
        since=date(2024, 1, 2),
        max_items=7,
        refresh=True,
    )
    expected = IngestOptions(
        title="T",
        video_id="abc",
        url="https://example.com/talk",
        channel="C",
        published="2024-05-01",
        asr_model="base",
        force_asr=True,
        beam=1,
        since="2024-01-02",
        max_items=7,
        refresh=True,
    )
    assert ingest_options(body, ServeSettings()) == expected
    assert ingest_options(IngestOptionsIn(), ServeSettings()) == IngestOptions()
    with pytest.raises(UserInputError, match="asr_model"):
        ingest_options(IngestOptionsIn(asr_model="large-v3"), ServeSettings())


def _cli_flags(command: str) -> set[str]:
    import atlas.cli.ask
    import atlas.cli.ingest  # noqa: F401  (importing a command module registers its command)

    group: Any = typer.main.get_command(app)
    return {opt for param in group.commands[command].params for opt in param.opts}


def test_every_ingest_option_is_a_cli_flag_of_the_same_name() -> None:
    flags = _cli_flags("ingest")
    assert {"--" + name.replace("_", "-") for name in _field_names(IngestOptions)} <= flags
    assert {"--asr", "--date", "--max", "--id"} <= flags  # the short spellings stay as aliases


def test_the_ask_body_and_the_cli_use_the_library_names() -> None:
    assert {"generator", "model", "limit", "fallback"} <= set(AskIn.model_fields) & _field_names(AskOptions)
    assert {"--generator", "--model", "--limit", "--fallback"} <= _cli_flags("ask")


def _openapi_limits(client: TestClient) -> tuple[dict[str, object], dict[str, object]]:
    document = client.get("/openapi.json").json()
    search = {p["name"]: p["schema"] for p in document["paths"]["/api/search"]["get"]["parameters"]}
    return search, document["components"]["schemas"]["AskIn"]["properties"]


def test_each_limit_is_the_same_on_every_face(client: TestClient, fake_library: Library) -> None:
    search, ask = _openapi_limits(client)
    assert search["limit"]["maximum"] == MAX_SEARCH_LIMIT
    assert search["q"]["maxLength"] == MAX_QUERY_CHARS
    assert ask["question"]["maxLength"] == MAX_QUERY_CHARS
    assert ask["limit"]["anyOf"][0]["maximum"] == MAX_ASK_LIMIT
    # The library refuses the same, with the same error type, for Python callers (an empty library answers
    # nothing before it checks, so it holds one talk).
    fake_library.ingest([str(next(SAMPLES.glob("*.txt")))])
    with pytest.raises(UserInputError, match="limit"):
        fake_library.search("gpu cost", limit=MAX_SEARCH_LIMIT + 1)
    with pytest.raises(UserInputError, match="limit"):
        fake_library.ask("what does it cost?", AskOptions(generator="extractive", limit=MAX_ASK_LIMIT + 1))
    with pytest.raises(UserInputError, match="characters"):
        fake_library.search("x" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(UserInputError, match="characters"):
        fake_library.ask("x" * (MAX_QUERY_CHARS + 1), AskOptions(generator="extractive"))
