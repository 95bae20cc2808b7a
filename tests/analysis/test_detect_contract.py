"""The analyze JSON contract (version 1) and the loss-only / healthy paths."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict
from parsers import Run, make_scalars

RUN_KEYS = {"name", "path", "format", "kind", "steps", "schedule", "findings", "suggested_lr"}
FINDING_KEYS = {"mode", "severity", "confidence", "step_start", "step_end", "evidence", "recommendation"}


def _check_contract(payload: dict) -> None:
    assert {"version", "runs", "sweeps", "warnings"} <= set(payload)
    assert payload["version"] == 1
    for r in payload["runs"]:
        assert RUN_KEYS <= set(r)
        assert isinstance(r["name"], str) and isinstance(r["path"], str) and isinstance(r["format"], str)
        assert r["kind"] in ("training", "range_test")
        assert isinstance(r["steps"], int)
        assert isinstance(r["schedule"]["kind"], str) and isinstance(r["schedule"]["params"], dict)
        assert r["suggested_lr"] is None or isinstance(r["suggested_lr"], float)
        for f in r["findings"]:
            assert FINDING_KEYS <= set(f)
            assert isinstance(f["mode"], str) and f["severity"] in ("info", "warning", "critical")
            assert isinstance(f["confidence"], float) and 0 <= f["confidence"] <= 1
            for key in ("step_start", "step_end"):
                assert f[key] is None or isinstance(f[key], int)
            assert isinstance(f["evidence"], dict) and isinstance(f["recommendation"], str)
    for s in payload["sweeps"]:
        assert {"path", "runs", "best_lr", "max_stable_lr", "suggested_lr"} <= set(s)
    for w in payload["warnings"]:
        assert set(w) == {"path", "message"}
    # strict JSON: NaN/inf never reach it
    json.dumps(payload, allow_nan=False)


def test_detect_contract_on_diverged_run_with_nan(corpus: Path) -> None:
    runs = parsers.load(corpus / "runs" / "digits_mlp-8cb2")  # NaN/Infinity in the W&B export
    payload = analysis_to_dict(analyze(runs, warnings=runs.all_warnings()))
    _check_contract(payload)
    f = payload["runs"][0]["findings"][0]
    assert f["mode"] == "diverged"
    assert f["evidence"]["first_nonfinite_step"] is None or isinstance(f["evidence"]["first_nonfinite_step"], int)


def test_detect_contract_on_range_test(corpus: Path) -> None:
    runs = parsers.load(corpus / "range_tests" / "lr_find_digits_mlp_sgd")
    payload = analysis_to_dict(analyze(runs))
    _check_contract(payload)
    assert payload["runs"][0]["kind"] == "range_test"


def test_detect_healthy_run_has_empty_findings(corpus: Path) -> None:
    runs = parsers.load(corpus / "runs" / "synth_clf_mlp-8a8d")
    payload = analysis_to_dict(analyze(runs))
    _check_contract(payload)
    assert payload["runs"][0]["findings"] == []


def _loss_only(run: Run) -> Run:
    df = run.series(run.primary_tag("train_loss"))
    scalars = make_scalars(["loss"] * len(df), df["step"], None, df["value"])
    return Run(name=run.name + "-loss-only", path=run.path, format=run.format, scalars=scalars)


def test_detect_loss_only_run_still_diagnosed(corpus: Path) -> None:
    # digits_mlp-c152 diverges at step 11 (labels.json); without LR, grad norm or validation
    full = parsers.load(corpus / "runs" / "digits_mlp-c152")[0]
    ra = analyze([_loss_only(full)]).runs[0]
    assert ra.run.roles == {"loss": "train_loss"}
    modes = {f.mode: f for f in ra.findings}
    assert modes["diverged"].evidence["diverged_at_step"] == 11
    assert "lr_at_divergence" not in modes["diverged"].evidence
    # a too-low LR run keeps its diagnosis from the loss shape alone
    slow = parsers.load(corpus / "runs" / "char_transformer-c97f")[0]
    assert "lr_too_low" in {f.mode for f in analyze([_loss_only(slow)]).runs[0].findings}


def test_detect_nonfinite_evidence_maps_to_null() -> None:
    steps = np.arange(200)
    loss = np.r_[np.linspace(2.0, 1.0, 100), np.full(100, np.inf)]
    run = Run(name="inf", path="inf.csv", format="test", scalars=make_scalars(["loss"] * 200, steps, None, loss))
    payload = analysis_to_dict(analyze([run]))
    _check_contract(payload)
    f = payload["runs"][0]["findings"][0]
    assert f["mode"] == "diverged" and f["step_start"] == 100
    assert f["evidence"]["max_loss_after"] is None  # only inf after the blow-up
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in f["evidence"].values())
