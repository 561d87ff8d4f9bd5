"""Transcript formats on real-format files: WebVTT (manual and YouTube auto-captions), SRT, Whisper JSON and
text, plain text, and how a file's format is detected."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats import FORMATS, detect_format, get_format

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
YOUTUBE_VTT = FIXTURES / "How Transformers Pay Attention [aBcD3fG_h-1].en.vtt"

SPOKEN = (
    "hi everyone welcome back to the channel today we're going to talk about how transformers actually pay "
    "attention and why q&a models need it so let's start with the query each token gets a query a key and a "
    "value the score is the dot product of query and key divided by the square root of the dimension "
    "thank you thank you see you next time"
)


def parse(name: str, path: Path) -> list[Segment]:
    return get_format(name).parse(path.read_text(encoding="utf-8"), str(path))


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    return path


def spans(segments: list[Segment]) -> list[tuple[float | None, float | None, str]]:
    return [(s.start, s.end, s.text) for s in segments]


# --- WebVTT: YouTube auto-captions ----------------------------------------------------------------------


def test_youtube_fixture_keeps_its_shape() -> None:
    # yt-dlp writes a line of one space in every cue; an editor stripping it would change the file's shape.
    text = YOUTUBE_VTT.read_text(encoding="utf-8")
    assert text.count("\n \n") >= 8 and text.count("<c>") > 50


def test_youtube_rolling_captions_keep_each_spoken_word_once() -> None:
    segments = parse("vtt", YOUTUBE_VTT)
    words = [word for segment in segments for word in segment.words]
    assert " ".join(w.text for w in words) == SPOKEN
    assert [s.text for s in segments] == [" ".join(w.text for w in s.words) for s in segments]


def test_youtube_word_times_are_monotonic_and_come_from_the_tags() -> None:
    words = [w for s in parse("vtt", YOUTUBE_VTT) for w in s.words]
    times = [(w.start, w.end) for w in words if w.start is not None and w.end is not None]
    assert len(times) == len(words)
    assert all(start <= end for start, end in times)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(times))
    # The first word starts at its cue; later words at their own <hh:mm:ss.mmm> tag.
    assert (words[0].text, words[0].start, words[0].end) == ("hi", 0.16, 0.4)
    assert (words[1].text, words[1].start) == ("everyone", 0.4)
    # "attention" ends where the dropped [Music] chunk starts, not at the end of the cue.
    attention = next(w for w in words if w.text == "attention")
    assert (attention.start, attention.end) == (5.44, 5.84)


def test_youtube_segments_drop_sound_tags_and_speaker_marks_and_decode_entities() -> None:
    segments = parse("vtt", YOUTUBE_VTT)
    text = " ".join(s.text for s in segments)
    assert "[Music]" not in text and ">>" not in text and "&amp;" not in text
    assert "q&a" in text
    # After the [Music] break the captions restart; the first new cue begins the next segment.
    assert spans(segments)[5][:2] == (16.4, 19.48)


def test_manual_rollup_captions_without_word_timings_are_deduplicated() -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.000\nthe first line\n\n"
        "00:00:03.000 --> 00:00:05.000\nthe first line\nthe second line\n\n"
        "00:00:05.000 --> 00:00:07.000\nthe second line\nthe third line\n"
    )
    segments = get_format("vtt").parse(text, "rollup.vtt")
    assert spans(segments) == [
        (1.0, 3.0, "the first line"),
        (3.0, 5.0, "the second line"),
        (5.0, 7.0, "the third line"),
    ]


# --- WebVTT: manual captions --------------------------------------------------------------------------------


def test_manual_vtt_one_segment_per_cue_markup_stripped_duplicates_merged() -> None:
    segments = parse("vtt", FIXTURES / "manual-talk.en.vtt")
    assert spans(segments) == [
        (1.0, 4.25, "Good morning, everyone. Today: attention & memory."),
        (4.5, 7.0, "Will this be on the exam?"),
        (7.0, 10.5, "It will <probably> be."),  # two identical back-to-back cues, one segment
        (13.2, 16.8, "Attention weighs every token against every other token."),  # [Applause] dropped
        (3600.0, 3602.5, "We'll stop there."),
        (3602.5, 3603.0, "Yes."),
        (3630.0, 3631.0, "Yes."),  # the same words half a minute later are said again
    ]
    assert all(s.words == () for s in segments)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nhello\n", "not a WebVTT file: first line must be WEBVTT"),
        ("WEBVTT\n\nNOTE only a comment\n", "no caption cues found in this WebVTT file"),
    ],
)
def test_bad_vtt_names_the_file(text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        get_format("vtt").parse(text, "talk.vtt")
    assert caught.value.message == f"talk.vtt: {message}"


# --- SRT ---------------------------------------------------------------------------------------------------


def test_srt_with_crlf_tags_and_multiline_cues() -> None:
    segments = parse("srt", FIXTURES / "podcast-episode-12.srt")
    assert spans(segments) == [
        (0.5, 2.75, "Previously on the podcast..."),
        (3.0, 6.2, "We talked about vector databases and HNSW."),
        (8.1, 10.9, "- Is BM25 still useful? - Absolutely, for rare names."),  # [MUSIC PLAYING] dropped
        (3723.004, 3725.0, "That's all, folks & friends."),
    ]


def test_srt_converted_from_rolling_captions_is_deduplicated() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nwelcome back\n\n"
        "2\n00:00:02,000 --> 00:00:04,000\nwelcome back\nto the show\n\n"
        "3\n00:00:04,000 --> 00:00:04,010\nto the show\n"
    )
    assert spans(get_format("srt").parse(text, "x.srt")) == [
        (1.0, 2.0, "welcome back"),
        (2.0, 4.01, "to the show"),
    ]


def test_bad_srt_says_where() -> None:
    # srt keeps text after a cue as part of it, so only text before the first cue is unreadable.
    text = "Subtitles by someone\n\n1\n00:00:01,000 --> 00:00:02,000\nfine\n"
    with pytest.raises(SourceError, match=r"^x\.srt: not valid SRT: unreadable cue at line 1$"):
        get_format("srt").parse(text, "x.srt")
    with pytest.raises(SourceError, match="no subtitle cues found"):
        get_format("srt").parse("\n\n", "x.srt")


# --- Whisper JSON ------------------------------------------------------------------------------------------


def test_whisper_json_segments_and_words() -> None:
    segments = parse("whisper-json", FIXTURES / "rag-talk.json")
    assert spans(segments) == [
        (0.0, 3.52, "Retrieval augmented generation, RAG, grounds the model."),
        (3.9, 6.1, "It first searches your documents."),  # the empty silence segment is dropped
    ]
    assert [(w.text, w.start, w.end) for w in segments[0].words[:2]] == [
        ("Retrieval", 0.0, 0.62),
        ("augmented", 0.62, 1.1),
    ]


def test_whisper_json_bare_list_with_text_words_and_unaligned_word() -> None:
    segments = parse("whisper-json", FIXTURES / "standup-notes.whisperx.json")
    assert spans(segments) == [
        (0.031, 2.512, "We shipped 3 fixes this week."),
        (2.9, 5.25, "Next up is the search latency budget."),
    ]
    assert segments[0].words[2].text == "3" and segments[0].words[2].start is None  # never a guessed time
    assert segments[1].words == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"segments": [', "not valid JSON"),
        ('{"text": "only text, no segments"}', "no Whisper segments"),
        ("[]", "no Whisper segments"),
        ('[{"start": "0.0", "end": 1.0, "text": "hi"}]', "segment 0 must be a number of seconds"),
        ('[{"start": true, "end": 1.0, "text": "hi"}]', "segment 0 must be a number of seconds"),
        ('[{"start": 0, "end": 1, "text": "hi", "words": [{"start": 0}]}]', "words[0] has no 'word' text"),
    ],
)
def test_bad_whisper_json(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=r"^w\.json: ") as caught:
        get_format("whisper-json").parse(text, "w.json")
    assert message in caught.value.message


# --- Whisper text ------------------------------------------------------------------------------------------


def test_whisper_text_sample() -> None:
    segments = parse("whisper-text", sample("berkeley-ai-rubric-lecture.whisper.txt"))
    assert spans(segments)[0] == (0.0, 2.36, "All right, welcome back everyone.")
    assert spans(segments)[-1] == (2966.3, 2969.3, "(audience applauds)")
    assert all(s.start is not None and s.end is not None and s.start <= s.end for s in segments)


def test_whisper_text_minutes_form_continuations_and_empty_lines() -> None:
    segments = parse("whisper-text", FIXTURES / "short-lecture.whisper.txt")
    assert spans(segments) == [
        (0.0, 3.12, "Okay, let's get started with today's lecture."),
        (3.12, 7.48, "Last time we covered gradient descent."),
        (7.48, 11.0, "Today it's backpropagation, which is just the chain rule applied carefully."),
        (62.5, 65.25, "Any questions so far?"),
    ]


def test_whisper_text_without_timestamps_fails() -> None:
    with pytest.raises(SourceError, match="no Whisper timestamp lines found"):
        get_format("whisper-text").parse("just words\n", "n.txt")


# --- Plain text --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count", "first"),
    [
        (
            "mixture-of-experts-meetup.txt",
            665,
            "Mixture of Experts: Harnessing the Hidden Architecture of GPT4",
        ),
        ("normconf-ml-cost-talk.txt", 373, "Hello, everybody."),
    ],
)
def test_plain_samples_are_untimed(name: str, count: int, first: str) -> None:
    segments = parse("plain", sample(name))
    assert len(segments) == count and segments[0].text == first
    assert all(s.start is None and s.end is None and s.words == () for s in segments)


def test_plain_paragraphs_join_their_lines_and_lines_stand_alone_without_blank_lines() -> None:
    plain = get_format("plain")
    assert [s.text for s in plain.parse("\n\nOne line\nwraps here.\n\n\nTwo.\n", "p.txt")] == [
        "One line wraps here.",
        "Two.",
    ]
    assert [s.text for s in plain.parse("\nFirst.\n  Second  line.\n\n", "p.txt")] == [
        "First.",
        "Second line.",
    ]


# --- Detection ---------------------------------------------------------------------------------------------

WHISPER_LINES = "[00:00.000 --> 00:02.000]  Hello.\n[00:02.000 --> 00:04.000]  World.\n"
SRT_TEXT = "1\n00:00:01,000 --> 00:00:02,000\nhello\n"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.vtt", "WEBVTT\n", "vtt"),
        ("a.VTT", "WEBVTT\n", "vtt"),
        ("a.vtt", SRT_TEXT, "vtt"),  # the suffix decides; the parser then explains the mismatch
        ("a.srt", SRT_TEXT, "srt"),
        ("a.json", "{}", "whisper-json"),
        ("a.whisper.txt", "\n" + WHISPER_LINES, "whisper-text"),
        ("a.text", WHISPER_LINES, "whisper-text"),
        ("a.txt", "Hello there.\n[00:00.000 --> 00:02.000] one stray line\nBye.\n", "plain"),
        ("a.txt", "\ufeffWEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n", "vtt"),
        ("a.txt", SRT_TEXT, "srt"),
        ("a.txt", "Just words.\n", "plain"),
    ],
)
def test_detect_format(name: str, text: str, expected: str) -> None:
    assert detect_format(Path(name), text).name == expected


def test_detect_format_refuses_unknown_suffix() -> None:
    with pytest.raises(SourceError, match=r"^talk\.docx: unsupported transcript format '\.docx'"):
        detect_format(Path("talk.docx"), "text")


def test_registry_names_are_unique_and_resolvable() -> None:
    names = [fmt.name for fmt in FORMATS]
    assert names == ["vtt", "srt", "podcast-json", "whisper-json", "whisper-text", "plain"]
    assert all(get_format(name) is fmt for name, fmt in zip(names, FORMATS, strict=True))
    with pytest.raises(KeyError):
        get_format("docx")
