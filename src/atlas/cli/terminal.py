"""Text from the library on its way to a terminal.

Transcripts, titles, file names and error messages come from outside: they may hold terminal escape
sequences (clear the screen, recolour it, write the clipboard with OSC 52) and square brackets that Rich
would read as its own markup (``[/]`` even makes it raise). Every command that prints such text passes it
through ``shown`` (inside Rich markup) or ``plain`` (printed with ``markup=False`` or written directly), so
control characters appear as ``\\x1b`` instead of acting, and brackets print as typed.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from atlas.textsafe import escape_controls


def plain(text: str | None) -> str:
    """``text`` with its control characters made visible (for output that is not Rich markup)."""
    return escape_controls(text or "")


def shown(text: str | None) -> str:
    """``text`` ready to sit inside Rich markup: controls visible, brackets literal."""
    return escape(plain(text))


def as_text(text: str | None, style: str = "") -> Text:
    """A Rich ``Text`` (never parsed as markup) of ``text`` with its controls made visible."""
    return Text(plain(text), style=style)
