"""Control characters in text that came from outside (transcripts, titles, file names).

A transcript or title can carry terminal escape sequences: ESC (``\\x1b[2J`` clears the screen,
``\\x1b]52;c;...`` writes the clipboard), C1 controls (``\\x9b`` is a one-byte CSI on some terminals), BEL.
Printed raw, they act on the reader's terminal. Titles are cleaned when ingested (``strip_controls``); the
CLI shows any other text with its controls made visible (``escape_controls``), so nothing acts and the
reader still sees that something was there. Newlines and tabs are kept: they are layout, not commands.
"""

from __future__ import annotations

import re

# C0 controls except \t and \n, DEL, and the C1 block; \r too: it rewrites the line the reader sees.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def strip_controls(text: str) -> str:
    """``text`` without control characters (tabs and newlines become spaces: a title is one line)."""
    return " ".join(_CONTROLS.sub("", text).split()) if has_controls(text) or "\n" in text else text


def escape_controls(text: str) -> str:
    """``text`` with each control character written as ``\\xNN`` (tabs and newlines kept)."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
