"""Escaping of hostile run names, atomic writing and the CLI's exit codes."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cli import main
from lrdoctor.report import ReportError, write_report
from lrdoctor.report.markdown import md_escape

RUN = "runs/digits_mlp-c152"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def hostile_analysis(corpus: Path):
    """The diverged corpus run renamed to a script tag (as a folder or tag name could be)."""
    runs = parsers.load(corpus / RUN)
    runs[0].name = HOSTILE
    runs[0].meta["note"] = "<img src=x onerror=alert(2)>"
    return analyze(runs)


def test_html_escapes_run_names(hostile_analysis, tmp_path: Path) -> None:
    out = write_report(hostile_analysis, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_markdown_escapes_run_names(hostile_analysis, tmp_path: Path) -> None:
    out = write_report(hostile_analysis, tmp_path / "r.md")
    md = out.read_text(encoding="utf-8")
    assert "<script>" not in md
    assert md_escape(HOSTILE) in md
    assert md_escape("a|b") == "a\\|b"  # a pipe would split a table cell


def test_failed_write_leaves_no_temp_file(hostile_analysis, tmp_path: Path) -> None:
    target = tmp_path / "taken.html"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_report(hostile_analysis, target)
    assert sorted(os.listdir(tmp_path)) == ["taken.html"]
    assert os.listdir(target) == []


def test_existing_report_is_replaced_whole(hostile_analysis, tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    write_report(hostile_analysis, target)
    assert target.read_text().startswith("{")
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


def test_unknown_format_is_refused(hostile_analysis, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="suffix"):
        write_report(hostile_analysis, tmp_path / "r.docx")
    assert write_report(hostile_analysis, tmp_path / "r.out", fmt="json").read_text().startswith("{")


def test_cli_exit_codes(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    run = str(corpus / RUN)
    assert main(["report", run, "-o", str(tmp_path / "r.txt")]) == 2
    assert "suffix" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing"), "-o", str(tmp_path / "r.json")]) == 2
    assert "no run found" in capsys.readouterr().err
    assert main(["report", run, "-o", str(tmp_path / "no" / "such" / "r.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # cost flags are checked as analyze checks them
        main(["report", run, "-o", str(tmp_path / "r.json"), "--gpus", "0"])
    assert exc.value.code == 2
    assert main(["report", run, "-o", str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r.json")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["r.json"]


@pytest.mark.skipif(importlib.util.find_spec("pytestqt") is None, reason="pytest-qt not installed: no qapp fixture")
def test_charts_refuse_a_worker_thread(hostile_analysis, tmp_path: Path, qapp) -> None:
    """Qt widgets only live on the GUI thread: a clear error instead of a crash, and no file."""
    import threading

    errors: list[BaseException] = []

    def work() -> None:
        try:
            write_report(hostile_analysis, tmp_path / "r.html")
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "GUI thread" in str(errors[0])
    assert os.listdir(tmp_path) == []


def test_read_warnings_are_reported(real_logs: Path, tmp_path: Path) -> None:
    """A real log whose step counter restarts: the reader's warning reaches the report."""
    runs = parsers.load(real_logs / "detectron2_metrics_json" / "detectron-mine-gralach")
    warnings = [w for r in runs for w in r.warnings]
    assert warnings
    md = write_report(analyze(runs), tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## Problems met while reading" in md
    for w in warnings:
        assert md_escape(w) in md
