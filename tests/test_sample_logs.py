"""sample_logs/ shows a new user every format we read and every failure mode we find (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import MODES, analyze

SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "sample_logs"
# Readers that yield no curves: the W&B runs table holds one row of config/summary per run.
NO_CURVE_FORMATS = {"wandb_runs_table"}
# sample_logs/transcribed/<folder>: the corpus run each was transcribed from (sample_logs/PROVENANCE.md).
TRANSCRIBED = {
    "mlflow": "breast_cancer_mlp-8093",
    "nanogpt_console": "digits_cnn-6220",
    "wandb_offline": "digits_mlp-68c1",
    "wandb_history": "synth_clf_mlp-ecc8",
    "keras_csv": "digits_mlp-f2da",
    "long_csv": "digits_mlp-f351",
}


@pytest.fixture(scope="module")
def sample_runs() -> parsers.RunList:
    return parsers.load(SAMPLE_LOGS)


def test_every_curve_format_has_a_sample(sample_runs):
    with_curves = {r.format for r in sample_runs if not r.scalars.empty}
    wanted = {r.format for r in parsers.readers()} - NO_CURVE_FORMATS
    assert wanted - with_curves == set(), f"no sample with curves for {sorted(wanted - with_curves)}"


def test_every_failure_mode_is_found(sample_runs):
    found = {f.mode for ra in analyze(sample_runs).runs for f in ra.findings}
    assert set(MODES) - found == set(), f"no sample shows {sorted(set(MODES) - found)}"


@pytest.mark.parametrize("folder", sorted(TRANSCRIBED))
def test_transcribed_run_keeps_its_corpus_modes(folder, corpus):
    labels = json.loads((corpus / "runs" / TRANSCRIBED[folder] / "labels.json").read_text())
    runs = parsers.load(SAMPLE_LOGS / "transcribed" / folder)
    assert len(runs) == 1
    (ra,) = analyze(runs).runs
    assert ra.not_diagnosed is None
    assert {f.mode for f in ra.findings} == set(labels["modes"])
