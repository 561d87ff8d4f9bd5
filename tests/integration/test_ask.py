"""Library.ask / ask_stream end to end on real transcripts (real SQLite, hashing embedder, extractive and
failing generators)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.answer import service
from atlas.embedding.base import Embedder
from atlas.errors import UserInputError
from atlas.index.base import Vectors
from atlas.library import Library
from atlas.models import AnswerDone, AnswerToken, AskOptions, Hit, MomentsFound, SearchFilters, Sentence
from tests.conftest import SAMPLES

WHISPER = SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt"
PLAIN = SAMPLES / "normconf-ml-cost-talk.txt"
QUESTION = "What is Gradescope, the automated grading platform?"


@pytest.fixture
def lib(fake_library: Library) -> Library:
    report = fake_library.ingest([str(WHISPER), str(PLAIN)])
    assert not report.failed
    return fake_library


def test_every_sentence_cites_a_timed_moment_with_a_link(lib: Library) -> None:
    # Only the timed talk: which of two talks the hashing embedder's ranking favours is noise, not behaviour.
    timed = SearchFilters(video_ids=("berkeley-ai-rubric-lecture",))
    answer = lib.ask(QUESTION, AskOptions(generator="extractive", filters=timed))
    assert answer.answered and answer.generator == "extractive" and answer.dropped == ()
    assert answer.sentences and all(s.citations and s.supported for s in answer.sentences)
    by_number = {c.number: c.hit for c in answer.citations}
    assert sorted(by_number) == list(range(1, len(answer.citations) + 1))
    for sentence in answer.sentences:
        for number in sentence.citations:
            hit = by_number[number]
            assert hit.video.video_id == "berkeley-ai-rubric-lecture"  # the timed transcript
            assert hit.window.start is not None and hit.window.end is not None and hit.moment is not None
            assert hit.window.start <= hit.moment <= hit.window.end
            assert hit.url == f"{WHISPER.as_uri()}#t={int(hit.moment)}"
            assert sentence.text.rstrip(".").lower() in hit.window.text.lower()
    assert "Gradescope is sort of an automated grading platform" in answer.text
    assert f"[{answer.sentences[0].citations[0]}]" in answer.text


def test_the_json_contract(lib: Library) -> None:
    payload = lib.ask(QUESTION, AskOptions(generator="extractive")).to_json()
    assert set(payload) == {
        "question",
        "answer",
        "answered",
        "generator",
        "sentences",
        "citations",
        "dropped",
    }
    # "origin" was added by the extractive fallback; the keys before it stay
    assert set(payload["sentences"][0]) == {"text", "citations", "supported", "support", "origin"}
    assert {s["origin"] for s in payload["sentences"]} == {"extracted"}  # quoted, not generated
    citation = payload["citations"][0]
    assert {"number", "video_id", "title", "moment", "url", "start", "end", "snippet"} <= set(citation)


def test_stream_order_moments_then_tokens_then_the_checked_answer(lib: Library) -> None:
    events = list(lib.ask_stream(QUESTION, AskOptions(generator="extractive", limit=3)))
    assert isinstance(events[0], MomentsFound) and isinstance(events[-1], AnswerDone)
    tokens = events[1:-1]
    assert tokens and all(isinstance(e, AnswerToken) for e in tokens)
    answer = events[-1].answer
    assert answer.citations == events[0].citations and len(answer.citations) <= 3
    streamed = "".join(e.text for e in tokens if isinstance(e, AnswerToken))
    assert " ".join(streamed.split()) == answer.text  # nothing dropped: the extract is what was streamed


def test_an_empty_library_has_no_moments(fake_library: Library) -> None:
    events = list(fake_library.ask_stream(QUESTION, AskOptions(generator="extractive")))
    assert [type(e) for e in events] == [MomentsFound, AnswerDone]
    answer = events[-1].answer  # type: ignore[union-attr]
    assert not answer.answered and answer.text == service.NO_MOMENTS and answer.citations == ()


def test_filters_restrict_the_moments(lib: Library) -> None:
    answer = lib.ask(
        "how can we save money on GPUs",
        AskOptions(generator="extractive", filters=SearchFilters(video_ids=("normconf-ml-cost-talk",))),
    )
    assert answer.citations and {c.hit.video.video_id for c in answer.citations} == {"normconf-ml-cost-talk"}
    assert all(c.hit.moment is None and "#t=" not in c.hit.url for c in answer.citations)  # untimed, said so


@pytest.mark.parametrize(
    ("question", "options", "message"),
    [
        ("", {}, "the question is empty"),
        ("   \n ", {}, "the question is empty"),
        ("why " * 300, {}, "characters long"),
        (QUESTION, {"limit": 0}, "limit 0 is out of range"),
        (QUESTION, {"generator": "gpt-17", "fallback": True}, "unknown generator 'gpt-17'"),
    ],
)
def test_bad_input_is_refused_with_one_line(
    lib: Library, question: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UserInputError, match=message) as info:
        lib.ask(question, AskOptions(**options))  # type: ignore[arg-type]
    assert "\n" not in info.value.one_line() and info.value.hint


def test_a_missing_model_file_fails_unless_fallback(lib: Library, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.gguf")
    with pytest.raises(UserInputError, match="does not exist"):
        lib.ask(QUESTION, AskOptions(generator="llama-cpp", model=missing))
    answer = lib.ask(QUESTION, AskOptions(generator="llama-cpp", model=missing, fallback=True))
    assert answer.answered and answer.generator.startswith("extractive (fallback: llama-cpp failed")
    assert "does not exist" in answer.generator


def test_stream_refuses_bad_input_before_the_first_event(lib: Library) -> None:
    with pytest.raises(UserInputError, match="the question is empty"):
        lib.ask_stream("  ")  # no iteration needed: an HTTP face can answer 400 before streaming
    with pytest.raises(UserInputError, match="unknown generator"):
        lib.ask_stream(QUESTION, AskOptions(generator="gpt-17"))


class OnlyWhatAnsweringNeeds:
    """A retriever that is not a Library: search, the embedder and stored sentences, nothing else."""

    def __init__(self, lib: Library) -> None:
        self._lib = lib
        self.searched: list[str] = []

    @property
    def embedder(self) -> Embedder:
        return self._lib.embedder

    def search(
        self, query: str, *, limit: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        self.searched.append(query)
        return self._lib.search(query, limit=limit, filters=filters)

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vectors]:
        return self._lib.index.sentences(video_id, first, last)


def test_the_answer_service_needs_only_a_retriever_and_gives_what_the_library_gives(lib: Library) -> None:
    options = AskOptions(generator="extractive")
    retriever = OnlyWhatAnsweringNeeds(lib)
    answer = service.ask(retriever, lib.settings.answer, QUESTION, options)
    assert retriever.searched == [QUESTION]
    assert answer == lib.ask(QUESTION, options)
