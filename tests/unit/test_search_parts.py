"""Fusion, pinning, query terms and deep links."""

from __future__ import annotations

import numpy as np

from atlas.index.base import Candidate
from atlas.models import Sentence, Video
from atlas.search.evidence import span_evidence
from atlas.search.fusion import reciprocal_rank_fusion
from atlas.search.links import deep_link, format_moment
from atlas.search.pinning import pin_sentence
from atlas.search.rerank import EvidenceReranker, RerankInput
from atlas.search.text import keyword_terms, matched_terms, matching_words


def test_rrf_rewards_agreement_between_rankers() -> None:
    keyword = [Candidate(1, 9.0), Candidate(2, 5.0), Candidate(3, 1.0)]
    vector = [Candidate(3, 0.9), Candidate(2, 0.8), Candidate(4, 0.7)]
    fused = reciprocal_rank_fusion([keyword, vector], k=60)
    assert {c.key for c in fused[:2]} == {2, 3}  # in both lists beats first in one
    assert fused[0].score == 1 / 63 + 1 / 61
    assert {c.key for c in fused} == {1, 2, 3, 4}


def test_rrf_weights_and_ties_are_deterministic() -> None:
    fused = reciprocal_rank_fusion([[Candidate(5, 1)], [Candidate(7, 1)]], k=10, weights=[1.0, 2.0])
    assert [c.key for c in fused] == [7, 5]
    assert [c.key for c in reciprocal_rank_fusion([[Candidate(9, 1)], [Candidate(8, 1)]])] == [8, 9]


def test_keyword_terms_drop_function_words_but_keep_rare_terms() -> None:
    assert keyword_terms("What is the Falcon 180 used for?") == ["falcon", "180", "used"]
    assert keyword_terms("the the of") == ["the", "of"]  # all stopwords: keep them rather than nothing
    assert keyword_terms("top-k gating in GPT-4") == ["top-k", "gating", "gpt-4"]
    # A possessive is the word: FTS5 would read "apple's" as the phrase "apple s".
    assert keyword_terms("Apple’s charts and Audioboom's CPM, it's Apple") == [
        "apple",
        "charts",
        "audioboom",
        "cpm",
    ]


def test_matched_terms_use_light_stemming() -> None:
    assert matched_terms(["prices", "gpu"], "The price of a GPU went up") == ["prices", "gpu"]


def test_matched_terms_count_words_written_apart_or_together() -> None:
    # Speech recognition splits names and compounds ("Audio Boom") or joins what the user splits.
    assert matched_terms(["audioboom", "shares"], "Shares of Audio Boom fell") == ["audioboom", "shares"]
    assert matched_terms(["cowpat"], "it looks like a cow pat") == ["cowpat"]
    assert matched_terms(["pod", "ping", "feeds"], "Podping tells apps of feeds") == ["pod", "ping", "feeds"]
    # Either half on its own does not say the word; words said on their own match as themselves; a joined
    # spelling is not needed for two query words the text says apart.
    assert matched_terms(["audioboom"], "an audio engineer heard a boom") == []
    assert matched_terms(["pod", "ping"], "a ping from the pod") == ["pod", "ping"]  # each said on its own
    assert matched_terms(["boring", "commercials"], "boring ads") == ["boring"]
    # A hyphenated word meets its halves written apart or together, as FTS5's phrase match does.
    assert matched_terms(["decoder-only", "top-k"], "a decoder only model routes to the top K") == [
        "decoder-only",
        "top-k",
    ]
    assert matched_terms(["topk", "decoder"], "top-k experts of a decoder-only model") == ["topk", "decoder"]


def test_matching_words_are_what_a_page_marks() -> None:
    assert matching_words(["grading"], "We graded it. Grades came later.") == ["graded", "grades"]
    # Both words of a name written apart, not the same word elsewhere on its own.
    assert matching_words(["audioboom", "shares"], "Shares of Audio Boom fell; the audio was fine") == [
        "shares",
        "audio",
        "boom",
    ]
    assert matching_words(["pod", "ping"], "Podping tells apps") == ["podping"]
    assert matching_words(["tulips"], "nothing here") == []


