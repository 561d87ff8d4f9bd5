"""The whole product in a real browser: `atlas serve` as a subprocess on a free loopback port, Debian Chromium
driven by Playwright, the real embedding model.

The library holds a local talk (espeak-ng speech in a WAV, with a WebVTT sidecar whose cue times are where
each sentence really starts), a YouTube video (its iframe cannot load offline, so its src is checked), and a
video whose title and URL are hostile markup. The test searches, clicks hits, checks where the player is,
asks a question over SSE, and saves a screenshot.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import free_port, wait_for_job
from tests.fake_plugins import plugin_env

pytestmark = [pytest.mark.slow, pytest.mark.real_model]

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
SPOKEN = (
    "Welcome to this short talk about the garden.",
    "Tomatoes need six hours of direct sunlight every day.",
    "Water the roots early in the morning, never the leaves at noon.",
    "Compost made from kitchen scraps feeds the soil for the next season.",
)
SILENCE = 0.6  # seconds between sentences
YOUTUBE_VTT = """WEBVTT

00:00:00.000 --> 00:00:06.000
Hello and welcome to the channel.

00:00:31.000 --> 00:00:37.500
Attention lets every token look at every other token in the sequence.

00:01:05.000 --> 00:01:12.000
Positional encodings tell the transformer where each word sits.
"""
HOSTILE_VTT = """WEBVTT

