"""Packing: hits -> merged, de-duplicated passages that fit a generator's context (real SQLite store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.answer.base import Passage
from atlas.answer.packing import MAX_LEAD_IN_WORDS, MIN_SPAN_WORDS, gather_passages, on_question, pack, spans
from atlas.answer.prompt import TEMPLATE_TOKENS_PER_MESSAGE, build_messages, render_passage
from atlas.errors import UserInputError
from atlas.library import Library
from atlas.models import Hit, Sentence, Video, Window
from atlas.search.links import deep_link
from tests.fake_plugins import HashingEmbedder

EMBEDDER = HashingEmbedder(256)

TOPICS = [
    "GPU prices", "batch sizes", "spot instances", "model distillation", "audio codecs", "frame sampling",
    "CPU inference", "cache layers", "queue depth", "cold starts", "memory limits", "network egress",
]  # fmt: skip


def _talk(path: Path, first_second: int = 0) -> Path:
    """A timed transcript of 36 distinct sentences, 4 seconds each."""
    cues = []
    for i in range(36):
        topic = TOPICS[i % len(TOPICS)]
        start = first_second + 4 * i
        text = f"Sentence {i} explains how {topic} change the monthly cloud bill in case {i}."
        cues.append(f"{i + 1}\n{_srt(start)} --> {_srt(start + 4)}\n{text}\n")
    path.write_text("\n".join(cues))
    return path


def _srt(seconds: int) -> str:
    return f"00:{seconds // 60:02d}:{seconds % 60:02d},000"


def _hit(lib: Library, video_id: str, window_index: int, sentence_offset: int = 0) -> Hit:
    """A hit on a stored window, pinned to one of its sentences, as the search engine makes them."""
    record = lib.get_record(video_id)
    window = record.windows[window_index]
    sentence = record.sentences[window.first_sentence + sentence_offset]
    return Hit(
        record.video,
        window,
        sentence.start,
        sentence.text,
        deep_link(record.video, sentence.start),
        1.0,
        position=sentence.position,
    )


@pytest.fixture
def lib(fake_library: Library, tmp_path: Path) -> Library:
    fake_library.ingest([str(_talk(tmp_path / "talk.srt")), str(_talk(tmp_path / "copy.srt"))])
    assert len(fake_library.get_record("talk").windows) >= 6
    return fake_library


def test_touching_windows_of_one_video_become_one_passage(lib: Library) -> None:
    windows = lib.get_record("talk").windows
    assert windows[0].last_sentence >= windows[1].first_sentence  # consecutive windows overlap
    question = lib.embedder.embed_query("spot instances")
    hits = [_hit(lib, "talk", 1, 2), _hit(lib, "talk", 5), _hit(lib, "talk", 0)]
    passages = gather_passages(hits, lib.index, question)
    assert [p.number for p in passages] == [1, 2]
    merged = passages[0]
    assert merged.hit.moment == hits[0].moment  # the best-ranked hit's moment and link stay the citation's
    assert merged.hit.url == hits[0].url
    assert merged.hit.window.first_sentence == windows[0].first_sentence
    assert merged.hit.window.last_sentence == windows[1].last_sentence
    assert merged.hit.window.text == merged.text == " ".join(s.text for s in merged.sentences)
    assert merged.hit.window.start == merged.sentences[0].start
    assert merged.hit.window.end == merged.sentences[-1].end
    assert len(merged.vectors) == len(merged.sentences)
    assert passages[1].hit.window.first_sentence == windows[5].first_sentence


def test_the_same_text_under_another_id_is_read_once(lib: Library) -> None:
    question = lib.embedder.embed_query("spot instances")
    hits = [_hit(lib, "talk", 2), _hit(lib, "copy", 2), _hit(lib, "copy", 5)]
    passages = gather_passages(hits, lib.index, question)
    assert [(p.hit.video.video_id, p.hit.window.first_sentence) for p in passages] == [
        ("talk", hits[0].window.first_sentence),
        ("copy", hits[2].window.first_sentence),
    ]


def test_a_video_removed_since_the_search_is_left_out(lib: Library) -> None:
    """Found by benchmarks/bench_soak.py: an ask racing a delete over HTTP answered 404 ("no video ...")."""
    hits = [_hit(lib, "talk", 0), _hit(lib, "copy", 5)]
    lib.remove("talk")  # by a concurrent writer, between the search and reading the passages
    passages = gather_passages(hits, lib.index, lib.embedder.embed_query("spot instances"))
    assert [p.hit.video.video_id for p in passages] == ["copy"]


def test_relevance_is_the_best_span_cosine(lib: Library) -> None:
    question = lib.embedder.embed_query("how do spot instances change the monthly cloud bill")
    (passage,) = gather_passages([_hit(lib, "talk", 0)], lib.index, question)
    best = max(float(v @ question) for _, _, v in spans(passage.sentences, passage.vectors))
    assert passage.relevance == pytest.approx(best)


def test_spans_grow_short_sentences_to_the_minimum(lib: Library) -> None:
    (passage,) = gather_passages([_hit(lib, "talk", 0)], lib.index, lib.embedder.embed_query("x"))
    for first, last, vector in spans(passage.sentences, passage.vectors, min_words=30):
        words = sum(len(s.text.split()) for s in passage.sentences[first : last + 1])
        assert words >= 30 or last == len(passage.sentences) - 1
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert MIN_SPAN_WORDS <= 10


def _words(text: str) -> int:
    return len(text.split())


def test_pack_fills_the_budget_in_ranking_order_and_renumbers(lib: Library) -> None:
    question = "how do spot instances change the bill"
    qvec = lib.embedder.embed_query(question)
    candidates = gather_passages([_hit(lib, "talk", i) for i in (0, 3, 6)], lib.index, qvec)
    everything = pack(
        candidates, question=question, count_tokens=_words, context_tokens=5000, answer_tokens=100
    )
    assert [p.number for p in everything] == [1, 2, 3]
    assert [p.text for p in everything] == [c.text for c in candidates]

    # Room for the first passage and half of the second: the second is cut down, the third left out.
    overhead = sum(_words(m.content) + TEMPLATE_TOKENS_PER_MESSAGE for m in build_messages(question, ()))
    sizes = [_words(render_passage(p)) for p in candidates]
    context = 100 + overhead + sizes[0] + 2 + sizes[1] // 2
    squeezed = pack(
        candidates, question=question, count_tokens=_words, context_tokens=context, answer_tokens=100
    )
    assert [p.number for p in squeezed] == [1, 2]
    assert squeezed[0].text == candidates[0].text
    assert len(squeezed[1].sentences) < len(candidates[1].sentences)
    assert sum(_words(render_passage(p)) + 2 for p in squeezed) <= context - 100 - overhead


def test_a_trimmed_passage_keeps_its_moment_and_matches_its_window(lib: Library) -> None:
    question = "spot instances"
    qvec = lib.embedder.embed_query(question)
    hit = _hit(lib, "talk", 2, sentence_offset=3)
    (candidate,) = gather_passages([hit], lib.index, qvec)
    full = _words(render_passage(candidate))
    (trimmed,) = pack(
        [candidate], question=question, count_tokens=_words, context_tokens=full // 2 + 200, answer_tokens=10
    )
    assert len(trimmed.sentences) < len(candidate.sentences)
    assert any(s.position == hit.position for s in trimmed.sentences)  # the moment's sentence survives
    assert trimmed.hit.moment == hit.moment
    window = trimmed.hit.window
    assert window.text == trimmed.text and window.start == trimmed.sentences[0].start
    assert (window.first_sentence, window.last_sentence) == (
        trimmed.sentences[0].index,
        trimmed.sentences[-1].index,
    )
    assert len(trimmed.vectors) == len(trimmed.sentences)


def test_a_question_too_long_for_the_context_is_refused(lib: Library) -> None:
    question = "why " * 400
    candidates = gather_passages([_hit(lib, "talk", 0)], lib.index, lib.embedder.embed_query("why"))
    with pytest.raises(
        UserInputError, match=r"question takes .* tokens of the generator's 512-token context"
    ):
        pack(candidates, question=question, count_tokens=_words, context_tokens=512, answer_tokens=100)


def _long_sentences(path: Path, words_per_sentence: int, sentences: int = 4) -> Path:
    """Timed cues of 10 words, in sentences of ``words_per_sentence`` words that each open with a capital: a
    sentence over 40 words is stored in slices, so windows can open inside one."""
    words = []
    for s in range(sentences):
        body = [f"{TOPICS[s].split()[0].lower()}{s}w{i}" for i in range(1, words_per_sentence)]
        words += [f"Opening{s}", *body[:-1], body[-1] + "."]
    cues = [" ".join(words[i : i + 10]) for i in range(0, len(words), 10)]
    path.write_text(
        "\n".join(f"{i + 1}\n{_srt(2 * i)} --> {_srt(2 * i + 2)}\n{c}\n" for i, c in enumerate(cues))
    )
    return path


@pytest.mark.parametrize("words_per_sentence", [100, 200])
def test_a_passage_opening_mid_sentence_starts_where_the_sentence_does_when_near(
    fake_library: Library, tmp_path: Path, words_per_sentence: int
) -> None:
    fake_library.ingest([str(_long_sentences(tmp_path / "long.srt", words_per_sentence))])
    record = fake_library.get_record("long")
    vector = np.ones(fake_library.embedder.dim, dtype=np.float32)
    seen = set()
    for i, window in enumerate(record.windows):
        opening = record.sentences[window.first_sentence]
        if not opening.text[:1].islower():
            continue  # the window opens at a sentence: its passage does too
        start = max(k for k in range(window.first_sentence) if record.sentences[k].text.startswith("Opening"))
        back = sum(len(record.sentences[k].text.split()) for k in range(start, window.first_sentence))
        hit = _hit(fake_library, "long", i)
        (passage,) = gather_passages([hit], fake_library, vector)
        assert passage.text.endswith(window.text.split()[-1]) and passage.hit.moment == hit.moment
        first_word = passage.sentences[0].text.split()[0]
        if back <= MAX_LEAD_IN_WORDS:  # read from the sentence's start
            assert first_word == record.sentences[start].text.split()[0]
        else:  # too far back: the passage opens as the window does
            assert first_word == opening.text.split()[0]
        seen.add(back <= MAX_LEAD_IN_WORDS)
    assert seen == {True, False}  # windows opening 40 words into a sentence, and 80 or more


def _passage(lines: list[str], pinned: int) -> Passage:
    """A passage of timed lines (vectors from the hashing embedder), its hit pinned to line ``pinned``."""
    sentences = tuple(Sentence(i, text, 4.0 * i, 4.0 * i + 3.5, 10 * i) for i, text in enumerate(lines))
    video = Video("talk", "Talk", "/media/talk.mp4", kind="media")
    window = Window(0, " ".join(lines), 0.0, sentences[-1].end, 0, len(lines) - 1)
    moment = sentences[pinned].start
    hit = Hit(video, window, moment, lines[pinned], deep_link(video, moment), 1.0, position=10 * pinned)
    return Passage(1, hit, sentences, EMBEDDER.embed(lines), relevance=0.5)


def test_a_model_reads_the_lines_near_the_question_and_the_pinned_one() -> None:
    question = EMBEDDER.embed_query("How can we cut the GPU bill?")
    lines = [
        "Thanks so much for listening to the show.",
        "Batching requests cut the GPU bill by a third.",
        "Dang it, the coffee machine is broken again.",
        "Renting spot GPUs cut the bill further.",
    ]
    read = on_question(_passage(lines, pinned=2), [question])
    assert [s.text for s in read.sentences] == [lines[1], lines[2], lines[3]]
    assert read.hit.moment == 8.0 and read.text == " ".join(lines[1:])  # the citation still holds its moment
    # A part of the question keeps the lines that answer it.
    part = EMBEDDER.embed_query("Which show is this?")
    assert on_question(_passage(lines, pinned=1), [question, part]).sentences[0].text == lines[0]
    on_topic = _passage(lines[1::2], pinned=0)
    assert on_question(on_topic, [question]) is on_topic
