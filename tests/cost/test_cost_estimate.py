"""Waste per finding, union per run, restarts (written with TensorBoard's writer and real), sweeps."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis.findings import Analysis, Finding, Mode, RunAnalysis, Schedule, SweepAnalysis
from lrdoctor.cost import CostSettings, estimate_costs, estimate_run_cost

_spec = importlib.util.spec_from_file_location("cost_tb_writer", Path(__file__).with_name("cost_tb_writer.py"))
cost_tb_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cost_tb_writer)

STEP_S = 0.5
T0 = 1.7e9
H100 = CostSettings(gpu="H100 SXM", gpu_count=1, usd_per_gpu_hour=2.0, power_w=700, carbon_kg_per_kwh=0.5)


def _finding(mode: Mode, waste_from_step: int | None = None, waste_unknown: str | None = None) -> Finding:
    return Finding(mode, "warning", 0.9, None, None, {}, "", waste_from_step=waste_from_step,
                   waste_unknown=waste_unknown)


def _ra(run, findings=()) -> RunAnalysis:
    return RunAnalysis(run=run, kind="training", steps=0, schedule=Schedule("constant"), findings=list(findings))


def test_overlapping_wastes_are_counted_once(corpus: Path) -> None:
    run = parsers.load(corpus / "runs" / "breast_cancer_mlp-8093")[0]  # TensorBoard, steps 0..1499
    ra = _ra(run, [
        _finding(Mode.OVERFITTING, waste_from_step=240),
        _finding(Mode.PLATEAU, waste_from_step=1000),
        _finding(Mode.LR_TOO_LOW, waste_unknown="can't be estimated: no forecast"),
    ])
    cost = estimate_run_cost(ra, H100)
    by = {w.mode: w for w in cost.by_finding}
    assert by["overfitting"].wasted_steps == 1260  # 240..1499, the label's wasted_steps
    assert by["plateau"].wasted_steps == 500
    assert by["lr_too_low"].wasted_steps is None and "can't be estimated" in by["lr_too_low"].note
    assert cost.wasted_steps == 1260  # the plateau's steps lie inside the overfitting range
    assert cost.wasted.gpu_hours == pytest.approx(by["overfitting"].money.gpu_hours)
    assert cost.total_steps == 1500 and 0.8 < cost.wasted_share < 0.86
    # money follows from GPU-hours and the chosen figures
    assert cost.wasted.usd == pytest.approx(cost.wasted.gpu_hours * 2.0)
    assert cost.wasted.kwh == pytest.approx(cost.wasted.gpu_hours * 0.7)
    assert cost.wasted.kg_co2e == pytest.approx(cost.wasted.kwh * 0.5)


def test_lr_too_low_with_an_estimate_and_gpu_count(corpus: Path) -> None:
    run = parsers.load(corpus / "runs" / "breast_cancer_mlp-8093")[0]
    one = estimate_run_cost(_ra(run, [_finding(Mode.LR_TOO_LOW, waste_from_step=1200)]), H100)
    eight = estimate_run_cost(
        _ra(run, [_finding(Mode.LR_TOO_LOW, waste_from_step=1200)]), CostSettings(gpu="H100", gpu_count=8)
    )
    assert one.wasted_steps == eight.wasted_steps == 300
    assert eight.wasted.gpu_hours == pytest.approx(8 * one.wasted.gpu_hours)
    assert eight.hardware.gpu == "H100 SXM" and eight.hardware.usd_per_gpu_hour > 0


def test_restart_with_repeated_steps_is_costed(tmp_path: Path) -> None:
    # First process: steps 0..99, crashes; 600 s later a resume from the step-79 checkpoint runs 80..199.
    s1 = np.arange(100)
    w1 = T0 + s1 * STEP_S
    cost_tb_writer.write_events(tmp_path, ".a", s1, w1, np.linspace(2, 1, 100))
    s2 = np.arange(80, 200)
    w2 = w1[-1] + 600.0 + (s2 - 80) * STEP_S
    cost_tb_writer.write_events(tmp_path, ".b", s2, w2, np.linspace(1.2, 0.5, 120))
    run = parsers.load(tmp_path)[0]
    assert [(o.step_start, o.step_end) for o in run.overlaps] == [(80, 99)]
    cost = estimate_run_cost(_ra(run), H100)
    assert cost.step_time.seconds_per_step == pytest.approx(STEP_S)
    (restart,) = cost.by_finding
    assert restart.mode == "restart" and restart.wasted_steps == 20
    # the clock gap at the resume (step 79 -> 80) holds the 20 repeated steps and the downtime
    gap = w2[0] - w1[79] - STEP_S
    assert restart.money.gpu_hours == pytest.approx(gap / 3600)
    assert cost.wasted_steps == 20
    assert cost.total.gpu_hours == pytest.approx((200 * STEP_S + gap) / 3600)


def test_real_tensorboard_restart_is_found_and_costed(real_logs: Path) -> None:
    # Gralach's detectron2 output: one event file ends at step 224; the next file of the same
    # process starts at step 1,019, 2,335 s later (the sessions in between are not in the repo).
    run = parsers.load(real_logs / "tensorboard" / "detectron-mine-gralach" / "output")[0]
    cost = estimate_run_cost(_ra(run), H100)
    assert 0.25 < cost.step_time.seconds_per_step < 0.35  # detectron2 logs ~0.28-0.33 s in its 'time' tag
    restarts = [w for w in cost.by_finding if w.mode == "restart"]
    assert len(restarts) == 1
    r = restarts[0]
    assert (r.step_start, r.step_end) == (225, 1018)
    # 2,335 s of silence minus the ~231 s that steps 225..1018 take at the logged pace
    assert 2000 / 3600 < r.money.gpu_hours < 2200 / 3600
    assert r.money.usd == pytest.approx(r.money.gpu_hours * 2.0)
    assert cost.wasted.gpu_hours == pytest.approx(r.money.gpu_hours)


def test_real_metrics_json_restarts_repeat_steps(real_logs: Path) -> None:
    # detectron2 metrics.json of the same run: the iteration counter goes back to 9 five times.
    run = parsers.load(real_logs / "detectron2_metrics_json" / "detectron-mine-gralach" / "output")[0]
    cost = estimate_run_cost(_ra(run), CostSettings(step_time_s=0.3))
    restarts = [w for w in cost.by_finding if w.mode == "restart"]
    assert len(restarts) == 5 and max(w.wasted_steps for w in restarts) == 217  # 9..225 again
    # its per-iteration ``time`` is the clock: the assumed 0.3 s is not used
    seconds = cost.step_time.seconds_per_step
    assert cost.step_time.source == "logged" and cost.step_time.tag == "time" and seconds != 0.3
    assert cost.wasted.gpu_hours == pytest.approx(cost.wasted_steps * seconds / 3600)


def test_sweep_totals_are_the_sum_of_its_runs(corpus: Path) -> None:
    runs = [parsers.load(corpus / "runs" / name)[0] for name in ("digits_mlp-f351", "breast_cancer_mlp-8093")]
    analysis = Analysis(
        runs=[_ra(runs[0], [_finding(Mode.DIVERGED, waste_from_step=114)]),
              _ra(runs[1], [_finding(Mode.OVERFITTING, waste_from_step=240)])],
        sweeps=[SweepAnalysis(str(corpus / "runs"), [r.key for r in runs], None, None, None)],
    )
    costs = estimate_costs(analysis, H100)
    sweep = costs.of_sweep(analysis.sweeps[0])
    assert sweep.runs == sweep.runs_costed == 2
    assert sweep.wasted_steps == 686 + 1260
    assert sweep.wasted.usd == pytest.approx(sum(costs.of_run(ra).wasted.usd for ra in analysis.runs))
    assert sweep.to_dict()["wasted_gpu_hours"] > 0


def test_unknown_step_time_gives_nulls_and_a_note(corpus: Path) -> None:
    run = parsers.load(corpus / "runs" / "digits_mlp-3fcd")[0]  # Lightning CSV: no clock
    cost = estimate_run_cost(_ra(run, [_finding(Mode.DIVERGED, waste_from_step=7)]), H100).to_dict()
    assert cost["wasted_steps"] == 793
    assert cost["wasted_gpu_hours"] is None and cost["wasted_usd"] is None and cost["step_time_source"] is None
    assert any("--step-time" in n for n in cost["notes"])


def test_wandb_metadata_names_the_gpu(real_logs: Path) -> None:
    runs = parsers.load(real_logs / "wandb_run_dirs" / "verysimpletransformer")
    run = next(r for r in runs if r.name == "t2wihhdg")  # wandb-metadata.json: 8x Tesla P100-PCIE-16GB
    cost = estimate_run_cost(_ra(run))
    assert (cost.hardware.gpu, cost.hardware.gpu_count) == ("P100", 8)
    assert cost.hardware.sources["gpu"] == cost.hardware.sources["gpu_count"] == "run metadata"
    assert cost.step_time.source == "logged" and cost.total.gpu_hours > 0
    # an explicit choice beats the metadata
    chosen = estimate_run_cost(_ra(run), CostSettings(gpu="A100 80GB", gpu_count=1))
    assert (chosen.hardware.gpu, chosen.hardware.gpu_count) == ("A100 80GB", 1)
    assert chosen.total.gpu_hours == pytest.approx(cost.total.gpu_hours / 8)


def test_critical_finding_without_waste_says_why(corpus: Path) -> None:
    """A critical finding no waste rule charges reads 'waste not counted (...)', never '$0.00 wasted'."""
    from lrdoctor.cli.cost_options import NOT_COUNTED, render_money

    run = parsers.load(corpus / "runs" / "breast_cancer_mlp-8093")[0]  # has a clock
    critical = Finding("spikes", "critical", 0.9, 10, 20, {"summary": "spikes"}, "clip gradients")
    analysis = Analysis(runs=[_ra(run, [critical])])
    text = render_money(analysis, estimate_costs(analysis, H100))
    line = next(line for line in text.splitlines() if run.name in line)
    assert f"spikes: {NOT_COUNTED}" in line
