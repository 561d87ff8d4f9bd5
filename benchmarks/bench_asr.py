"""Speech-to-text speed and accuracy on a talk-like espeak-ng recording with known text and sentence times.

    .venv/bin/python benchmarks/bench_asr.py                # old default, new default, end to end: ~3 min
    .venv/bin/python benchmarks/bench_asr.py --explore      # + the alternatives that were measured: ~10 min
    .venv/bin/python benchmarks/bench_asr.py --repeat 2     # each row twice, interleaved; the fastest is kept

The recording (7.4 min): fifteen paragraphs of a two-part talk, each paragraph in another espeak-ng voice and
speed (en-us, en-gb, en-029, Scottish, New York, female and male variants; 150-190 words per minute), with
0.35-0.9 s pauses between sentences, 2-4 s between paragraphs and two long pauses (9 s, 12 s) for VAD to skip.

Rows: "old default" is what Atlas shipped before (one tiny.en model using every thread, beam 5); "new default"
is what ``load_transcriber`` gives now (one single-thread worker per core, each transcribing its own chunk,
beam 3). Both run atlas's chunked pipeline (``transcribe_stream``) on the same WAV. The end-to-end rows are
``Library.ingest`` of the WAV into a fresh library with the real MiniLM (decode + transcribe + chunk + embed +
index), models already loaded, once with each default and once as `atlas ingest --beam 1` does (greedy, the
faster path a user can choose). ``--explore`` adds the other things that were tried:
beams 1/2/5, more threads per worker, word timestamps and VAD off, faster-whisper's BatchedInferencePipeline
(×8 and ×16, beam 5 and 1) and the base model.

Columns: audio s, wall s, CPU s (all threads), × real time (audio / wall), vs old (the old default's wall /
this wall, same run; end to end against end to end), WER against the known text (numbers written as words on
both sides), the error of each sentence's start time (its first correctly heard word against when espeak-ng
said it), median and p90, the process's peak RSS during the row (every model loaded so far included), and
"others": the CPU cores other processes used meanwhile, on average (from /proc/stat; above ~0.1 on 2 cores
the row's timing is pessimistic). Target: end to end ≥ 20× real time on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.speech import Recording, Utterance, build_utterances, write_wav  # noqa: E402

import atlas.asr.faster_whisper as fw  # noqa: E402
from atlas.asr.base import Audio, ChunkTranscription, Transcriber  # noqa: E402
from atlas.asr.pipeline import TranscribeOptions, transcribe_stream  # noqa: E402
from atlas.config import Settings  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import IngestOptions, Transcript  # noqa: E402

# What Atlas shipped before this benchmark: one model using every thread, beam 5.
OLD_DEFAULT: dict[str, Any] = {"workers": 1, "beam_size": 5}

# A two-part talk: (voice, words per minute, sentences) per paragraph. No text is shared with tests/speech.py.
TALK: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "en-us",
        175,
        (
            "Good morning everyone, and thank you for coming to this session about how cities manage their "
            "water.",
            "Most of us never think about where the water in our kitchen tap comes from.",
            "In many towns it starts as rain falling on hills far away from any house.",
            "It flows into reservoirs, passes through filters of sand and gravel, and is treated with a "
            "little chlorine.",
            "Then it is pumped uphill into tall tanks, so gravity can push it through the pipes all day "
            "long.",
            "When a pipe breaks under a busy street, engineers can lose a surprising amount of clean water "
            "every hour.",
        ),
    ),
    (
        "en-gb",
        160,
        (
            "Let me change the subject for a moment and talk about sleep.",
            "Doctors say that adults need somewhere between seven and nine hours of rest each night.",
            "Bright screens late in the evening can delay the moment when we feel tired.",
            "A cool, dark and quiet bedroom helps the body fall asleep and stay asleep.",
            "People who work night shifts often struggle, because their internal clock disagrees with their "
            "schedule.",
            "Short naps in the early afternoon can improve attention without ruining the night.",
            "Caffeine stays in the blood for many hours, so a late coffee may keep you awake at midnight.",
        ),
    ),
    (
        "en-us+f3",
        185,
        (
            "Now here is a story from my grandfather, who kept bees in his garden for forty years.",
            "Every spring he opened the wooden boxes slowly, wearing a veil and thick leather gloves.",
            "He told me that a calm beekeeper makes calm bees, and that smoke hides the smell of alarm.",
            "In a good summer a single hive could give him more honey than the family could eat.",
            "He sold the rest at the village market, next to a neighbor who sold cheese and eggs.",
            "When a harsh winter killed half of his colonies, he simply started again with new swarms.",
        ),
    ),
    (
        "en-gb-x-rp",
        150,
        (
            "The next topic is the history of the printing press.",
            "Before movable type, books were copied by hand, and a single bible could take years to finish.",
            "Printers arranged small metal letters in a frame, covered them with ink and pressed paper on "
            "top.",
            "Suddenly pamphlets and newspapers could spread new ideas across a whole country within weeks.",
            "Some rulers were frightened by this and tried to control what could be printed.",
            "Libraries grew, schools used printed textbooks, and more ordinary people learned to read.",
        ),
    ),
    (
        "en-029",
        170,
        (
            "Let us finish with a few words about cooking rice properly.",
            "First rinse the grains in cold water until the water runs almost clear.",
            "Use a heavy pot with a tight lid, and measure the water carefully instead of guessing.",
            "Bring it to a boil, turn the heat down low, and resist the urge to lift the lid.",
            "After the rice has cooked, let it rest for ten minutes so the steam finishes the job.",
            "Fluff it gently with a fork and serve it while it is still warm.",
        ),
    ),
    (
        "en-us+m3",
        190,
        (
            "Some of you asked me yesterday about training for a first marathon.",
            "The most common mistake is running too fast on easy days and too slowly on hard ones.",
            "Increase your weekly distance gradually, and take a lighter week after every three weeks of "
            "training.",
            "Good shoes matter, but so do sleep, food and patience.",
            "On race day, start slower than you think you should, because the last few miles are the "
            "hardest.",
            "Drink water at the stations even if you do not feel thirsty yet.",
        ),
    ),
    (
        "en-gb-scotland",
        165,
        (
            "I also promised a short word about the night sky this month.",
            "If the weather stays clear, you can see the planet Venus shining low in the west after sunset.",
            "Later in the evening, the bright stars of the winter triangle rise in the east.",
            "A pair of ordinary binoculars is enough to see the moons of Jupiter as tiny points of light.",
            "Try to find a place away from street lamps, and give your eyes twenty minutes to adapt to the "
            "dark.",
        ),
    ),
    (
        "en-us-nyc",
        180,
        (
            "Before we take questions, I want to thank the organizers and the volunteers.",
            "The slides will be posted on the website later this week, together with the reading list.",
            "If you have a question, please raise your hand and wait for the microphone.",
            "We have about ten minutes left, so let us keep the answers short.",
        ),
    ),
    (
        "en-gb",
        180,
        (
            "Welcome back, and I hope everyone found the coffee during the break.",
            "This afternoon I want to talk about bridges, and why some of them last for centuries.",
            "The Romans built stone arches that still carry traffic today.",
            "An arch works because every stone pushes against its neighbors, so the whole shape stays in "
            "compression.",
            "Modern suspension bridges hang the road from steel cables that run over tall towers.",
            "Wind is the enemy of a long bridge, and engineers now test their designs in wind tunnels.",
        ),
    ),
    (
        "en-us+f3",
        165,
        (
            "Our second speaker studies how birds find their way across oceans.",
            "Many songbirds migrate at night and rest in forests during the day.",
            "They seem to use the stars, the setting sun and even the magnetic field of the earth.",
            "Young birds on their first journey often travel alone, without any adult to follow.",
            "Bright city lights can confuse them, and thousands crash into glass towers every autumn.",
            "Some cities now switch off decorative lights during the busiest weeks of migration.",
        ),
    ),
    (
        "en-us",
        190,
        (
            "Let me tell you a little about how a bicycle stays upright.",
            "Most people believe it is the spinning wheels, but that is only a small part of the story.",
            "The front wheel touches the ground slightly behind the line of the steering axis.",
            "When the bike leans, the front wheel turns into the lean and brings the wheels back under the "
            "rider.",
            "That is why a riderless bicycle pushed down a hill can travel a long way before it falls.",
        ),
    ),
    (
        "en-gb-scotland",
        155,
        (
            "Now a question that my students always ask: why is the sea salty?",
            "Rain slowly dissolves minerals from rocks, and rivers carry them down to the ocean.",
            "When sea water evaporates, the salt stays behind, so over millions of years it builds up.",
            "Some lakes in the desert are even saltier than the sea, because they have no outlet at all.",
            "You can float in them without moving your arms or legs.",
        ),
    ),
    (
        "en-us-nyc",
        170,
        (
            "The next part of the talk is about keeping houseplants alive.",
            "Most plants die from too much water rather than too little.",
            "Check the soil with your finger, and water only when the top layer feels dry.",
            "Plants near a sunny window grow toward the light, so turn the pot every week or so.",
            "In winter they rest, and they need less water and no fertilizer at all.",
            "If the leaves turn yellow and soft, the roots are probably sitting in a soggy pot.",
        ),
    ),
    (
        "en-gb-x-rp",
        185,
        (
            "Finally, a few words about how chess engines think.",
            "Early programs simply searched through as many moves as possible, as quickly as they could.",
            "Newer engines learn by playing millions of games against themselves.",
            "They sometimes sacrifice pieces in ways that surprise even grandmasters.",
            "Human players now study these games to find fresh ideas in old openings.",
        ),
    ),
    (
        "en-us+m3",
        160,
        (
            "That brings us to the end of the day.",
            "Please leave your badges at the front desk on your way out.",
            "Dinner is served in the main hall, and the bus to the station leaves at seven.",
            "Thank you all for listening so patiently.",
        ),
    ),
)
LONG_PAUSES = {3: 9.0, 12: 12.0}  # paragraph -> seconds of silence before it (a slide change, a break)


def talk_utterances(seed: int = 7) -> list[Utterance]:
    rng = random.Random(seed)
    utterances = []
    for number, (voice, speed, sentences) in enumerate(TALK):
        for index, text in enumerate(sentences):
            gap = rng.uniform(2.0, 4.0) if index == 0 else rng.uniform(0.35, 0.9)
            if index == 0 and number in LONG_PAUSES:
                gap = LONG_PAUSES[number]
            utterances.append(Utterance(text, gap, voice, speed))
    return utterances


# -- scoring ------------------------------------------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(number: int) -> list[str]:
    """0..999 as spoken ("40" -> forty): Whisper writes numbers as digits, the reference spells them."""
    if number < 20:
        return [_ONES[number]]
    if number < 100:
        return [_TENS[number // 10]] + ([_ONES[number % 10]] if number % 10 else [])
    rest = number_words(number % 100) if number % 100 else []
    return [_ONES[number // 100], "hundred", *rest]


def words_of(text: str) -> list[str]:
    tokens = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return [w for t in tokens for w in (number_words(int(t)) if t.isdigit() and int(t) < 1000 else [t])]


def align(reference: list[str], hypothesis: list[str]) -> tuple[int, dict[int, int]]:
    """Word edit distance, and for each reference word that was transcribed exactly, its hypothesis index."""
    rows, cols = len(reference) + 1, len(hypothesis) + 1
    cost = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(cols):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1, cost[i - 1][j - 1] + (0 if same else 1))
    matched: dict[int, int] = {}
    i, j = rows - 1, cols - 1
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if cost[i][j] == cost[i - 1][j - 1] + (0 if same else 1):
            if same:
                matched[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return cost[-1][-1], matched


def score(transcript: Transcript, recording: Recording) -> tuple[float, tuple[float, ...]]:
    """WER, and per sentence |transcribed start - spoken start| (from its first correctly heard word; a word
    k of n in a sentence is taken to be spoken k/n of the way through it)."""
    reference: list[str] = []
    owner: list[tuple[int, int, int]] = []  # (sentence, word index, words in sentence)
    for number, text in enumerate(recording.texts):
        sentence_words = words_of(text)
        reference += sentence_words
        owner += [(number, k, len(sentence_words)) for k in range(len(sentence_words))]
    hypothesis: list[str] = []
    times: list[float] = []
    for segment in transcript.segments:
        if segment.words:
            for word in segment.words:
                for token in words_of(word.text):
                    hypothesis.append(token)
                    times.append(word.start or 0.0)
        else:  # no word timestamps: spread the segment's words evenly over its span
            tokens = words_of(segment.text)
            start, end = segment.start or 0.0, segment.end or 0.0
            for k, token in enumerate(tokens):
                hypothesis.append(token)
                times.append(start + (end - start) * k / max(1, len(tokens)))
    distance, matched = align(reference, hypothesis)
    errors: dict[int, float] = {}
    for ref_index, hyp_index in sorted(matched.items()):
        sentence, k, n = owner[ref_index]
        if sentence in errors:
            continue
        spoken = recording.starts[sentence] + (recording.ends[sentence] - recording.starts[sentence]) * k / n
        errors[sentence] = abs(times[hyp_index] - spoken)
    return distance / len(reference), tuple(errors[s] for s in sorted(errors))


# -- measuring ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    audio: float
    wall: float
    cpu: float
    wer: float
    start_errors: tuple[float, ...]
    peak_rss_mb: float
    others: float  # CPU cores that other processes used meanwhile, on average


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Samples this process's resident memory every 50 ms; yields a one-item list holding the peak in MB."""
    peak = [0.0]
    stop = threading.Event()
    page = os.sysconf("SC_PAGE_SIZE")

    def sample() -> None:
        while not stop.wait(0.05):
            with open("/proc/self/statm") as statm:
                peak[0] = max(peak[0], int(statm.read().split()[1]) * page / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def transcribe(wav: Path, transcriber: Transcriber) -> Transcript:
    return transcribe_stream(wav, transcriber, TranscribeOptions())


def busy_cpu_seconds() -> float:
    """CPU time every process on the machine has used since boot (the load average would count this one)."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def measure(name: str, recording: Recording, run: Callable[[], Transcript]) -> Row:
    with peak_rss() as peak:
        started, cpu_started, busy_started = time.perf_counter(), time.process_time(), busy_cpu_seconds()
        transcript = run()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        others = max(0.0, (busy_cpu_seconds() - busy_started - cpu) / wall)
    wer, errors = score(transcript, recording)
    return Row(name, recording.duration, wall, cpu, wer, errors, peak[0], others)


class BatchedTranscriber:
    """faster-whisper's BatchedInferencePipeline behind the Transcriber protocol (exploratory rows): VAD cuts
    the chunk into ≤30 s windows that are decoded ``batch_size`` at a time, without the running context."""

    workers = 1

    def __init__(self, model_name: str, threads: int, batch_size: int, beam_size: int) -> None:
        from faster_whisper import BatchedInferencePipeline

        base = fw.load_transcriber(model_name, threads=threads, workers=1)
        self._pipeline = BatchedInferencePipeline(base.model)
        self._batch_size = batch_size
        self._beam_size = beam_size
        self.language = base.language
        self.name = f"{base.name}+batched{batch_size}"

    def transcribe(self, audio: Audio, *, language: str | None = None) -> ChunkTranscription:
        segments, info = self._pipeline.transcribe(
            audio,
            language=language,
            word_timestamps=True,
            without_timestamps=False,  # True drops whole sentences with tiny.en
            vad_filter=True,
            batch_size=self._batch_size,
            beam_size=self._beam_size,
        )
        return ChunkTranscription(info.language, fw.convert_segments(segments))


def transcription_rows(threads: int, explore: bool) -> list[tuple[str, Callable[[], Transcriber]]]:
    def plain(model: str = "tiny.en", **kwargs: Any) -> Callable[[], Transcriber]:
        return lambda: fw.load_transcriber(model, threads=threads, **kwargs)

    workers, per_worker = fw.worker_threads(threads)
    rows = [
        (f"old default: tiny.en, 1 model × {threads} threads, beam 5", plain(**OLD_DEFAULT)),
        (
            f"new default: tiny.en, {workers} workers × {per_worker} thread, beam {fw.BEAM_SIZE}",
            plain(),
        ),
    ]
    if not explore:
        return rows
    for beam in sorted({1, 2, 5} - {fw.BEAM_SIZE}):
        rows.append((f"new default, beam {beam}", plain(beam_size=beam)))
    if threads >= 2:
        rows.append((f"1 worker × {threads} threads, beam {fw.BEAM_SIZE}", plain(workers=1)))
    rows += [
        ("new default, word timestamps off", plain(word_timestamps=False)),
        ("new default, VAD off", plain(vad=False)),
    ]
    for batch, beam in ((8, 5), (8, 1), (16, 1)):
        name = f"batched pipeline ×{batch}, beam {beam}, {threads} threads"
        rows.append((name, partial(BatchedTranscriber, "tiny.en", threads, batch, beam)))
    rows.append(("new default with base", plain(model="base")))
    return rows


def end_to_end(
    wav: Path,
    recording: Recording,
    threads: int,
    defaults: dict[str, Any],
    name: str,
    options: IngestOptions | None = None,
) -> Row:
    """``Library.ingest`` of the WAV into a fresh library with ``options`` (what `atlas ingest`'s flags give),
    models already loaded; ``defaults`` override what the ingest's ``load_transcriber`` call uses (the old
    default is no longer an option of the CLI)."""
    original = fw.load_transcriber

    def loader(model_name: str, **kwargs: Any) -> fw.FasterWhisperTranscriber:
        return original(model_name, **{**kwargs, **defaults})

    with tempfile.TemporaryDirectory() as tmp:
        with Library.open(Settings(library_dir=Path(tmp) / "warm", threads=threads)) as warm:
            embedder = warm.embedder  # load MiniLM once, outside the timed run
            embedder.embed(["warm up"])
        loader("tiny.en", threads=threads)
        with Library.open(Settings(library_dir=Path(tmp) / "lib", threads=threads), embedder=embedder) as lib:
            fw.load_transcriber = loader
            try:

                def ingest() -> Transcript:
                    report = lib.ingest([str(wav)], options)
                    assert [o.status for o in report.outcomes] == ["added"], report.outcomes
                    (video,) = lib.list_videos()
                    return lib.get_record(video.video_id).transcript

                return measure(name, recording, ingest)
            finally:
                fw.load_transcriber = original


def quantile(values: Sequence[float], q: float) -> float:
    """The value at fraction ``q`` of the sorted values (nearest rank below, no interpolation)."""
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def markdown_table(head: str, rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: ``head`` is the column names joined by "|"; the first column left-aligned, the rest
    (numbers) right-aligned."""
    names = head.split("|")
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join(["---"] + ["---:"] * (len(names) - 1)) + "|"]
    lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
    return "\n".join(lines)


