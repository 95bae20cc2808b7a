"""The Qt-free workspace: TensorBoard smoothing, selection rules, x modes, observers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.workspace import DEFAULT_CHECKED, RUNS, VIEW, Workspace, debiased_ema, run_key


def tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    """TensorBoard's own loop (tensorboard/webapp scalar card, ``classicSmoothing``), transcribed."""
    last, num_accum, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num_accum += 1
        out.append(last / (1 - weight**num_accum))
    return out


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.99])
def test_debiased_ema_matches_tensorboard(weight):
    rng = np.random.default_rng(0)
    values = list(rng.normal(size=300).cumsum())
    values[17] = float("nan")
    values[40] = float("inf")
    got = debiased_ema(np.array(values), weight)
    want = tensorboard_smoothing(values, weight)
    assert np.allclose(got, want, equal_nan=True)
    assert got[0] == values[0]  # debiased: the first point is not pulled towards 0


def test_workspace_ticks_first_runs_and_notifies(corpus):
    runs = parsers.load(corpus / "sweeps" / "sweep_synth_clf_adam")
    ws = Workspace()
    events: list[str] = []
    unsubscribe = ws.subscribe(events.append)
    ws.add_runs(list(runs), list(runs.warnings), sources=[str(corpus)])
    assert RUNS in events
    assert len(ws.checked) == min(DEFAULT_CHECKED, len(runs))
    assert ws.current == run_key(runs[0])
    key = run_key(runs[1])
    ws.set_checked(key, False)
    assert key not in ws.checked
    events.clear()
    ws.set_checked(key, False)  # no change, no event
    assert events == []
    ws.set_smoothing(5.0)
    assert ws.smoothing == pytest.approx(0.999)
    assert events == [VIEW]
    unsubscribe()
    ws.set_log_y(True)
    assert events == [VIEW]
    with pytest.raises(ValueError):
        ws.set_x_mode("epochs")


def test_analysis_moves_the_default_tick_to_the_worst_run(corpus):
    from lrdoctor.analysis import analyze
    from lrdoctor.analysis.findings import SEVERITIES

    runs = parsers.load(corpus / "sweeps" / "sweep_synth_clf_adam")
    ws = Workspace()
    ws.add_runs(list(runs), list(runs.warnings))
    assert ws.checked == {run_key(runs[0])} and ws.current == run_key(runs[0])
    analysis = analyze(list(runs))
    ws.set_analysis(analysis)
    worst = max(
        ((SEVERITIES.index(f.severity), f.confidence) for ra in analysis.runs for f in ra.findings),
        default=None,
    )
    picked = ws.run_analysis(ws.current)
    assert ws.checked == {ws.current}
    assert worst is not None and max(
        (SEVERITIES.index(f.severity), f.confidence) for f in picked.findings) == worst
    assert ws.shaded_run() == ws.current
    # Once the user ticks something, a new analysis leaves the ticks alone.
    ws.set_checked_keys({run_key(r) for r in runs})
    ws.set_current(run_key(runs[2]))
    ws.set_analysis(analysis)
    assert len(ws.checked) == len(runs) and ws.current == run_key(runs[2])
    assert ws.shaded_run() == run_key(runs[2])  # several ticked: only the selected run is shaded


def test_relative_time_and_step_mapping_on_a_tensorboard_run(corpus):
    run = parsers.load(corpus / "runs" / "digits_mlp-f351")[0]
    ws = Workspace()
    ws.add_runs([run], [])
    tag = run.primary_tag("train_loss")
    ws.set_x_mode("relative")
    curve = ws.curve(run, tag)
    wall = run.series(tag)["wall_time"].to_numpy()
    start = np.nanmin(run.scalars["wall_time"].to_numpy())
    assert np.allclose(curve.x, wall - start)  # seconds: the axis chooses the unit
    # A step maps to the clock of that step.
    steps = run.series(tag)["step"].to_numpy()
    assert ws.step_to_x(run, steps[[5]])[0] == pytest.approx(curve.x[5], abs=1e-6)
    ws.set_x_mode("step")
    assert np.array_equal(ws.curve(run, tag).x, steps.astype(float))


def test_fast_series_equals_run_series(corpus):
    run = parsers.load(corpus / "runs" / "digits_mlp-68c1")[0]
    ws = Workspace()
    for tag in run.tags():
        fast = ws.series(run, tag)
        slow = run.series(tag)
        assert np.array_equal(fast["step"].to_numpy(), slow["step"].to_numpy())
        assert np.allclose(fast["value"].to_numpy(), slow["value"].to_numpy(), equal_nan=True)
        assert np.allclose(fast["wall_time"].to_numpy(), slow["wall_time"].to_numpy(), equal_nan=True)
    assert ws.series(run, "no such tag").empty


def test_cached_tag_ranking_equals_the_runs_own(corpus):
    run = parsers.load(corpus / "runs" / "digits_mlp-68c1")[0]
    ws = Workspace()
    assert ws.tag_counts(run) == run.point_counts()
    for role in set(run.roles.values()):
        assert ws.tags_for(run, role) == run.tags_for(role)
        assert ws.primary_tag(run, role) == run.primary_tag(role)


SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "sample_logs"


def test_groups_follow_the_opened_folder_and_sweeps():
    from lrdoctor.analysis import analyze

    runs = parsers.load(SAMPLE_LOGS)
    ws = Workspace()
    ws.add_runs(list(runs), list(runs.warnings), sources=[str(SAMPLE_LOGS)])
    groups = {g.label: g for g in ws.groups()}
    # Every run sits in the folder under sample_logs/ that holds its run folder; tool-made layouts
    # are folded away: the Lightning runs (.../<run>/lightning_logs/version_0/metrics.csv) are in
    # corpus_runs with the others, the MLflow (.../mlflow/mlruns/1/<id>) and W&B offline
    # (.../wandb_offline/wandb/offline-run-...) runs in transcribed with the other file runs.
    assert sorted(groups) == ["corpus_runs", "range_test", "real", "real/pets-unet-lr-sweep",
                              "sweep_char_transformer_adamw", "transcribed", "transcribed/keras_csv",
                              "transcribed/nanogpt_console"]
    assert {r.format for r in groups["transcribed"].runs} >= {"mlflow", "wandb_run_dir"}
    corpus_names = {r.name for r in groups["corpus_runs"].runs}
    assert {"char_transformer-df41/version_0", "digits_mlp-7922/version_0", "digits_mlp-f351"} <= corpus_names
    assert len(corpus_names) == len([p for p in (SAMPLE_LOGS / "corpus_runs").iterdir() if p.is_dir()])
    assert sum(len(g.runs) for g in groups.values()) == len(runs)
    assert not any(g.sweep for g in groups.values())  # not analysed yet
    ws.set_analysis(analyze(list(runs)))
    sweeps = {g.label for g in ws.groups() if g.sweep}
    assert sweeps == {"real/pets-unet-lr-sweep", "sweep_char_transformer_adamw"}


def test_a_run_without_a_loss_gets_its_metrics_drawn_untold(real_logs):
    # An RL run logs rewards and no loss: with nothing ticked by hand its rewards get panels
    # (it would draw nothing otherwise); a run with a loss keeps to its loss panels until asked.
    ws = Workspace()
    runs = parsers.load(real_logs / "wandb_run_dirs" / "spaceinvaders-mfts")
    ws.add_runs(runs, runs.warnings)
    assert {"episodic_reward", "cumulative_avg_reward"} <= set(ws.panel_tags())
    with_loss = Workspace()
    with_loss.add_runs(parsers.load(real_logs / "keras_csv"), [])
    assert with_loss.panel_tags() == []
