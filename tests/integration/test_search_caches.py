"""The search engine keeps the windows it read for the next searches (search/window_cache.py): a search
right after a write (a replaced or removed video, by this Library or by another process) sees the write."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.mark.parametrize("read", ["sentences", "window_vectors"])
def test_a_video_removed_in_the_middle_of_a_search_is_left_out_not_a_404(
    fake_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """Found by benchmarks/bench_soak.py: a search racing a delete over HTTP answered 404 ("no video ..." or
    "no window with key(s) ..."), when the video went between reading its windows and its sentences or
    vectors. The search now leaves the removed video out."""
    with Library.open(fake_settings) as serving:
        serving.ingest([_talk(tmp_path / "quokka-a.txt", "The quokka census counted every quokka.\n")])
        serving.ingest([_talk(tmp_path / "quokka-b.txt", "A quokka census on the island, again.\n")])
        original = getattr(serving.index, read)
        removed: list[str] = []

        def remove_first(*args: object, **kwargs: object) -> object:
            if not removed:  # another process deletes the video just now
                removed.append("quokka-a")
                with Library.open(fake_settings) as other:
                    other.remove("quokka-a")
            return original(*args, **kwargs)

        monkeypatch.setattr(serving.index, read, remove_first)
        hits = serving.search("quokka census", limit=5)
        assert removed and hits
        assert {hit.video.video_id for hit in hits} == {"quokka-b"}
