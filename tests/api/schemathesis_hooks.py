"""Schemathesis hooks for test_schemathesis.py (loaded through $SCHEMATHESIS_HOOKS by the CLI it runs).

Chapter titles by the local language model load and run Qwen (seconds per chapter on a CI core): within a
one-minute budget the fuzzer would spend it all there. Those requests ask for keyphrase titles instead; the
llm path has its own tests (tests/integration/test_chapters.py)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if isinstance(case.query, dict) and case.query.get("titles") == "llm":
        case.query["titles"] = "keyphrase"
