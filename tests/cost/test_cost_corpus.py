"""Done-criterion: wasted steps and GPU-hours within 10% of the corpus labels, on every labelled run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cost import CostSettings, estimate_costs

TOLERANCE = 0.10  # the done-criterion


def _labelled_runs(corpus: Path) -> list[Path]:
    out = []
    for labels in sorted(corpus.rglob("labels.json")):
        data = json.loads(labels.read_text())
        if data.get("wasted_steps") is not None and data.get("step_time_s") is not None:
            out.append(labels)
    return out


def _estimate(labels_path: Path) -> tuple[dict, dict]:
    labels = json.loads(labels_path.read_text())
    runs = parsers.load(labels_path.parent)
    assert len(runs) == 1, f"{labels_path.parent}: expected one run, loaded {len(runs)}"
    analysis = analyze(runs)
    # The corpus CSV formats have no clock: the labelled step time is the user's assumption there.
    costs = estimate_costs(analysis, CostSettings(gpu="A100 80GB", gpu_count=1, step_time_s=labels["step_time_s"]))
    return labels, costs.of_run(analysis.runs[0]).to_dict()


def test_corpus_has_labelled_waste(corpus: Path) -> None:
    # The corpus README counts 8 diverged and 9 overfitting runs, 17 with a wasted_steps label.
    assert len(_labelled_runs(corpus)) == 17


def test_wasted_steps_and_gpu_hours_within_10_percent_on_every_labelled_run(corpus: Path) -> None:
    failures = []
    for labels_path in _labelled_runs(corpus):
        labels, cost = _estimate(labels_path)
        want_steps = labels["wasted_steps"]
        want_hours = want_steps * labels["step_time_s"] / 3600.0
        got_steps, got_hours = cost["wasted_steps"], cost["wasted_gpu_hours"]
        err_steps = abs(got_steps - want_steps) / want_steps
        err_hours = abs((got_hours or 0.0) - want_hours) / want_hours
        fmt = labels["format"]
        expected_source = "assumed" if fmt in ("lightning_csv", "wandb_csv") else "logged"
        if cost["step_time_source"] != expected_source:
            failures.append(f"{labels['run']} ({fmt}): step time {cost['step_time_source']}, not {expected_source}")
        if err_steps > TOLERANCE or err_hours > TOLERANCE:
            failures.append(
                f"{labels['run']} ({fmt}, {labels['modes']}): steps {got_steps} vs {want_steps} "
                f"({err_steps:.1%}), GPU-h {got_hours} vs {want_hours:.6f} ({err_hours:.1%}); "
                f"by finding {[(w['mode'], w['step_start'], w['wasted_steps']) for w in cost['by_finding']]}"
            )
    assert not failures, "\n".join(failures)
