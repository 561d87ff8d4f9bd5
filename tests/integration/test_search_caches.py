"""The search engine keeps the windows it read for the next searches (search/window_cache.py): a search
right after a write (a replaced or removed video, by this Library or by another process) sees the write."""

from __future__ import annotations

from pathlib import Path

from atlas.config import Settings
from atlas.library import Library


def _talk(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_a_replaced_or_removed_video_is_never_served_from_the_window_cache(
    fake_library: Library, tmp_path: Path
) -> None:
    talk = tmp_path / "quokka-talk.txt"
    fake_library.ingest([_talk(talk, "We count every quokka on the island. The quokka census is a joke.\n")])
    first = fake_library.search("quokka census", limit=3)
    assert first and "census" in first[0].window.text
    assert fake_library.search("quokka census", limit=3)[0].window == first[0].window  # from the cache

    replaced = "We count every quokka on the island. The quokka wallaby survey is no joke at all.\n"
    assert fake_library.ingest([_talk(talk, replaced)]).count("replaced") == 1
    after = fake_library.search("quokka census", limit=3)
    assert after and "wallaby" in after[0].window.text and "census" not in after[0].window.text
    assert "wallaby" in after[0].snippet or "quokka" in after[0].snippet

    fake_library.remove("quokka-talk")
    assert fake_library.search("quokka census", limit=3) == []


def test_a_write_by_another_process_is_seen(fake_settings: Settings, tmp_path: Path) -> None:
    talk = tmp_path / "quokka-talk.txt"
    with Library.open(fake_settings) as serving:
        serving.ingest([_talk(talk, "Every quokka on the island was counted twice last spring.\n")])
        assert "twice" in serving.search("quokka", limit=1)[0].window.text
        with Library.open(fake_settings) as other:  # its own connections, as `atlas ingest` would have
            other.ingest([_talk(talk, "Every quokka on the island was counted once this autumn.\n")])
        hits = serving.search("quokka", limit=1)
        assert "once" in hits[0].window.text and "twice" not in hits[0].window.text
