"""`atlas ask` as users run it: the installed script in a fresh process, exit codes, the --json shape."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from tests.conftest import FAKE_EMBEDDER, SAMPLES
from tests.fake_plugins import plugin_env

ATLAS = Path(sys.executable).with_name("atlas")
QUESTION = "What is Gradescope, the automated grading platform?"


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ask-cli") / "library"
    with Library.open(Settings(library_dir=directory, embedder=FAKE_EMBEDDER)) as lib:
        assert not lib.ingest([str(SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt")]).failed
    return directory


def atlas(library_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = plugin_env({k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "OPENAI_"))})
    env["ATLAS_LIBRARY"] = str(library_dir)
    return subprocess.run(
        [str(ATLAS), "ask", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_json_answer_with_cited_timed_moments(library_dir: Path) -> None:
    done = atlas(library_dir, QUESTION, "--generator", "extractive", "--json", "--limit", "3")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["answered"] is True and payload["generator"] == "extractive"
    assert payload["question"] == QUESTION and "[1]" in payload["answer"]
    numbers = {c["number"] for c in payload["citations"]}
    assert 1 <= len(numbers) <= 3
    for sentence in payload["sentences"]:
        assert sentence["citations"] and set(sentence["citations"]) <= numbers and sentence["supported"]
    for citation in payload["citations"]:
        assert citation["moment"] is not None and citation["url"].endswith(f"#t={int(citation['moment'])}")


def test_streamed_answer_then_sources(library_dir: Path) -> None:
    done = atlas(library_dir, QUESTION, "-g", "extractive")
    assert done.returncode == 0, done.stderr
    assert "Gradescope is sort of an automated grading platform" in done.stdout
    sources = done.stdout.split("Sources", 1)[1].strip().splitlines()
    source_line = re.compile(r"^\[\d+\] Berkeley ai rubric lecture — \d:\d\d:\d\d — file:///\S+#t=\d+$")
    assert len(sources) >= 2 and all(source_line.match(line) for line in sources[:-1])
    assert done.stdout.rstrip().endswith("Written by extractive")
    assert "Reading" in done.stderr  # progress goes to stderr, the answer to stdout


@pytest.mark.slow  # seven fresh processes
def test_bad_input_gets_one_line_and_its_exit_code(library_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    endpoint = ["--generator", "openai-compatible", "--base-url", closed, "--model", "m"]
    cases = [
        ([""], 2, "the question is empty"),
        ([QUESTION, "--after", "yesterday"], 2, "YYYY-MM-DD"),
        ([QUESTION, "-g", "llama-cpp", "--model", str(tmp_path / "none.gguf")], 2, "does not exist"),
        ([QUESTION, "-g", "gpt-17"], 2, "unknown generator"),
        ([QUESTION, *endpoint], 6, "cannot reach the generator"),
        ([QUESTION, "--library", str(tmp_path / "nowhere")], 4, "no Atlas library"),
    ]
    for args, code, message in cases:
        done = atlas(library_dir, *args)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == code, (args, done.stderr)
        assert len(errors) == 1 and message in errors[0], (args, done.stderr)

    rescued = atlas(library_dir, QUESTION, *endpoint, "--fallback", "--json")
    assert rescued.returncode == 0, rescued.stderr
    payload = json.loads(rescued.stdout)
    assert payload["answered"] and payload["generator"].startswith(
        "extractive (fallback: openai-compatible/m"
    )