00:00:02.000 --> 00:00:06.000
A quiet lecture on medieval castles with moats and drawbridges.
"""


def speak(sentences: tuple[str, ...], wav: Path, vtt: Path) -> list[float]:
    """espeak-ng speaks each sentence; the WAV strings them together with silence between, and the VTT's
    cues start exactly where each sentence starts. Returns those start times."""
    frames: list[bytes] = []
    starts: list[float] = []
    cues: list[str] = []
    rate, position = 22050, 0.0
    for i, sentence in enumerate(sentences):
        part = wav.with_name(f"part{i}.wav")
        subprocess.run(["espeak-ng", "-w", str(part), sentence], check=True, capture_output=True)
        with wave.open(str(part), "rb") as spoken:
            rate = spoken.getframerate()
            data = spoken.readframes(spoken.getnframes())
        part.unlink()
        length = len(data) / 2 / rate
        starts.append(position)
        cues.append(f"{_stamp(position)} --> {_stamp(position + length)}\n{sentence}")
        frames.append(data + b"\x00\x00" * int(SILENCE * rate))
        position += length + SILENCE
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(frames))
    vtt.write_text("WEBVTT\n\n" + "\n\n".join(cues) + "\n")
    return starts


def _stamp(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{secs:06.3f}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not CHROMIUM.exists() or shutil.which("espeak-ng") is None:
        pytest.skip("needs /usr/bin/chromium and espeak-ng (scripts/system-deps.sh installs both)")
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    data.mkdir()
    starts = speak(SPOKEN, data / "garden-talk.wav", data / "garden-talk.vtt")
    (data / "Transformers Explained [dQw4w9WgXcQ].en.vtt").write_text(YOUTUBE_VTT)
    (data / "hostile.vtt").write_text(HOSTILE_VTT)

    with atlas_serve(root / "library", [data]) as (base, http):
        for targets, options in (
            ([data / "garden-talk.vtt", data / "Transformers Explained [dQw4w9WgXcQ].en.vtt"], {}),
            (
                [data / "hostile.vtt"],
                {"video_id": "hostile", "title": HOSTILE_TITLE},
            ),
        ):
            body = {"targets": [str(t) for t in targets], "options": options}
            job = wait_for_job(http, http.post("/api/ingest", json=body).json()["id"], timeout=300)
            assert [o["status"] for o in job["outcomes"]] == ["added"] * len(targets), job
        # A javascript: URL is refused at the door (the page would not link it either).
        body = {"targets": [str(data / "hostile.vtt")], "options": {"url": "javascript:alert(2)"}}
        assert http.post("/api/ingest", json=body).status_code == 400
        yield {"base": base, "starts": starts, "http": http}


@contextmanager
def atlas_serve(
    library: Path, allowed: list[Path], *, token: str | None = None, embedder: str | None = None
) -> Iterator[tuple[str, httpx.Client]]:
    """``atlas serve`` on a free loopback port, as a subprocess; yields its base URL and a client for it."""
    port = free_port()
    env = plugin_env({k: v for k, v in os.environ.items() if k != "ATLAS_API_TOKEN"})
    env["ATLAS_GENERATOR"] = "extractive"  # the Ask tab streams without loading a language model
    if token:
        env["ATLAS_API_TOKEN"] = token
    atlas = Path(sys.executable).with_name("atlas")
    command = [str(atlas), "serve", "--library", str(library), "--host", "127.0.0.1", "--port", str(port)]
    for folder in allowed:
        command += ["--allow-dir", str(folder)]
    if embedder:
        command += ["--embedder", embedder]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            deadline = time.monotonic() + 180
            while True:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "atlas serve did not come up"
                time.sleep(0.25)
            yield base, http
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _search(page: Any, query: str) -> None:
    page.fill("#q", query)
    page.press("#q", "Enter")
    # The page writes the query into its URL once it has rendered that query's results: wait for that, not
    # for any hit (the previous query's hits are still on the page until then).
    page.wait_for_function("q => new URLSearchParams(location.search).get('q') === q", arg=query)
    page.wait_for_selector("button.hit")


def test_search_play_ask_and_escape_in_chromium(server: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        dialogs: list[str] = []
        page_errors: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        # Nothing outside loopback is reachable here: YouTube's thumbnail host answers with a tiny image.
        page.route(
            "https://i.ytimg.com/**", lambda route: route.fulfill(body=PIXEL, content_type="image/png")
        )
        page.goto(server["base"])
        page.wait_for_selector("#library-status:has-text('3 videos')")

        # A local talk: the HTML5 player opens /media/{id} at the hit's moment (seeking needs Range).
        _search(page, "when should I water my plants")
        hit = page.locator("section.group[data-video-id='garden-talk'] button.hit").first
        moment = float(hit.get_attribute("data-moment") or "nan")
        assert abs(moment - server["starts"][2]) < 0.05  # pinned to the sentence about watering
        assert hit.locator(".moment").text_content() == f"0:00:{int(moment):02d}"
        assert hit.locator("mark").count() >= 1  # matched words are marked
        hit.click()
        page.wait_for_function(
            "() => { const a = document.querySelector('#player-media audio');"
            " return a !== null && a.readyState >= 1 && a.currentTime > 0; }"
        )
        current = page.evaluate("document.querySelector('#player-media audio').currentTime")
        assert abs(current - moment) < 1.0, (current, moment)
        assert page.evaluate("document.querySelector('#player-media audio').src").endswith(
            f"/media/garden-talk#t={moment:.2f}"
        )
        assert page.locator("#player-passage").text_content().startswith("Welcome")
        assert page.locator("#player-passage strong.pinned").text_content().startswith("Water the roots")
        screenshot = tmp_path / "atlas-search.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 10_000

        # A YouTube video: the privacy-enhanced embed, starting at the moment's second.
        _search(page, "how does attention let tokens see each other")
        yt_hit = page.locator("section.group[data-video-id='dQw4w9WgXcQ'] button.hit").first
        yt_moment = float(yt_hit.get_attribute("data-moment") or "nan")
        assert yt_moment == 31.0
        thumb = page.locator("section.group[data-video-id='dQw4w9WgXcQ'] img.thumb")
        assert thumb.get_attribute("src") == "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"
        yt_hit.click()
        src = page.locator("#player-media iframe").get_attribute("src") or ""
        assert src.startswith("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?")
        assert "start=31&" in src

        # A hostile title is text, never markup; its javascript: URL never becomes a link.
        _search(page, "medieval castles with moats")
        group = page.locator("section.group[data-video-id='hostile']")
        assert group.locator("h2.video-title").text_content() == HOSTILE_TITLE
        assert "&lt;img" in group.locator("h2.video-title").inner_html()
        group.locator("button.hit").first.click()
        assert page.locator("#player-title").text_content() == HOSTILE_TITLE
        assert page.locator("#filter-video option", has_text=HOSTILE_TITLE).count() == 1
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
        assert page.locator("a[href^='javascript:']").count() == 0

        # Ask: the answer streams over SSE; its [n] citations play their moments.
        page.click("#tab-ask")
        page.fill("#question", "When should I water the garden?")
        page.press("#question", "Enter")
        page.wait_for_selector("#answer-text button.cite")
        assert "Answered by extractive" in (page.locator("#answer-note").text_content() or "")
        page.locator("#answer-text button.cite").first.click()
        page.wait_for_function("() => document.querySelector('#player-title').textContent.length > 0")
        assert page.locator("#player-moment").text_content().startswith("at 0:00:")

        assert dialogs == [] and page_errors == []
        browser.close()
