"""Transcript files in the shapes real tools write them (issue 16): YouTube live-stream WebVTT, Podcasting 2.0
JSON, podcast VTT with voice tags and hour-less times, sound cues and Whisper hallucinations, and files whose
names say nothing. Every fixture is written by hand in the shape of a real file (see the issue)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest

from atlas.chunking import split_sentences
from atlas.chunking.sentences import content_positions, word_stream
from atlas.config import WindowSettings
from atlas.errors import SourceError
from atlas.ids import is_video_id
from atlas.models import IngestOptions, Segment, Transcript
from atlas.sources.formats import detect_format, get_format
from atlas.sources.transcript_files import load_transcript, read_transcript_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
LIVE_VTT = FIXTURES / "live-stream-class.en.vtt"
P20_JSON = FIXTURES / "buzz-show-episode.json"
VOICE_VTT = FIXTURES / "talk-python-style.vtt"
PODNEWS_VTT = FIXTURES / "podnews-style-review.vtt"
HALLUCINATIONS = FIXTURES / "whisper-hallucinations.json"


def parse(name: str, path: Path) -> list[Segment]:
    return get_format(name).parse(path.read_text(encoding="utf-8"), str(path))


def sentences_of(transcript: Transcript) -> list[tuple[float | None, float | None, str]]:
    return [(s.start, s.end, s.text) for s in split_sentences(transcript, WindowSettings())]


# --- 1. YouTube live-stream WebVTT --------------------------------------------------------------------------


def test_live_stream_fixture_keeps_its_shape() -> None:
    text = LIVE_VTT.read_text(encoding="utf-8")
    assert text.count("WEBVTT") == 3 and text.count("X-TIMESTAMP-MAP=") == 3
    assert "An<00:00:00.240><c>d</c>" in text  # a word split across timed chunks


def test_live_stream_words_are_joined_across_chunks_and_timed_on_the_file_clock() -> None:
    segments = parse("vtt", LIVE_VTT)
    words = [(w.text, w.start, w.end) for s in segments for w in s.words]
    assert words == [
        ("And", 0.0, 0.48),
        ("there", 0.48, 0.9),
        ("will", 0.9, 1.3),
        ("be", 1.3, 1.5),
        ("no", 1.5, 1.8),
        ("roll", 1.8, 2.1),
        ("call", 2.1, 2.5),
        ("today", 2.5, 3.0),
        ("because", 3.0, 3.6),
        ("the", 3.6, 3.9),
        ("class", 3.9, 4.4),
        ("is", 4.4, 4.8),
        # Fragment 2 restarts at 0 with MPEGTS 450000 (5 s); its "[Music]" chunk is dropped but ends the word.
        ("online.", 5.0, 6.0),
        # Fragment 3: LOCAL 1 s = MPEGTS 990000 (11 s), so its cue at 1 s is at 11 s.
        ("Please", 11.0, 11.5),
        ("open", 11.5, 11.9),
        ("your", 11.9, 12.2),
        ("notes", 12.2, 12.7),
        ("&", 12.7, 12.9),
        ("listen.", 12.9, 14.0),
    ]
    assert [(s.start, s.end) for s in segments] == [(0.0, 2.5), (2.5, 4.8), (5.0, 7.0), (11.0, 14.0)]
    starts = [w.start for s in segments for w in s.words]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(starts))


def test_live_stream_sentences() -> None:
    transcript = load_transcript(LIVE_VTT)
    assert transcript.origin == "file:vtt"
    assert sentences_of(transcript) == [
        (0.0, 6.0, "And there will be no roll call today because the class is online."),
        (11.0, 14.0, "Please open your notes & listen."),
    ]


def test_a_single_header_timestamp_map_keeps_the_files_own_times() -> None:
    text = (
        "WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:900000\n\n"
        "00:00:01.000 --> 00:00:02.000\nhello there\n"
    )
    assert [(s.start, s.end, s.text) for s in get_format("vtt").parse(text, "x.vtt")] == [
        (1.0, 2.0, "hello there")
    ]


# --- 2. Podcasting 2.0 JSON and podcast VTT ----------------------------------------------------------------


def test_podcasting_json_is_detected_by_content() -> None:
    assert detect_format(P20_JSON, P20_JSON.read_text(encoding="utf-8")).name == "podcast-json"
    whisper = FIXTURES / "rag-talk.json"
    assert detect_format(whisper, whisper.read_text(encoding="utf-8")).name == "whisper-json"
    assert detect_format(HALLUCINATIONS, HALLUCINATIONS.read_text(encoding="utf-8")).name == "whisper-json"


def test_podcasting_json_joins_display_lines_and_leaves_speakers_out_of_the_text() -> None:
    transcript = load_transcript(P20_JSON)
    assert transcript.origin == "file:podcast-json"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (0.0, 4.8, "It is so nice to show up and record this"),
        (4.8, 8.25, "show. Travis wrote the outline & Kevin added notes."),
        (8.25, 9.5, "[Dan and Bekah chuckle]"),
        (9.5, 13.17, "Thanks. Podcasts are finally on YouTube Music."),
        (14.0, 16.5, "Which feeds work there?"),
    ]
    assert sentences_of(transcript) == [
        (0.0, 8.25, "It is so nice to show up and record this show."),
        (4.8, 8.25, "Travis wrote the outline & Kevin added notes."),
        (9.5, 13.17, "Thanks."),
        (9.5, 13.17, "Podcasts are finally on YouTube Music."),
        (14.0, 16.5, "Which feeds work there?"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"segments": []}', "no Podcasting 2.0 segments"),
        ('{"segments": [{"startTime": "0", "endTime": 1, "body": "x"}]}', "startTime must be a number"),
        ('{"segments": [{"startTime": 0, "endTime": 1, "body": 3}]}', "'body' must be a string"),
    ],
)
def test_podcasting_json_refuses_what_it_cannot_read(text: str, message: str) -> None:
    from atlas.errors import SourceError

    with pytest.raises(SourceError, match=message):
        get_format("podcast-json").parse(text, "ep.json")


def test_voice_tags_do_not_leak_into_the_text() -> None:
    segments = parse("vtt", VOICE_VTT)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.02, 3.1, "Coding agents have gotten really good at one kind of work."),
        (3.44, 6.76, "You scope a feature, edit some files, run the test, ship it."),
        (7.26, 8.38, "It all happens on disk."),
        (3881.9, 3883.46, "Thank you."),
    ]


def test_podnews_times_without_hours_and_bare_seconds_are_all_read() -> None:
    segments = parse("vtt", PODNEWS_VTT)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.0, 3.48, "It's Friday, the 19th of January, 2024."),
        (4.24, 6.6, "The last word in podcasting news."),
        (59.5, 64.1, "(upbeat music)"),
        (64.62, 65.98, "Okay, James, let's kick this off."),
        (845.98, 849.9, "That's the Podnews Weekly Review."),
    ]
    assert not any("SPEAKER" in s.text or "<v" in s.text for s in segments)


# --- 3. Noise: sound cues and Whisper hallucinations ------------------------------------------------------


def test_hallucinations_and_sound_cues_are_not_indexed() -> None:
    transcript = load_transcript(HALLUCINATIONS)
    # The stored transcript keeps every line for display...
    assert any(s.text == "you" for s in transcript.segments)
    # ...but only speech becomes sentences: the lone "you"s over silence, "[Music]", "(upbeat music)", the
    # cues inside a line, "Heat. Heat." and "Thank you for watching!" are gone; "thank / you" split over two
    # segments stays, and so does the spoken word "laughter".
    assert sentences_of(transcript) == [
        (0.0, 2.5, "So the budget is approved."),
        (60.0, 67.0, "I want to thank you all for the laughter and the ideas."),
    ]


CUE_LINES = [
    "(upbeat music)",
    "Welcome back to the show.",
    "[Dan and Bekah chuckle]",
    "[Music]",
    "Let us begin.",
]


def _as_every_format(tmp_path: Path) -> dict[str, Path]:
    files = {
        "talk.srt": "".join(
            f"{i + 1}\n00:00:{i * 2:02d},000 --> 00:00:{i * 2 + 2:02d},000\n{line}\n\n"
            for i, line in enumerate(CUE_LINES)
        ),
        "talk.vtt": "WEBVTT\n\n"
        + "".join(
            f"00:00:{i * 2:02d}.000 --> 00:00:{i * 2 + 2:02d}.000\n{line}\n\n"
            for i, line in enumerate(CUE_LINES)
        ),
        "talk.whisper.txt": "".join(
            f"[00:00:{i * 2:02d}.000 --> 00:00:{i * 2 + 2:02d}.000]  {line}\n"
            for i, line in enumerate(CUE_LINES)
        ),
        "talk.txt": "\n\n".join(CUE_LINES) + "\n",
        "whisper.json": json.dumps(
            {
                "segments": [
                    {"start": i * 2, "end": i * 2 + 2, "text": " " + t} for i, t in enumerate(CUE_LINES)
                ]
            }
        ),
        "p20.json": json.dumps(
            {
                "version": "1.0.0",
                "segments": [
                    {"speaker": "Dan", "startTime": i * 2, "endTime": i * 2 + 2, "body": t}
                    for i, t in enumerate(CUE_LINES)
                ],
            }
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {name: tmp_path / name for name in files}


def test_sound_cues_are_left_out_the_same_way_in_every_format(tmp_path: Path) -> None:
    for name, path in _as_every_format(tmp_path).items():
        transcript = load_transcript(path)
        texts = [text for _, _, text in sentences_of(transcript)]
        assert texts == ["Welcome back to the show.", "Let us begin."], name


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("He [Obama] said it (Part 1) works.", "He [Obama] said it (Part 1) works."),
        ("That was [? finni. ?] great.", "That was [? finni. ?] great."),
        ("So [CHUCKLES] yes and [ __ ] no.", "So yes and no."),
        ("♪ la la ♪ done.", "la la done."),
        ("Sometimes (audience applauding) we win.", "Sometimes we win."),
    ],
)
def test_brackets_in_speech_stay(text: str, kept: str) -> None:
    transcript = Transcript((Segment(text, 0.0, 5.0),), origin="file:srt")
    assert [s for _, _, s in sentences_of(transcript)] == [kept]


@pytest.mark.parametrize(
    "name",
    ["berkeley-ai-rubric-lecture.whisper.txt", "mixture-of-experts-meetup.txt", "normconf-ml-cost-talk.txt"],
)
def test_no_real_sentence_of_the_sample_talks_is_dropped(name: str) -> None:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    transcript = load_transcript(path)
    tokens = word_stream(transcript.segments)
    kept = set(content_positions(tokens))
    dropped = " ".join(t.text for i, t in enumerate(tokens) if i not in kept)
    indexed = sum(len(s.text.split()) for s in split_sentences(transcript, WindowSettings()))
    # Every word is either indexed or part of a parenthesised sound cue; nothing else goes.
    assert indexed + len(dropped.split()) == len(tokens)
    assert re.fullmatch(r"(?:\([^()]*\)\s*)*", dropped)
    expected = {"berkeley-ai-rubric-lecture.whisper.txt": 21}.get(name, 0)
    assert len(dropped.split()) == expected  # "(audience applauding)", "(man speaking faintly)", ...


# --- 4. Names that say nothing ----------------------------------------------------------------------------


def _placed(tmp_path: Path, relative: str, fixture: Path = VOICE_VTT) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture, path)
    return path


@pytest.mark.parametrize(
    ("relative", "video_id", "title", "kind"),
    [
        (
            "The AI Agent Economy Is Here/transcript.en.vtt",
            "the-ai-agent-economy-is-here",
            "The AI Agent Economy Is Here",
            "transcript",
        ),
        ("marimo-pair/captions.vtt", "marimo-pair", "Marimo pair", "transcript"),
        (
            "subs/6_1.vtt",
            "coding-agents-have-gotten-really-good-at-one",
            "Coding agents have gotten really good at one",
            "transcript",
        ),
        (
            "downloads/Y5mxY_KX-EE.en.vtt",
            "Y5mxY_KX-EE",
            "Coding agents have gotten really good at one",
            "youtube",
        ),
        (
            "Q8wVMdwhlh4/transcript.en.vtt",
            "Q8wVMdwhlh4",
            "Coding agents have gotten really good at one",
            "youtube",
        ),
        (
            "x/[English (auto-generated)] Marimo pair [DownSub.com].vtt",
            "marimo-pair",
            "Marimo pair",
            "transcript",
        ),
    ],
)
def test_titles_and_ids_for_names_that_say_nothing(
    tmp_path: Path, relative: str, video_id: str, title: str, kind: str
) -> None:
    video = read_transcript_file(_placed(tmp_path, relative), IngestOptions()).video
    assert (video.video_id, video.title, video.kind) == (video_id, title, kind)
    assert is_video_id(video.video_id)


def test_whisper_cpp_audio_wav_srt_is_named_by_its_folder_and_linked_to_the_audio(tmp_path: Path) -> None:
    path = _placed(tmp_path, "Board meeting 124/audio.wav.srt", FIXTURES / "podcast-episode-12.srt")
    (path.parent / "audio.wav").write_bytes(b"RIFF")
    video = read_transcript_file(path, IngestOptions()).video
    assert (video.video_id, video.title, video.kind) == ("board-meeting-124", "Board meeting 124", "media")


def test_ids_do_not_depend_on_ingest_order(tmp_path: Path) -> None:
    first = _placed(tmp_path, "talk one/transcript.en.vtt")
    second = _placed(tmp_path, "talk two/transcript.en.vtt")
    ids = [read_transcript_file(p, IngestOptions()).video.video_id for p in (first, second)]
    again = [read_transcript_file(p, IngestOptions()).video.video_id for p in (second, first)]
    assert ids == ["talk-one", "talk-two"] and again == ids[::-1]


def test_options_still_win_over_derived_names(tmp_path: Path) -> None:
    path = _placed(tmp_path, "subs/transcript.en.vtt")
    video = read_transcript_file(path, IngestOptions(video_id="mine", title="My talk")).video
    assert (video.video_id, video.title) == ("mine", "My talk")


def test_durations_are_rounded(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps({"segments": [{"start": 0.1, "end": 3320.3999999999996, "text": "hi"}]}))
    assert read_transcript_file(path, IngestOptions()).video.duration == 3320.4


def test_a_deeply_nested_podcast_shaped_json_fails_alone_with_one_line(tmp_path: Path) -> None:
    hostile = tmp_path / "episode.json"
    hostile.write_text('{"startTime": 0, "body": "x", "segments": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert detect_format(hostile, hostile.read_text(encoding="utf-8")).name == "podcast-json"
    with pytest.raises(SourceError, match="nested too deeply"):
        load_transcript(hostile)
