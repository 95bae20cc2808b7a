"""The next-run plan follows the finding that drives it: a run that never trained gets the setup
checks and an LR range test, not a decay; the plan's saving and stop come from the findings'
typed waste (the same steps the cost layer charges)."""

from __future__ import annotations

from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import Remedy, analyze
from lrdoctor.analysis.contract import analysis_to_dict
from lrdoctor.cost import estimate_costs
from lrdoctor.style import MODE_LABELS, finding_label

NEVER_TRAINED = [
    # (folder under real_logs, run name): PROVENANCE.md and test_real_logs_calls say why each never learned
    ("wandb_run_dirs/loss-plateau", "q4ebbqpc"),  # 2.60 +/- 0.01 for 490 steps, Test Acc at chance
    ("hf_trainer_state/quality-lrqa", "lrqa"),  # ln(4) for all 3,140 steps
    ("wandb_run_dirs/verysimpletransformer", "t2wihhdg"),  # ln 2 throughout
    ("wandb_run_dirs/verysimpletransformer", "mpfhuxis"),  # the network died at SGD 3e-3
]


def _run(real_logs: Path, folder: str, name: str):
    runs = [r for r in parsers.load(real_logs / folder) if r.name == name]
    assert len(runs) == 1
    an = analyze(runs)
    return an, an.runs[0]


@pytest.mark.parametrize("folder,name", NEVER_TRAINED)
def test_a_run_that_never_trained_is_planned_as_its_finding_says(real_logs: Path, folder: str, name: str) -> None:
    an, ra = _run(real_logs, folder, name)
    (f,) = ra.findings
    assert f.remedy is Remedy.SETUP
    plan = ra.next_run
    assert plan.remedy == "setup"
    text = " ".join([plan.summary(), *plan.changes])
    assert "decay" not in text and "cosine" not in text  # the finding says decaying will not help
    assert "range test" in plan.summary() and "data, labels" in plan.summary()
    assert plan.schedule == ra.schedule.kind  # the schedule is kept, not replaced
    js = analysis_to_dict(an)["runs"][0]
    assert js["findings"][0]["remedy"] == "setup" and js["next_run"]["remedy"] == "setup"
    # the app and the reports name it for its remedy, not "Plateau (decay would help)"
    assert "decay" not in finding_label(f) and finding_label(f) != MODE_LABELS["plateau"]
    assert js["next_run"]["final_lr"] is None


def test_a_network_that_died_is_planned_at_the_lower_lr_with_a_warmup(real_logs: Path) -> None:
    # mpfhuxis died in its violent start at SGD 3e-3; its sibling learns at 1e-3 (PROVENANCE.md)
    _, ra = _run(real_logs, "wandb_run_dirs/verysimpletransformer", "mpfhuxis")
    plan = ra.next_run
    assert plan.peak_lr == pytest.approx(ra.findings[0].suggested_lr) and plan.peak_lr < 3e-3
    assert plan.peak_lr_basis == "edge_of_stability" and plan.warmup_steps > 0


def test_a_plateau_run_still_gets_its_decay(corpus: Path) -> None:
    # synth_clf_mlp-841d: flat under a constant LR; the remedy is the schedule
    an = analyze(parsers.load(corpus / "runs" / "synth_clf_mlp-841d"))
    (ra,) = an.runs
    (f,) = [f for f in ra.findings if f.mode == "plateau"]
    assert f.remedy is Remedy.SCHEDULE and ra.next_run.remedy == "schedule"
    assert ra.next_run.schedule == "cosine"
    # the plan saves what the cost layer charges as wasted (one owner: waste_from_step)
    cost = estimate_costs(an).of_run(ra)
    assert ra.next_run.saving_steps == max(w.wasted_steps for w in cost.by_finding)


def test_an_overfitting_run_stops_where_its_waste_starts(real_logs: Path) -> None:
    # whisper-large-v2-ja: eval_loss best at step 1000, rising after (test_real_logs_calls)
    an = analyze(parsers.load(real_logs / "hf_trainer_state" / "whisper-large-v2-ja"))
    (ra,) = an.runs
    (f,) = [f for f in ra.findings if f.mode == "overfitting"]
    first = ra.run.step_range[0]
    assert ra.next_run.stop_step == f.waste_from_step - first


def test_a_loss_never_finite_is_planned_as_a_setup_check(tmp_path: Path) -> None:
    # TensorBoard's own writer logs a loss that is NaN from its first step (a log(0) in the loss,
    # say) at a constant LR: no stable stretch shows an edge of stability, so no LR is measured.
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path / "run"))
    for step in range(0, 500, 5):
        values = [summary_pb2.Summary.Value(tag="train/loss", simple_value=float("nan")),
                  summary_pb2.Summary.Value(tag="lr", simple_value=1e-3)]
        writer.add_event(event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary_pb2.Summary(value=values)))
    writer.close()
    an = analyze(parsers.load(tmp_path / "run"))
    (ra,) = an.runs
    (f,) = ra.findings
    assert f.mode == "diverged" and f.remedy is Remedy.SETUP and f.suggested_lr is None
    plan = ra.next_run
    assert plan.remedy == "setup" and plan.peak_lr == pytest.approx(1e-3) and plan.peak_lr_basis == "unchanged"
    assert "cosine" not in " ".join([plan.summary(), *plan.changes]) and plan.warmup_steps == 0
    assert plan.saving_steps == ra.steps  # every step was wasted, as the cost layer charges it


def test_the_plan_follows_the_most_severe_finding_with_an_lr(corpus: Path) -> None:
    # A run can carry advice both ways: lr_too_low (a warning: the loss crawls at a constant LR)
    # beside two mild spikes (info) says "raise", not "lower"; a warning-level instability beside it
    # is fixed first (the cautious side). The run's suggested LR and its plan's driver agree.
    import dataclasses

    from lrdoctor.analysis.run_analysis import lr_driver

    (slow,) = [f for f in analyze(parsers.load(corpus / "runs" / "digits_mlp-89c3")).runs[0].findings
               if f.mode == "lr_too_low"]
    (spiky,) = [f for f in analyze(parsers.load(corpus / "runs" / "digits_mlp-d67f")).runs[0].findings
                if f.mode == "spikes"]
    assert slow.severity == "warning" and slow.suggested_lr and spiky.suggested_lr
    mild = dataclasses.replace(spiky, severity="info")
    assert lr_driver([mild, slow]) is slow
    assert lr_driver([dataclasses.replace(spiky, severity="warning"), slow]).mode == "spikes"
