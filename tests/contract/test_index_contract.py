"""The store contract: every ``Index`` backend must pass these tests.

A backend joins by adding a case to ``BACKENDS`` that opens an index on a fresh library (``Library.open()``
may be called several times: a second call is a second instance/process view of the same library). The SQLite
store runs twice: with its default settings, and with ``exact_limit=0`` so filtered vector search always takes
the HNSW over-fetch path instead of brute force; so does the PostgreSQL store, on a real server (pgserver, one
fresh schema per test; skipped when the ``cluster``/``dev`` extras are not installed). The SQLite files
themselves (sidecar loss, damage, another process, not-a-library) are tested in
tests/integration/test_sqlite_files.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from atlas.errors import LibraryMismatchError, NotFoundError
from atlas.index.base import Index, IndexIdentity, VideoRecord
from atlas.index.postgres import PostgresIndex
from atlas.index.sqlite import SqliteIndex
from atlas.models import SearchFilters, Segment, Sentence, Transcript, Video, Window, Word
from atlas.search.text import keyword_terms
from tests.fake_plugins import HashingEmbedder

EMBEDDER = HashingEmbedder(dim=64)
IDENTITY = IndexIdentity(embedder=EMBEDDER.id, dim=EMBEDDER.dim, windows={"max_words": 80, "overlap": 0.5})
NO_FILTER = SearchFilters()


@dataclass
class Library:
    """One library location; ``open()`` gives a new store instance on it and closes them all at the end."""

    opener: Callable[[], Index]
    path: Path
    opened: list[Index] = field(default_factory=list)

    def open(self, *, claim: bool = True) -> Index:
        index = self.opener()
        if claim:
            index.claim(IDENTITY)
        self.opened.append(index)
        return index


BACKENDS: dict[str, Callable[[Path], Callable[[], Index]]] = {
    "sqlite": lambda path: lambda: SqliteIndex(path),
    "sqlite-overfetch": lambda path: lambda: SqliteIndex(path, exact_limit=0),
}

PG_BACKENDS: dict[str, Callable[[str, str], Callable[[], Index]]] = {
    "postgresql": lambda url, schema: lambda: PostgresIndex(url, schema=schema),
    "postgresql-hnsw": lambda url, schema: lambda: PostgresIndex(url, schema=schema, exact_limit=0),
}


@pytest.fixture(params=sorted(BACKENDS) + sorted(PG_BACKENDS))
def library(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    if request.param in PG_BACKENDS:
        lib = Library(PG_BACKENDS[request.param](*request.getfixturevalue("pg_schema")), tmp_path / "lib")
    else:
        lib = Library(BACKENDS[request.param](tmp_path / "lib"), tmp_path / "lib")
    yield lib
    for index in lib.opened:
        index.close()


@pytest.fixture
def index(library: Library) -> Index:
    return library.open()


def record(
    video_id: str,
    texts: Sequence[str],
    *,
    channel: str | None = None,
    published: str | None = None,
    title: str | None = None,
) -> VideoRecord:
    """One sentence per window per segment, embedded with the hashing embedder: small but complete."""
    segments = tuple(
        Segment(
            text=t,
            start=i * 2.0,
            end=i * 2.0 + 1.5,
            words=tuple(Word(w, i * 2.0 + j * 0.1, i * 2.0 + j * 0.1 + 0.1) for j, w in enumerate(t.split())),
        )
        for i, t in enumerate(texts)
    )
    sentences = tuple(Sentence(i, t, i * 2.0, i * 2.0 + 1.5, position=i * 10) for i, t in enumerate(texts))
    windows = tuple(Window(i, t, i * 2.0, i * 2.0 + 1.5, i, i) for i, t in enumerate(texts))
    vectors = EMBEDDER.embed(list(texts))
    video = Video(
        video_id=video_id,
        title=title or f"Video {video_id}",
        source=f"/media/{video_id}.mp4",
        kind="media",
        url=f"https://example.org/{video_id}",
        channel=channel,
        published=published,
        duration=len(texts) * 2.0,
        transcript_origin="asr:tiny",
        content_hash=f"hash-{video_id}-{len(texts)}",
        extra={"tags": ["a", "b"], "n": 1},
    )
    return VideoRecord(
        video=video,
        transcript=Transcript(segments=segments, origin="asr:tiny", language="en"),
        sentences=sentences,
        windows=windows,
        sentence_vectors=vectors.copy(),
        window_vectors=vectors,
    )


FALCON = ["falcon rockets launch at dawn", "the booster lands on a barge", "telemetry shows nominal flight"]
KITCHEN = ["whisk the eggs with sugar", "fold in the flour gently", "bake at two hundred degrees"]
MARKETS = ["stock prices fell sharply", "the central bank raised rates", "bond yields climbed again"]


def fill(index: Index) -> None:
    index.put_video(record("falcon", FALCON, channel="space", published="2023-03-01"))
    index.put_video(record("kitchen", KITCHEN, channel="food", published="2024-06-15"))
    index.put_video(record("markets", MARKETS, channel="finance", published="2025-01-20"))


def video_of(index: Index, keys: Sequence[int]) -> list[str]:
    return [w.video.video_id for w in index.windows(keys)]


def query(text: str) -> np.ndarray:
    return EMBEDDER.embed_query(text)


# -- identity ------------------------------------------------------------------------------------------------


def test_new_library_has_no_identity_until_claimed(library: Library) -> None:
    index = library.open(claim=False)
    assert index.identity() is None
    index.claim(IDENTITY)
    index.claim(IDENTITY)  # idempotent
    assert index.identity() == IDENTITY


def test_claiming_another_embedder_on_a_non_empty_library_is_refused(index: Index) -> None:
    index.put_video(record("falcon", FALCON))
    other = IndexIdentity(embedder="other/model", dim=64, windows=IDENTITY.windows)
    with pytest.raises(LibraryMismatchError) as info:
        index.claim(other)
    message = info.value.one_line()
    assert EMBEDDER.id in message and "other/model" in message
    assert "new library" in message
    assert index.identity() == IDENTITY


def test_other_window_settings_are_another_identity(index: Index) -> None:
    index.put_video(record("falcon", FALCON))
    with pytest.raises(LibraryMismatchError):
        index.claim(IndexIdentity(embedder=EMBEDDER.id, dim=64, windows={"max_words": 40}))


def test_put_before_claim_is_refused(library: Library) -> None:
    index = library.open(claim=False)
    with pytest.raises(LibraryMismatchError):
        index.put_video(record("falcon", FALCON))


def test_wrong_dimension_is_refused_and_writes_nothing(index: Index) -> None:
    rec = record("falcon", FALCON)
    wide = np.zeros((3, 128), dtype=np.float32)
    with pytest.raises(LibraryMismatchError):
        index.put_video(VideoRecord(rec.video, rec.transcript, rec.sentences, rec.windows, wide, wide))
    with pytest.raises(LibraryMismatchError):
        index.vector_search(np.zeros(128, dtype=np.float32), 5, NO_FILTER)
    with pytest.raises(ValueError):
        index.put_video(
            VideoRecord(
                rec.video,
                rec.transcript,
                rec.sentences,
                rec.windows,
                rec.sentence_vectors[:2],
                rec.window_vectors,
            )
        )
    assert index.counts() == {"videos": 0, "windows": 0, "sentences": 0}


# -- round trip ----------------------------------------------------------------------------------------------


def test_record_round_trips(index: Index) -> None:
    rec = record("falcon", FALCON, channel="space", published="2023-03-01")
    index.put_video(rec)
    got = index.get_record("falcon")
    assert got.video == rec.video and got.video.extra == rec.video.extra
    assert got.transcript == rec.transcript
    assert got.sentences == rec.sentences
    assert got.windows == rec.windows
    assert got.window_vectors.dtype == np.float32
    np.testing.assert_array_equal(got.window_vectors, rec.window_vectors)  # exact: float32 stored
    # sentence vectors are stored as float16 (they only pin a hit to a sentence)
    np.testing.assert_allclose(got.sentence_vectors, rec.sentence_vectors, atol=1e-3)
    assert index.get_video("falcon") == rec.video
    assert index.content_hash("falcon") == rec.video.content_hash
    assert index.content_hash("nope") is None


def test_untimed_and_empty_values_round_trip(index: Index) -> None:
    rec = record("plain", ["no times here"])
    untimed = VideoRecord(
        video=Video(video_id="plain", title="Plain", source="notes.txt", timed=False),
        transcript=Transcript(segments=(Segment("no times here"),), origin="file:txt"),
        sentences=(Sentence(0, "no times here", None, None, 0),),
        windows=(Window(0, "no times here", None, None, 0, 0),),
        sentence_vectors=rec.sentence_vectors,
        window_vectors=rec.window_vectors,
    )
    index.put_video(untimed)
    got = index.get_record("plain")
    assert got.video == untimed.video and got.transcript == untimed.transcript
    assert got.windows == untimed.windows and got.sentences == untimed.sentences
    empty = VideoRecord(
        video=Video(video_id="empty", title="Empty", source="x"),
        transcript=Transcript(segments=(), origin="auto"),
        sentences=(),
        windows=(),
        sentence_vectors=np.zeros((0, 64), dtype=np.float32),
        window_vectors=np.zeros((0, 64), dtype=np.float32),
    )
    index.put_video(empty)
    assert index.get_record("empty").windows == ()
    assert index.get_record("empty").window_vectors.shape == (0, 64)


def test_reads_of_missing_things(index: Index) -> None:
    fill(index)
    with pytest.raises(NotFoundError):
        index.get_video("nope")
    with pytest.raises(NotFoundError):
        index.get_record("nope")
    with pytest.raises(NotFoundError):
        index.sentences("nope", 0, 1)
    keys = [c.key for c in index.keyword_search(["falcon"], 5, NO_FILTER)]
    with pytest.raises(NotFoundError):
        index.window_vectors([*keys, 10**9])
    assert index.windows([10**9]) == []


def test_listing_counting_and_export(index: Index) -> None:
    index.put_video(record("b", MARKETS, title="banana"))
    index.put_video(record("a", FALCON, title="Zebra"))
    index.put_video(record("c", KITCHEN, title="apple"))
    assert [v.title for v in index.list_videos()] == ["apple", "banana", "Zebra"]
    assert index.counts() == {"videos": 3, "windows": 9, "sentences": 9}
    assert [r.video.video_id for r in index.iter_records()] == ["b", "a", "c"]  # insertion order


def test_windows_vectors_and_sentences_by_key(index: Index) -> None:
    rec = record("falcon", FALCON)
    index.put_video(rec)
    keys = [c.key for c in index.keyword_search(["booster", "telemetry"], 10, NO_FILTER)]
    assert len(keys) == 2
    stored = index.windows([keys[1], 10**9, keys[0]])
    assert [s.key for s in stored] == [keys[1], keys[0]]
    by_index = {s.window.index: s for s in stored}
    assert set(by_index) == {1, 2}
    vectors = index.window_vectors([s.key for s in stored])
    np.testing.assert_array_equal(vectors, rec.window_vectors[[s.window.index for s in stored]])
    sentences, sentence_vectors = index.sentences("falcon", 1, 2)
    assert [s.index for s in sentences] == [1, 2] and sentence_vectors.shape == (2, 64)
    np.testing.assert_array_equal(sentence_vectors, rec.sentence_vectors[1:3].astype(np.float16))
    # A range past the video's last sentence: nothing, with the library's dimension (not an error).
    none, no_vectors = index.sentences("falcon", 50, 60)
    assert none == [] and no_vectors.shape == (0, 64)


# -- search --------------------------------------------------------------------------------------------------


def test_keyword_search_ranks_with_bm25(index: Index) -> None:
    fill(index)
    hits = index.keyword_search(["rockets", "falcon"], 10, NO_FILTER)
    assert video_of(index, [h.key for h in hits]) == ["falcon"]
    assert hits[0].score > 0
    hits = index.keyword_search(["the"], 10, NO_FILTER)  # in several windows, best first
    assert len(hits) == 4 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    hits = index.keyword_search(["launching"], 10, NO_FILTER)  # porter stemming: launch
    assert video_of(index, [h.key for h in hits]) == ["falcon"]
    assert index.keyword_search([], 10, NO_FILTER) == []
    assert index.keyword_search(["  "], 10, NO_FILTER) == []
    assert index.keyword_search(["falcon"], 0, NO_FILTER) == []


def test_keyword_search_finds_words_written_apart_or_together(index: Index) -> None:
    # Speech recognition writes a name the user types as one word in two ("Audio Boom"), or the other way.
    index.put_video(record("news", ("shares of Audio Boom fell", "the podping feed told apps", "re quest")))
    index.put_video(record("other", ("an audio engineer hears a boom", "a pod of whales", "a ping pong")))

    def found(terms: list[str]) -> list[str]:
        hits = index.keyword_search(terms, 10, NO_FILTER)
        return [w.window.text for w in index.windows([h.key for h in hits])]

    assert found(["audioboom", "shares"])[0] == "shares of Audio Boom fell"
    assert found(["audioboom"]) == ["shares of Audio Boom fell"]  # the two words, one after the other
    assert "the podping feed told apps" in found(["pod", "ping"])
    # A word some window holds is searched as typed: "request" is not cut into the "re quest" that one holds.
    index.put_video(record("mail", ("a request came in",)))
    assert found(["request"]) == ["a request came in"]
    # What search asks for a possessive ("Audioboom's shares") finds the name said without one.
    assert found(keyword_terms("Audioboom's shares"))[0] == "shares of Audio Boom fell"


@pytest.mark.parametrize(
    "term",
    ['"', '""', "*", "falcon*", "NEAR(", "NEAR(falcon rockets)", "-", "-falcon", ":", "text:falcon",
     "^falcon", "AND", "OR", "NOT", "(", ")", "{text}: x", "falcon OR", "'; DROP TABLE windows; --", "\\",
     "\x00"],
)  # fmt: skip
def test_keyword_terms_cannot_inject_fts_syntax(index: Index, term: str) -> None:
    fill(index)
    hits = index.keyword_search([term, "barge"], 10, NO_FILTER)
    assert "falcon" in video_of(index, [h.key for h in hits])  # the safe term still matches
    assert index.counts()["windows"] == 9


def test_vector_search_is_cosine_and_matches_brute_force(index: Index) -> None:
    fill(index)
    q = query("eggs and flour for baking")
    hits = index.vector_search(q, 4, NO_FILTER)
    assert video_of(index, [hits[0].key]) == ["kitchen"]
    all_keys = [
        c.key for c in index.keyword_search(["the", "a", "at", "on", "in", "with", "stock"], 100, NO_FILTER)
    ]
    everything = sorted(set(all_keys) | {h.key for h in index.vector_search(q, 100, NO_FILTER)})
    assert len(everything) == 9
    sims = index.window_vectors(everything) @ (q / np.linalg.norm(q))
    np.testing.assert_allclose([h.score for h in hits], np.sort(sims)[::-1][:4], atol=1e-5)
    must = {k for k, s in zip(everything, sims, strict=True) if s > hits[-1].score + 1e-5}  # above any tie
    assert must <= {h.key for h in hits}
    by_key = dict(zip(everything, sims, strict=True))
    np.testing.assert_allclose([h.score for h in hits], [by_key[h.key] for h in hits], atol=1e-6)
    assert index.vector_search(q, 0, NO_FILTER) == []


FILTER_CASES = [
    (SearchFilters(video_ids=("kitchen",)), {"kitchen"}),
    (SearchFilters(video_ids=("kitchen", "markets")), {"kitchen", "markets"}),
    (SearchFilters(channels=("space",)), {"falcon"}),
    (SearchFilters(after="2024-01-01"), {"kitchen", "markets"}),
    (SearchFilters(before="2024-06-15"), {"falcon", "kitchen"}),  # inclusive
    (SearchFilters(after="2024-06-15", before="2024-06-15"), {"kitchen"}),
    (SearchFilters(channels=("space", "finance"), after="2024-01-01"), {"markets"}),
    (SearchFilters(channels=("nobody",)), set()),
]


@pytest.mark.parametrize(("filters", "allowed"), FILTER_CASES)
def test_filters_apply_to_both_retrievers(index: Index, filters: SearchFilters, allowed: set[str]) -> None:
    fill(index)
    index.put_video(record("undated", ["the rockets of nobody in particular"]))  # no date, no channel
    words = ["the", "rockets", "eggs", "prices", "bank", "barge", "flour"]
    keyword = set(video_of(index, [c.key for c in index.keyword_search(words, 50, filters)]))
    vector = index.vector_search(query("rockets eggs prices"), 50, filters)
    assert keyword == allowed
    assert set(video_of(index, [c.key for c in vector])) == allowed
    assert len(vector) == 3 * len(allowed)  # filtered search still fills k when enough windows pass


@pytest.mark.parametrize("pick", ["one", "few", "many", "many-join", "run"])
def test_filters_over_many_videos(index: Index, pick: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filters selecting one, several scattered, very many, or consecutive videos (after replaces). For the
    SQLite store these take its different filter plans (one range, OR of ranges, over-fetch, join)."""
    if pick == "many-join":
        import atlas.index.sqlite.search

        monkeypatch.setattr(atlas.index.sqlite.search, "_MIN_OVERFETCH_SHARE", 2.0)
    for n in range(80):
        index.put_video(
            record(f"v{n:02d}", [f"common words shared {n}", f"more common text {n}"], channel=f"c{n % 2}")
        )
    for n in (4, 10, 11):  # replaced videos get new keys at the end
        index.put_video(
            record(f"v{n:02d}", [f"common words again {n}", f"more common text {n}"], channel=f"c{n % 2}")
        )
    chosen = {
        "one": {"v07"},
        "few": {"v03", "v04", "v20", "v41", "v79"},
        "many": {f"v{n:02d}" for n in range(0, 80, 2)},
        "many-join": {f"v{n:02d}" for n in range(0, 80, 2)},
        "run": {f"v{n:02d}" for n in range(30, 50)},
    }[pick]
    filters = (
        SearchFilters(channels=("c0",))
        if pick.startswith("many")
        else SearchFilters(video_ids=tuple(sorted(chosen)))
    )
    keyword = index.keyword_search(["common"], 500, filters)
    assert set(video_of(index, [c.key for c in keyword])) == chosen and len(keyword) == 2 * len(chosen)
    vector = index.vector_search(query("common words"), 500, filters)
    assert set(video_of(index, [c.key for c in vector])) == chosen and len(vector) == 2 * len(chosen)
    top = index.vector_search(query("common words"), 3, filters)
    assert [c.score for c in top] == [c.score for c in vector[:3]]


