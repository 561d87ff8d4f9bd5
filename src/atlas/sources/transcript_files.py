"""The source for transcript files a user already has: WebVTT, SRT, Whisper JSON / text, plain text.

It reads the bytes defensively (every failure becomes a one-line ``SourceError`` naming the file and the fix),
picks the format (``formats.detect_format``), and derives the video's metadata from the file name:

- ``Some Title [dQw4w9WgXcQ].en.vtt`` (yt-dlp's naming) is YouTube video ``dQw4w9WgXcQ`` titled "Some Title";
- ``talk.en.vtt`` / ``talk.whisper.txt`` is ``talk``; a ``talk.mp4`` beside it makes it a local media item;
- ``--id``, ``--title``, ``--url`` (a YouTube URL makes a YouTube item), ``--channel``, ``--published`` win;
- download sites' tags (``[DownSub.com]``, ``[English (auto-generated)]``) are not part of the title;
- a name that says nothing (``transcript.en.vtt``, ``captions.srt``, ``audio.wav.srt``, ``6_1.srt``) takes
  its id from a YouTube id in the name if there is one, and its title (and otherwise its id) from the folder
  it is in, or, when that says nothing either, from the transcript's first words. Ids then come from the
  file and its place, never from what was ingested before it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from atlas.errors import SourceError
from atlas.ids import conform_video_id
from atlas.ids import slugify as slugify  # re-exported: sources and plugins derive ids with it
from atlas.models import IngestOptions, Transcript, Video, VideoKind
from atlas.sources.base import Ingestible, SourceContext, SourceFailure
from atlas.sources.cue_times import unreadable_timings
from atlas.sources.formats import TRANSCRIPT_SUFFIXES, detect_format
from atlas.sources.safe_open import read_bytes
from atlas.youtube_urls import YOUTUBE_ID, youtube_id_from_url, youtube_watch_url

# Transcripts are small (a 3-hour talk is ~200 KB). 4 MiB is ~700,000 words, some 80 hours of speech, and
# takes ~20 minutes to embed on 2 cores (1 MB of text took 5): a bigger file is several recordings joined, or
# not a transcript, and is refused in one line saying to split it rather than run for hours.
MAX_BYTES = 4 * 1024 * 1024
# Audio/video files (read by sources/media.py). Checked in this order, so a video beside the transcript wins
# over its extracted audio. ``.ts`` (MPEG transport stream) is left out: a folder walk would take TypeScript.
MEDIA_SUFFIXES: tuple[str, ...] = (
    *(".mp4", ".mkv", ".webm", ".mov", ".m4v", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".3gp"),
    *(".m4a", ".mp3", ".opus", ".ogg", ".oga", ".wav", ".flac", ".aac", ".wma", ".m4b", ".aiff", ".aif"),
    ".mka",
)

_YT_DLP_NAME = re.compile(rf"(?P<title>.*?)\s*\[(?P<id>{YOUTUBE_ID})\]")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")  # en, pt-BR, zh-Hans, en-orig (yt-dlp)
_FORMAT_MARKERS = frozenset(
    {"whisper", "whisperx", "transcript", "captions", "caption", "subtitles", "subs", "asr"}
)
# Words that name a file's kind, not its content: a base made only of these (and numbers) says nothing.
_GENERIC_WORDS = frozenset(
    {
        *(
            "transcript",
            "transcripts",
            "transcription",
            "captions",
            "caption",
            "subtitles",
            "subtitle",
            "subs",
        ),
        *("sub", "srt", "vtt", "audio", "video", "output", "out", "track", "speech", "recording", "file"),
        *("files", "untitled", "default", "final", "result", "results", "data", "downloads", "download"),
        *("tmp", "temp", "test", "tests", "en", "orig", "auto", "manual", "whisper", "asr", "text", "media"),
    }
)
_GENERIC_WORDS_WITH_MEDIA = _GENERIC_WORDS | {suffix.lstrip(".") for suffix in MEDIA_SUFFIXES}
# "[DownSub.com]", "[SaveSubs.io]": a site's name; "[English (auto-generated)]", "[English]": YouTube's track
# names that download sites put into file names.
_SITE_TAG = re.compile(
    r"\[\s*(?:[\w-]+\.(?:com|net|org|io|cc|me|to|app|co)|(?:English|Spanish|French|German|Portuguese|Italian"
    r"|Dutch|Russian|Japanese|Korean|Chinese|Hindi|Arabic|Turkish|Polish|Indonesian|Vietnamese)"
    r"(?:\s*\([^()\[\]]*\))?)\s*\]",
    re.IGNORECASE,
)
_ID_LIKE = re.compile(rf"(?<![A-Za-z0-9_-])({YOUTUBE_ID})(?![A-Za-z0-9_-])")
FIRST_WORDS = 8
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SUFFIX_HINT = "give a .vtt, .srt, Whisper .json or .txt transcript"


def is_transcript_path(path: str | Path) -> bool:
    """True when the file name has a transcript suffix (the file need not exist)."""
    return Path(path).suffix.lower() in TRANSCRIPT_SUFFIXES


def is_media_path(path: str | Path) -> bool:
    """True when the file name has an audio/video suffix (the file need not exist)."""
    return Path(path).suffix.lower() in MEDIA_SUFFIXES


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in _TEXT_CONTROLS)
    return b"\x00" in sample or controls * 10 > len(sample)


def _bomless_utf16(data: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` for text in UTF-16 without a BOM: ASCII-range text then has a NUL as
    every second byte (odd offsets for LE, even for BE) and almost none at the other offsets."""
    sample = data[:8192]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return None
    half = len(sample) // 2
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= 0.9 * half and even_nuls <= 0.05 * half:
        return "utf-16-le"
    if even_nuls >= 0.9 * half and odd_nuls <= 0.05 * half:
        return "utf-16-be"
    return None


