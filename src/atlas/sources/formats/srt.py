"""SubRip (.srt) captions: the ``srt`` library reads the cues, ``_common`` cleans and de-duplicates them.

Cues converted from YouTube auto-captions roll up like WebVTT ones, so the same carried-line rule applies.
"Dan:" speaker labels become each segment's ``speaker`` (``speakers``). Parsing is strict: a malformed block
fails the file with the line it starts on, rather than silently dropping text the user expects to find.
"""

from __future__ import annotations

import re

import srt

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats._common import Cue, clean_caption_line, cues_with_speakers, merge_cues, strip_bom

# A numbered cue followed by its timing line: how an SRT file starts, whatever its suffix says.
_SRT_HEAD = re.compile(r"\s*\d+[ \t]*\r?\n[ \t]*\d+:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")

_HINT = "an SRT cue is a number, a line like '00:00:01,000 --> 00:00:04,000', then its text and a blank line"


class SrtFormat:
    name: str = "srt"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix == ".srt" or _SRT_HEAD.match(strip_bom(head)) is not None

    def parse(self, text: str, source: str) -> list[Segment]:
        body = strip_bom(text)
        try:
            subtitles = list(srt.parse(body))
        except srt.SRTParseError as exc:
            line = body.count("\n", 0, exc.expected_start) + 1
            raise SourceError(source, f"not valid SRT: unreadable cue at line {line}", hint=_HINT) from exc
        if not subtitles:
            raise SourceError(source, "no subtitle cues found in this SRT file", hint=_HINT)
        cues = [
            Cue(
                start=subtitle.start.total_seconds(),
                end=subtitle.end.total_seconds(),
                lines=tuple(clean_caption_line(raw, entities=False) for raw in subtitle.content.splitlines()),
            )
            for subtitle in subtitles
        ]
        return merge_cues(cues_with_speakers(cues))
