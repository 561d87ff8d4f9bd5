"""Question-shaped retrieval, the deterministic pieces: cutting a question into its parts, what each part is
searched with, merging the parts' hits in turn, and packing a passage by its sentence evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from atlas.answer.base import AnswerRequest, Query
from atlas.answer.extractive import extract
from atlas.answer.packing import evidence
from atlas.answer.parts import MAX_PARTS, search_text, split_question
from atlas.answer.service import _in_turn
from atlas.models import Hit
from tests.unit.test_answer_support import EMBEDDER, passage


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "What is MobileNet, and how much does the detector cost per day?",
            ("What is MobileNet", "how much does the detector cost per day?"),
        ),
        ("What is X? How big is it?", ("What is X?", "How big is it?")),
        ("Who made MobileNet; when was it released?", ("Who made MobileNet", "when was it released?")),
        (
            "What does Podping do and also who runs the Podcast Index?",
            ("What does Podping do", "who runs the Podcast Index?"),
        ),
        (
            "How many times were the podcasts downloaded, and across how many countries?",
            ("How many times were the podcasts downloaded", "across how many countries?"),
        ),
    ],
)
def test_a_question_of_several_parts_is_cut_at_its_conjunctions(
    question: str, parts: tuple[str, ...]
) -> None:
    assert split_question(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "What is a mixture of experts?",
        "Which podcasts came third and fourth in the ranking?",  # a list inside one question
        "What are the pros and cons of spot instances?",
        "Is it cheaper to build your own GPU machine or to use the cloud?",
        "What is it, and why?",  # "why" alone is too little to search: it stays with its part
    ],
)
def test_a_question_that_asks_one_thing_stays_whole(question: str) -> None:
    assert split_question(question) == (question,)


def test_whitespace_is_normalised_and_the_parts_are_capped() -> None:
    question = "What is A?  What is B?\nWhat is C? What is D? What is E?"
    parts = split_question(question)
    assert len(parts) == MAX_PARTS
    assert parts[:3] == ("What is A?", "What is B?", "What is C?")
    assert parts[-1] == "What is D? What is E?"


def test_a_later_part_that_leans_on_the_first_carries_its_subject() -> None:
    parts = split_question("What is the Podcast Index, and how many podcasts does it list?")
    assert search_text(parts, 0) == "What is the Podcast Index"
    assert search_text(parts, 1) == "how many podcasts does it list? (podcast index)"
    parts = split_question("What does Podping do, and who runs the Podcast Index?")
    assert search_text(parts, 1) == "who runs the Podcast Index?"  # names its own subject: searched as is
    parts = split_question("How many times were the podcasts downloaded, and across how many countries?")
    assert search_text(parts, 1) == "across how many countries? (times podcasts downloaded)"


def _hits(video_id: str, windows: Sequence[int]) -> list[Hit]:
    """Hits on distinct stored windows (a store's window index is the key the merge de-duplicates by)."""
    hits = []
    for w in windows:
        hit = passage(1, [f"window {w} of {video_id}"], video_id=video_id, start=float(w)).hit
        hits.append(replace(hit, window=replace(hit.window, index=w)))
    return hits


def test_hits_of_the_parts_are_merged_in_turn_each_window_once() -> None:
    first = _hits("a", [0, 1, 2])
    second = _hits("b", [5, 6])
    merged = _in_turn([first, [second[0], first[1], second[1]]])
    assert merged == [first[0], second[0], first[1], first[2], second[1]]


QUESTION = "How much does the detector cost per day?"
WINDOW = [
    "Welcome back to the show everyone, it is great to see you all here today.",
    "My cat likes to sleep on the warm laptop all afternoon long in the sun.",
    "The weather in the mountains was lovely during the whole retreat week there.",
    "Running the detector on every frame would cost a quarter million dollars per day.",
    "That is far more than the hundred dollar budget we were given for it.",
    "Audio codecs compress speech well below sixty four kilobits a second now.",
    "Anyway the garden needs watering twice a week in the hot summer months.",
]


def _query(text: str) -> Query:
    return Query(text, EMBEDDER.embed_query(text))


def test_a_passage_is_cut_to_the_sentences_that_answer_with_a_neighbour() -> None:
    whole = passage(1, WINDOW, start=100.0)
    cut = evidence(whole, [_query(QUESTION)])
    texts = [s.text for s in cut.sentences]
    assert WINDOW[3] in texts  # the evidence
    assert texts == WINDOW[2:5] or texts == WINDOW[2:6]  # with one neighbour each side, nothing far off
    # the citation spans exactly what is read, and is pinned inside it
    assert cut.hit.window.first_sentence == cut.sentences[0].index
    assert cut.hit.window.last_sentence == cut.sentences[-1].index
    assert cut.hit.window.text == " ".join(texts)
    assert cut.hit.window.start <= (cut.hit.moment or 0.0) <= (cut.hit.window.end or 0.0)
    assert cut.hit.position in {s.position for s in cut.sentences}
    assert cut.hit.url.endswith(f"#t={int(cut.hit.moment or 0)}")


def test_each_part_keeps_its_own_evidence_in_one_window() -> None:
    window = [
        *WINDOW[:4],
        *WINDOW[5:6],
        WINDOW[1],
        WINDOW[2],
        "MobileNet is an efficient network Google released.",
    ]
    whole = passage(1, window)
    cut = evidence(whole, [_query("What is MobileNet?"), _query(QUESTION)])
    texts = " ".join(s.text for s in cut.sentences)
    assert "MobileNet" in texts


def test_a_short_passage_is_read_whole() -> None:
    short = passage(1, WINDOW[2:5])
    assert evidence(short, [_query(QUESTION)]) is short


def test_the_extract_answers_every_part() -> None:
    cost = passage(1, WINDOW)
    mobilenet = passage(
        2,
        [
            "MobileNet is an efficient network that Google released in 2017 for phones.",
            "Thanks so much for listening to the whole show this week everyone.",
        ],
        video_id="other",
    )
    question = "How much does the detector cost per day, and what is MobileNet?"
    parts = tuple(_query(p) for p in split_question(question))
    request = AnswerRequest(
        question, EMBEDDER.embed_query(question), (cost, mobilenet), (), max_tokens=200, parts=parts
    )
    told = {s.text for _, s in extract(request)}
    assert WINDOW[3] in told
    assert mobilenet.sentences[0].text in told
