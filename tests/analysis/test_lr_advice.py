"""The LR the analyzer advises, measured against what worked: each corpus run's healthy twin
(same task and optimizer family), and the real YOLOv3 rerun that trained at 8e-4."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict
from tests.paths import CORPUS

# The twin's LR is a healthy one, not the optimum: 3x is the tolerance.
WITHIN = 3.0
TOO_HIGH = ("diverged", "spikes", "oscillating")


def _family(name: str) -> str:
    return "adam" if name.lower().startswith("adam") else name.lower()


def _runs_with(corpus: Path, modes: tuple[str, ...]) -> list[str]:
    out = []
    for f in sorted((corpus / "runs").glob("*/labels.json")):
        lab = json.loads(f.read_text())
        tw = lab.get("twin") or {}
        same = _family(lab["optimizer"]["name"]) == _family((tw.get("optimizer") or {}).get("name", ""))
        if set(lab["modes"]) & set(modes) and tw.get("peak_lr") and same:
            out.append(f.parent.name)
    return out


def _advice(corpus: Path, name: str):
    folder = corpus / "runs" / name
    lab = json.loads((folder / "labels.json").read_text())
    an = analyze(parsers.load(folder))
    return lab, an


@pytest.mark.parametrize("name", _runs_with(CORPUS, TOO_HIGH))
def test_too_high_runs_advised_within_3x_of_the_twin(corpus: Path, name: str) -> None:
    lab, an = _advice(corpus, name)
    (ra,) = an.runs
    sug, twin, own = ra.suggested_lr, lab["twin"]["peak_lr"], lab["peak_lr"]
    assert sug is not None and sug < own
    assert max(sug / twin, twin / sug) <= WITHIN, f"{name}: suggested {sug:.3g}, twin {twin:.3g}"
    f = next(f for f in ra.findings if f.mode in TOO_HIGH)
    out = analysis_to_dict(an)["runs"][0]
    (jf,) = [x for x in out["findings"] if x["mode"] == f.mode]
    assert jf["suggested_lr"] == pytest.approx(f.suggested_lr)
    assert jf["suggested_lr_basis"] == "edge_of_stability"
    assert out["next_run"]["peak_lr"] == pytest.approx(sug)


# 89c3 and digits_cnn-4d9e still accelerate at the end (the knee is ahead: linear
# extrapolation); 08ec, 2920 and 94e2 decelerate (fitted power law); b98b shows one lone
# excursion, which does not cap the raise (repeated spikes would).
@pytest.mark.parametrize("name", ["digits_mlp-89c3", "digits_cnn-4d9e", "digits_mlp-08ec", "synth_clf_mlp-2920",
                                  "synth_clf_mlp-b98b", "char_transformer-94e2"])
def test_lr_too_low_raised_by_the_calibrated_factor(corpus: Path, name: str) -> None:
    lab, an = _advice(corpus, name)
    (ra,) = an.runs
    (f,) = [f for f in ra.findings if f.mode == "lr_too_low"]
    twin = lab["twin"]["peak_lr"]
    assert f.suggested_lr_basis == "loss_forecast" and f.evidence["lr_factor"] >= 10
    assert max(f.suggested_lr / twin, twin / f.suggested_lr) <= WITHIN


def test_yolov3_divergence_advice_matches_the_rerun_that_worked(real_logs: Path) -> None:
    # PROVENANCE.md: version_1 diverged at a OneCycle peak of 0.089; the rerun that trained used 8e-4.
    folder = real_logs / "lightning_csv" / "era-v1-session13-yolov3" / "lightning_logs" / "version_1"
    an = analyze(parsers.load(folder))
    (ra,) = an.runs
    assert ra.findings[0].mode == "diverged"
    assert max(ra.suggested_lr / 8e-4, 8e-4 / ra.suggested_lr) <= WITHIN
    plan = analysis_to_dict(an)["runs"][0]["next_run"]
    assert plan["peak_lr"] == pytest.approx(ra.suggested_lr)
    assert plan["peak_lr_basis"] == "edge_of_stability" and plan["saving_steps"] > 0
    assert 0 < plan["confidence"] <= 1


def test_sweep_chart_metric_and_max_stable(corpus: Path) -> None:
    folder = corpus / "sweeps" / "sweep_digits_mlp_sgd"
    truth = json.loads((folder / "sweep.json").read_text())
    an = analyze(parsers.load(folder))
    (sw,) = an.sweeps
    metric = sw.details["metric"]
    assert metric == "final_val_loss"  # every finished member has validation
    for p in sw.points:
        assert p["ranking_value"] == p[metric]  # the chart plots exactly what ranks
    best = min((p for p in sw.points if not (p["diverged"] or p["failed"])), key=lambda p: p["ranking_value"])
    assert sw.best_lr == best["lr"] == truth["best_lr"]
    unstable = [p["lr"] for p in sw.points if p["diverged"] or p["failed"] or p["oscillating"]]
    assert all(lr != sw.max_stable_lr for lr in unstable)
    assert sw.details["suggested_reason"]
    js = analysis_to_dict(an)["sweeps"][0]
    assert js["metric"] == metric and js["suggested_lr_reason"] == sw.details["suggested_reason"]
    # members of the sweep take the sweep's LR over their own single-run estimate
    for ra in an.runs:
        if ra.next_run is not None and ra.suggested_lr is not None:
            assert math.isclose(ra.suggested_lr, sw.suggested_lr)
            assert ra.next_run.peak_lr_basis == "sweep"


def test_range_test_of_the_same_setup_overrides_the_single_run_estimate(corpus: Path, tmp_path: Path) -> None:
    import shutil

    setup = tmp_path / "digits_mlp_adam"
    shutil.copytree(corpus / "range_tests" / "lr_find_digits_mlp_adam", setup / "lr_find")
    shutil.copytree(corpus / "runs" / "digits_mlp-68c1", setup / "run")  # spikes, Adam on the same task
    an = analyze(parsers.load(setup))
    (rt,) = [ra for ra in an.runs if ra.kind == "range_test"]
    (ra,) = [ra for ra in an.runs if ra.kind == "training"]
    (f,) = [f for f in ra.findings if f.mode == "spikes"]
    assert ra.suggested_lr == pytest.approx(rt.suggested_lr)
    assert f.suggested_lr_basis == "range_test" and "overrides this run's own estimate" in f.recommendation
    assert f.evidence["single_run_suggested_lr"] != pytest.approx(rt.suggested_lr)
    assert ra.next_run.peak_lr_basis == "range_test"
    out = analysis_to_dict(an)["runs"]
    assert [r["next_run"]["peak_lr_basis"] for r in out if r["kind"] == "training"] == ["range_test"]


def test_optimizer_family_read_from_hparams_and_monitor_tag(corpus: Path) -> None:
    from lrdoctor.analysis.lr_advice import optimizer_family
    from lrdoctor.analysis.signals import prepare

    # Lightning CSV: hparams optimizer AdamW and the LR monitor's lr-AdamW column
    (run,) = parsers.load(corpus / "runs" / "breast_cancer_mlp-4326")
    assert optimizer_family(prepare(run)) == "adam"
    # W&B panel exports name no optimizer: nothing is guessed
    (run,) = parsers.load(corpus / "runs" / "digits_mlp-4fd4")
    assert optimizer_family(prepare(run)) is None
