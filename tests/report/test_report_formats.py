"""Reports in every format for a diverged corpus run, a corpus sweep and a range test, through the CLI."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lrdoctor.cli import main
from tests.untouched import tree_digest

RUN = "runs/digits_mlp-c152"  # labelled "diverged" in corpus/index.csv (hf_trainer_state)
SWEEP = "sweeps/sweep_synth_clf_adam"
RANGE_TEST = "range_tests/lr_find_synth_clf_adam"
SWEEP_MEMBERS = ["lr_1e-4", "lr_3e-4", "lr_1e-3", "lr_3e-3", "lr_1e-2", "lr_3e-2", "lr_1e-1", "lr_3e-1"]
COST_FLAGS = ["--gpu", "A100 80GB", "--gpus", "8", "--price", "2.5"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _inputs(corpus: Path) -> list[str]:
    return [str(corpus / RUN), str(corpus / SWEEP), str(corpus / RANGE_TEST)]


@pytest.fixture(scope="module")
def reports(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One report per format, written by ``lrdoctor report``; the input logs are checked untouched."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))  # no saved user settings
    out = tmp_path_factory.mktemp("reports")
    before = tree_digest(*_inputs(corpus))
    paths = {}
    try:
        for fmt in ("html", "pdf", "md", "json"):
            target = out / f"report.{fmt}"
            assert main(["report", *_inputs(corpus), "-o", str(target), *COST_FLAGS]) == 0
            paths[fmt] = target
    finally:
        mp.undo()
    assert tree_digest(*_inputs(corpus)) == before, "writing a report changed an input log"
    return paths


def test_no_temp_files_left(reports: dict[str, Path]) -> None:
    folder = reports["html"].parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["report.html", "report.json", "report.md", "report.pdf", "report_files"]
    assert not [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_pdf_text_has_runs_findings_and_money(reports: dict[str, Path]) -> None:
    pdf = reports["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    analysis = json.loads(reports["json"].read_text())
    for ra in analysis["runs"]:
        assert ra["name"] in text
    for name in SWEEP_MEMBERS:
        assert name in text
    assert "Diverged" in text  # the c152 run's finding, by its label
    assert "Sweep: sweep_synth_clf_adam" in text
    c152 = next(r for r in analysis["runs"] if r["name"] == "digits_mlp-c152")
    assert "diverged" in [f["mode"] for f in c152["findings"]]
    # Money: the run's wasted dollars as the report formats them, and the assumptions.
    usd = c152["cost"]["wasted_usd"]
    assert usd is not None and usd > 0
    money = f"${usd:,.2f}" if usd >= 1 else f"${usd:.2g}"
    assert money in text
    assert "8 x A100 80GB at $2.50 per GPU-hour" in text
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) >= 3  # paginated: summary, sweep, runs


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_pdf_pages_render_with_charts(reports: dict[str, Path], tmp_path: Path) -> None:
    """The page with the sweep's chart renders and holds colour (a chart), not only black text."""
    subprocess.run(["pdftoppm", "-r", "40", "-f", "2", "-l", "2", "-png", str(reports["pdf"]),
                    str(tmp_path / "page")], check=True)
    (page,) = list(tmp_path.glob("page*.png"))
    from PySide6.QtGui import QImage

    img = QImage(str(page))
    assert img.width() > 0
    colours = {img.pixelColor(x, y).name() for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)}
    assert len(colours) > 20  # text alone would be a few greys


def _charts_shown(reports: dict[str, Path]) -> int:
    """Charts a report shows: the waste chart of page 1, one per run with findings or range test, one per sweep."""
    data = json.loads(reports["json"].read_text(encoding="utf-8"))
    wasted = any((r.get("cost") or {}).get("wasted_usd") for r in data["runs"])
    runs = [r for r in data["runs"] if r["findings"] or r["kind"] == "range_test"]
    return int(wasted) + len(runs) + len(data["sweeps"])


def test_html_is_self_contained(reports: dict[str, Path]) -> None:
    html = reports["html"].read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    for s in srcs:
        assert base64.b64decode(s.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert "<link" not in html and "http://" not in html and "https://" not in html
    assert "digits_mlp-c152" in html and "sweep_synth_clf_adam" in html
    assert len(srcs) == _charts_shown(reports) >= 1 + 1 + 1  # c152 (diverged), range test, sweep chart


def test_markdown_charts_exist_beside_it(reports: dict[str, Path]) -> None:
    md = reports["md"].read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == _charts_shown(reports)
    for link in links:
        assert link.startswith("report_files/")
        png = reports["md"].parent / link
        assert png.read_bytes().startswith(PNG_MAGIC)
    assert "## digits_mlp-c152" in md and "## Sweep: sweep_synth_clf_adam" in md
    assert "Diverged" in md


def test_json_equals_analyze_json(reports: dict[str, Path], corpus: Path, capsys: pytest.CaptureFixture,
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path))
    capsys.readouterr()
    assert main(["analyze", "--json", *_inputs(corpus), *COST_FLAGS]) == 0
    printed = capsys.readouterr().out
    assert reports["json"].read_text(encoding="utf-8") == printed
    assert json.loads(printed)["version"] == 1


def test_the_table_of_runs_without_findings_has_no_empty_wasted_column(reports: dict[str, Path]) -> None:
    # The sweep's healthy members waste nothing: a Wasted column of blanks only squeezes their notes.
    md = reports["md"].read_text(encoding="utf-8")
    table = md.split("## Runs without findings", 1)[1].split("\n\n", 2)[1]
    header = table.splitlines()[0]
    assert "Note" in header and "Wasted" not in header
    html = reports["html"].read_text(encoding="utf-8")
    section = html.split("Runs without findings</h2>", 1)[1].split("</table>", 1)[0]
    assert "<th>Note</th>" in section and "Wasted" not in section
