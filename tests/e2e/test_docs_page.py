"""/docs in Chromium under its content policy: Swagger UI (served by Atlas, started by one inline script the
policy names by hash) runs, and the browser reports no policy violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.api.app import create_app
from atlas.config import ServeSettings, Settings
from tests.api.conftest import live_server
from tests.conftest import FAKE_EMBEDDER

CHROMIUM = Path("/usr/bin/chromium")
# Collects every policy violation the page meets (init scripts are injected by the browser, not the page).
WATCH_POLICY = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def test_swagger_ui_runs_under_the_docs_policy(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (scripts/system-deps.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    app = create_app(Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER), ServeSettings())
    with live_server(app) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page()
        page.add_init_script(WATCH_POLICY)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/docs")
        # Rendered by SwaggerUIBundle, which only the inline script starts: the hash let it run.
        page.wait_for_selector("#swagger-ui .swagger-ui", timeout=30_000)
        page.wait_for_load_state("networkidle")
        # The definition renders: the operations are listed ("Unable to render this definition" otherwise,
        # as the bundled Swagger UI 4 reads OpenAPI 3.0 only).
        page.wait_for_selector(".opblock-summary-path:has-text('/api/search')", timeout=30_000)
        assert "Unable to render" not in page.inner_text("#swagger-ui")
        violations = page.evaluate("window.__violations")
        browser.close()
    assert violations == [] and errors == [], (violations, errors)
