"""Schemathesis, a third-party OpenAPI fuzzer, against a live ``atlas serve`` with a token set: every check
(no 5xx; status codes, content types, headers and bodies as the document says; schema-valid requests
accepted and invalid ones refused; ``Allow`` on 405; all but use_after_free, see below) over its
coverage, fuzzing and stateful phases, bounded to ~40 s. The run is seeded (``ATLAS_FUZZ_SEED`` picks
another seed) so a failure can be replayed; the seed is printed with the report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from tests.api.conftest import TOKEN
from tests.api.serve_process import atlas_serve
from tests.conftest import FAKE_EMBEDDER, FIXTURES, ROOT, SAMPLES

pytestmark = pytest.mark.slow

BUDGET_S = 40  # the fuzzer's own time budget (--max-time); with the server start, about a minute
DEFAULT_SEED = 20261206


def test_schemathesis_finds_no_server_error_or_schema_violation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for sample in SAMPLES.iterdir():
        shutil.copy(sample, data / sample.name)
    shutil.copy(FIXTURES / "transcripts" / "manual-talk.en.vtt", data / "manual-talk.en.vtt")
    library = tmp_path / "library"
    with Library.open(Settings(library_dir=library, embedder=FAKE_EMBEDDER)) as lib:
        assert not lib.ingest([str(data)]).failed  # videos to find, show, cut into chapters and delete

    seed = int(os.environ.get("ATLAS_FUZZ_SEED", DEFAULT_SEED))
    with atlas_serve(library, [data], tmp_path / "serve.log", token=TOKEN) as served:
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{served.base}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            # DELETE /api/jobs/{id} cancels a job and its record stays, saying "cancelled" (docs/api.md): GET
            # after DELETE is 200 by design. Schemathesis 4.32 cannot turn this check off for one path in its
            # stateful phase, so it is off here; DELETE /api/videos/{id} then GET is a 404 in test_videos.py.
            "--exclude-checks",
            "use_after_free",
            "--max-time",
            str(BUDGET_S),
            "--workers",
            "1",  # CI has two cores: one for the fuzzer, one for the server
            "--request-timeout",
            "30",
            "--seed",
            str(seed),
            "--generation-database",
            "none",  # no .hypothesis folder in the checkout
            "--no-color",
        ]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        run = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=BUDGET_S + 120
        )
        server_log = served.output()
    report = run.stdout + run.stderr
    print(f"schemathesis seed {seed} (replay with ATLAS_FUZZ_SEED={seed})\n{report}")
    assert run.returncode == 0, f"seed {seed}:\n{report}\n--- server log ---\n{server_log}"
    assert "Traceback" not in server_log, server_log  # a 5xx the fuzzer might not have seen as one
