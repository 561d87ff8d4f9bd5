"""Citation markers in generated text -> sentences with numbers, and checked sentences -> shown text."""

from __future__ import annotations

import pytest

from atlas.answer.citations import (
    DraftSentence,
    cite,
    loops,
    marker_numbers,
    parse_answer,
    render_answer,
    until_repeat,
)
from atlas.models import AnswerSentence


def _pairs(text: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(d.text, d.citations) for d in parse_answer(text)]


@pytest.mark.parametrize(
    ("body", "numbers"),
    [
        ("1", (1,)),
        ("1, 2", (1, 2)),
        ("2;3", (2, 3)),
        ("1-3", (1, 2, 3)),
        ("2–4", (2, 3, 4)),
        ("Excerpt 2", (2,)),
        ("excerpts 1 and 3", (1, 3)),
        ("laughs", None),
        ("Music", None),
        ("2023 edition", None),
    ],
)
def test_marker_bodies(body: str, numbers: tuple[int, ...] | None) -> None:
    assert marker_numbers(body) == numbers


def test_a_silly_range_is_two_numbers_not_three_hundred() -> None:
    assert marker_numbers("1-300") == (1, 300)


def test_every_marker_shape_attaches_to_its_sentence() -> None:
    text = (
        "Batching requests saves money [1]. Spot instances are cheaper [1, 2]. "
        "Smaller models help [2][3]. Process fewer frames [1-3]. Use CPUs [Excerpt 4]."
    )
    assert _pairs(text) == [
        ("Batching requests saves money.", (1,)),
        ("Spot instances are cheaper.", (1, 2)),
        ("Smaller models help.", (2, 3)),
        ("Process fewer frames.", (1, 2, 3)),
        ("Use CPUs.", (4,)),
    ]


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    assert _pairs("Batching saves money. [1] Spot instances are cheaper.[2] Done. [3][4]") == [
        ("Batching saves money.", (1,)),
        ("Spot instances are cheaper.", (2,)),
        ("Done.", (3, 4)),
    ]


def test_a_marker_alone_on_the_next_line_joins_the_sentence_before() -> None:
    assert _pairs("The model runs on a CPU.\n[2]") == [("The model runs on a CPU.", (2,))]


def test_lines_that_open_with_markers_cite_forward() -> None:
    text = "[1]. Fewer frames cut the bill. Batching helps too. [2] Spot instances are cheaper."
    assert _pairs(text) == [
        ("Fewer frames cut the bill.", (1,)),
        ("Batching helps too.", (1,)),
        ("Spot instances are cheaper.", (2,)),
    ]


def test_markdown_layout_is_dropped_but_paragraphs_are_kept() -> None:
    text = "Here is what the talk says:\n\n- **Batch** requests [1]\n- Use *smaller* models [2].\n\n"
    text += "## More\nEnd [3]."
    drafts = parse_answer(text)
    assert [(d.text, d.paragraph) for d in drafts] == [
        ("Here is what the talk says:", True),
        ("Batch requests", True),
        ("Use smaller models.", True),
        ("More", True),
        ("End.", False),
    ]


def test_a_trailing_sources_list_is_not_part_of_the_answer() -> None:
    text = 'Batching saves money [1].\n\nSources:\n[1] "Cost talk", 0:01:00'
    assert _pairs(text) == [("Batching saves money.", (1,))]


def test_echoed_excerpt_headers_are_removed() -> None:
    text = (
        '[1] "Cost talk", 0:04:50: Batching saves money. It really does.\nCost talk, untimed: Use CPUs [2].'
    )
    assert _pairs(text) == [
        ("Batching saves money.", (1,)),
        ("It really does.", (1,)),
        ("Use CPUs.", (2,)),
    ]


def test_abbreviations_lowercase_starts_and_plain_brackets_do_not_split() -> None:
    text = "Tools e.g. Pedalboard help [laughs] a lot [1]. The U.S. team agreed. it goes on [2]."
    assert _pairs(text) == [
        ("Tools e.g. Pedalboard help [laughs] a lot.", (1,)),
        ("The U.S. team agreed. it goes on.", (2,)),
    ]


def test_a_spoken_no_ends_a_sentence_but_no_before_a_number_does_not() -> None:
    # Small models copy a speaker's "No." from a transcript; it must not glue itself to the next claim.
    text = "It is crazy expensive in the cloud [2]. No. So yeah, build it yourself [2]. See No. 5 below [1]."
    assert _pairs(text) == [
        ("It is crazy expensive in the cloud.", (2,)),
        ("No.", ()),
        ("So yeah, build it yourself.", (2,)),
        ("See No. 5 below.", (1,)),
    ]


def test_repeated_numbers_are_kept_once_in_written_order() -> None:
    assert _pairs("Cheaper [3][1][3].") == [("Cheaper.", (3, 1))]


def test_cite_places_markers_before_the_final_punctuation() -> None:
    assert cite("Batching saves money.", (2, 3)) == "Batching saves money [2][3]."
    assert cite("Is it cheaper?", (1,)) == "Is it cheaper [1]?"
    assert cite("no punctuation", (4,)) == "no punctuation [4]"
    assert cite("Uncited.", ()) == "Uncited."


def test_render_round_trips_through_the_parser() -> None:
    sentences = (
        AnswerSentence("Batching saves money.", (1,), True, 0.9),
        AnswerSentence("Spot instances are cheaper.", (2, 3), True, 0.8),
        AnswerSentence("Smaller models help.", (1,), True, 0.7),
    )
    text = render_answer(sentences, paragraph_starts={2})
    assert text == "Batching saves money [1]. Spot instances are cheaper [2][3].\n\nSmaller models help [1]."
    assert parse_answer(text) == [
        DraftSentence("Batching saves money.", (1,), True),
        DraftSentence("Spot instances are cheaper.", (2, 3), False),
        DraftSentence("Smaller models help.", (1,), True),
    ]


def test_until_repeat_keeps_what_comes_before_the_first_word_for_word_repeat() -> None:
    drafts = parse_answer("A costs 3 dollars [1]. B is fast [2]. A costs 3 dollars! [2] C is new [3].")
    assert [d.text for d in until_repeat(drafts)] == ["A costs 3 dollars.", "B is fast."]
    different = parse_answer("A costs 3 dollars [1]. A costs 4 dollars [1].")
    assert until_repeat(different) == different
    remarks = parse_answer("Right. Spot instances are cheap [1]. Right. They can vanish at any time [1].")
    assert until_repeat(remarks) == remarks  # a short remark said twice is copied speech, not a loop


@pytest.mark.parametrize(
    ("draft", "looping"),
    [
        ("Podping notifies podcast apps [1]. Podping notifies", False),  # the repeat may still grow
        ("Podping notifies podcast apps [1]. Podping notifies podcast apps", False),
        ("Podping notifies podcast apps [1]. Podping notifies podcast apps [1].", True),
        ("Podping notifies podcast apps [1]. Podping notifies podcast apps.", True),
        ("Podping notifies podcast apps [1]. Podping notifies podcast apps [1]. It", True),
        ("Podping notifies podcast apps [1]. Podping notifies podcast apps of new episodes [1].", False),
        ("Podping notifies podcast apps [1].", False),
    ],
)
def test_loops_judges_finished_sentences_only(draft: str, looping: bool) -> None:
    assert loops(draft) is looping
