"""Real test audio: espeak-ng speaks known sentences, placed at known offsets with silence between, then PyAV
encodes the recording as WAV, MP3 or MP4 (AAC audio plus a blank H.264 video stream).

Each sentence's start in the recording is exact by construction: espeak-ng's own leading and trailing
silence is trimmed before the sentence is placed, so ``Recording.starts[i]`` is where speech ``i`` begins.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

ESPEAK_RATE = 22050  # espeak-ng writes 22.05 kHz mono 16-bit WAV

# Twelve topically distinct sentences (nothing shared but grammar), each with a paraphrase that shares few
# of its words: searching the paraphrase must land on the sentence's moment.
SENTENCES: tuple[tuple[str, str], ...] = (
    (
        "The volcano on the island erupted at dawn and covered the fishing village in grey ash.",
        "an eruption buried a coastal town under dust",
    ),
    (
        "Our bakery proofs the sourdough overnight in the fridge so the crust turns dark and crackly.",
        "letting bread dough rise slowly in a cold place for a better crust",
    ),
    (
        "The goalkeeper saved a penalty kick in the final minute and the stadium went wild.",
        "a keeper stopped a spot kick late in the match",
    ),
    (
        "Interest rates rose again this quarter, so mortgage payments for new home buyers went up.",
        "borrowing costs climbing makes house loans more expensive",
    ),
    (
        "Honeybees communicate the direction of flowers to the hive by performing a waggle dance.",
        "insects dancing to tell each other where to find nectar",
    ),
    (
        "The orchestra tuned their violins while the conductor studied the score of the symphony.",
        "musicians preparing string instruments before a classical concert",
    ),
    (
        "Astronomers spotted a comet with a bright green tail passing close to Jupiter.",
        "a glowing space rock seen near the biggest planet",
    ),
    (
        "Regular stretching before a run helps prevent injuries to your hamstrings and calves.",
        "warming up your leg muscles so jogging does not hurt them",
    ),
    (
        "The medieval castle had a moat, a drawbridge and towers made of limestone.",
        "an old fortress surrounded by water with stone turrets",
    ),
    (
        "Recycling aluminium cans saves most of the energy needed to make new metal from ore.",
        "reusing drink tins uses far less power than mining",
    ),
    (
        "The submarine dived below the arctic ice to measure the temperature of the ocean water.",
        "a vessel under the polar sea checking how cold the water is",
    ),
    (
        "Children learn to read faster when parents share picture books with them every evening.",
        "kids become better readers if families look at illustrated stories at bedtime",
    ),
)


@dataclass(frozen=True)
class Recording:
    """Mono int16 samples at ``rate`` and where each spoken sentence starts and ends (seconds)."""

    samples: np.ndarray
    rate: int
    texts: tuple[str, ...]
    starts: tuple[float, ...]
    ends: tuple[float, ...]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 175) -> np.ndarray:
    """espeak-ng's rendering of ``text``, leading and trailing silence trimmed, int16 at ESPEAK_RATE."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        samples, rate = read_wav(out)
    assert rate == ESPEAK_RATE, rate
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


@dataclass(frozen=True)
class Utterance:
    """One sentence of a recording: what is said, in which espeak-ng voice, how fast, after what silence."""

    text: str
    gap: float  # seconds of silence before it (after the lead-in, for the first)
    voice: str = "en-us"
    words_per_minute: int = 175


def build_recording(
    texts: tuple[str, ...] | list[str], *, lead: float = 1.5, gap: float = 4.0, tail: float = 1.5
) -> Recording:
    """The sentences spoken one after another with ``gap`` seconds of silence between them."""
    return build_utterances([Utterance(text, gap) for text in texts], lead=lead, tail=tail)


def build_utterances(utterances: list[Utterance], *, lead: float = 1.5, tail: float = 1.5) -> Recording:
    """Each utterance spoken by its voice at its speed, ``gap`` seconds after the previous one."""
    parts: list[np.ndarray] = [np.zeros(int(lead * ESPEAK_RATE), np.int16)]
    starts: list[float] = []
    ends: list[float] = []
    cursor = len(parts[0])
    for index, utterance in enumerate(utterances):
        if index:
            parts.append(np.zeros(int(utterance.gap * ESPEAK_RATE), np.int16))
            cursor += len(parts[-1])
        spoken = speak(utterance.text, voice=utterance.voice, words_per_minute=utterance.words_per_minute)
        starts.append(cursor / ESPEAK_RATE)
        parts.append(spoken)
        cursor += len(spoken)
        ends.append(cursor / ESPEAK_RATE)
    parts.append(np.zeros(int(tail * ESPEAK_RATE), np.int16))
    texts = tuple(utterance.text for utterance in utterances)
    return Recording(np.concatenate(parts), ESPEAK_RATE, texts, tuple(starts), tuple(ends))


def silence(seconds: float) -> Recording:
    return Recording(np.zeros(int(seconds * ESPEAK_RATE), np.int16), ESPEAK_RATE, (), (), ())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        return np.frombuffer(handle.readframes(handle.getnframes()), np.int16).copy(), handle.getframerate()


def write_wav(recording: Recording, path: Path) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(recording.rate)
        handle.writeframes(recording.samples.tobytes())
    return path


def encode(recording: Recording | None, path: Path, *, video: bool = False, title: str | None = None) -> Path:
    """Encode with PyAV by the suffix: ``.mp3`` (MP3), ``.m4a`` (AAC), ``.mp4`` (AAC, plus a blank 64×64
    H.264 video track when ``video``); ``recording=None`` with ``video`` makes a file with no audio stream."""
    import av

    codec = {".mp3": "mp3", ".m4a": "aac", ".mp4": "aac", ".mkv": "aac"}[path.suffix]
    duration = recording.duration if recording is not None else 5.0
    with av.open(str(path), "w") as container:
        if title:
            container.metadata["title"] = title
        audio = container.add_stream(codec, rate=recording.rate) if recording is not None else None
        picture = None
        if video:
            picture = container.add_stream("libx264", rate=Fraction(2))
            picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
            blank = np.zeros((64, 64, 3), np.uint8)
            for index in range(int(duration * 2)):
                frame = av.VideoFrame.from_ndarray(blank, format="rgb24")
                frame.pts = index
                container.mux(picture.encode(frame))
            container.mux(picture.encode(None))
        if audio is not None and recording is not None:
            resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=recording.rate)
            block = 60 * recording.rate  # a minute per frame: one frame of hours of audio is not written
            for begin in range(0, len(recording.samples), block):
                piece = recording.samples[begin : begin + block].reshape(1, -1)
                source = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
                source.sample_rate = recording.rate
                for frame in resampler.resample(source):
                    container.mux(audio.encode(frame))
            for frame in resampler.resample(None):
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path
