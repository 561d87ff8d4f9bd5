"""Speaker names in transcripts: "Dan:" prefixes (SRT, WebVTT, plain text), WebVTT ``<v Dan>`` voice tags and
Podcasting 2.0 ``speaker`` keys become each segment's and sentence's ``speaker``, never part of its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.chunking import split_sentences
from atlas.config import WindowSettings
from atlas.models import Segment, Transcript
from atlas.sources.formats import detect_format, get_format
from atlas.sources.formats.speakers import split_label, uses_labels

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"

Row = tuple[str, float | None, float | None, str | None]


def parse_file(name: str) -> list[Segment]:
    path = FIXTURES / name
    text = path.read_text(encoding="utf-8")
    return detect_format(path, text).parse(text, str(path))


def rows(items: list[Segment]) -> list[Row]:
    return [(s.text, s.start, s.end, s.speaker) for s in items]


def sentence_rows(segments: list[Segment]) -> list[Row]:
    sentences = split_sentences(Transcript(tuple(segments), "file:test"), WindowSettings())
    return [(s.text, s.start, s.end, s.speaker) for s in sentences]


def test_srt_name_prefixes() -> None:
    """Labels leave the text; unlabelled cues continue the speaker before them; a dialogue cue ("- Dan: ...",
    "- Bekah Jones: ...") splits in two; "Note:" inside speech stays speech."""
    segments = parse_file("garden-hour-ep7.srt")
    assert rows(segments) == [
        ("Welcome back to the Garden Hour.", 0.0, 3.2, "Dan"),
        ("Today we are talking about compost and tomatoes.", 3.2, 6.9, "Dan"),
        ("Thanks, Dan. Note: I brought three jars of worm castings.", 9.6, 13.25, "Bekah Jones"),
        ("Three jars?", 13.3, 15.0, "Dan"),
        ("Three.", 13.3, 15.0, "Bekah Jones"),
        ("Note: worm castings are not compost.", 15.1, 19.48, "Dan"),
    ]
    assert sentence_rows(segments) == [
        ("Welcome back to the Garden Hour.", 0.0, 3.2, "Dan"),
        ("Today we are talking about compost and tomatoes.", 3.2, 6.9, "Dan"),
        ("Thanks, Dan.", 9.6, 13.25, "Bekah Jones"),
        ("Note: I brought three jars of worm castings.", 9.6, 13.25, "Bekah Jones"),
        ("Three jars?", 13.3, 15.0, "Dan"),
        ("Three.", 13.3, 15.0, "Bekah Jones"),
        ("Note: worm castings are not compost.", 15.1, 19.48, "Dan"),
    ]


def test_webvtt_voice_tags() -> None:
    """``<v Dan>``, ``<v.host Dan>`` (a class), a cue with two voices, an entity in the text; the sound cue
    "(laughs)" is kept in the transcript but is no sentence."""
    segments = parse_file("garden-hour-ep8.vtt")
    assert rows(segments) == [
        ("Welcome to episode eight of the Garden Hour.", 0.0, 4.1, "Dan"),
        ("Bekah brought seeds from her grandmother's farm.", 4.1, 7.6, "Dan"),
        ("They are heirloom beans, & they climb.", 7.8, 11.35, "Bekah Jones"),
        ("How high?", 11.4, 13.0, "Dan"),
        ("Two metres.", 11.4, 13.0, "Bekah Jones"),
        ("(laughs)", 13.1, 15.0, "Bekah Jones"),
    ]
    assert sentence_rows(segments)[-2:] == [
        ("How high?", 11.4, 13.0, "Dan"),
        ("Two metres.", 11.4, 13.0, "Bekah Jones"),
    ]


def test_podcasting_json_speakers() -> None:
    segments = parse_file("garden-hour-ep9.json")
    assert rows(segments) == [
        ("Episode nine is about pruning fruit trees.", 0.5, 3.25, "Dan"),
        ("Prune apples in late winter.", 3.25, 6.8, "Bekah Jones"),
        ("[Dan and Bekah chuckle]", 6.8, 8.0, "Bekah Jones"),
        ("And cherries after harvest.", 8.0, 10.75, "Dan"),
    ]
    assert sentence_rows(segments) == [
        ("Episode nine is about pruning fruit trees.", 0.5, 3.25, "Dan"),
        ("Prune apples in late winter.", 3.25, 6.8, "Bekah Jones"),
        ("And cherries after harvest.", 8.0, 10.75, "Dan"),
    ]


def test_plain_text_prefixes_start_new_segments() -> None:
    segments = parse_file("garden-hour-notes.txt")
    assert rows(segments) == [
        ("Welcome to the bonus episode. We answer listener mail today.", None, None, "Dan"),
        ("First letter. Note: it came by post.", None, None, "Bekah Jones"),
        ("Read it out.", None, None, "Dan"),
    ]


def test_broadcast_and_bracket_labels() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\n>> DAN: Good evening.\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\n>> MARIA LOPEZ: Thank you.\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\n[Music] Here we go.\n\n"
    )
    assert rows(get_format("srt").parse(srt, "news.srt")) == [
        ("Good evening.", 1.0, 2.0, "DAN"),
        ("Thank you.", 2.0, 3.0, "MARIA LOPEZ"),
        ("[Music] Here we go.", 3.0, 4.0, "MARIA LOPEZ"),  # a sound cue is no speaker
    ]
    text = "[Dan] So what did you plant?\n[Bekah] Garlic, mostly.\n"
    assert rows(get_format("plain").parse(text, "notes.txt")) == [
        ("So what did you plant?", None, None, "Dan"),
        ("Garlic, mostly.", None, None, "Bekah"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Note: the slides are online.\nThe talk starts with a demo.\n",  # one heading-like prefix
        "Summary: we ship on Friday.\nWarning: the build is slow.\n",  # heading words are not names
        "Bob said hello.\nThen: nothing happened.\n",  # not at the start of every line, and alone
        "Remember: water daily.\nRemember: feed weekly.\n",  # a recurring heading word
        "the ratio is 3: 1 and 4: 1\nurl http: x\n",
    ],
)
def test_ordinary_text_is_not_labelled(text: str) -> None:
    segments = get_format("plain").parse(text, "notes.txt")
    assert all(s.speaker is None for s in segments)
    assert " ".join(s.text for s in segments) == " ".join(text.split())


def test_headings_in_a_long_talk_are_not_speakers() -> None:
    """The shape of samples/mixture-of-experts-meetup.txt: a long talk whose slide text has "Premise:",
    "Problem:", "Solution:", "Benefits:" once each; and a word that heads two lines of a long talk."""
    talk = [f"and this is line {n} of the talk." for n in range(400)]
    headings = ["Premise: a system.", "Problem: no map.", "Solution: a map.", "Benefits: fewer gaps."]
    twice = ["Python: the language.", "Python: the snake."]
    for extra in (headings, twice):
        segments = get_format("plain").parse("\n".join([*talk[:200], *extra, *talk[200:]]), "talk.txt")
        assert all(s.speaker is None for s in segments)
        assert any(s.text == extra[0] for s in segments)


def test_label_shape() -> None:
    assert split_label("Dan: hi") == ("Dan", "hi")
    assert split_label("Bekah Jones: hi there") == ("Bekah Jones", "hi there")
    assert split_label("- Zoë: hej") == ("Zoë", "hej")
    assert split_label("dan: hi") == (None, "dan: hi")  # lower case: speech, not a name
    assert split_label("The Big Idea Here: hi") == (None, "The Big Idea Here: hi")  # three words
    assert split_label("Dan:hi") == (None, "Dan:hi")
    assert not uses_labels(["Dan: only once", "then speech"])
    assert uses_labels(["Dan: one", "Bekah: two"]) and uses_labels(["Dan: one", "more", "Dan: two"])


def test_word_timed_captions_have_no_speakers() -> None:
    """YouTube auto-captions name nobody: no speaker is invented."""
    segments = parse_file("How Transformers Pay Attention [aBcD3fG_h-1].en.vtt")
    assert segments and all(s.speaker is None for s in segments)
