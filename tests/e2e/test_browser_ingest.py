"""The page's Add panel in a real browser: `atlas serve` as a subprocess, Debian Chromium, Playwright.

A path from samples/ (an allowed directory) and a file whose name is hostile markup are typed into the panel;
the job is followed to its outcomes, and a search then finds the new video. Refused paths and a missing token
show the server's message and hint in the panel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAKE_EMBEDDER, SAMPLES
from tests.e2e.test_browser import CHROMIUM, atlas_serve

pytestmark = [pytest.mark.slow]

HOSTILE_NAME = "<img src=x onerror=alert(1)>.vtt"
HOSTILE_VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nA quiet lecture on medieval castles with moats.\n"
COST_TALK = SAMPLES / "normconf-ml-cost-talk.txt"  # the only sample that says "Pedalboard"
TOKEN = "e2e-token-for-the-add-panel"


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page, and the alerts and script errors it saw (both must stay empty)."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (scripts/system-deps.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        yield page, problems
        browser.close()


def _submit(page: Any, text: str) -> None:
    page.fill("#add-targets", text)
    page.click("#add-submit")


@pytest.mark.real_model
def test_add_a_sample_follow_the_job_and_find_it(browser_page: tuple[Any, list[str]], tmp_path: Path) -> None:
    page, problems = browser_page
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / HOSTILE_NAME).write_text(HOSTILE_VTT)
    with atlas_serve(tmp_path / "library", [SAMPLES, drop]) as (base, _http):
        page.goto(base)
        page.wait_for_selector("#library-status:has-text('0 videos')")
        page.click("#tab-add")
        page.wait_for_selector("#job-list li:has-text('No jobs yet')")
        assert page.locator("#add-token-label").is_hidden()  # a loopback server without a token

        # Refused targets: the server's message and its hint, as text, and no job.
        _submit(page, "samples/normconf-ml-cost-talk.txt")
        page.wait_for_selector("#add-error:has-text('relative path')")
        assert "give an absolute path" in (page.locator("#add-error .hint").text_content() or "")
        _submit(page, "/etc/passwd")
        page.wait_for_selector("#add-error:has-text('outside the directories')")
        assert "--allow-dir" in (page.locator("#add-error .hint").text_content() or "")
        assert page.locator("#job").is_hidden()

        # Two targets, one per line, with both transcription options ticked: the job is followed until every
        # target has its outcome.
        page.check("#add-force-asr")
        page.check("#add-fast")
        with page.expect_request("**/api/ingest") as posted:
            _submit(page, f"{COST_TALK}\n{drop / HOSTILE_NAME}")
        assert posted.value.post_data_json["options"] == {"force_asr": True, "beam": 1}
        page.wait_for_selector("#job[data-state='done']", timeout=300_000)
        assert page.locator("#add-error").is_hidden()
        assert page.locator("#job-targets .outcome[data-status='added']").count() == 2
        assert page.locator("#job-state").text_content() == "done"
        assert "2 of 2 targets finished" in (page.locator("#job-summary").text_content() or "")
        assert page.locator("#job-cancel").is_hidden()
        names = page.locator("#job-targets .target-name").all_text_contents()
        assert names == [str(COST_TALK.resolve()), str((drop / HOSTILE_NAME).resolve())]
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
        assert "&lt;img" in page.locator("#job-targets").inner_html()

        # The list of recent jobs has it, and the library count and filters were refreshed.
        page.wait_for_selector("#library-status:has-text('2 videos')")
        item = page.locator("#job-list button.job-item").first
        assert item.get_attribute("data-state") == "done"
        assert "2 added" in (item.text_content() or "")
        assert page.locator("#filter-video option").count() == 3  # "any video" and the two new ones

        # A reload: the job is still listed; opening it shows its outcomes again.
        page.reload()
        page.click("#tab-add")
        page.locator("#job-list button.job-item").first.click()
        page.wait_for_selector("#job[data-state='done'] .outcome[data-status='added']")

        page.click("#tab-search")
        page.fill("#q", "Pedalboard")
        page.press("#q", "Enter")
        page.wait_for_selector("section.group[data-video-id='normconf-ml-cost-talk'] button.hit")
        snippet = page.locator("section.group[data-video-id='normconf-ml-cost-talk'] .snippet").first
        assert "Pedalboard" in (snippet.text_content() or "")
    assert problems == []


def test_the_panel_asks_for_the_token_and_sends_it(
    browser_page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    page, problems = browser_page
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "castles.vtt").write_text(HOSTILE_VTT)
    # The hashing embedder: this test is about the page's writes, not about meaning.
    with atlas_serve(tmp_path / "library", [drop], token=TOKEN, embedder=FAKE_EMBEDDER) as (base, _http):
        page.goto(base)
        page.click("#tab-add")
        page.wait_for_selector("#add-token-label", state="visible")  # /api/health says writes need it

        _submit(page, str(drop / "castles.vtt"))
        page.wait_for_selector("#add-error:has-text('needs the API token')")
        assert "Authorization: Bearer" in (page.locator("#add-error .hint").text_content() or "")

        page.fill("#add-token", TOKEN)
        _submit(page, str(drop / "castles.vtt"))
        page.wait_for_selector("#job[data-state='done'] .outcome[data-status='added']", timeout=60_000)
        assert page.locator("#add-error").is_hidden()
    assert problems == []
