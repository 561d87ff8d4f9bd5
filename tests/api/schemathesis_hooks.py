"""Schemathesis hooks for test_schemathesis.py (loaded through $SCHEMATHESIS_HOOKS by the CLI it runs).

Chapter titles by the local language model load and run Qwen (seconds per chapter on a CI core): within a
one-minute budget the fuzzer would spend it all there. Those requests ask for keyphrase titles instead; the
llm path has its own tests (tests/integration/test_chapters.py).

A chapter ``min`` above ``max`` is two bounds that contradict each other: the server answers 400 by design
(chapters/service.py), a rule across two parameters that an OpenAPI document cannot state, so the fuzzer's
"schema-valid request rejected" check would fail on it now and then. Such a pair is sent in order instead;
tests/api/test_chapters.py checks the 400.

Everything in a query string is a string, and a one-item list is written exactly as a scalar. A negative case
that only changes the type of query values (a number or an object where a list of strings is declared, a
string where null is) reaches the server as a valid string or one-item list, which FastAPI then checks
against the very annotations the document is made from. The fuzzer knows this for single numeric parameters
but not for several string ones mutated together (GET /api/search?video=-4.6e+16&channel=x&speaker= was
reported as "schema-violating request accepted"): such a report is dropped. A mutation of a bound (maxItems,
maxLength, minimum, enum ...) still fails the run when the server accepts it."""

from __future__ import annotations

from typing import Any

import schemathesis

# What a query string cannot carry: it has no types, and a value reads as a list of one.
_WIRE_INVISIBLE = {"type", "anyOf"}


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but an accepted "negative" case whose only changes are invisible on the wire."""
    if type(failure).__name__ != "AcceptedNegativeData" or case.meta is None:
        return True
    mutations = getattr(case.meta.phase.data, "mutations", None) or ()
    invisible = [
        getattr(m.parameter_location, "value", None) == "query" and set(m.keywords) <= _WIRE_INVISIBLE
        for m in mutations
    ]
    return not (invisible and all(invisible))


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
