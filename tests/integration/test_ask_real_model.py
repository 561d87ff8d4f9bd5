"""The bundled local model (Qwen2.5 0.5B through llama.cpp) answering from a small real library embedded with
the bundled MiniLM: every sentence it keeps cites a moment with a time and a link."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from atlas.answer import llama_cpp, service
from atlas.config import Settings
from atlas.library import Library
from atlas.models import AnswerDone, AnswerToken, AskOptions, MomentsFound
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.real_model]

QUALITY_INSTALLED = all(
    importlib.util.find_spec(m) is not None for m in ("cyllama", *llama_cpp.QUALITY_MODEL.parts)
)
LECTURE_LINES = 120  # the first ~5 minutes of the lecture, where the speaker introduces Gradescope


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    directory = tmp_path_factory.mktemp("ask-real")
    lines = (SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt").read_text().splitlines()
    excerpt = directory / "gradescope-lecture.whisper.txt"
    excerpt.write_text("\n".join(lines[:LECTURE_LINES]) + "\n")
    with Library.open(Settings(library_dir=directory / "library")) as lib:
        assert not lib.ingest([str(excerpt)]).failed
        yield lib


def test_bundled_model_streams_an_answer_whose_sentences_cite_timed_moments(lecture: Library) -> None:
    events = list(lecture.ask_stream("What is Gradescope?", AskOptions(generator="llama-cpp", limit=2)))
    assert isinstance(events[0], MomentsFound) and isinstance(events[-1], AnswerDone)
    tokens = [e for e in events if isinstance(e, AnswerToken)]
    assert len(tokens) > 5  # streamed token by token, not in one piece
    answer = events[-1].answer
    # "+ extractive" when quotes from the moments stand in for sentences that failed the check
    assert answer.generator.startswith("llama.cpp/qwen2.5-coder-0.5b-instruct-q4_k_m")
    quoted = any(s.origin == "extracted" for s in answer.sentences)
    assert answer.generator.endswith(" + extractive") == quoted
    assert answer.answered, (answer.text, answer.dropped)
    by_number = {c.number: c.hit for c in answer.citations}
    for sentence in answer.sentences:
        assert sentence.citations and sentence.supported and sentence.support >= 0.5
        for number in sentence.citations:
            hit = by_number[number]
            assert hit.moment is not None and hit.window.start is not None and hit.window.end is not None
            assert hit.window.start <= hit.moment <= hit.window.end
            assert hit.url.endswith(f"#t={int(hit.moment)}")
    assert any("gradescope" in s.text.lower() for s in answer.sentences)


def test_a_question_about_something_else_is_not_answered(lecture: Library) -> None:
    answer = lecture.ask("How do I bake banana bread with walnuts?", AskOptions(generator="llama-cpp"))
    assert not answer.answered and answer.text == service.OFF_TOPIC
    assert answer.sentences == () and answer.generator == "none"


# Optional by design: the 1.5B model (1.1 GB) is not installed in CI, so the test is deselected by default
# (pyproject.toml: -m 'not optional_model'), never skipped there. `pytest -m optional_model` runs it.
@pytest.mark.optional_model
@pytest.mark.skipif(
    not QUALITY_INSTALLED,
    reason="the 1.5B model (1.1 GB, not in CI) is not installed: bash scripts/install.sh all,answer-quality",
)
def test_the_named_1_5b_model_is_joined_once_and_answers_with_cited_sentences(lecture: Library) -> None:
    joined = llama_cpp.bundled_model_path(model=llama_cpp.QUALITY_MODEL)
    assert joined.stat().st_size == 1_117_320_768  # parts 01..22, in order, nothing torn or left out
    with joined.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
    answer = lecture.ask("What is Gradescope?", AskOptions(generator="llama-cpp", model="qwen-1.5b", limit=2))
    assert answer.generator.startswith("llama.cpp/qwen2.5-coder-1.5b-instruct-q4_k_m")
    assert answer.answered, (answer.text, answer.dropped)
    assert any(s.origin == "generated" for s in answer.sentences), answer.dropped  # the model's own words
    for sentence in answer.sentences:
        assert sentence.citations and sentence.supported
    assert any("gradescope" in s.text.lower() for s in answer.sentences)
    assert llama_cpp.bundled_model_path(model=llama_cpp.QUALITY_MODEL).stat().st_mtime_ns == (
        joined.stat().st_mtime_ns
    )  # joined once: the second call reuses the file