def test_bad_filter_date_is_a_user_error(index: Index) -> None:
    from atlas.errors import UserInputError

    with pytest.raises(UserInputError):
        index.keyword_search(["x"], 5, SearchFilters(after="last tuesday"))


def test_replace_is_atomic_and_drops_old_windows_everywhere(index: Index) -> None:
    index.put_video(record("v", FALCON))
    old_keys = {c.key for c in index.vector_search(query("falcon rockets"), 10, NO_FILTER)}
    assert len(old_keys) == 3
    index.put_video(record("v", [*KITCHEN, "cool on a rack"]))
    assert index.counts() == {"videos": 1, "windows": 4, "sentences": 4}
    assert index.keyword_search(["falcon", "booster", "telemetry"], 10, NO_FILTER) == []
    new = index.vector_search(query("falcon rockets"), 10, NO_FILTER)
    assert len(new) == 4 and not old_keys & {c.key for c in new}  # keys are never reused
    assert index.windows(sorted(old_keys)) == []
    assert [
        w.window.text for w in index.windows([c.key for c in index.keyword_search(["whisk"], 5, NO_FILTER)])
    ] == [KITCHEN[0]]
    assert index.get_record("v").windows[3].text == "cool on a rack"


def test_remove_video(index: Index) -> None:
    fill(index)
    assert index.remove_video("falcon") is True
    assert index.remove_video("falcon") is False
    assert index.keyword_search(["falcon", "barge"], 10, NO_FILTER) == []
    assert "falcon" not in video_of(
        index, [c.key for c in index.vector_search(query("falcon"), 10, NO_FILTER)]
    )
    with pytest.raises(NotFoundError):
        index.get_record("falcon")
    assert index.counts() == {"videos": 2, "windows": 6, "sentences": 6}