def decode_transcript(data: bytes, source: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16/32 with a BOM, or UTF-16 without one (what
    Windows tools save as "Unicode"); anything else is refused."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None) or _bomless_utf16(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                source, f"not valid {encoding.upper()} text; re-save it as UTF-8", hint=_SUFFIX_HINT
            ) from exc
    else:
        if _looks_binary(data):
            raise SourceError(source, "binary data, not a text transcript", hint=_SUFFIX_HINT)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(
                source,
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save it as UTF-8",
            ) from exc
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SourceError(source, "the file is empty (no text, or only whitespace)")
    return text


def read_transcript_text(path: Path, allowed: tuple[Path, ...] | None = None) -> str:
    """The decoded text of a transcript file; with ``allowed``, only from inside those directories, checked
    on the file as opened (safe_open.py)."""
    data = read_bytes(path, allowed, max_bytes=MAX_BYTES, hint=_SUFFIX_HINT)
    return decode_transcript(data, str(path))


def split_name(path: Path) -> tuple[str, str | None]:
    """The base stem (suffix, language tag and format markers removed) and the language tag, if any."""
    stem, language = path.stem, None
    # Only caption files carry yt-dlp's language tag (talk.en.vtt); in "intro.to.ml.txt" "ml" is a word.
    tagged = path.suffix.lower() in (".vtt", ".srt")
    while "." in stem:
        head, last = stem.rsplit(".", 1)
        if not head:
            break
        if last.lower() in _FORMAT_MARKERS or "." + last.lower() in MEDIA_SUFFIXES:
            stem = head  # "talk.whisper.txt"; "audio.wav.srt" (whisper.cpp names its output after the input)
        elif tagged and language is None and _LANGUAGE_TAG.fullmatch(last):
            stem, language = head, last
        else:
            break
    return stem, language


def humanise(stem: str) -> str:
    """``berkeley-ai-rubric-lecture`` -> ``Berkeley ai rubric lecture``; names with spaces keep their case."""
    words = stem.replace("_", " ") if " " in stem else re.sub(r"[-_.]+", " ", stem)
    title = " ".join(words.split())
    return title[:1].upper() + title[1:]


