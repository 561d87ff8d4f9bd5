"""Chapters: segmentation of synthetic sentence vectors, limits, titles, untimed talks, Library.chapters."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from atlas.answer.base import AnswerRequest
from atlas.chapters.base import Limits, enforce_max, enforce_min
from atlas.chapters.keyphrase import KeyphraseTitler, phrases
from atlas.chapters.llm import LlmTitler, clean_title
from atlas.chapters.optimal import Optimal
from atlas.chapters.service import ChapterOptions, axis_of, chapters_of
from atlas.chapters.texttiling import TextTiling
from atlas.errors import NotFoundError, UserInputError
from atlas.index.base import VideoRecord
from atlas.library import Library
from atlas.models import Segment, Sentence, Transcript, Video, Word
from atlas.sources.base import Ingestible

SEGMENTERS = [TextTiling(block=60.0, cutoff=0.5), Optimal()]  # TextTiling's cut-off tuned for long talks


def topics(sizes: list[int], *, dim: int = 64, noise: float = 0.9, seed: int = 0) -> np.ndarray:
    """Sentence vectors: each topic a random direction, each sentence that direction plus noise (MiniLM
    vectors of one topic are about this alike: cosine ~0.3-0.5 between sentences)."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        for _ in range(size):
            v = centre + noise * rng.normal(size=dim) / np.sqrt(dim) * 1.5
            rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32)


def even_axis(n: int, seconds: float = 5.0) -> np.ndarray:
    return np.arange(n + 1, dtype=np.float64) * seconds


LIMITS = Limits(min_length=60.0, max_length=900.0)


@pytest.mark.parametrize("segmenter", SEGMENTERS, ids=lambda s: s.name)
def test_cuts_where_the_topic_turns(segmenter: TextTiling | Optimal) -> None:
    sizes = [40, 30, 50, 36]  # 5 s per sentence: 200 s, 150 s, 250 s, 180 s
    vectors = topics(sizes)
    starts = segmenter.segment(vectors, even_axis(len(vectors)), LIMITS)
    truth = list(np.cumsum(sizes)[:-1])
    assert starts[0] == 0
    for boundary in truth:
        assert min(abs(s - boundary) for s in starts) <= 1, (starts, truth)
    assert len(starts) <= len(sizes) + 1, starts  # at most one spurious cut


@pytest.mark.parametrize("segmenter", SEGMENTERS, ids=lambda s: s.name)
def test_chapters_respect_min_and_max_length(segmenter: TextTiling | Optimal) -> None:
    vectors = topics([3, 4, 200, 5, 2, 6], noise=0.9, seed=3)  # tiny topics, one very long one
    axis = even_axis(len(vectors), 10.0)  # 2200 s
    limits = Limits(min_length=120.0, max_length=600.0)
    starts = segmenter.segment(vectors, axis, limits)
    bounds = [*starts, len(vectors)]
    lengths = [axis[b] - axis[a] for a, b in itertools.pairwise(bounds)]
    assert all(length >= 120.0 for length in lengths), lengths
    assert all(length <= 600.0 for length in lengths), lengths


def test_a_talk_too_short_for_two_chapters_is_one() -> None:
    vectors = topics([4, 4])
    for segmenter in SEGMENTERS:
        assert segmenter.segment(vectors, even_axis(8), LIMITS) == [0]


def test_enforce_min_drops_the_weakest_boundary_and_max_splits_at_the_strongest() -> None:
    axis = even_axis(30, 10.0)
    strength = [0.0] * 30
    strength[5], strength[8], strength[20] = 0.9, 0.1, 0.5
    limits = Limits(min_length=40.0, max_length=1000.0, min_sentences=2)
    assert enforce_min([0, 5, 8, 20], axis, limits, strength) == [0, 5, 20]
    strength[14] = 0.8
    assert enforce_max([0], axis, Limits(min_length=40.0, max_length=200.0), strength) == [0, 5, 14]


def _sentences(texts: list[str], *, timed: bool = True) -> tuple[Sentence, ...]:
    out, position = [], 0
    for i, text in enumerate(texts):
        start = 5.0 * i if timed else None
        out.append(Sentence(i, text, start, start + 4.5 if start is not None else None, position))
        position += len(text.split())
    return tuple(out)


TOPIC_TEXTS = [
    "The volcano erupted and volcanic ash covered the island village.",
    "Volcanic ash clouds grounded flights while the volcano kept erupting.",
    "Sourdough bread needs a lively starter and a long cold proof.",
    "Bake the sourdough bread in a hot dutch oven for a dark crust.",
]


def _record(texts: list[str], vectors: np.ndarray, *, timed: bool, kind: str = "media") -> VideoRecord:
    sentences = _sentences(texts, timed=timed)
    video = Video(
        "talk",
        "A talk",
        "/talks/a.mp4",
        kind=kind,
        url="file:///talks/a.mp4",
        timed=timed,
        duration=5.0 * len(texts) if timed else None,
    )
    segments = tuple(Segment(s.text, s.start, s.end) for s in sentences)
    return VideoRecord(
        video, Transcript(segments, "test"), sentences, (), vectors, np.zeros((0, 64), np.float32)
    )