def _sentences() -> list[Sentence]:
    return [
        Sentence(0, "Welcome to the talk.", 10.0, 12.0, 0),
        Sentence(1, "LeBron James and Michael Jordan were great players.", 12.0, 16.0, 4),
        Sentence(2, "Anyway, back to the slides.", 16.0, 18.0, 12),
    ]


def test_pin_picks_the_sentence_closest_in_meaning() -> None:
    vectors = np.eye(3, dtype=np.float32)
    query = np.array([0.1, 0.9, 0.1], dtype=np.float32)
    pin = pin_sentence(_sentences(), vectors, query, ["basketball"])
    assert pin.sentence.index == 1
    assert pin.sentence.start == 12.0


def test_pin_without_vectors_uses_keywords_and_builds_a_readable_snippet() -> None:
    pin = pin_sentence(_sentences(), None, None, ["slides"])
    assert pin.sentence.index == 2
    assert pin.matched == ("slides",)
    short = pin_sentence(_sentences(), None, None, ["welcome"])
    assert short.snippet.startswith("Welcome to the talk. LeBron James")  # grown to a readable length


def test_a_pin_on_the_second_piece_of_a_sentence_opens_where_the_sentence_starts() -> None:
    def piece(index: int, text: str, start: float, speaker: str | None = None) -> Sentence:
        return Sentence(index, text, start, start + 2.0, index * 10, speaker)

    def pinned(pieces: list[Sentence]) -> float | None:
        vectors = np.zeros((len(pieces), 2), dtype=np.float32)
        vectors[:, 0] = 1.0
        vectors[-1] = (0.0, 1.0)  # the last piece is the one that answers
        query = np.array([0.0, 1.0], dtype=np.float32)
        return pin_sentence(pieces, vectors, query, ["carbon"]).sentence.start

    said = [piece(0, "That is expensive.", 395.0), piece(1, "There are new materials, one of which,", 402.3)]
    answer = piece(2, "for example, might be carbon fiber.", 405.0)
    assert pinned([*said, answer]) == 402.3  # the sentence began 2.7 s earlier: open there
    later = piece(2, "for example, might be carbon fiber.", 407.5)
    assert pinned([*said, later]) == 407.5  # 5.2 s earlier is another line's time: stay
    finished = [said[0], piece(1, "There are new materials.", 402.3), answer]
    assert pinned(finished) == 405.0  # the piece before ends a sentence: this one starts its own
    other_voice = [said[0], piece(1, "one of which,", 402.3, "Ann"), piece(2, answer.text, 405.0, "Bob")]
    assert pinned(other_voice) == 405.0  # another speaker's words do not lead into this one's


