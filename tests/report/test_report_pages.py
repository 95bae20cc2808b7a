"""The sample_logs PDF as a manager gets it: page 1 alone says what was spent, wasted, by whom and what to do;
then at most a page per run with findings, bookmarked. Prints the page count and where the largest waste is."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cost import CostSettings, estimate_costs
from lrdoctor.report import write_report
from lrdoctor.report.model import build_report, cost_dict

REPO = Path(__file__).resolve().parents[2]
SAMPLE_LOGS = REPO / "sample_logs"
# What page 1 must hold (the manager's page): headings of the template's summary.
PAGE_ONE_HEADINGS = ("Runs that wasted the most", "Do these first")
# Internal evidence keys look like "forecast.amplitude=4.49e+15": never in a report.
INTERNAL_KEY = re.compile(r"\b[a-z_]+(\.[a-z_]+)*=[-\d.]")

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    text = unicodedata.normalize("NFKC", text).replace("\u200b", "")  # "ﬁ" ligatures, name breaks
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    runs = parsers.load(SAMPLE_LOGS)
    analysis = analyze(runs, warnings=runs.all_warnings())
    costs = estimate_costs(analysis, CostSettings(), CostSettings())
    pdf = write_report(analysis, tmp_path_factory.mktemp("pdf") / "sample.pdf", inputs=[str(SAMPLE_LOGS)],
                       costs=costs)
    return analysis, build_report(analysis, [str(SAMPLE_LOGS)], costs=costs), pdf, costs


def test_manager_page_first_and_a_page_per_run_at_most(sample) -> None:
    analysis, report, pdf, costs = sample
    pages = _pages(pdf)
    costliest = max(analysis.runs, key=lambda ra: (cost_dict(ra, costs) or {}).get("wasted_usd") or 0.0)
    usd = cost_dict(costliest, costs)["wasted_usd"]
    first_section = next(i for i, p in enumerate(pages[1:], 2) if costliest.run.name in p)
    print(f"\nsample_logs PDF: {len(pages)} pages for {len(analysis.runs)} runs "
          f"({len(report.detailed)} with findings or range tests, {len(report.healthy)} without); "
          f"largest waste ${usd:,.2f} ({costliest.run.name}) on page 1 and its section on page {first_section}")
    one = pages[0]
    for heading in PAGE_ONE_HEADINGS:
        assert heading in one
    assert report.summary.verdict.split(";")[0].split()[0] in one  # the money of the verdict sentence
    assert costliest.run.name in one and f"${usd:,.2f}" in one
    assert first_section == 2  # the costliest run's section opens the detail
    for action in report.summary.actions:
        assert action.saving in re.sub(r"\s+", " ", one)
    assert len(pages) <= 1 + len(report.detailed) + len(report.sweeps) + 1  # + the healthy-runs table


def test_no_internal_keys_and_money_whole(sample) -> None:
    _, report, pdf, _ = sample
    text = "\n".join(_pages(pdf))
    assert not INTERNAL_KEY.search(text), INTERNAL_KEY.search(text).group(0)
    flat = re.sub(r"\s+", " ", text)
    for t in report.summary.top_runs:
        assert t.wasted in flat  # "$0.0011" never "$0.001" + "1"


def test_bookmark_per_run(sample) -> None:
    from pypdf import PdfReader

    _, report, pdf, _ = sample
    reader = PdfReader(pdf)
    outline = {item.title: reader.get_destination_page_number(item) for item in reader.outline}
    pages = _pages(pdf)
    for r in report.detailed:
        assert r.name in outline
        assert r.name in pages[outline[r.name]]
    assert outline["Summary"] == 0
