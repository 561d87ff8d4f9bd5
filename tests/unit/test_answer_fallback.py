"""The extractive fallback (answer/fallback.py): supported quotes stand in for generated sentences that fail
the support check or leave the question uncovered (hashing embedder, real checker and extractive reader)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from atlas.answer.base import AnswerRequest, Passage
from atlas.answer.citations import parse_answer, render_answer
from atlas.answer.extractive import ExtractiveGenerator
from atlas.answer.fallback import Mended, mend
from atlas.answer.support import SupportChecker
from atlas.models import Hit, Sentence, Video, Window
from tests.fake_plugins import HashingEmbedder

EMBEDDER = HashingEmbedder(256)  # wider than the default 64 so unrelated texts rarely collide


def passage(number: int, video_id: str, sentences: Sequence[str], *, first: int = 0) -> Passage:
    """A passage as packing builds it: timed sentences (indexes from ``first``) and a hit spanning them."""
    items = tuple(
        Sentence(first + i, text, 5.0 * (first + i), 5.0 * (first + i) + 4.5, 10 * (first + i))
        for i, text in enumerate(sentences)
    )
    video = Video(video_id, f"{video_id} title", f"/media/{video_id}.mp4", kind="media")
    window = Window(0, " ".join(sentences), items[0].start, items[-1].end, first, first + len(items) - 1)
    hit = Hit(video, window, items[0].start, sentences[0], f"file:///media/{video_id}.mp4#t=0", 1.0)
    return Passage(number, hit, items, EMBEDDER.embed(list(sentences)), relevance=0.5)


QUESTION = "How can we cut the GPU bill for running models?"
PASSAGES = (
    passage(1, "batching", ["Batching requests cut the GPU bill by a third.", "We rented four GPUs."]),
    passage(
        2, "audio", ["Pedalboard is a Python library for audio effects.", "Thanks so much for listening."]
    ),
    passage(
        3,
        "experts",
        ["It is a neural architecture made of experts.", "Running models on CPUs cut the GPU bill."],
    ),
)


def mended(
    text: str,
    question: str = QUESTION,
    given: Sequence[Passage] = PASSAGES,
    whole: Sequence[Passage] = PASSAGES,
) -> Mended:
    """``text`` as a model wrote it, checked against the ``given`` passages, then mended from ``whole``."""
    asked = request(question, given)
    report = SupportChecker(EMBEDDER, question, asked.question_vector, given).check(parse_answer(text))
    return mend(EMBEDDER, asked, report, whole)


def request(question: str, passages: Sequence[Passage]) -> AnswerRequest:
    return AnswerRequest(question, EMBEDDER.embed_query(question), tuple(passages), (), max_tokens=256)


def shown(result: Mended) -> list[tuple[str, tuple[int, ...], str]]:
    return [(s.text, s.citations, s.origin) for s in result.sentences]


def test_a_supported_answer_that_covers_the_question_is_left_alone() -> None:
    # Without the batching passage, the extract has nothing the model's sentence does not already say.
    rest = (replace(PASSAGES[1], number=1), replace(PASSAGES[2], number=2))
    result = mended("Running models on CPUs cut the GPU bill [2].", given=rest, whole=rest)
    assert shown(result) == [("Running models on CPUs cut the GPU bill.", (2,), "generated")]
    assert result.dropped == () and result.extra == () and result.extracted == 0


def test_what_the_extract_tells_beyond_a_supported_answer_follows_it() -> None:
    # The model's one sentence verifies and mentions every word of the question, yet the extract also has the
    # batching figure: an answer never tells less than the extract, so it follows as its own paragraph.
    result = mended("Running models on CPUs cut the GPU bill [3].", question="What cut the GPU bill?")
    assert shown(result) == [
        ("Running models on CPUs cut the GPU bill.", (3,), "generated"),
        ("Batching requests cut the GPU bill by a third.", (1,), "extracted"),
    ]
    assert result.dropped == () and 1 in result.paragraph_starts


def test_when_every_generated_sentence_fails_the_extract_is_the_answer() -> None:
    lie = "Tulip bulbs from Mars halved the GPU bill in 1887 [1]."
    result = mended(lie)
    assert result.dropped == (lie,)
    assert result.sentences and all(s.origin == "extracted" and s.supported for s in result.sentences)
    extract = "".join(ExtractiveGenerator().stream(request(QUESTION, PASSAGES)))
    assert (
        render_answer(result.sentences) == extract.strip()
    )  # never worse than extractive: it is the extract
    for sentence in result.sentences:  # each quote cites the passage that says it
        (number,) = sentence.citations
        assert sentence.text.rstrip(".") in PASSAGES[number - 1].text
    assert result.focus > 0.3


def test_a_dropped_sentence_is_replaced_where_it_stood_by_the_quote_it_garbled() -> None:
    result = mended(
        "Batching requests cut the GPU bill by 90 percent [1]. Running models on CPUs cut the GPU bill [3]."
    )
    assert result.dropped == ("Batching requests cut the GPU bill by 90 percent [1].",)
    assert shown(result)[:2] == [
        ("Batching requests cut the GPU bill by a third.", (1,), "extracted"),  # in the lie's place
        ("Running models on CPUs cut the GPU bill.", (3,), "generated"),
    ]


def test_a_quote_that_repeats_a_kept_sentence_is_not_added() -> None:
    kept = "Running models on CPUs cut the GPU bill [3]."
    result = mended(f"{kept} Running models on CPUs cut the GPU bill by 75 percent [3].")
    assert len(result.dropped) == 1
    assert [text for text, _, _ in shown(result)].count("Running models on CPUs cut the GPU bill.") == 1


def test_question_words_no_kept_sentence_mentions_are_covered_by_a_quote() -> None:
    question = "Who rented four GPUs?"
    result = mended("We rented four GPUs [1].", question=question)
    assert shown(result) == [("We rented four GPUs.", (1,), "generated")]  # covered: nothing to add
    result = mended(
        "Batching requests cut the GPU bill by a third [1].",
        question="Did batching requests or renting four GPUs cut the bill?",
    )
    texts = [(text, origin) for text, _, origin in shown(result)]
    assert texts[0] == ("Batching requests cut the GPU bill by a third.", "generated")
    assert ("We rented four GPUs.", "extracted") in texts
    assert 1 in result.paragraph_starts  # what the model did not say comes as its own paragraph


def test_a_quote_the_model_had_no_room_for_cites_a_new_moment_after_its_own() -> None:
    trimmed = (passage(1, "batching", ["Batching requests cut the GPU bill by a third."]),)
    result = mended(
        "Renting GPUs in 1887 cost 40 francs [1].", question="Did they rent four GPUs?", given=trimmed
    )
    assert ("We rented four GPUs.", (2,), "extracted") in shown(result)
    (extra,) = result.extra
    assert extra.number == 2 and "We rented four GPUs." in extra.text


def test_nothing_is_shown_when_no_moment_supports_an_answer() -> None:
    unrelated = (passage(1, "garden", ["Water tomato plants early in the morning."]),)
    result = mended("The GPU bill fell by 40 percent [1].", given=unrelated, whole=unrelated)
    assert result.sentences == () and result.dropped == ("The GPU bill fell by 40 percent [1].",)


def test_an_extract_stating_a_figure_the_answer_lacks_is_not_a_repeat() -> None:
    # Worded alike (hashing cosine over REPEAT_COSINE, as MiniLM scores the real pair), yet the extract's 71 %
    # is a fact the model's sentence does not state: it follows. The model's own figure is not told twice.
    survey = passage(
        1,
        "survey",
        [
            "In the survey 78 % of people say that they hear boring ads every single week.",
            "In the survey 71 % of people say that they want funny ads every single week.",
        ],
    )
    result = mended(
        "In the survey 78 % of people say that they hear boring ads every single week [1].",
        question="What share of people hear boring ads, and what share want funny ads?",
        given=(survey,),
        whole=(survey,),
    )
    texts = [text for text, _, _ in shown(result)]
    assert sum("71 %" in t for t in texts) == 1 and sum("78 %" in t for t in texts) == 1, texts