def media_beside(path: Path, base: str) -> Path | None:
    for suffix in MEDIA_SUFFIXES:
        for candidate in (path.with_name(base + suffix), path.with_name(base + suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def identity_from_name(base: str, options: IngestOptions) -> tuple[str, str | None, str | None]:
    """(video id, title or None, YouTube id or None) for a file whose base name is ``base``: options first,
    then yt-dlp's ``Title [id]`` naming, then the slug of the name. Shared with media files."""
    named = _YT_DLP_NAME.fullmatch(base)
    name_id, name_title = (named["id"], named["title"]) if named else (None, None)
    url_id = youtube_id_from_url(options.url) if options.url else None
    youtube_id = url_id or (None if options.url else name_id)
    video_id = options.video_id or youtube_id or name_id or slugify(base)
    return video_id, options.title or name_title, youtube_id


def without_site_tags(name: str) -> str:
    """``[English (auto-generated)] My Talk [DownSub.com]`` -> ``My Talk``."""
    return " ".join(_SITE_TAG.sub(" ", name).split()) or name


def says_nothing(name: str) -> bool:
    """True for a name made only of generic words and numbers: ``transcript``, ``6_1``, ``audio``."""
    words = [word for word in re.split(r"[^a-z0-9]+", name.lower()) if word]
    return all(word.isdigit() or word in _GENERIC_WORDS_WITH_MEDIA for word in words)


def youtube_id_in_name(base: str) -> str | None:
    """A YouTube id standing alone in an otherwise generic name (``dQw4w9WgXcQ.en.vtt``,
    ``transcript_Y5mxY_KX-EE``): 11 id characters with both upper and lower case, as YouTube's have."""
    for match in _ID_LIKE.finditer(base):
        candidate = match.group(1)
        rest = base[: match.start()] + " " + base[match.end() :]
        if candidate.lower() != candidate and candidate.upper() != candidate and says_nothing(rest):
            return candidate
    return None


def first_words(transcript: Transcript) -> str:
    """The opening words of what was said, for a title when nothing else names the file."""
    words: list[str] = []
    for segment in transcript.segments:
        words.extend(word for word in segment.text.split() if not word.startswith(("[", "(", "<", "♪")))
        if len(words) >= FIRST_WORDS:
            break
    return " ".join(words[:FIRST_WORDS]).rstrip(".,;:!?-–—")


def _named_by_place(path: Path, transcript: Transcript) -> tuple[str, str]:
    """(id, title) for a file whose name says nothing: from its folder, else from its first words."""
    folder = without_site_tags(path.resolve().parent.name)
    if sum(c.isalnum() for c in folder) >= 3 and not says_nothing(folder) and not youtube_id_in_name(folder):
        return conform_video_id(slugify(folder)), humanise(folder)
    opening = first_words(transcript)
    if opening:
        return slugify(opening), opening[:1].upper() + opening[1:]
    return slugify(path.stem), humanise(path.stem)


def video_for(path: Path, transcript: Transcript, options: IngestOptions) -> Video:
    """Metadata for a transcript file: options first, then the file name, then the files beside it."""
    base, _ = split_name(path)
    media = media_beside(path, base)
    base = without_site_tags(base)
    video_id, title, youtube_id = identity_from_name(base, options)
    if (says_nothing(base) or youtube_id_in_name(base)) and not (title and not says_nothing(title)):
        folder = path.resolve().parent.name
        in_name = None if options.url else youtube_id_in_name(base) or youtube_id_in_name(folder)
        place_id, place_title = _named_by_place(path, transcript)
        youtube_id = youtube_id or in_name
        video_id = options.video_id or youtube_id or place_id
        title = options.title or place_title
    media = media.resolve() if media else None  # as_uri() needs an absolute path; targets may be relative
    kind: VideoKind
    if youtube_id:
        kind, url = "youtube", youtube_watch_url(youtube_id)
    elif media:
        kind, url = "media", options.url or media.as_uri()
    else:
        kind, url = "transcript", options.url or path.resolve().as_uri()
    ends = [s.end for s in transcript.segments if s.end is not None]
    return Video(
        video_id=video_id,
        title=title or humanise(base),
        source=str(path.resolve()),
        kind=kind,
        url=url,
        channel=options.channel,
        published=options.published,
        duration=round(max(ends), 3) if transcript.timed and ends else None,
        transcript_origin=transcript.origin,
        timed=transcript.timed,
        extra={"media_path": str(media)} if media else {},
    )


def load_transcript(path: Path, allowed: tuple[Path, ...] | None = None) -> Transcript:
    """Read, detect and parse a transcript file; ``SourceError`` when it cannot be used."""
    return load_transcript_warned(path, allowed)[0]


def load_transcript_warned(
    path: Path, allowed: tuple[Path, ...] | None = None
) -> tuple[Transcript, tuple[str, ...]]:
    """``load_transcript`` plus a warning when lines shaped like cue timings could not be read (cue_times)."""
    if path.is_file() and not is_transcript_path(path):
        # Refuse before reading: a media file would otherwise be read whole just to be called binary.
        raise SourceError(str(path), f"unsupported transcript format {path.suffix!r}", hint=_SUFFIX_HINT)
    text = read_transcript_text(path, allowed)
    fmt = detect_format(path, text)
    try:
        parsed = fmt.parse(text, str(path))
    except RecursionError:
        # json.loads (and any recursive parser) on '[' * 100000: one failed file, not a crashed ingest.
        raise SourceError(
            str(path), f"nested too deeply to be a {fmt.name} transcript", hint=_SUFFIX_HINT
        ) from None
    segments = tuple(s for s in parsed if s.text.strip())
    if not segments:
        raise SourceError(
            str(path),
            f"no transcript text found in this {fmt.name} file",
            hint="its cues hold no speech, only blank lines or sound tags like [Music]",
        )
    transcript = Transcript(segments=segments, origin=f"file:{fmt.name}", language=split_name(path)[1])
    unreadable = unreadable_timings(text, fmt.name)
    return transcript, (unreadable,) if unreadable else ()


def read_transcript_file(
    path: Path, options: IngestOptions, allowed_dirs: tuple[Path, ...] | None = None
) -> Ingestible:
    """``allowed_dirs``: read only from inside these (``SourceContext.allowed_dirs``); None: anywhere."""
    transcript, warnings = load_transcript_warned(path, allowed_dirs)
    return Ingestible(video=video_for(path, transcript, options), transcript=transcript, warnings=warnings)


class TranscriptFileSource:
    """A transcript file on disk becomes one ingestible video."""

    name: str = "transcript-file"

    def accepts(self, target: str) -> bool:
        path = Path(target)
        return is_transcript_path(path) and path.is_file()

    def items(
        self, target: str, options: IngestOptions, context: SourceContext
    ) -> Iterator[Ingestible | SourceFailure]:
        try:
            item = read_transcript_file(Path(target), options, context.allowed_dirs)
        except SourceError as exc:
            yield SourceFailure(exc)
            return
        yield item
