"""The API's OpenAPI 3.1 document rewritten as 3.0, for the Swagger UI that /docs serves offline.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12: ``null`` as a type, numeric ``exclusiveMinimum``, ``const``,
``examples`` lists). The only offline Swagger UI on PyPI (swagger-ui-bundle 1.1.0: Swagger UI 4.15) reads 3.0
and shows "Unable to render this definition" for anything else. /openapi.json stays the true 3.1 document for
clients and code generators; /docs reads this rendition of it, which says the same things in 3.0's words.
"""

from __future__ import annotations

from typing import Any

OPENAPI_30 = "3.0.3"


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    converted = _convert(document)
    assert isinstance(converted, dict)
    converted["openapi"] = OPENAPI_30
    return converted


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _convert(value) for key, value in node.items()}
    for union in ("anyOf", "oneOf"):
        if isinstance(schema.get(union), list):
            schema = _without_null_member(schema, union)
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"] -> "string", nullable
        others = [k for k in kind if k != "null"]
        if len(others) < len(kind):
            schema["nullable"] = True
        schema["type"] = others[0] if len(others) == 1 else others
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = schema.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            schema[plain] = value
            schema[bound] = True
    if isinstance(schema.get("examples"), list) and "example" not in schema and _is_schema(schema):
        examples = schema.pop("examples")
        if examples:
            schema["example"] = examples[0]
    return schema


def _without_null_member(schema: dict[str, Any], union: str) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` -> X with ``nullable: true`` (a ``$ref`` is wrapped in ``allOf``, as 3.0
    ignores siblings of a ``$ref``)."""
    members = schema[union]
    rest = [m for m in members if m != {"type": "null"}]
    if len(rest) == len(members):
        return schema
    out = {key: value for key, value in schema.items() if key != union}
    if len(rest) == 1:
        only = rest[0]
        out.update({"allOf": [only]} if "$ref" in only else only)
    else:
        out[union] = rest
    out["nullable"] = True
    return out


def _is_schema(node: dict[str, Any]) -> bool:
    """Parameter and media objects have their own ``examples`` (a map); only schemas carry a list of them."""
    return "type" in node or "$ref" in node or "allOf" in node or "anyOf" in node or "properties" in node
