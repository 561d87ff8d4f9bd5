"""`atlas ingest --ray ADDRESS` / ATLAS_RAY_ADDRESS: resolved once, refused in one line when empty, and a
missing `ray` package names the extra to install (before any work). The cluster itself:
tests/integration/test_ray_ingest.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atlas.config import ENV_RAY_ADDRESS, resolve_ray_address
from atlas.errors import UserInputError
from tests.conftest import FAKE_EMBEDDER, run_cli


def test_flag_wins_over_the_environment() -> None:
    assert resolve_ray_address(None, environ={}) is None
    assert resolve_ray_address(None, environ={ENV_RAY_ADDRESS: " auto "}) == "auto"
    assert resolve_ray_address(None, environ={ENV_RAY_ADDRESS: ""}) is None
    assert resolve_ray_address("10.0.0.5:6379", environ={ENV_RAY_ADDRESS: "auto"}) == "10.0.0.5:6379"
    with pytest.raises(UserInputError, match="--ray needs an address"):
        resolve_ray_address(" ", environ={})


def test_without_ray_the_cli_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: `import ray` raises ImportError
    talk = tmp_path / "talk.vtt"
    talk.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello there.\n")
    library = tmp_path / "library"
    code, _out, err = run_cli(capsys, "ingest", str(talk), "--ray", "auto", "--library", str(library))
    assert code == 5, err
    assert "pip install 'atlas-search[cluster]'" in " ".join(err.split())
    assert not library.exists()  # refused before the library was made


def test_an_unreachable_head_is_one_line_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray", reason="needs the cluster extra (ray)")
    talk = tmp_path / "talk.vtt"
    talk.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello there.\n")
    argv = ("ingest", str(talk), "--ray", "127.0.0.1:1", "--embedder", FAKE_EMBEDDER)
    code, _out, err = run_cli(capsys, *argv, "--library", str(tmp_path / "library"))
    assert code == 1, err
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in " ".join(err.split())
