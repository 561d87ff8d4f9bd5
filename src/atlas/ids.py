"""What a video id may be, in one place: ``[A-Za-z0-9._-]``, 1 to 128 characters, not starting with ``.``.

Why this alphabet: an id travels in URL paths (``/api/videos/{id}``, ``/media/{id}``), in shell arguments
(``atlas show ID``) and in file names (exports), so it must need no quoting anywhere and never read as a
path (no ``/``, no ``..`` or hidden-file names). YouTube ids (``[A-Za-z0-9_-]{11}``) and the slugs Atlas
derives from file names already fit. Ids a user gives (``--id``, API ``video_id``) are checked; ids derived
from names are made to conform. Libraries written before this rule may hold other ids: lookups never check
the alphabet, so those stay readable and removable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from atlas.errors import UserInputError

MAX_VIDEO_ID_CHARS = 128
VIDEO_ID_PATTERN = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"
VIDEO_ID_HINT = "an id is 1-128 characters of A-Z a-z 0-9 . _ - and does not start with '.'"
_VIDEO_ID = re.compile(VIDEO_ID_PATTERN)


def is_video_id(value: str) -> bool:
    return _VIDEO_ID.fullmatch(value) is not None


def check_video_id(value: str, *, flag: str = "--id") -> str:
    """``value`` when it is a valid id, else a one-line ``UserInputError`` naming the flag."""
    if not is_video_id(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise UserInputError(f"{flag} {shown!r} is not a valid video id", hint=VIDEO_ID_HINT)
    return value


def slugify(text: str) -> str:
    """A readable id from a name: ASCII letters and digits joined by ``-`` (``Ünïcode talk #2`` ->
    ``unicode-talk-2``); a name with none of those still gets a stable id from its hash."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")
    return slug or "transcript-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def conform_video_id(raw: str) -> str:
    """An id derived from outside data (a file name, a site's id): kept when valid, else slugified."""
    return raw if is_video_id(raw) else slugify(raw)
