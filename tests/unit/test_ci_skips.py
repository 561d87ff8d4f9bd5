"""Under CI a skip is a failure (tests/conftest.py): a suite must not pass green because the real paths were
skipped. Checked on a throwaway test file run by a child pytest with this suite's conftest as a plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CASES = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="espeak-ng is not installed")
def test_needs_a_tool():
    pass

def test_skips_inside():
    pytest.skip("Chromium is missing")

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def run_child(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only this suite's hooks: a child run in a second, not ten
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_cases.py")]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_under_ci_a_skip_fails_the_run(tmp_path: Path) -> None:
    run = run_child(tmp_path, "1")
    assert run.returncode == 1, run.stdout + run.stderr
    # A skip at setup (skipif) becomes an error, one in the test body a failure; an xfail is not a skip.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in run.stdout, run.stdout
    assert "skipped under CI" in run.stdout and "espeak-ng is not installed" in run.stdout
    assert "Chromium is missing" in run.stdout


def test_outside_ci_a_skip_is_still_a_skip(tmp_path: Path) -> None:
    for ci in (None, "0"):
        run = run_child(tmp_path, ci)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 passed, 2 skipped, 1 xfailed" in run.stdout, run.stdout
