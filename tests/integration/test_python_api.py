"""The README's Python example runs as written (with the library in a temporary directory) and does what its
comments say: the samples go in, hits carry a moment and a link to it, and the answer cites its moments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import atlas
from tests.conftest import ROOT

pytestmark = pytest.mark.real_model


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python section has no python block"
    return match.group(1)


def test_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = readme_example().replace('"my-library"', repr(str(tmp_path / "library")))
    code = code.replace("        ...", "        events.append(event)")
    monkeypatch.chdir(ROOT)  # the example ingests samples/ relative to the checkout
    monkeypatch.setenv("ATLAS_GENERATOR", "extractive")  # ask_stream's default generator, without a model
    monkeypatch.delenv("ATLAS_LIBRARY", raising=False)
    namespace: dict[str, object] = {"events": []}
    exec(compile(code, "README.md", "exec"), namespace)

    report = namespace["report"]
    assert not report.failed and len(report.outcomes) == 3  # type: ignore[attr-defined]
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) >= 4  # three hits, then the answer
    assert all("#t=" in line or "t=" in line for line in printed[:3])
    answer = namespace["answer"]
    assert isinstance(answer, atlas.Answer) and answer.answered
    assert {c.hit.video.video_id for c in answer.citations} == {"normconf-ml-cost-talk"}
    assert all(sentence.citations for sentence in answer.sentences)
    events = namespace["events"]
    assert isinstance(events, list) and type(events[-1]).__name__ == "AnswerDone"


def test_lazy_exports_resolve() -> None:
    for name in atlas.__all__:
        assert getattr(atlas, name) is not None
    with pytest.raises(AttributeError):
        atlas.NoSuchThing  # noqa: B018
