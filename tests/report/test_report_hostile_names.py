"""Reports and terminal output with hostile names (issue #15 items 5, 6, 11, 12, 14).

Runs are copies of a real corpus run placed in folders whose names a user (or an attacker)
could have chosen: bytes that are not UTF-8, terminal escape sequences, newlines, a
right-to-left override, HTML.
"""

from __future__ import annotations

import os
import shutil
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cli import main
from lrdoctor.report import ReportError, write_report

RUN = "runs/digits_mlp-c152"
NAMES = [
    b"bad\xff\xfename",                      # not UTF-8 (Latin-1 bytes from an old tarball)
    b"esc\x1b[2J\x1b[31mred",                # clears the screen, paints it red
    b"line\nwarning: forged",                # forges an output line
    "rtl\u202egnp.exe".encode(),             # shows as "rtlexe.png"
    b"<img src=x onerror=alert(1)>",
    b"a`<iframe src=x>`b",                   # a backtick ends an inline code span early
]
CONTROL = ["\x1b", "\u202e", "\udcff", "\n" + "warning: forged"]


@pytest.fixture(scope="module")
def hostile_tree(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names")
    for name in NAMES:
        shutil.copytree(os.fsencode(corpus / RUN), os.fsencode(root) + b"/" + name)
    return root


class _Tags(HTMLParser):
    """Every element and attribute name of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


def _live_markup(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    return [t for t in parser.tags if t in ("script", "iframe")] + [a for a in parser.attributes if a.startswith("on")]


def test_html_markdown_and_pdf_reports_show_hostile_names_escaped(hostile_tree: Path, tmp_path: Path) -> None:
    analysis = analyze(parsers.load(hostile_tree))
    assert len(analysis.runs) == len(NAMES)
    html = write_report(analysis, tmp_path / "r.html").read_text(encoding="utf-8")
    md = write_report(analysis, tmp_path / "r.md").read_text(encoding="utf-8")
    assert write_report(analysis, tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    for text in (html, md):
        assert not any(c in text for c in CONTROL)
        assert "bad\\xff\\xfename" in text and "esc\\x1b[2J" in text and "rtl\\u202egnp.exe" in text
    assert _live_markup(html) == []


@pytest.mark.parametrize("renderer", ["python-markdown", "commonmark"])
def test_markdown_report_is_inert_in_both_markdown_dialects(renderer: str, hostile_tree: Path,
                                                             tmp_path: Path) -> None:
    md = write_report(analyze(parsers.load(hostile_tree)), tmp_path / "r.md").read_text(encoding="utf-8")
    if renderer == "python-markdown":  # what MkDocs uses; it passes raw HTML through
        markdown = pytest.importorskip("markdown")
        html = markdown.markdown(md, extensions=["tables"])
    else:
        markdown_it = pytest.importorskip("markdown_it")
        html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert _live_markup(html) == []


def test_terminal_output_shows_control_characters_visibly(hostile_tree: Path, capsys) -> None:
    assert main(["analyze", str(hostile_tree)]) == 0
    assert main(["inspect", str(hostile_tree)]) == 0
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert not any(c in text for c in CONTROL)
    assert "esc\\x1b[2J" in captured.out and "bad\\xff\\xfename" in captured.out
    assert not any(line.startswith("warning: forged") for line in captured.out.splitlines())


def test_report_never_overwrites_a_log_whatever_the_flags(corpus: Path, tmp_path: Path, capsys,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    run = tmp_path / "run"
    shutil.copytree(corpus / "runs" / "digits_mlp-f351", run)
    event = next(run.glob("events.out.tfevents.*"))
    before = event.read_bytes()
    link = tmp_path / "report.html"
    link.symlink_to(event)  # another name for the same file
    for argv in (["-o", str(event), "--format", "json"], ["-o", str(link)],
                 ["-o", str(run / ".." / run.name / event.name), "--format", "html"]):
        assert main(["report", str(run), *argv]) == 2
        err = capsys.readouterr().err
        assert "never writes over its inputs" in err
    assert event.read_bytes() == before
    analysis = analyze(parsers.load(run))
    with pytest.raises(ReportError, match="never writes over"):
        write_report(analysis, event, "md")  # the library (and so the app's export) refuses too
    assert event.read_bytes() == before and not (run / f"{event.stem}_files").exists()


def test_unwritable_output_names_the_report_not_the_temp_file(corpus: Path, tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    if os.geteuid() == 0:  # root writes into read-only folders; nobody creates files in /proc
        locked = Path("/proc")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["report", str(corpus / RUN), "-o", str(locked / "r.json")]) == 1
    finally:
        if locked != Path("/proc"):
            locked.chmod(stat.S_IRWXU)
    err = capsys.readouterr().err
    assert str(locked / "r.json") in err and ".tmp" not in err


def test_atomic_write_errors_name_the_target(tmp_path: Path) -> None:
    """Runs as root too: a folder where the report should go makes os.replace fail."""
    from lrdoctor.report.atomic import write_text_atomic

    target = tmp_path / "r.html"
    target.mkdir()
    with pytest.raises(OSError) as exc:
        write_text_atomic(target, "x")
    assert str(exc.value.filename) == str(target) and ".tmp" not in str(exc.value)
