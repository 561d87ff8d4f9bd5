"""The support checker: generated sentences against the passages they cite (hashing embedder)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from atlas.answer.base import Passage
from atlas.answer.citations import DraftSentence, parse_answer
from atlas.answer.support import SupportChecker, names_in
from atlas.models import Hit, Sentence, Video, Window
from tests.fake_plugins import HashingEmbedder

EMBEDDER = HashingEmbedder(256)  # wider than the default 64 so unrelated texts rarely collide


def passage(number: int, sentences: Sequence[str], *, start: float = 0.0, video_id: str = "talk") -> Passage:
    """A passage as packing builds it: timed sentences with their embeddings, and a hit spanning them."""
    items = tuple(
        Sentence(i, text, start + 5 * i, start + 5 * i + 4.5, 10 * i) for i, text in enumerate(sentences)
    )
    video = Video(video_id, f"{video_id} title", f"/media/{video_id}.mp4", kind="media")
    window = Window(0, " ".join(sentences), items[0].start, items[-1].end, 0, len(items) - 1)
    hit = Hit(video, window, start, sentences[0], f"file:///media/{video_id}.mp4#t={int(start)}", 1.0)
    return Passage(number, hit, items, EMBEDDER.embed(list(sentences)), relevance=0.5)


QUESTION = "How can we cut the GPU bill for running models?"
PASSAGES = (
    passage(1, ["Batching requests cut the GPU bill by a third.", "We rented four GPUs for the models."]),
    passage(2, ["Pedalboard is a Python library for audio effects.", "Thanks so much for listening."]),
    passage(3, ["It is a neural architecture made of experts.", "Running models on CPUs cut the GPU bill."]),
)


def check(text: str, passages: Sequence[Passage] = PASSAGES, question: str = QUESTION) -> SupportChecker:
    return SupportChecker(EMBEDDER, question, EMBEDDER.embed_query(question), passages)


def kept_and_dropped(
    text: str, question: str = QUESTION
) -> tuple[list[tuple[str, tuple[int, ...]]], list[str]]:
    report = check(text, question=question).check(parse_answer(text))
    return [(s.text, s.citations) for s in report.kept], list(report.dropped)


def test_a_faithful_sentence_is_kept_with_its_citation() -> None:
    kept, dropped = kept_and_dropped("Batching requests cut the GPU bill by a third [1].")
    assert kept == [("Batching requests cut the GPU bill by a third.", (1,))] and dropped == []


def test_support_is_high_for_a_copy_and_low_for_an_unrelated_claim() -> None:
    checker = check("")
    copy = "Running models on CPUs cut the GPU bill."
    unrelated = "Bill the models for the spring tulip bulbs in the garden."
    copy_score = checker.score(copy, EMBEDDER.embed([copy])[0], (3,))
    unrelated_score = checker.score(unrelated, EMBEDDER.embed([unrelated])[0], (3,))
    assert copy_score > 0.9 and unrelated_score < 0.5


def test_an_unsupported_claim_is_dropped_and_reported() -> None:
    kept, dropped = kept_and_dropped("Spring tulip bulbs lower the GPU bill [1].")
    assert kept == [] and dropped == ["Spring tulip bulbs lower the GPU bill [1]."]


def test_a_citation_to_a_moment_that_was_never_given_is_dropped() -> None:
    kept, dropped = kept_and_dropped("Batching requests cut the GPU bill by a third [7].")
    assert kept == [] and dropped == ["Batching requests cut the GPU bill by a third [7]."]


def test_one_bad_number_among_good_ones_drops_the_sentence() -> None:
    kept, _ = kept_and_dropped("Batching requests cut the GPU bill by a third [1][9].")
    assert kept == []


def test_an_invented_figure_vetoes_an_otherwise_supported_sentence() -> None:
    kept, _ = kept_and_dropped("Batching requests cut the GPU bill by 50 percent [1].")
    assert kept == []


def test_numbers_spelled_out_in_the_transcript_support_numerals() -> None:
    kept, _ = kept_and_dropped("We rented 4 GPUs for the models [1].")
    assert kept == [("We rented 4 GPUs for the models.", (1,))]


def test_a_swapped_in_name_is_caught() -> None:
    question = "What is Pedalboard?"
    kept, dropped = kept_and_dropped("Pedalboard is a neural architecture made of experts [3].", question)
    assert kept == [] and len(dropped) == 1
    kept, _ = kept_and_dropped("Pedalboard is a Python library for audio effects [2].", question)
    assert kept == [("Pedalboard is a Python library for audio effects.", (2,))]


def test_a_name_the_transcript_writes_apart_is_said() -> None:
    # Whisper writes the podcast company Audioboom as "Audio Boom"; a model that spells it as the question
    # does says what the moment says, while a name the moment never says, apart or together, still vetoes.
    question = "What does Audioboom report?"
    heard = passage(1, ["This quarter Audio Boom reports a higher revenue per thousand downloads."])
    said = "This quarter Audioboom reports a higher revenue per thousand downloads [1]."
    report = check(said, (heard,), question).check(parse_answer(said))
    assert [(s.text, s.citations) for s in report.kept] == [(said.replace(" [1]", ""), (1,))]
    swapped = "This quarter Acast reports a higher revenue per thousand downloads [1]."
    assert check(swapped, (heard,), question).check(parse_answer(swapped)).kept == ()


def test_names_are_words_capitalised_inside_a_sentence() -> None:
    assert names_in(["We use Pedalboard and GPUs daily. Python is fine.", "ask about Turnitin"]) == {
        "pedalboard",
        "gpu",
        "turnitin",
    }


def test_an_uncited_sentence_cites_the_passage_that_supports_it() -> None:
    kept, _ = kept_and_dropped("Running models on CPUs cut the GPU bill.")
    assert kept == [("Running models on CPUs cut the GPU bill.", (3,))]


def test_a_copied_sentence_with_the_wrong_number_cites_the_passage_it_came_from() -> None:
    # The bundled model quoted passage 3 word for word and numbered it [1]: grounded, mis-attributed.
    kept, dropped = kept_and_dropped("Running models on CPUs cut the GPU bill [1].")
    assert kept == [("Running models on CPUs cut the GPU bill.", (3,))] and dropped == []


def test_a_wrong_number_is_not_repaired_for_an_unsupported_claim() -> None:
    kept, dropped = kept_and_dropped("Spring tulip bulbs on CPUs lower the GPU bill [2].")
    assert kept == [] and dropped == ["Spring tulip bulbs on CPUs lower the GPU bill [2]."]


def test_a_true_sentence_that_does_not_touch_the_question_is_dropped() -> None:
    kept, dropped = kept_and_dropped("Thanks so much for listening [2].")
    assert kept == [] and dropped == ["Thanks so much for listening [2]."]


def test_report_keeps_paragraphs_and_measures_focus() -> None:
    text = (
        "Batching requests cut the GPU bill by a third [1].\n\nRunning models on CPUs cut the GPU bill [3]."
    )
    report = check(text).check(parse_answer(text))
    assert [s.citations for s in report.kept] == [(1,), (3,)]
    assert report.paragraph_starts == {1}
    assert all(s.supported and 0.5 <= s.support <= 1.0 for s in report.kept)
    assert report.focus == pytest.approx(
        max(float(v @ EMBEDDER.embed_query(QUESTION)) for v in EMBEDDER.embed([s.text for s in report.kept]))
    )


def test_nothing_to_check_gives_an_empty_report() -> None:
    report = check("").check([])
    assert report.kept == () and report.dropped == () and report.focus == -1.0
    lone = check("").check([DraftSentence("Batching requests cut the GPU bill by a third.", ())])
    assert [s.citations for s in lone.kept] == [(1,)]


def test_a_question_in_an_answer_asserts_nothing() -> None:
    kept, dropped = kept_and_dropped("Can batching requests cut the GPU bill by a third [1]?")
    assert kept == [] and dropped == ["Can batching requests cut the GPU bill by a third [1]?"]


def test_a_copied_sentence_that_its_wrong_number_also_backs_cites_where_it_came_from() -> None:
    # Passage 1 backs the copy well enough to pass (0.73), but it was lifted word for word from passage 2
    # (1.0): a reader who follows [1] lands in the wrong talk.
    question = "Is it cheaper to rent GPUs in the cloud or to build your own machine?"
    passages = (
        passage(1, ["Renting GPUs in the cloud costs more than your own machine when you train big models."]),
        passage(
            2,
            ["Building your own GPU machine costs less than renting GPUs in the cloud."],
            video_id="lecture",
        ),
    )
    checker = SupportChecker(EMBEDDER, question, EMBEDDER.embed_query(question), passages)
    copied = "Building your own GPU machine costs less than renting GPUs in the cloud."
    assert checker.score(copied, EMBEDDER.embed([copied])[0], (1,)) >= 0.5  # supported as cited...
    report = checker.check(parse_answer(f"{copied[:-1]} [1]."))
    assert [(s.text, s.citations) for s in report.kept] == [(copied, (2,))]  # ...and cited where it came from
