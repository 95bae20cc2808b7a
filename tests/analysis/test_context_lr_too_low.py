"""A sweep or range test that sets an lr_too_low run's LR also sets what a higher LR saves: the
finding, the next-run plan, the cost and the CLI never claim the single run's saving at an LR
the context replaced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze, compare_runs
from lrdoctor.analysis.contract import analysis_to_dict
from lrdoctor.analysis.lr_too_low import saving_clause, steps_saved_at
from lrdoctor.cli.analyze_cmd import render_text
from lrdoctor.cost import estimate_costs
from lrdoctor.style import SCHEDULE_LABELS, finding_label

NYU = "text_logs/nyu-ssod-detectron2"
STAGE = "log_supervised_lr_0.010"  # BASE_LR 0.01, loss still falling at its end (PROVENANCE.md)


@pytest.fixture(scope="module")
def nyu_runs(real_logs: Path) -> list:
    return parsers.load(real_logs / NYU)


def _too_low(ra):
    (f,) = [f for f in ra.findings if f.mode == "lr_too_low"]
    return f


def test_a_sweep_that_keeps_the_runs_lr_claims_no_saving_from_a_higher_one(nyu_runs: list) -> None:
    (run,) = [r for r in nyu_runs if r.name == STAGE]
    # Alone, the run's own forecast asks for a higher LR and claims the steps it saves...
    alone = _too_low(analyze([run]).runs[0])
    assert alone.evidence["steps_saved_estimate"] > 0 and alone.waste_from_step is not None
    assert alone.suggested_lr > 1e-2 and "steps sooner" in alone.recommendation
    # ...beside its siblings, the sweep says 1e-2, its own LR, is the one to use.
    an = analyze(nyu_runs)
    costs = estimate_costs(an)
    (ra,) = [ra for ra in an.runs if ra.run.name == STAGE]
    assert ra.details["context"]["basis"] == "sweep"
    f = _too_low(ra)
    lr_run = f.evidence["lr_end"]
    assert f.suggested_lr == pytest.approx(lr_run) == pytest.approx(ra.suggested_lr)
    # so no steps saved by a higher LR: not in the finding, the plan or the cost
    assert f.evidence["steps_saved_estimate"] is None and f.waste_from_step is None
    assert f.evidence["single_run_steps_saved_estimate"] == alone.evidence["steps_saved_estimate"]
    assert f.evidence["lr_factor"] == pytest.approx(1.0)
    assert "steps sooner" not in f.recommendation and not f.recommendation.startswith("raise")
    assert f.recommendation.startswith("train longer")
    assert f.severity == "info" and f.confidence < alone.confidence
    assert f.remedy == "schedule" and finding_label(f) == SCHEDULE_LABELS["lr_too_low"]  # app and reports
    assert ra.next_run.saving_steps is None and "saves" not in ra.next_run.summary()
    assert ra.next_run.remedy == "schedule" and any("train longer" in c for c in ra.next_run.changes)
    cost = costs.of_run(ra)
    assert cost.wasted_steps == 0 and "lr_too_low" not in {w.mode for w in cost.by_finding}
    # the JSON and the text say the same
    js = {r["name"]: r for r in json.loads(json.dumps(analysis_to_dict(an, costs)))["runs"]}[STAGE]
    (jf,) = [x for x in js["findings"] if x["mode"] == "lr_too_low"]
    assert jf["evidence"]["steps_saved_estimate"] is None and jf["severity"] == "info"
    assert js["next_run"]["saving_steps"] is None and js["cost"]["wasted_steps"] == 0
    text = render_text(an, costs)
    assert f"{alone.evidence['steps_saved_estimate']:,}" not in text
    assert "[info] lr_too_low" in text


def test_the_context_is_applied_once_however_often_the_runs_are_compared(nyu_runs: list) -> None:
    an = analyze(nyu_runs)
    (ra,) = [ra for ra in an.runs if ra.run.name == STAGE]
    before = json.dumps(ra.findings[0].to_dict(), sort_keys=True), ra.findings[0].confidence
    again = compare_runs(nyu_runs, an.runs)
    (ra,) = [ra for ra in again.runs if ra.run.name == STAGE]
    assert (json.dumps(ra.findings[0].to_dict(), sort_keys=True), ra.findings[0].confidence) == before


@pytest.mark.parametrize("run,test", [
    # SGD runs 10-50x below their setup's best LR, beside a range test of the same task and optimizer
    ("digits_mlp-08ec", "lr_find_digits_mlp_sgd"),
    ("synth_clf_mlp-2920", "lr_find_synth_clf_sgd"),
])
def test_a_range_test_that_raises_the_lr_states_the_saving_of_its_own_lr(
        corpus: Path, tmp_path: Path, run: str, test: str) -> None:
    shutil.copytree(corpus / "runs" / run, tmp_path / run)
    shutil.copytree(corpus / "range_tests" / test, tmp_path / test)
    (alone,) = analyze(parsers.load(tmp_path / run)).runs
    mine = _too_low(alone)
    k_own = mine.evidence["lr_factor"]
    assert steps_saved_at(mine, k_own) == mine.evidence["steps_saved_estimate"]  # the detector's own claim
    an = analyze(parsers.load(tmp_path))
    costs = estimate_costs(an)
    (ra,) = [ra for ra in an.runs if ra.kind == "training"]
    assert ra.details["context"]["basis"] == "range_test"
    f = _too_low(ra)
    k = f.suggested_lr / mine.evidence["lr_end"]
    assert k > 1 and f.evidence["lr_factor"] == pytest.approx(k)
    saved = steps_saved_at(mine, k)
    assert saved and f.evidence["steps_saved_estimate"] == saved
    assert f.evidence["single_run_steps_saved_estimate"] == mine.evidence["steps_saved_estimate"]
    last = ra.run.step_range[1]
    assert f.waste_from_step == last - saved + 1
    assert f.recommendation.endswith(saving_clause(k, saved))
    assert saving_clause(k_own, mine.evidence["steps_saved_estimate"]) not in f.recommendation
    assert ra.next_run.saving_steps == saved == costs.of_run(ra).wasted_steps
    assert f.severity == mine.severity and f.confidence == mine.confidence
