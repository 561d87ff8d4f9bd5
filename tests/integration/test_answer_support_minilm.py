"""The support checker and the extractive fallback with the bundled all-MiniLM-L6-v2 (the thresholds in
support.py and fallback.py were calibrated on its cosines; the unit tests use the hashing embedder)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from atlas.answer.base import AnswerRequest, Passage
from atlas.answer.citations import parse_answer
from atlas.answer.extractive import extract
from atlas.answer.fallback import mend
from atlas.answer.packing import on_question
from atlas.answer.support import SupportChecker, SupportReport
from atlas.embedding.base import Embedder
from atlas.embedding.registry import create_embedder
from atlas.models import Hit, Sentence, Video, Window

pytestmark = pytest.mark.real_model

# Lines of the sample talks, as the speakers said them.
GRADESCOPE = (
    "Gradescope is sort of an automated grading platform.",
    "I first encountered it when I was in my first semester at Berkeley teaching a calculus class.",
    "Gradescope was kind of a lifesaver in that setting.",
)
PEDALBOARD = (
    "You may have seen one of the packages that I work on called Pedalboard for doing nice stuff with audio.",
    "Today I'm focusing on how I apply engineering principles to data science and machine learning.",
    "Thanks so much for listening.",
)
QUESTION = "What is Gradescope and where did the speaker first use it?"


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return create_embedder("all-MiniLM-L6-v2")


def passage(embedder: Embedder, number: int, video_id: str, sentences: Sequence[str]) -> Passage:
    items = tuple(Sentence(i, text, 5.0 * i, 5.0 * i + 4.5, 10 * i) for i, text in enumerate(sentences))
    video = Video(video_id, f"{video_id} title", f"/media/{video_id}.mp4", kind="media")
    window = Window(0, " ".join(sentences), 0.0, items[-1].end, 0, len(items) - 1)
    hit = Hit(video, window, 0.0, sentences[0], f"file:///media/{video_id}.mp4#t=0", 1.0)
    return Passage(number, hit, items, embedder.embed(list(sentences)), relevance=0.5)


@pytest.fixture(scope="module")
def passages(minilm: Embedder) -> tuple[Passage, ...]:
    return passage(minilm, 1, "lecture", GRADESCOPE), passage(minilm, 2, "cost-talk", PEDALBOARD)


def checked(minilm: Embedder, passages: Sequence[Passage], text: str) -> SupportReport:
    checker = SupportChecker(minilm, QUESTION, minilm.embed_query(QUESTION), passages)
    return checker.check(parse_answer(text))


def test_a_faithful_paraphrase_is_kept(minilm: Embedder, passages: tuple[Passage, ...]) -> None:
    report = checked(minilm, passages, "Gradescope is an automated grading platform [1].")
    (sentence,) = report.kept
    assert sentence.citations == (1,) and sentence.support >= 0.5 and report.dropped == ()
    assert report.focus >= 0.3  # it addresses the question


@pytest.mark.parametrize(
    "lie",
    [
        "Gradescope was founded in 1998 as an automated grading platform [1].",  # an invented figure
        "Pedalboard is an automated grading platform [1].",  # a swapped subject
        "Gradescope helps farmers forecast the weather [1].",  # meaning the moment does not hold
        pytest.param(
            "Gradescope is a platform for baking bread at home [1].",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: the named subject and 'platform' carry it to support 0.61 with MiniLM",
            ),
        ),
        "Thanks so much for listening [2].",  # true to its moment, but answers nothing
    ],
)
def test_what_the_moments_do_not_back_is_dropped(
    minilm: Embedder, passages: tuple[Passage, ...], lie: str
) -> None:
    report = checked(minilm, passages, lie)
    assert report.kept == () and report.dropped == (lie,)


def test_a_misnumbered_quote_is_recited_to_the_moment_that_says_it(
    minilm: Embedder, passages: tuple[Passage, ...]
) -> None:
    report = checked(minilm, passages, "Gradescope was kind of a lifesaver in that setting [2].")
    (sentence,) = report.kept
    assert sentence.citations == (1,)


def test_a_garbled_sentence_is_replaced_by_the_line_it_garbled(
    minilm: Embedder, passages: tuple[Passage, ...]
) -> None:
    text = (
        "Gradescope is sort of an automated grading platform [1]. "
        "The speaker first used it at Stanford in 2009 teaching a calculus class [1]."
    )
    vector = minilm.embed_query(QUESTION)
    report = checked(minilm, passages, text)
    assert len(report.kept) == 1 and len(report.dropped) == 1
    result = mend(minilm, AnswerRequest(QUESTION, vector, passages, (), 256), report, passages)
    texts = [(s.text, s.origin) for s in result.sentences]
    assert texts[:2] == [
        ("Gradescope is sort of an automated grading platform.", "generated"),
        (GRADESCOPE[1], "extracted"),  # where the lie stood
    ]
    assert all(s.supported for s in result.sentences) and result.focus >= 0.3


def test_the_extract_tells_the_line_after_the_best_match_but_not_an_off_topic_one(minilm: Embedder) -> None:
    # Speakers restate a question before they answer it: the figure is in the sentence that follows the one
    # that matches the question best, while a stray remark after a matching line is left out.
    question = "How much would it cost to run the object detector on every frame?"
    talk = (
        "The naive plan is to run the object detector on every single frame of every video call.",
        "And that means our total daily compute cost is $248,275 per day.",
        "Now for something else entirely.",
        "Smaller models like MobileNet run the detector on every frame for less.",
        "My cat likes to sleep on the warm laptop all afternoon long.",
    )
    request = AnswerRequest(
        question, minilm.embed_query(question), (passage(minilm, 1, "talk", talk),), (), 200
    )
    told = [sentence.text for _, sentence in extract(request)]
    assert talk[1] in told
    assert talk[4] not in told and talk[2] not in told


def test_a_model_is_not_shown_the_lines_that_miss_the_question(minilm: Embedder) -> None:
    # on_question's floor is the checker's own: with MiniLM, a speaker's sign-off and a stray remark fall
    # under it for a question about Gradescope, the lines about Gradescope stay, and so does the pinned line.
    talk = passage(minilm, 1, "lecture", (*GRADESCOPE, "So good PR.", PEDALBOARD[2]))
    read = on_question(talk, [minilm.embed_query(QUESTION)])
    assert [s.text for s in read.sentences] == list(GRADESCOPE)
    pinned_on_sign_off = replace(talk, hit=replace(talk.hit, position=talk.sentences[-1].position))
    assert [s.text for s in on_question(pinned_on_sign_off, [minilm.embed_query(QUESTION)]).sentences] == [
        *GRADESCOPE,
        PEDALBOARD[2],
    ]
