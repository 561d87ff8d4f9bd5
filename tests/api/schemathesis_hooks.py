"""Schemathesis hooks for test_schemathesis.py (loaded through $SCHEMATHESIS_HOOKS by the CLI it runs).

Chapter titles by the local language model load and run Qwen (seconds per chapter on a CI core): within a
one-minute budget the fuzzer would spend it all there. Those requests ask for keyphrase titles instead; the
llm path has its own tests (tests/integration/test_chapters.py).

A chapter ``min`` above ``max`` is two bounds that contradict each other: the server answers 400 by design
(chapters/service.py), a rule across two parameters that an OpenAPI document cannot state, so the fuzzer's
"schema-valid request rejected" check would fail on it now and then. Such a pair is sent in order instead;
tests/api/test_chapters.py checks the 400."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if not isinstance(case.query, dict):
        return
    if case.query.get("titles") == "llm":
        case.query["titles"] = "keyphrase"
    low, high = case.query.get("min"), case.query.get("max")
    try:
        contradictory = low is not None and high is not None and float(low) > float(high)
    except (TypeError, ValueError):
        return  # not numbers: the server's 400 is what the document promises
    if contradictory:
        case.query["min"], case.query["max"] = high, low