def test_deep_links() -> None:
    yt = Video(
        "dQw4w9WgXcQ",
        "t",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        kind="youtube",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    assert deep_link(yt, 123.9) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=123s"
    media = Video("talk", "t", "/data/talk.vtt", kind="media", url="file:///data/talk.mp4")
    assert deep_link(media, 61.2) == "file:///data/talk.mp4#t=61"
    untimed = Video("notes", "t", "/data/notes.txt", url="file:///data/notes.txt", timed=False)
    assert deep_link(untimed, None) == "file:///data/notes.txt"
    assert format_moment(3725.5) == "1:02:05"
    assert format_moment(None) == "—"


def test_stemming_is_thread_safe() -> None:
    # The HTTP API searches from many threads; a shared Snowball stemmer garbled stems under contention.
    import random
    import string
    from concurrent.futures import ThreadPoolExecutor

    import snowballstemmer

    from atlas.search.text import stem

    rng = random.Random(7)
    letters = string.ascii_lowercase
    words = ["".join(rng.choices(letters, k=rng.randint(4, 12))) + "ings" for _ in range(20000)]
    reference = snowballstemmer.stemmer("english")
    expected = [reference.stemWord(w) for w in words]
    stem.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        chunks = [words[i::8] for i in range(8)]
        results = list(pool.map(lambda chunk: [stem(w) for w in chunk], chunks))
    got = {w: s for chunk, res in zip(chunks, results, strict=True) for w, s in zip(chunk, res, strict=True)}
    assert [got[w] for w in words] == expected


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def test_span_evidence_scores_sentences_and_adjacent_pairs() -> None:
    vectors = _unit([1, 0, 0], [0, 1, 0], [0, 0, 1])
    query = _unit([1, 1, 0])[0]
    evidence = span_evidence(vectors, query)
    assert np.allclose(evidence.single, [0.7071, 0.7071, 0.0], atol=1e-4)
    assert np.allclose(evidence.pair, [1.0, 0.5], atol=1e-4)  # the pair (0, 1) *is* the query's direction
    assert evidence.best_pair > evidence.best_single
    lone = span_evidence(vectors[:1], query)
    assert lone.best_pair == lone.best_single


def test_pin_opens_where_an_answer_running_over_sentences_begins() -> None:
    sentences = [
        Sentence(0, "Welcome back.", 0.0, 2.0, 0),
        Sentence(1, "So here is how we cut the GPU bill.", 2.0, 5.0, 2),
        Sentence(2, "We rent spot instances at night.", 5.0, 8.0, 10),
        Sentence(3, "Lunch is at noon.", 8.0, 9.0, 16),
    ]
    vectors = np.eye(4, dtype=np.float32)
    query = np.array([0.0, 0.55, 0.6, 0.0], dtype=np.float32)  # sentence 2 best, 1 within the margin
    pin = pin_sentence(sentences, vectors, query, [])
    assert pin.sentence.index == 1 and pin.sentence.start == 2.0
    assert pin.snippet.startswith("So here is how we cut the GPU bill.")
    lone = np.array([0.0, 0.2, 0.6, 0.0], dtype=np.float32)  # sentence 1 is not part of the answer
    assert pin_sentence(sentences, vectors, lone, []).sentence.index == 2
    # Keywords alone never snap back: 2 of 7 terms score 0.09, within the margin of sentences matching none.
    terms = ["spot", "night", "cheap", "cloud", "cost", "price", "savings"]
    assert pin_sentence(sentences, None, None, terms).sentence.index == 2


def test_evidence_reranker_prefers_a_window_holding_the_answer_in_one_remark() -> None:
    query = _unit([1, 0, 0])[0]
    vague = RerankInput(1, "about everything", _unit([0.6, 0.8, 0])[0], _unit([0.6, 0.8, 0], [0.6, 0, 0.8]))
    sharp = RerankInput(2, "about it", _unit([0.55, 0.83, 0])[0], _unit([0.98, 0.2, 0], [0, 1, 0]))
    ranked = EvidenceReranker().rerank(query, [], [vague, sharp])
    assert [key for key, _ in ranked] == [2, 1]


def test_a_filtered_walk_that_misses_nodes_of_a_small_graph_goes_exact() -> None:
    """HNSW need not reach every node even when asked for all of them; a missed node may be the best one, so
    the filtered over-fetch then says "go exact" (None) instead of rescoring what the walk happened to see."""
    from atlas.index.ann import AnnIndex
    from atlas.index.sqlite.ranges import Ranges
    from atlas.index.sqlite.search import ann_candidates

    class MissesOne(AnnIndex):  # a real graph whose walk loses key 3, as a disconnected node would be lost
        def search(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
            keys, sims = super().search(query, count)
            return keys[keys != 3], sims[keys != 3]

    vectors = np.eye(8, dtype=np.float32)
    query = vectors[3]
    everything = Ranges(np.asarray([0], dtype=np.int64), np.asarray([7], dtype=np.int64))
    whole = AnnIndex(8)
    whole.add(np.arange(8, dtype=np.int64), vectors)
    assert ann_candidates(whole, query, 2, everything) is not None  # a full walk: rescore what it found
    lossy = MissesOne(8)
    lossy.add(np.arange(8, dtype=np.int64), vectors)
    assert ann_candidates(lossy, query, 2, everything) is None
