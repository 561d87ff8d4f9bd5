"""`atlas ingest --ray ADDRESS` / ATLAS_RAY_ADDRESS: resolved once, refused in one line when empty, and a
missing `ray` package names the extra to install (before any work). The cluster itself:
tests/integration/test_ray_ingest.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atlas.cli.ingest import with_ray_default
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


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "t.vtt", "--ray"], ["ingest", "t.vtt", "--ray", "auto"]),
        (["ingest", "--ray", "t.vtt"], ["ingest", "--ray", "auto", "t.vtt"]),  # a file is a target
        (["ingest", "--ray", "https://youtu.be/x"], ["ingest", "--ray", "auto", "https://youtu.be/x"]),
        (["ingest", "--ray", "--json", "t"], ["ingest", "--ray", "auto", "--json", "t"]),
        (["ingest", "--ray", "local", "t"], ["ingest", "--ray", "local", "t"]),
        (["ingest", "--ray", "10.0.0.5:6379", "t"], ["ingest", "--ray", "10.0.0.5:6379", "t"]),
        (["ingest", "--ray", "ray://head:10001", "t"], ["ingest", "--ray", "ray://head:10001", "t"]),
        (["ingest", "--ray", "[::1]:6379", "t"], ["ingest", "--ray", "[::1]:6379", "t"]),
        (["ingest", "--ray", "talk:1.vtt", "t"], ["ingest", "--ray", "auto", "talk:1.vtt", "t"]),
        (["ingest", "--ray=auto", "t"], ["ingest", "--ray=auto", "t"]),
        (["ingest", "--", "--ray"], ["ingest", "--", "--ray"]),  # after --, a target named --ray
        (["search", "--ray"], ["search", "--ray"]),  # only ingest has --ray
    ],
)
def test_ray_alone_takes_the_default_address(
    argv: list[str], expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_RAY_ADDRESS, raising=False)
    assert with_ray_default(argv) == expected


def test_ray_alone_takes_the_environment_address_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_RAY_ADDRESS, "10.0.0.5:6379")
    assert with_ray_default(["ingest", "t.vtt", "--ray"]) == ["ingest", "t.vtt", "--ray", "10.0.0.5:6379"]


@pytest.mark.parametrize("position", ["before", "after"])
def test_ray_without_an_address_reaches_the_cluster_check(
    position: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`atlas ingest --ray talk.vtt` and `atlas ingest talk.vtt --ray` both mean the default cluster: without
    the ray package they stop at the one-line hint naming the extra, not at a usage error."""
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delenv(ENV_RAY_ADDRESS, raising=False)
    talk = tmp_path / "talk.vtt"
    talk.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello there.\n")
    library = tmp_path / "library"
    args = ["--ray", str(talk)] if position == "before" else [str(talk), "--ray"]
    code, _out, err = run_cli(capsys, "ingest", *args, "--library", str(library))
    assert code == 5, err
    assert "pip install 'atlas-search[cluster]'" in " ".join(err.split())