def test_reopen_keeps_everything(library: Library) -> None:
    first = library.open()
    fill(first)
    first.remove_video("markets")
    q = query("booster barge")
    before = (first.keyword_search(["barge", "eggs"], 10, NO_FILTER), first.vector_search(q, 5, NO_FILTER))
    first.close()
    again = library.open()
    assert again.identity() == IDENTITY
    assert again.counts() == {"videos": 2, "windows": 6, "sentences": 6}
    assert (
        again.keyword_search(["barge", "eggs"], 10, NO_FILTER),
        again.vector_search(q, 5, NO_FILTER),
    ) == before


def test_a_second_instance_sees_writes_of_the_first(library: Library) -> None:
    reader, writer = library.open(), library.open()
    fill(reader)
    assert reader.vector_search(query("whisk"), 3, NO_FILTER)
    writer.put_video(record("news", ["volcano erupts near village"]))
    writer.remove_video("kitchen")
    writer.close()  # saves the sidecar and prunes the removal log past the reader's view
    hits = reader.vector_search(query("volcano erupts"), 20, NO_FILTER)
    assert video_of(reader, [hits[0].key]) == ["news"]
    assert "kitchen" not in video_of(reader, [h.key for h in hits])
    assert video_of(reader, [c.key for c in reader.keyword_search(["volcano"], 5, NO_FILTER)]) == ["news"]


