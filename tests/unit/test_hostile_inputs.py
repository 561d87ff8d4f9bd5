"""Issue 15 through the `atlas` command: hostile files fail alone with one line, hostile text never reaches
the terminal raw, bad ids / URLs / empty targets are refused, and messages say what is really wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from atlas.models import Segment, Transcript, Video
from atlas.sources.base import Ingestible
from tests.conftest import FAKE_EMBEDDER, SAMPLES, run_cli

GOOD_VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nthe garden needs water every morning\n"
# Clear screen, a colour, an OSC 52 clipboard write, a C1 CSI, a bell: none may reach a terminal raw.
ESCAPES = "\x1b[2J\x1b[31mred\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\x07"
HOSTILE_VTT = f"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nwatering {ESCAPES} the garden slowly\n"
CONTROLS = ("\x1b", "\x07", "\x9b")


@pytest.fixture
def lib_args(tmp_path: Path) -> list[str]:
    return ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]


def _one_error_line(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines and all(needle in err for needle in needles), err
    assert "Traceback" not in err, err


# -- 5. terminal escapes -----------------------------------------------------------------------------------


def test_control_characters_never_reach_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lib_args: list[str]
) -> None:
    talk = tmp_path / "hostile.vtt"
    talk.write_text(HOSTILE_VTT)
    title = f"Evil{ESCAPES} [/] [bold]title"
    code, _, err = run_cli(capsys, "ingest", str(talk), "--title", title, "--quiet", *lib_args)
    assert code == 0, err
    code, out, _ = run_cli(capsys, "list", "--json", *lib_args[:2])
    stored = json.loads(out)[0]
    assert not any(c in stored["title"] for c in CONTROLS), stored["title"]  # titles are cleaned on ingest
    assert "[/] [bold]title" in stored["title"]

    for argv in (
        ("search", "watering the garden", *lib_args),
        ("list", *lib_args[:2]),
        ("show", stored["video_id"], *lib_args[:2]),
        ("ask", "how is the garden watered?", "--generator", "extractive", *lib_args),
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == 0, (argv, err)
        assert not any(c in out + err for c in CONTROLS), (argv, out)
        assert "Traceback" not in err
    code, out, _ = run_cli(capsys, "show", stored["video_id"], *lib_args[:2])
    assert "[/] [bold]title" in out  # a title is text, never Rich markup
    assert "\\x1b[2J" in out  # shown escaped, so the reader sees something was there


# -- 6. stored URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://x/y"]
)
def test_url_flag_accepts_only_web_urls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lib_args: list[str], url: str
) -> None:
    talk = tmp_path / "talk.vtt"
    talk.write_text(GOOD_VTT)
    code, _, err = run_cli(capsys, "ingest", str(talk), "--url", url, "--quiet", *lib_args)
    assert code == 2
    _one_error_line(err, "--url", "http")


# -- 7. deeply nested and hostile files fail alone ---------------------------------------------------------


def test_a_deeply_nested_json_file_fails_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lib_args: list[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a-deep.json").write_text("[" * 100_000)
    (tmp_path / "data" / "b-deep-object.json").write_text('{"segments": ' * 50_000)
    (tmp_path / "data" / "c-talk.vtt").write_text(GOOD_VTT)
    code, _, err = run_cli(capsys, "ingest", str(tmp_path / "data"), "--quiet", *lib_args)
    assert code == 2
    _one_error_line(err, "a-deep.json", "b-deep-object.json", "nested")
    code, out, _ = run_cli(capsys, "list", "--json", *lib_args[:2])
    assert [v["video_id"] for v in json.loads(out)] == ["c-talk"]


def test_a_parser_crash_fails_that_file_alone(
    fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas.sources.formats.webvtt import WebVTTFormat

    def explode(self: object, text: str, source: str) -> list[Segment]:
        raise ValueError("parser bug")

    bad = tmp_path / "bad.vtt"
    bad.write_text(GOOD_VTT)
    monkeypatch.setattr(WebVTTFormat, "parse", explode)
    report = fake_library.ingest([str(bad), str(SAMPLES / "normconf-ml-cost-talk.txt")])
    assert [o.status for o in report.outcomes] == ["failed", "added"]
    assert "bad.vtt" in (report.outcomes[0].message or "") and "parser bug" in (
        report.outcomes[0].message or ""
    )


# -- 11. an empty target -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["", "   "])
def test_an_empty_target_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    lib_args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "talk.vtt").write_text(GOOD_VTT)
    monkeypatch.chdir(tmp_path / "cwd")
    code, _, err = run_cli(capsys, "ingest", target, "--quiet", *lib_args)
    assert code == 2
    _one_error_line(err, "empty")
    assert not (tmp_path / "lib" / "atlas.db").exists()


def test_the_library_refuses_an_empty_target(fake_library: Library) -> None:
    from atlas.errors import UserInputError

    with pytest.raises(UserInputError, match="empty"):
        fake_library.ingest([""])


# -- 12. video ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("video_id", ["../../etc/passwd", "/abs", "a b", "\n", ".x", "x" * 129, "a\x1bb"])
def test_bad_id_flags_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lib_args: list[str], video_id: str
) -> None:
    talk = tmp_path / "talk.vtt"
    talk.write_text(GOOD_VTT)
    code, _, err = run_cli(capsys, "ingest", str(talk), "--id", video_id, "--quiet", *lib_args)
    assert code == 2
    _one_error_line(err, "--id", "A-Z")


def test_good_ids_and_derived_ids_conform(fake_library: Library, tmp_path: Path) -> None:
    from atlas.ids import is_video_id
    from atlas.models import IngestOptions

    talk = tmp_path / "talk.vtt"
    talk.write_text(GOOD_VTT)
    report = fake_library.ingest([str(talk)], IngestOptions(video_id="My_Talk.v2-final"))
    assert report.outcomes[0].video_id == "My_Talk.v2-final"
    odd = tmp_path / "日本語のトーク.vtt"
    odd.write_text(GOOD_VTT)
    derived = fake_library.ingest([str(odd)]).outcomes[0].video_id
    assert derived is not None and is_video_id(derived), derived


def test_legacy_ids_stay_readable_and_removable(
    capsys: pytest.CaptureFixture[str], fake_settings: Settings
) -> None:
    transcript = Transcript((Segment("old words", 0.0, 2.0),), origin="file:webvtt")
    with Library.open(fake_settings) as lib:
        lib.add(Ingestible(Video("old/../id", "Old", "/x/old.vtt"), transcript))
    library = ["--library", str(fake_settings.library_dir)]
    code, out, _ = run_cli(capsys, "show", "old/../id", *library)
    assert code == 0 and "old words" in out
    code, _, _ = run_cli(capsys, "remove", "old/../id", *library)
    assert code == 0


# -- 15. messages that say what is wrong -------------------------------------------------------------------


def test_a_fifo_named_vtt_is_called_what_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lib_args: list[str]
) -> None:
    fifo = tmp_path / "pipe.vtt"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "ingest", str(fifo), "--quiet", *lib_args)
    assert code == 2 and "unsupported file type" not in err
    _one_error_line(err, "pipe.vtt", "not a regular file")


def test_utf16le_without_a_bom_is_read(fake_library: Library, tmp_path: Path) -> None:
    talk = tmp_path / "utf16.vtt"
    talk.write_bytes(GOOD_VTT.encode("utf-16-le"))
    report = fake_library.ingest([str(talk)])
    assert report.outcomes[0].status == "added", report.outcomes[0].message


def test_json_text_of_the_wrong_type_says_so(fake_library: Library, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"segments": [{"start": 0, "end": 1, "text": 123}]}))
    message = fake_library.ingest([str(bad)]).outcomes[0].message or ""
    assert "has no 'text'" not in message and "'text' must be a string" in message and "123" in message


def test_a_transcript_renamed_mp4_says_it_is_a_transcript(fake_library: Library, tmp_path: Path) -> None:
    pytest.importorskip("av")
    renamed = tmp_path / "talk.mp4"
    renamed.write_text(GOOD_VTT)
    message = fake_library.ingest([str(renamed)]).outcomes[0].message or ""
    assert "no audio stream" not in message and "WebVTT" in message and ".vtt" in message, message


@pytest.fixture
def locked_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with a talk and a subfolder ``locked`` that cannot be listed. Listing is refused by
    patching ``os.scandir`` (what ``os.walk`` lists with), not by chmod: root reads every folder."""
    data = tmp_path / "data"
    (data / "locked").mkdir(parents=True)
    (data / "locked" / "hidden.vtt").write_text(GOOD_VTT)
    (data / "talk.vtt").write_text(GOOD_VTT)
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    return data


