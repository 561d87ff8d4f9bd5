"""The 3.0 rendition of the API document that /docs's offline Swagger UI 4 reads."""

from __future__ import annotations

import json
from pathlib import Path

from atlas.api.app import create_app
from atlas.api.openapi30 import as_openapi_30
from atlas.config import ServeSettings, Settings
from tests.conftest import FAKE_EMBEDDER


def test_nullable_unions_refs_consts_and_bounds_are_said_in_openapi_30_words() -> None:
    document = {
        "openapi": "3.1.0",
        "components": {
            "schemas": {
                "Hit": {
                    "type": "object",
                    "properties": {
                        "moment": {"anyOf": [{"type": "number"}, {"type": "null"}], "title": "Moment"},
                        "video": {"anyOf": [{"$ref": "#/components/schemas/Video"}, {"type": "null"}]},
                        "kind": {"type": ["string", "null"]},
                        "mode": {"const": "hybrid"},
                        "limit": {"type": "integer", "exclusiveMinimum": 0, "examples": [10, 20]},
                        "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                }
            }
        },
    }
    out = as_openapi_30(document)
    props = out["components"]["schemas"]["Hit"]["properties"]
    assert out["openapi"] == "3.0.3"
    assert props["moment"] == {"type": "number", "title": "Moment", "nullable": True}
    assert props["video"] == {"allOf": [{"$ref": "#/components/schemas/Video"}], "nullable": True}
    assert props["kind"] == {"type": "string", "nullable": True}
    assert props["mode"] == {"enum": ["hybrid"]}
    assert props["limit"] == {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "example": 10}
    assert props["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}  # no null: unchanged
    assert document["openapi"] == "3.1.0"  # the true document is not touched


def test_the_whole_api_document_converts_without_a_null_type_left(tmp_path: Path) -> None:
    settings = Settings(library_dir=tmp_path / "lib", embedder=FAKE_EMBEDDER)
    text = json.dumps(as_openapi_30(create_app(settings, ServeSettings()).openapi()))
    assert '"type": "null"' not in text and '"const"' not in text
    assert '"openapi": "3.0.3"' in text
