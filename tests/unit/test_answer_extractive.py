"""The extractive generator: the passages' own best sentences, de-duplicated, cited, best first."""

from __future__ import annotations

from atlas.answer.base import AnswerRequest, Passage
from atlas.answer.citations import parse_answer
from atlas.answer.extractive import MAX_UNITS, ExtractiveGenerator
from atlas.answer.support import SupportChecker
from tests.unit.test_answer_support import EMBEDDER, passage

QUESTION = "How do spot instances lower the cloud bill?"


def answer(passages: tuple[Passage, ...], question: str = QUESTION) -> str:
    request = AnswerRequest(question, EMBEDDER.embed_query(question), passages, (), max_tokens=200)
    return "".join(ExtractiveGenerator().stream(request))


PASSAGES = (
    passage(
        1,
        [
            "Okay.",
            "Spot instances lower the cloud bill because they are spare capacity sold cheaply.",
            "My cat likes to sleep on the warm laptop all afternoon long.",
            "You can lose a spot instance at any time, so save checkpoints often for the cloud bill.",
        ],
    ),
    passage(
        2,
        [
            "The weather in the mountains was lovely during the whole retreat week.",
            "Spot instances lower the cloud bill because they are spare capacity sold cheaply.",
        ],
        video_id="copy",
    ),
    passage(3, ["Reserved instances lower the cloud bill for steady workloads that run all year."], start=90),
)


def test_it_quotes_the_sentences_that_answer_and_cites_each() -> None:
    text = answer(PASSAGES)
    drafts = parse_answer(text)
    assert [d.text for d in drafts] == [
        "Spot instances lower the cloud bill because they are spare capacity sold cheaply.",
        "You can lose a spot instance at any time, so save checkpoints often for the cloud bill.",
        "Reserved instances lower the cloud bill for steady workloads that run all year.",
    ]
    assert [d.citations for d in drafts] == [(1,), (1,), (3,)]


def test_a_sentence_said_twice_is_quoted_once() -> None:
    text = answer(PASSAGES)
    assert text.count("spare capacity sold cheaply") == 1
    assert "[2]" not in text


def test_off_topic_sentences_and_fillers_are_left_out() -> None:
    text = answer(PASSAGES)
    assert "cat" not in text and "weather" not in text and "Okay" not in text


def test_its_answers_pass_the_support_check_untouched() -> None:
    text = answer(PASSAGES)
    report = SupportChecker(EMBEDDER, QUESTION, EMBEDDER.embed_query(QUESTION), PASSAGES).check(
        parse_answer(text)
    )
    assert report.dropped == () and len(report.kept) == len(parse_answer(text))


def test_spoken_fragments_are_tidied_into_sentences() -> None:
    passages = (passage(1, ["so spot instances lower the cloud bill when you checkpoint often"]),)
    assert answer(passages) == "So spot instances lower the cloud bill when you checkpoint often [1]. "


def test_it_stops_at_a_handful_of_sentences() -> None:
    many = tuple(
        passage(i, [f"Spot instances lower the cloud bill in region {name} for batch jobs {name}."])
        for i, name in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"], start=1)
    )
    assert 1 <= len(parse_answer(answer(many))) <= MAX_UNITS


def test_no_passages_no_words() -> None:
    assert answer(()) == ""


def test_a_speaker_asking_the_question_is_not_an_answer() -> None:
    passages = (
        passage(
            1,
            [
                "So how do spot instances lower the cloud bill for us?",
                "Spot instances lower the cloud bill because spare capacity is sold cheaply.",
            ],
        ),
    )
    assert parse_answer(answer(passages))[0].text.startswith("Spot instances lower the cloud bill because")
    assert "?" not in answer(passages)


def test_the_line_that_answers_best_opens_the_answer() -> None:
    weaker = passage(1, ["Reserved instances lower the cloud bill for steady workloads that run all year."])
    best = passage(
        2, ["Spot instances lower the cloud bill because they are spare capacity sold cheaply."], start=300
    )
    drafts = parse_answer(answer((weaker, best)))
    assert [d.citations for d in drafts] == [(2,), (1,)]  # best first, not in the order of the passages
    assert drafts[0].text.startswith("Spot instances lower the cloud bill")
