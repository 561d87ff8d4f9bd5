"""Pieces: long sentences cut where the time changes, windows left exactly as they were."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from atlas.chunking import build_windows, split_sentences
from atlas.chunking.pieces import chunk_transcript, rejoin_pieces
from atlas.config import WindowSettings
from atlas.models import Segment, Transcript, Word

WHOLE = WindowSettings(
    target_words=20, max_words=80, max_seconds=60.0, overlap=0.5, max_sentence_words=60, piece_seconds=0.0
)
PIECES = replace(WHOLE, piece_seconds=4.0, piece_pause=0.5, piece_min_words=3)


def run_on() -> Transcript:
    """One long sentence over four Whisper lines (no word times), then a short one."""
    lines = [
        (10.0, 13.0, "So the worst marks go to a situation where the system"),
        (13.0, 16.5, "has to be autonomous and has to predict all the time,"),
        (16.5, 20.0, "and if it makes any mistake at all, people can get hurt,"),
        (20.0, 23.0, "which is why a self-driving car is the example."),
        (23.0, 25.0, "Nobody disagreed."),
    ]
    return Transcript(tuple(Segment(t, s, e) for s, e, t in lines), origin="file:whisper-text")


def test_a_long_sentence_is_cut_at_cue_boundaries_once_a_piece_is_long_enough() -> None:
    pieces, _ = chunk_transcript(run_on(), PIECES)
    assert [(p.start, p.end) for p in pieces] == [(10.0, 16.5), (16.5, 23.0), (23.0, 25.0)]
    assert pieces[1].text.startswith("and if it makes any mistake")
    assert [p.index for p in pieces] == [0, 1, 2]
    # Positions still count words of the whole transcript: the second piece starts after 22 words.
    assert pieces[1].position == 22


def test_windows_keep_their_text_and_times_and_point_at_the_pieces() -> None:
    transcript = run_on()
    whole = build_windows(split_sentences(transcript, WHOLE), WHOLE)
    pieces, windows = chunk_transcript(transcript, PIECES)
    assert [(w.text, w.start, w.end) for w in windows] == [(w.text, w.start, w.end) for w in whole]
    for window in windows:
        members = pieces[window.first_sentence : window.last_sentence + 1]
        assert " ".join(p.text for p in members) == window.text


def test_word_times_cut_at_a_spoken_pause() -> None:
    spoken = [("We", 0.0), ("tried", 0.3), ("the", 0.6), ("relay", 0.9), ("first", 1.2)]
    spoken += [("then", 2.5), ("we", 2.8), ("used", 3.1), ("a", 3.4), ("triac", 3.7), ("instead.", 4.0)]
    words = tuple(Word(t, s, s + 0.25) for t, s in spoken)
    transcript = Transcript(
        (Segment(" ".join(t for t, _ in spoken), 0.0, 4.25, words),), origin="asr:tiny.en"
    )
    pieces, _ = chunk_transcript(transcript, PIECES)
    assert [(p.text, p.start) for p in pieces] == [
        ("We tried the relay first", 0.0),
        ("then we used a triac instead.", 2.5),
    ]


def test_a_pause_inside_a_written_word_does_not_cut_it() -> None:
    # Whisper's parts "0" and ".1" of the written "0.1", with a pause between them longer than piece_pause.
    spoken = [("The", 0.0), ("element", 0.3), ("is", 0.6), ("actually", 0.9), ("0", 1.2), (".1", 2.0)]
    spoken += [("mm", 2.3), ("thick", 2.6), ("so", 2.9), ("it", 3.2), ("responds.", 3.5)]
    words = tuple(Word(t, s, s + 0.25) for t, s in spoken)
    text = "The element is actually 0.1 mm thick so it responds."
    pieces, _ = chunk_transcript(Transcript((Segment(text, 0.0, 3.75, words),), origin="asr:tiny.en"), PIECES)
    assert [p.text for p in pieces] == [text]


def test_short_sentences_untimed_text_and_zero_piece_seconds_stay_whole() -> None:
    transcript = run_on()
    assert chunk_transcript(transcript, WHOLE)[0] == split_sentences(transcript, WHOLE)
    untimed = Transcript(tuple(Segment(s.text) for s in transcript.segments), origin="file:plain")
    assert chunk_transcript(untimed, PIECES)[0] == split_sentences(untimed, PIECES)
    short = Transcript((Segment("Nobody disagreed with that.", 1.0, 9.0),), origin="file:srt")
    assert len(chunk_transcript(short, PIECES)[0]) == 1


def test_a_piece_is_never_shorter_than_the_minimum() -> None:
    # Every word of a new cue, each cue 5 s long: only the minimum length holds the cuts back.
    cues = [
        (float(5 * i), float(5 * i + 5), w) for i, w in enumerate("one two three four five six seven".split())
    ]
    transcript = Transcript(tuple(Segment(t, s, e) for s, e, t in cues), origin="file:srt")
    settings = replace(PIECES, max_sentence_seconds=100.0)  # one unpunctuated sentence of seven cues
    pieces, _ = chunk_transcript(transcript, settings)
    assert len(pieces) == 2
    assert all(len(p.text.split()) >= settings.piece_min_words for p in pieces)
    assert " ".join(p.text for p in pieces) == "one two three four five six seven"


def test_libraries_built_before_pieces_keep_whole_sentences() -> None:
    old_identity = {k: v for k, v in WHOLE.as_dict().items() if not k.startswith("piece_")}
    assert WindowSettings.from_recorded(old_identity).piece_seconds == 0.0
    assert WindowSettings.from_recorded(old_identity).as_dict() == old_identity
    assert WindowSettings.from_recorded(PIECES.as_dict()) == PIECES.with_recipe(pooled=True)


def test_answers_read_the_pieces_as_whole_sentences_again() -> None:
    transcript = run_on()
    pieces, _ = chunk_transcript(transcript, PIECES)
    vectors = np.eye(len(pieces), 8, dtype=np.float32)
    joined, joined_vectors = rejoin_pieces(pieces, vectors, PIECES)
    whole = split_sentences(transcript, WHOLE)
    assert [(s.text, s.start, s.end, s.position) for s in joined] == [
        (s.text, s.start, s.end, s.position) for s in whole
    ]
    assert joined_vectors.shape == (len(whole), 8)
    assert np.allclose(np.linalg.norm(joined_vectors, axis=1), 1.0)
    # The first sentence pools its two pieces and nothing of the next sentence.
    assert joined_vectors[0, 0] > 0 and joined_vectors[0, 1] > 0 and joined_vectors[0, 2] == 0
