"""Sentences and windows: times come from what is actually inside, lengths stay bounded."""

from __future__ import annotations

import itertools

from atlas.chunking import build_windows, split_sentences
from atlas.chunking.sentences import written_together
from atlas.config import WindowSettings
from atlas.models import Segment, Transcript, Word

SETTINGS = WindowSettings(target_words=20, max_words=30, max_seconds=30.0, overlap=0.5)


def whisper_like() -> Transcript:
    # Lines broken mid-sentence, the way Whisper writes them.
    lines = [
        (0.0, 2.4, "All right, welcome back everyone."),
        (2.4, 5.9, "As I promised in the first week,"),
        (5.9, 9.4, "the goal of this class is not for me"),
        (9.4, 11.5, "to talk to you the entire time."),
        (11.5, 13.9, "Today we're actually gonna start with someone"),
        (13.9, 17.6, "who's much better at explaining this topic than I am."),
        (17.6, 21.3, "So I'd like to welcome Sergei."),
        (21.3, 24.3, "Sergei was an AI PhD at Berkeley"),
        (24.3, 26.8, "and then he started a company called Gradescope."),
    ]
    return Transcript(tuple(Segment(t, s, e) for s, e, t in lines), origin="file:whisper-text")


def test_sentences_span_segments_and_take_their_times() -> None:
    sentences = split_sentences(whisper_like(), SETTINGS)
    texts = [s.text for s in sentences]
    assert texts[0] == "All right, welcome back everyone."
    second = (
        "As I promised in the first week, the goal of this class is not for me "
        "to talk to you the entire time."
    )
    assert texts[1] == second
    # Starts at the first segment it touches, ends at the end of the last one: never one segment past it.
    assert (sentences[1].start, sentences[1].end) == (2.4, 11.5)
    assert sentences[-1].text.endswith("called Gradescope.")
    assert (sentences[-1].start, sentences[-1].end) == (21.3, 26.8)


def test_word_timings_give_exact_sentence_bounds() -> None:
    words = (
        Word("Hello", 1.0, 1.4),
        Word("there.", 1.5, 1.9),
        Word("Next", 2.6, 2.9),
        Word("one.", 3.0, 3.3),
    )
    t = Transcript((Segment("Hello there. Next one.", 1.0, 3.3, words),), origin="asr:tiny.en")
    sentences = split_sentences(t, SETTINGS)
    assert [(s.text, s.start, s.end) for s in sentences] == [
        ("Hello there.", 1.0, 1.9),
        ("Next one.", 2.6, 3.3),
    ]


def test_the_parts_whisper_times_of_one_written_word_are_written_together() -> None:
    # Whisper times "1.5" as "1" + ".5" and "59%" as "59" + "%"; its segment text writes them whole.
    text = "Downloaded 1.5 billion times, up 59% for a pre-roll."
    parts = ["Downloaded", "1", ".5", "billion", "times,", "up", "59", "%", "for", "a", "pre", "-roll."]
    words = tuple(Word(part, 0.5 * i, 0.5 * i + 0.4) for i, part in enumerate(parts))
    t = Transcript((Segment(text, 0.0, 6.0, words),), origin="asr:tiny.en")
    [sentence] = split_sentences(t, SETTINGS)
    assert (sentence.text, sentence.start, sentence.end) == (text, 0.0, 5.9)


def test_words_the_segment_text_does_not_hold_stay_apart() -> None:
    assert written_together("one 2.5 three", ["one", "2", ".5", "three"]) == [False, False, True, False]
    # A source whose words disagree with its text: nothing is glued on a guess.
    assert written_together("something else", ["one", ".5"]) == [False, False]
    assert written_together("a b", ["a", "b"]) == [False, False]


def test_abbreviations_do_not_end_sentences() -> None:
    t = Transcript((Segment("We met Dr. Smith today. He said hi.", 0.0, 4.0),), origin="x")
    assert [s.text for s in split_sentences(t, SETTINGS)] == ["We met Dr. Smith today.", "He said hi."]


def test_unpunctuated_captions_are_cut_by_length_and_pauses() -> None:
    words = [Word(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(100)]
    pause = [Word("after", 60.0, 60.4), Word("pause", 60.5, 60.9)]
    t = Transcript((Segment("x", 0.0, 61.0, tuple(words + pause)),), origin="auto")
    sentences = split_sentences(t, WindowSettings(max_sentence_words=40, max_sentence_seconds=1000))
    assert [len(s.text.split()) for s in sentences] == [40, 40, 20, 2]
    assert sentences[-1].start == 60.0


def test_untimed_text_keeps_none_times_and_splits_paragraphs() -> None:
    lines = ("A line wrapped", "mid-sentence ends here.", "then a lower-case start.", "Last one")
    t = Transcript(tuple(Segment(line) for line in lines), origin="file:plain")
    sentences = split_sentences(t, SETTINGS)
    assert [s.text for s in sentences] == [
        "A line wrapped mid-sentence ends here.",
        "then a lower-case start.",
        "Last one",
    ]
    assert all(s.start is None and s.end is None for s in sentences)
    windows = build_windows(sentences, SETTINGS)
    assert all(w.start is None and w.end is None for w in windows)


def test_windows_overlap_cover_everything_and_have_true_bounds() -> None:
    sentences = split_sentences(whisper_like(), SETTINGS)
    windows = build_windows(sentences, SETTINGS)
    assert len(windows) >= 2
    covered = set()
    for w in windows:
        members = sentences[w.first_sentence : w.last_sentence + 1]
        assert w.start == members[0].start
        assert w.end == members[-1].end
        assert w.text == " ".join(s.text for s in members)
        assert len(w.text.split()) <= SETTINGS.max_words
        covered.update(range(w.first_sentence, w.last_sentence + 1))
    assert covered == set(range(len(sentences)))
    # Consecutive windows share sentences (overlap) and always move forward.
    for a, b in itertools.pairwise(windows):
        assert a.first_sentence < b.first_sentence <= a.last_sentence + 1


def test_windows_respect_max_seconds() -> None:
    segs = tuple(Segment(f"Sentence number {i} is here.", i * 10.0, i * 10.0 + 9.0) for i in range(30))
    sentences = split_sentences(Transcript(segs, origin="x"), WindowSettings())
    for w in build_windows(sentences, WindowSettings(max_seconds=35.0, target_words=500, max_words=900)):
        assert w.end is not None and w.start is not None
        assert w.end - w.start <= 35.0
