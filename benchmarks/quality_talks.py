"""The talks that bench_quality.py adds to the three samples: two espeak-ng audio talks and one YouTube-style
rolling auto-caption WebVTT, made from permissively licensed transcripts (see benchmarks/talks/SOURCES.md).

    .venv/bin/python benchmarks/quality_talks.py --build       # synthesise the audio talks into the cache
    .venv/bin/python benchmarks/quality_talks.py --extract /work/shared/samples/real   # re-make talks/

``--extract`` is how the committed files in ``benchmarks/talks/`` were made from the shared seed samples
(deterministic; only needed to re-make them). The audio talks' text files hold one spoken line per line (long
run-on sentences cut at a clause, so every line is at most ~25 words), a blank line between paragraphs (or
speaker turns), and an optional ``[speaker]`` tag that picks the voice. ``build_audio`` speaks each line
with espeak-ng (tests/speech.py), puts realistic pauses between them, encodes an MP3 into
``benchmarks/.cache/`` and records where each line starts and ends in the recording: that is the truth the
benchmark measures against.
The rolling-caption file is written with computed word times; each caption line's true start is the time of
its first word (the start of its "typing" cue).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TALKS_DIR = HERE / "talks"
AUDIO_CACHE = HERE / ".cache" / "quality-talks"
SYNTH_VERSION = 1  # bump when the synthesis below changes, so cached recordings are rebuilt

_SPEAKER_TAG = re.compile(r"^\[(\w+)\]\s*")


@dataclass(frozen=True, slots=True)
class AudioTalk:
    """An audio talk: its text file, the espeak-ng voice and speed of each speaker, and a seed for pauses."""

    video_id: str
    text: Path
    voices: dict[
        str, tuple[str, int]
    ]  # speaker tag ("" when untagged) -> (espeak-ng voice, words per minute)
    seed: int
    long_pauses: dict[int, float]  # paragraph number -> seconds of silence before it (a slide change, a demo)

    @property
    def mp3(self) -> Path:
        return AUDIO_CACHE / f"{self.video_id}.mp3"

    @property
    def truth(self) -> Path:  # in a subfolder: nothing beside the MP3 may look like its subtitles
        return AUDIO_CACHE / "truth" / f"{self.video_id}.json"


AUDIO_TALKS: tuple[AudioTalk, ...] = (
    AudioTalk(
        "pir-sensor-teardown",
        TALKS_DIR / "pir-sensor-teardown.txt",
        {"": ("en-gb", 178)},
        seed=12,
        long_pauses={5: 5.0, 14: 7.0, 22: 4.5},
    ),
    AudioTalk(
        "podnews-weekly-review",
        TALKS_DIR / "podnews-weekly-review.txt",
        {
            "james": ("en-gb", 175),
            "sam": ("en-us", 182),
            "guest": ("en-us+f3", 170),
            "jingle": ("en-gb-scotland", 165),
        },
        seed=19,
        long_pauses={},
    ),
)
ROLLING_VTT = TALKS_DIR / "buzzcast-video-experiment.en.vtt"


# -- reading the committed talk files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    speaker: str
    text: str
    paragraph: int


def read_talk_lines(path: Path) -> list[Line]:
    """The spoken lines of an audio talk's text file (``#`` comments and blank lines are not spoken)."""
    lines: list[Line] = []
    paragraph = 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if lines and lines[-1].paragraph == paragraph:
                paragraph += 1
            continue
        match = _SPEAKER_TAG.match(raw)
        speaker = match.group(1) if match else ""
        lines.append(Line(speaker, raw[match.end() :] if match else raw.strip(), paragraph))
    return lines


_VTT_TIME = re.compile(r"^(\d+):(\d\d):(\d\d\.\d{3}) --> (\d+):(\d\d):(\d\d\.\d{3})")
_INLINE = re.compile(r"<[^>]*>")