def test_searches_in_threads_never_see_a_half_written_video(index: Index) -> None:
    versions = [[f"alpha{v} clip {i}" for i in range(30)] for v in range(2)]
    index.put_video(record("flip", versions[0]))
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        try:
            for n in range(30):
                index.put_video(record("flip", versions[n % 2]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    def reader() -> None:
        try:
            while not stop.is_set():
                rec = index.get_record("flip")
                tags = {w.text.split()[0] for w in rec.windows}
                assert len(rec.windows) == 30 and len(tags) == 1, tags
                index.vector_search(query("alpha0 clip"), 10, NO_FILTER)
                index.keyword_search(["clip"], 10, SearchFilters(video_ids=("flip",)))
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[0]
    assert index.counts()["windows"] == 30


# -- speakers ------------------------------------------------------------------------------------------------

# Sentences of a two-person show, with the window each is in: window 2 holds a Dan and a Bekah sentence.
SHOW = [
    ("Dan", "falcon rockets launch at dawn"),
    ("Bekah", "whisk the eggs with sugar"),
    ("Dan", "the booster lands on a barge"),
    ("Bekah", "fold in the flour gently"),
    ("Bekah", "bake at two hundred degrees"),
]
SHOW_WINDOWS = [(0, 0), (1, 1), (2, 3), (4, 4)]


def show_record(video_id: str = "show", channel: str | None = "pod") -> VideoRecord:
    """``record`` with speakers on segments and sentences, and one window that spans a change of speaker."""
    base = record(video_id, [text for _, text in SHOW], channel=channel)
    segments = tuple(
        Segment(s.text, s.start, s.end, s.words, speaker=name)
        for s, (name, _) in zip(base.transcript.segments, SHOW, strict=True)
    )
    sentences = tuple(
        Sentence(s.index, s.text, s.start, s.end, s.position, speaker=name)
        for s, (name, _) in zip(base.sentences, SHOW, strict=True)
    )
    windows = tuple(
        Window(i, " ".join(SHOW[j][1] for j in range(a, b + 1)), a * 2.0, b * 2.0 + 1.5, a, b)
        for i, (a, b) in enumerate(SHOW_WINDOWS)
    )
    vectors = EMBEDDER.embed([w.text for w in windows])
    return VideoRecord(
        video=base.video,
        transcript=Transcript(segments, base.transcript.origin, base.transcript.language),
        sentences=sentences,
        windows=windows,
        sentence_vectors=base.sentence_vectors,
        window_vectors=vectors,
    )


def window_texts(index: Index, keys: Sequence[int]) -> set[str]:
    return {w.window.text for w in index.windows(keys)}


def test_speakers_round_trip(index: Index) -> None:
    index.put_video(show_record())
    got = index.get_record("show")
    assert [s.speaker for s in got.transcript.segments] == [name for name, _ in SHOW]
    assert [(s.speaker, s.text) for s in got.sentences] == SHOW
    sentences, _ = index.sentences("show", 2, 3)
    assert [s.speaker for s in sentences] == ["Dan", "Bekah"]
    assert [s.speaker for s in next(iter(index.iter_records())).sentences] == [name for name, _ in SHOW]


@pytest.mark.parametrize("name", ["Dan", "dan", "DAN"])
def test_speaker_filter_keeps_windows_with_their_sentences(index: Index, name: str) -> None:
    """Both retrievers keep only windows holding a sentence by the speaker (exact name, any case): the
    window shared by Dan and Bekah is in both speakers' results; videos without speakers in neither."""
    fill(index)
    index.put_video(show_record())
    dan = {SHOW[0][1], f"{SHOW[2][1]} {SHOW[3][1]}"}
    words = ["rockets", "eggs", "barge", "flour", "bake", "prices"]
    filters = SearchFilters(speaker=name)
    assert window_texts(index, [c.key for c in index.keyword_search(words, 50, filters)]) == dan
    assert (
        window_texts(index, [c.key for c in index.vector_search(query("rockets eggs"), 50, filters)]) == dan
    )


def test_speaker_filter_is_an_exact_name_and_combines_with_other_filters(index: Index) -> None:
    fill(index)
    index.put_video(show_record())
    index.put_video(show_record("other-show", channel="elsewhere"))
    words = ["rockets", "eggs", "barge", "flour", "bake"]
    for filters, expected in [
        (SearchFilters(speaker="Da"), set()),  # not a prefix match
        (SearchFilters(speaker="Nobody"), set()),
        (SearchFilters(speaker="bekah"), {"show", "other-show"}),
        (SearchFilters(speaker="bekah", channels=("elsewhere",)), {"other-show"}),
        (SearchFilters(speaker="bekah", video_ids=("show",)), {"show"}),
    ]:
        keyword = index.keyword_search(words, 50, filters)
        vector = index.vector_search(query("eggs flour"), 50, filters)
        assert set(video_of(index, [c.key for c in keyword])) == expected, filters
        assert set(video_of(index, [c.key for c in vector])) == expected, filters
        assert len(vector) == (3 * len(expected) if filters.speaker == "bekah" else 0)