def test_unreadable_subfolders_are_reported(
    capsys: pytest.CaptureFixture[str], locked_folder: Path, lib_args: list[str]
) -> None:
    code, _, err = run_cli(capsys, "ingest", str(locked_folder), "--quiet", *lib_args)
    assert code == 2
    _one_error_line(err, "locked", "permission denied")


def test_unreadable_subfolders_fail_alone(fake_library: Library, locked_folder: Path) -> None:
    report = fake_library.ingest([str(locked_folder)])
    by_status = {o.status: o for o in report.outcomes}
    assert set(by_status) == {"added", "failed"} and by_status["added"].video_id == "talk"
    assert "locked" in (by_status["failed"].message or "")
    assert "permission denied" in (by_status["failed"].message or "")


def test_search_for_an_unknown_video_exits_4(capsys: pytest.CaptureFixture[str], lib_args: list[str]) -> None:
    code, _, err = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", *lib_args)
    assert code == 0, err
    code, _, err = run_cli(capsys, "search", "gpu cost", "--video", "nosuch", *lib_args)
    assert code == 4
    _one_error_line(err, "nosuch", "atlas list")
    code, _, err = run_cli(capsys, "ask", "gpu cost?", "--video", "nosuch", "-g", "extractive", *lib_args)
    assert code == 4
    code, out, _ = run_cli(capsys, "search", "gpu cost", "--video", "normconf-ml-cost-talk", *lib_args)
    assert code == 0 and "Moments for" in out
