"""The Qt-free report model built from real analyses of corpus logs, and the chart renderer."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cost import CostSettings, estimate_costs
from lrdoctor.report.model import build_report, fmt_lr
from lrdoctor.style import SEVERITY_COLORS

RUN = "runs/digits_mlp-c152"  # diverged (corpus/index.csv)
SWEEP = "sweeps/sweep_synth_clf_adam"
RANGE_TEST = "range_tests/lr_find_synth_clf_adam"


@pytest.fixture(scope="module")
def analysed(corpus: Path):
    runs = parsers.RunList()
    for sub in (RUN, SWEEP, RANGE_TEST):
        runs.extend(parsers.load(corpus / sub))
    result = analyze(runs)
    costs = estimate_costs(result, CostSettings(gpu="H100 SXM", gpu_count=4, usd_per_gpu_hour=3.0), CostSettings())
    return result, costs


@pytest.fixture(scope="module")
def analysis(analysed):
    return analysed[0]


@pytest.fixture(scope="module")
def costs(analysed):
    return analysed[1]


def _section(report, name: str):
    return next(r for r in report.runs if r.name == name)


def test_manager_summary(analysis, costs) -> None:
    report = build_report(analysis, ["a", "b"], costs=costs)
    assert report.inputs == ["a", "b"]
    assert sorted(v.run for v in report.verdicts) == sorted(ra.run.name for ra in analysis.runs)
    ranks = [("info", "warning", "critical").index(v.severity) + 1 if v.severity else 0 for v in report.verdicts]
    assert ranks == sorted(ranks, reverse=True)  # the worst first
    assert [r.name for r in report.runs] == [ra.run.name for ra in analysis.runs]
    c152 = next(v for v in report.verdicts if v.run == "digits_mlp-c152")
    assert c152.severity == "critical" and c152.sentence.startswith("Diverged")
    assert report.totals is not None
    dicts = [costs.of_run(ra).to_dict() for ra in analysis.runs]
    assert math.isclose(report.totals.wasted_usd, sum(d["wasted_usd"] or 0 for d in dicts))
    assert math.isclose(report.totals.wasted_gpu_hours, sum(d["wasted_gpu_hours"] or 0 for d in dicts))
    assert report.assumptions and "4 x H100 SXM at $3.00 per GPU-hour" in report.assumptions[0]
    assert report.recommendations[0].severity == "critical"  # the most severe first
    assert len(report.recommendations) <= 5


def test_run_chart_shades_findings(analysis, costs) -> None:
    report = build_report(analysis, costs=costs)
    ra = next(r for r in analysis.runs if r.run.name == "digits_mlp-c152")
    diverged = next(f for f in ra.findings if f.mode == "diverged")
    chart = _section(report, "digits_mlp-c152").chart
    loss, lr = chart.panels
    assert [s.label for s in loss.series][:1] == [ra.run.primary_tag("train_loss")]
    assert lr.series[0].label == ra.run.primary_tag("lr")
    shade = next(s for s in loss.shades if s.label == "Diverged")
    assert shade.start == diverged.step_start and shade.color == SEVERITY_COLORS["critical"]
    assert loss.log_y  # the loss explodes by orders of magnitude: a linear axis would flatten it
    assert not any(math.isinf(v) for v in loss.series[0].y)


def test_range_test_and_sweep_charts(analysis, costs) -> None:
    report = build_report(analysis, costs=costs)
    rt = next(ra for ra in analysis.runs if ra.kind == "range_test")
    chart = _section(report, rt.run.name).chart
    assert chart.log_x and chart.x_label == "learning rate"
    assert any(math.isclose(m.x, rt.suggested_lr) and m.label.startswith("suggested") for m in chart.panels[0].markers)
    (sw,) = analysis.sweeps
    (section,) = report.sweeps
    xs = {m.label.split()[0]: m.x for m in section.chart.panels[0].markers}
    assert xs["best"] == sw.best_lr and xs["max"] == sw.max_stable_lr
    assert section.best_lr == fmt_lr(sw.best_lr)
    assert [p["name"] for p in section.points] == [p["name"] for p in sorted(sw.points, key=lambda p: p["lr"])]


def test_model_and_text_renderers_import_no_qt() -> None:
    code = ("import sys, lrdoctor.report, lrdoctor.report.model, lrdoctor.report.html, lrdoctor.report.markdown;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chart_png_size(analysis, costs) -> None:
    from lrdoctor.report.charts import PANEL_HEIGHT_UNIT, TITLE_HEIGHT, render_chart
    from PySide6.QtGui import QImage

    spec = _section(build_report(analysis, costs=costs), "digits_mlp-c152").chart
    png = render_chart(spec, width=640)
    img = QImage.fromData(png, "PNG")
    assert img.width() == 640
    assert img.height() == TITLE_HEIGHT + PANEL_HEIGHT_UNIT * sum(p.height for p in spec.panels)


def test_run_without_loss_is_not_called_healthy(tmp_path: Path) -> None:
    import csv

    with open(tmp_path / "metrics.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "accuracy"])
        w.writerows([i, i / 100] for i in range(50))
    runs = parsers.load(tmp_path / "metrics.csv")
    assert runs and runs[0].primary_tag("train_loss") is None
    (verdict,) = build_report(analyze(runs)).verdicts
    assert verdict.status == "not diagnosed" and verdict.sentence.startswith("Not diagnosed")


def test_run_caveats_reach_the_report(real_logs) -> None:
    """Checks the logs did not allow are said in the report too (healthy-runs table and sections).

    Neither loss-plateau run logs an LR curve: both say decay was not checked; the run that learns
    (79u2qtit) also says plateau was not checked (its sibling q4ebbqpc never learned, where a plateau
    is moot), and as a healthy run it says so in the healthy-runs table too."""
    analysis = analyze(parsers.load(real_logs / "wandb_run_dirs" / "loss-plateau"))
    report = build_report(analysis)
    caveats = {r.name: r.caveats for r in report.runs}
    assert set(caveats) == {"79u2qtit", "q4ebbqpc"}
    assert all(any(c.startswith("Not checked:") and "LR curve" in c for c in cs) for cs in caveats.values())
    assert any(c.startswith("Not checked: plateau") for c in caveats["79u2qtit"])
    assert [h.name for h in report.healthy] == ["79u2qtit"]
    assert all("Not checked: plateau" in h.note for h in report.healthy)


def test_a_findings_steps_read_the_same_in_the_cli_the_app_and_the_reports(analysis, costs) -> None:
    # One writer for a range of steps: the report's table, the app's Steps column and the CLI's
    # inspect all give "1,200–3,400" (they wrote "..", "–" and "to" before).
    from lrdoctor.cli.common import describe_steps
    from lrdoctor.report.formatting import steps_text

    report = build_report(analysis, costs=costs)
    rows = [row for section in report.detailed for row in section.findings]
    assert rows and all(".." not in row.steps and " to " not in row.steps for row in rows)
    ranged = [f for ra in analysis.runs for f in ra.findings if f.step_start is not None and f.step_end is not None
              and f.step_start != f.step_end]
    assert ranged and steps_text(ranged[0]) == f"{ranged[0].step_start:,}–{ranged[0].step_end:,}"
    run = analysis.runs[0].run
    assert describe_steps(run) == f"{run.step_range[0]:,}–{run.step_range[1]:,}"