def _stamp(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def read_rolling_lines(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of each caption line of a rolling VTT: the new line of each "typing" cue (the
    cue's last line), starting when the cue starts (its first word is untagged: said at the cue's start)."""
    out: list[tuple[float, float, str]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        rows = block.split("\n")
        match = next((_VTT_TIME.match(r) for r in rows if _VTT_TIME.match(r)), None)
        if match is None:
            continue
        start, end = _stamp(*match.groups()[:3]), _stamp(*match.groups()[3:])
        if end - start <= 0.011:  # the 10 ms "freeze" cue repeats the finished line
            continue
        body = rows[next(i for i, r in enumerate(rows) if _VTT_TIME.match(r)) + 1 :]
        text = _INLINE.sub("", body[-1]).replace("&gt;", ">").replace("&amp;", "&").replace("&lt;", "<")
        out.append((start, end, " ".join(text.split())))
    return out


# -- audio ---------------------------------------------------------------------------------------------------


def _espeak_version() -> str:
    try:
        done = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "missing"
    return done.stdout.strip()


def _key(talk: AudioTalk) -> str:
    digest = hashlib.sha256()  # what is spoken and how; the text file's comments do not count
    lines = [(line.speaker, line.text, line.paragraph) for line in read_talk_lines(talk.text)]
    spec = [lines, talk.voices, talk.seed, sorted(talk.long_pauses.items()), SYNTH_VERSION, _espeak_version()]
    digest.update(json.dumps(spec, sort_keys=True).encode())
    return digest.hexdigest()


def utterances(talk: AudioTalk) -> list[object]:
    """The talk as tests/speech.py Utterances: each speaker's voice with a paragraph-to-paragraph speed wobble
    (±8 wpm), 0.25-0.7 s between lines, 0.9-2.2 s between paragraphs, longer pauses where the talk says."""
    sys.path.insert(0, str(REPO))
    from tests.speech import Utterance

    rng = random.Random(talk.seed)
    out: list[object] = []
    wobble: dict[int, int] = {}
    previous = None
    for line in read_talk_lines(talk.text):
        voice, speed = talk.voices[line.speaker]
        if line.paragraph not in wobble:
            wobble[line.paragraph] = rng.randint(-8, 8)
        if previous is None:
            gap = 0.0
        elif line.paragraph != previous.paragraph:
            gap = talk.long_pauses.get(line.paragraph, rng.uniform(0.9, 2.2))
        else:
            gap = rng.uniform(0.25, 0.7)
        out.append(Utterance(line.text, round(gap, 3), voice, speed + wobble[line.paragraph]))
        previous = line
    return out


def build_audio(talk: AudioTalk, *, quiet: bool = False) -> dict[str, object]:
    """The talk's MP3 in the cache (made once; rebuilt when its text, voices or espeak-ng change) and its
    truth: ``{"key", "duration", "starts", "ends", "texts"}``, one start/end (seconds) per spoken line."""
    key = _key(talk)
    if talk.mp3.exists() and talk.truth.exists():
        truth: dict[str, object] = json.loads(talk.truth.read_text(encoding="utf-8"))
        if truth.get("key") == key:
            return truth
    sys.path.insert(0, str(REPO))
    from tests.speech import build_utterances, encode, espeak_available

    if not espeak_available():
        raise SystemExit("espeak-ng is needed to synthesise the audio talks (bash scripts/system-deps.sh)")
    if not quiet:
        print(f"synthesising {talk.video_id} with espeak-ng ...", flush=True)
    recording = build_utterances(utterances(talk), lead=1.2, tail=2.0)  # type: ignore[arg-type]
    AUDIO_CACHE.mkdir(parents=True, exist_ok=True)
    talk.truth.parent.mkdir(parents=True, exist_ok=True)
    partial = talk.mp3.with_suffix(".part.mp3")
    encode(recording, partial, title=talk.video_id)
    partial.replace(talk.mp3)
    truth = {
        "key": key,
        "duration": recording.duration,
        "starts": [round(s, 3) for s in recording.starts],
        "ends": [round(e, 3) for e in recording.ends],
        "texts": list(recording.texts),
    }
    talk.truth.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    if not quiet:
        print(f"  {talk.mp3.name}: {recording.duration / 60:.1f} min, {len(recording.starts)} lines")
    return truth


# -- --extract: how benchmarks/talks/ was made ---------------------------------------------------------------


def _vtt_cues(path: Path) -> list[tuple[float, float, str]]:
    cues = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        rows = block.strip().split("\n")
        if len(rows) < 2 or "-->" not in rows[0]:
            continue
        a, b = rows[0].split("-->")
        cues.append((_loose_seconds(a), _loose_seconds(b.split()[0]), " ".join(rows[1:])))
    return cues


def _loose_seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'‘])")
_BREAK_BEFORE = (
    "so",
    "however",
    "although",
    "because",
    "but",
    "and",
    "which",
    "this",
    "there's",
    "there",
    "we",
    "it's",
    "now",
)
MAX_LINE_WORDS = 25
# A cut never falls right after one of these: "in series with the / load" is not a place anyone pauses.
_NO_BREAK_AFTER = frozenset(
    """a an and as at be but by for from in is of on or so than that the this to was what where which
    with""".split()
)


def split_clauses(sentence: str, limit: int = MAX_LINE_WORDS) -> list[str]:
    """A long run-on sentence cut into spoken lines of at most ``limit`` words: at a comma or before a joining
    word ("so", "however", "and", ...), whichever is nearest the middle and leaves at least 5 words a side."""
    words = sentence.split()
    if len(words) <= limit:
        return [sentence]
    middle = len(words) / 2
    best: tuple[float, int] | None = None
    for i in range(5, len(words) - 4):
        previous, word = words[i - 1], words[i].lower().strip(",")
        if previous.endswith(","):
            weight = 0.0
        elif previous.lower() in _NO_BREAK_AFTER:
            continue
        elif word in _BREAK_BEFORE[:4]:
            weight = 1.0
        elif word in _BREAK_BEFORE:
            weight = 3.0
        else:
            continue
        score = abs(i - middle) + weight
        if best is None or score < best[0]:
            best = (score, i)
    cut = int(middle) if best is None else best[1]
    return split_clauses(" ".join(words[:cut]), limit) + split_clauses(" ".join(words[cut:]), limit)


def _speakable(text: str) -> str:
    """Light clean-up for speech: stage directions (*exhale*) out, typographic quotes and ellipses plain."""
    text = re.sub(r"\*[^*]+\*", " ", text)
    text = text.replace("‘", "'").replace("’", "'").replace("…", ",").replace("µm", "micron")
    text = text.replace("[5E1]", "5E1").replace(" ,the", ", the")
    text = re.sub(r"\s+,", ",", text)
    return " ".join(text.split())


# The PIR talk is spoken up to the quad-type sensor, then its closing line: ~3,200 of its 4,200 words, so the
# recording stays near 20 minutes.
PIR_LAST_WORDS = "certain applications where you'd want to use this for instance on a ceiling."


def extract_pir(shared: Path) -> str:
    cues = _vtt_cues(shared / "WizardTim__WizardTim-captions" / "en-AU.vtt")[1:]  # cue 1 is a credit
    text = _speakable(" ".join(text for _, _, text in cues))
    body, _, rest = text.partition(PIR_LAST_WORDS)
    closing = rest[rest.index("And that's it for this video") :].replace(":)", "").strip()
    sentences = [*_SENTENCE_END.split(body + PIR_LAST_WORDS), closing]
    paragraphs: list[list[str]] = [[]]
    for sentence in sentences:
        new_topic = sentence.split()[0] in ("So", "Now", "But", "First", "To") and len(paragraphs[-1]) >= 3
        if new_topic or len(paragraphs[-1]) >= 8:
            paragraphs.append([])
        paragraphs[-1].extend(split_clauses(sentence))
    header = [
        "# PIR Failure Analysis & Pyro-electric Sensor Teardown, by WizardTim (YouTube rJzNCCxsdEg),",
        "# from his manually typed captions, CC-BY-4.0; see SOURCES.md. One spoken line per line,",
        "# paragraphs apart.",
    ]
    return "\n".join(header) + "\n\n" + "\n\n".join("\n".join(p) for p in paragraphs if p) + "\n"


PODNEWS_SPEAKERS = {"SPEAKER_1": "james", "SPEAKER_2": "sam", "SPEAKER_3": "guest", "SPEAKER_4": "jingle"}


def extract_podnews(shared: Path) -> str:
    cues = _vtt_cues(shared / "stevencrader__transcriptator" / "podnews_weekly_review_2024-01-19.vtt")
    turns: list[list[str]] = []
    previous = None
    for _, _, raw in cues:
        match = re.match(r"<v (SPEAKER_\d)>(.*)", raw)
        assert match is not None, raw
        speaker, text = PODNEWS_SPEAKERS[match.group(1)], _speakable(match.group(2))
        if speaker != previous:
            turns.append([])
            previous = speaker
        turns[-1].extend(f"[{speaker}] {clause}" for clause in split_clauses(text))
    header = [
        "# Podnews Weekly Review, 19 January 2024 (James Cridland, Sam Sethi; guest Andy Goldsmith), from",
        "# the transcript Podnews published, as kept in stevencrader/transcriptator (MIT); see SOURCES.md.",
        "# [speaker] picks the espeak-ng voice; one spoken line per line, a blank line between turns.",
    ]
    return "\n".join(header) + "\n\n" + "\n\n".join("\n".join(t) for t in turns) + "\n"


# -- the rolling auto-caption file ---------------------------------------------------------------------------

BUZZCAST_END_S = (
    1250.0  # the first ~21 minutes: the video experiment and the start of the Dave Jones interview
)


def _caption_word(token: str) -> str:
    """Auto-caption style: lowercase, no punctuation but apostrophes and decimal points."""
    token = token.lower().replace("’", "'")
    token = re.sub(r"(?<!\d)\.|\.(?!\d)", "", token)
    return re.sub(r"[^\w'.%$]", "", token)


def _fmt(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def rolling_vtt(shared: Path) -> str:
    """Buzzcast's first ~21 minutes as yt-dlp writes YouTube auto-captions: lines of up to 8 words (a new
    line at a speaker change, after ~3 s, or at a pause), each shown by a typing cue with per-word times and
    then a 10 ms freeze cue. Word times spread each original caption's words evenly over its span."""
    data = json.loads((shared / "stevencrader__transcriptator" / "buzzcast.json").read_text(encoding="utf-8"))
    groups: list[tuple[str, float, float, list[str]]] = []  # a caption's two display lines share their times
    for seg in data["segments"]:
        if seg["startTime"] >= BUZZCAST_END_S:
            break
        key = (seg["speaker"], seg["startTime"], seg["endTime"])
        if groups and groups[-1][:3] == key:
            groups[-1][3].extend(seg["body"].replace("&", " and ").split())
        else:
            groups.append((*key, seg["body"].replace("&", " and ").split()))
    words: list[tuple[float, str, str]] = []  # (time, speaker, word)
    for speaker, start, end, tokens in groups:
        spoken = [w for w in (_caption_word(t) for t in tokens) if w]
        for k, word in enumerate(spoken):
            words.append((round(start + (end - start) * k / len(spoken), 3), speaker, word))
    lines: list[list[tuple[float, str, str]]] = []
    for item in words:
        line = lines[-1] if lines else None
        if (
            line is None
            or item[1] != line[0][1]
            or len(line) >= 8
            or item[0] - line[0][0] >= 3.0
            or item[0] - line[-1][0] >= 1.5
        ):
            lines.append([item])
        else:
            line.append(item)
    out = ["WEBVTT", "Kind: captions", "Language: en", ""]
    previous_text = " "
    for index, line in enumerate(lines):
        start = line[0][0]
        next_start = lines[index + 1][0][0] if index + 1 < len(lines) else line[-1][0] + 1.5
        first = ("&gt;&gt; " if index and line[0][1] != lines[index - 1][0][1] else "") + line[0][2]
        typed = first + "".join(f"<{_fmt(t)}><c> {w}</c>" for t, _, w in line[1:])
        text = " ".join([first, *(w for _, _, w in line[1:])])
        out += [
            f"{_fmt(start)} --> {_fmt(next_start - 0.01)} align:start position:0%",
            previous_text,
            typed,
            "",
        ]
        out += [f"{_fmt(next_start - 0.01)} --> {_fmt(next_start)} align:start position:0%", text, " ", ""]
        previous_text = text
    return "\n".join(out) + "\n"


def extract(shared: Path) -> None:
    TALKS_DIR.mkdir(exist_ok=True)
    (TALKS_DIR / "pir-sensor-teardown.txt").write_text(extract_pir(shared), encoding="utf-8")
    (TALKS_DIR / "podnews-weekly-review.txt").write_text(extract_podnews(shared), encoding="utf-8")
    ROLLING_VTT.write_text(rolling_vtt(shared), encoding="utf-8")
    for path in sorted(TALKS_DIR.glob("*.*")):
        print(f"wrote {path.relative_to(REPO)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--extract", type=Path, metavar="SHARED_REAL", help="re-make benchmarks/talks/")
    parser.add_argument("--build", action="store_true", help="synthesise the audio talks into the cache")
    args = parser.parse_args(argv)
    if args.extract:
        extract(args.extract)
    if args.build:
        for talk in AUDIO_TALKS:
            truth = build_audio(talk)
            print(f"{talk.video_id}: {float(truth['duration']) / 60:.1f} min")  # type: ignore[arg-type]
    if not args.extract and not args.build:
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