def test_chapters_of_a_timed_talk_have_times_titles_and_links() -> None:
    texts = [TOPIC_TEXTS[i // 20 % 2 * 2 + i % 2] for i in range(60)]  # 30 sentences per topic, 150 s each
    vectors = topics([20, 20, 20], seed=4)
    texts = [TOPIC_TEXTS[0], TOPIC_TEXTS[1]] * 10 + [TOPIC_TEXTS[2], TOPIC_TEXTS[3]] * 10
    texts += [TOPIC_TEXTS[0], TOPIC_TEXTS[1]] * 10
    result = chapters_of(_record(texts, vectors, timed=True), ChapterOptions(min_seconds=30))
    assert [c.first_sentence for c in result.chapters] == [0, 20, 40]
    first, second, third = result.chapters
    assert (first.start, second.start, third.start) == (0.0, 100.0, 200.0)
    assert first.end == 100.0 and third.end == 300.0
    assert second.url == "file:///talks/a.mp4#t=100"
    assert "volcan" in first.title.lower() and "sourdough" in second.title.lower(), result.chapters
    assert second.preview.startswith("Sourdough bread needs")
    payload = result.to_json()
    assert (
        payload["video_id"] == "talk" and payload["titles"] == "keyphrase" and len(payload["chapters"]) == 3
    )
    assert set(payload["chapters"][0]) >= {"index", "title", "start", "end", "position", "preview", "url"}


def test_untimed_talk_gets_chapters_by_position_and_no_times() -> None:
    texts = [TOPIC_TEXTS[0], TOPIC_TEXTS[1]] * 20 + [TOPIC_TEXTS[2], TOPIC_TEXTS[3]] * 20
    vectors = topics([40, 40], seed=5)
    record = _record(texts, vectors, timed=False, kind="transcript")
    result = chapters_of(record, ChapterOptions(min_seconds=60))  # ~150 words at 150 wpm
    assert len(result.chapters) == 2
    second = result.chapters[1]
    assert second.start is None and second.end is None
    assert second.first_sentence == 40 and second.position == record.sentences[40].position
    assert "#t=" not in second.url
    axis = axis_of(record.sentences, record.video, timed=False)
    assert axis[40] == pytest.approx(record.sentences[40].position / 2.5)


def test_axis_carries_a_missing_time_forward_and_ends_at_the_duration() -> None:
    sentences = (
        Sentence(0, "a", 0.0, 2.0, 0),
        Sentence(1, "b", None, None, 1),
        Sentence(2, "c", 9.0, 11.0, 2),
    )
    video = Video("v", "v", "v", duration=30.0)
    assert axis_of(sentences, video, timed=True).tolist() == [0.0, 0.0, 9.0, 30.0]


def test_keyphrase_titles_pick_what_sets_a_chapter_apart() -> None:
    spans = [
        _sentences(["The GPU server racks cost a lot.", "GPU server racks need cooling.", "We rent GPUs."]),
        _sentences(
            ["Gradescope grades exams.", "Gradescope uses rubric grading.", "Rubric grading is fast."]
        ),
    ]
    titles = KeyphraseTitler().titles(spans)
    assert titles[0].startswith("GPU server racks"), titles
    assert "Gradescope" in titles[1] or "Rubric grading" in titles[1], titles
    assert ("you", "know") not in phrases("you know, the GPU")  # stopwords never make a phrase
    assert KeyphraseTitler().titles([_sentences(["Yeah. Okay. So."])]) == ["Yeah. Okay. So."]


class StubGenerator:
    name = "llama.cpp/stub-model"

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.requests: list[AnswerRequest] = []

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        self.requests.append(request)
        reply = self.replies[len(self.requests) - 1]
        yield from (reply[: len(reply) // 2], reply[len(reply) // 2 :])


def test_llm_titles_are_cleaned_and_fall_back_to_the_keyphrase() -> None:
    generator = StubGenerator(['Title: "Volcanic Ash Over the Island".\nBecause...', "", "x " * 40])
    spans = [_sentences(TOPIC_TEXTS[:2]), _sentences(TOPIC_TEXTS[2:]), _sentences(["More."])]
    titler = LlmTitler(generator, ["kp one", "kp two", "kp three"])
    assert titler.titles(spans) == ["Volcanic Ash Over the Island", "kp two", "kp three"]
    assert titler.model == "stub-model"
    assert "The volcano erupted" in generator.requests[0].messages[-1].content
    assert clean_title("**Chapter 2: Baking bread**") == "Baking bread"


def test_bad_options_are_user_errors() -> None:
    record = _record(TOPIC_TEXTS, topics([4]), timed=True)
    with pytest.raises(UserInputError):
        chapters_of(record, ChapterOptions(segmenter="nope"))
    with pytest.raises(UserInputError):
        chapters_of(record, ChapterOptions(min_seconds=600, max_seconds=60))


def _timed_talk(video_id: str) -> Ingestible:
    lines = [TOPIC_TEXTS[0], TOPIC_TEXTS[1]] * 15 + [TOPIC_TEXTS[2], TOPIC_TEXTS[3]] * 15
    segments = []
    for i, line in enumerate(lines):
        words = tuple(Word(w, 6.0 * i + 0.4 * k, 6.0 * i + 0.4 * k + 0.3) for k, w in enumerate(line.split()))
        segments.append(Segment(line, words[0].start, words[-1].end, words))
    video = Video(video_id, "Volcanoes then bread", f"/talks/{video_id}.mp3", kind="media")
    return Ingestible(video, Transcript(tuple(segments), "test"))


def test_library_chapters_from_stored_vectors(fake_library: Library) -> None:
    fake_library.add(_timed_talk("two-topics"))
    result = fake_library.chapters("two-topics")
    assert len(result.chapters) >= 2 and result.chapters[0].start == 0.0
    # The turn from volcanoes to bread is at 180 s (sentence 30).
    assert min(abs((c.start or 0) - 180.0) for c in result.chapters[1:]) <= 12.0, result.chapters
    with pytest.raises(NotFoundError):
        fake_library.chapters("no-such-video")