def render(rows: list[Row], baseline: float, end_to_end_baseline: float) -> str:
    """The table; "vs old" compares transcription rows with the old default's transcription and end-to-end
    rows with the old default's end to end."""

    def versus(row: Row) -> float:
        return end_to_end_baseline if row.name.startswith("end to end") else baseline

    return markdown_table(
        "configuration|audio s|wall s|CPU s|× real time|vs old|WER|start p50|p90|peak RSS|others",
        (row_cells(row, versus(row)) for row in rows),
    )


def row_cells(row: Row, baseline: float) -> tuple[str, ...]:
    errors = row.start_errors
    p50 = f"{statistics.median(errors):.2f} s" if errors else "—"
    p90 = f"{quantile(errors, 0.9):.2f} s" if errors else "—"
    return (
        row.name,
        f"{row.audio:.0f}",
        f"{row.wall:.1f}",
        f"{row.cpu:.1f}",
        f"{row.audio / row.wall:.1f}×",
        f"{baseline / row.wall:.2f}×",
        f"{row.wer:.1%}",
        p50,
        p90,
        f"{row.peak_rss_mb:.0f} MB",
        f"{row.others:.2f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per row, interleaved; the fastest is kept"
    )
    parser.add_argument("--explore", action="store_true", help="add the alternatives that were measured")
    args = parser.parse_args()

    recording = build_utterances(talk_utterances())
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(recording, Path(tmp) / "talk.wav")
        print(
            f"{len(recording.texts)} sentences, {recording.duration:.0f} s of audio, {args.threads} threads, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        excerpt = write_wav(
            Recording(recording.samples[: 40 * recording.rate], recording.rate, (), (), ()),
            Path(tmp) / "excerpt.wav",
        )
        runs: list[tuple[str, Callable[[], Row]]] = []
        for name, make in transcription_rows(args.threads, args.explore):
            transcriber = make()  # loads the weights now: load time is not transcription time
            transcribe(excerpt, transcriber)  # and first-use costs (the VAD model, buffers) are not either
            runs.append((name, partial(measure, name, recording, partial(transcribe, wav, transcriber))))
        greedy = IngestOptions(beam=1)  # `atlas ingest --beam 1`
        for name, defaults, options in (("--beam 1", {}, greedy), ("old default", OLD_DEFAULT, None)):
            title = f"end to end, {name}: Library.ingest (tiny.en, MiniLM)"
            ingest_run = partial(end_to_end, wav, recording, args.threads, defaults, title, options)
            runs.append((title, ingest_run))
        title = "end to end, new default: Library.ingest (tiny.en, MiniLM)"
        runs.append((title, partial(end_to_end, wav, recording, args.threads, {}, title)))
        best: dict[str, Row] = {}
        for _ in range(args.repeat):
            for name, run in runs:
                row = run()
                print(f"  {name}: {row.wall:.1f} s (other processes: {row.others:.2f} cores)", flush=True)
                if name not in best or row.wall < best[name].wall:
                    best[name] = row
    rows = [best[name] for name, _ in runs]
    print()
    print(render(rows, rows[0].wall, rows[-2].wall))  # the first row, and the old default's end to end


if __name__ == "__main__":
    main()
