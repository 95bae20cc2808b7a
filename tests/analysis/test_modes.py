"""Every failure mode has its label, colour and wording wherever a finding is shown, and the typed
field the cost layer reads (where waste starts) agrees with the finding's own evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor import style, watch
from lrdoctor.analysis import MODES, Mode, analyze
from lrdoctor.report.formatting import mode_label

SAMPLE_LOGS = Path(__file__).resolve().parents[2] / "sample_logs"


@pytest.fixture(scope="module")
def sample_findings():
    analysis = analyze(parsers.load(SAMPLE_LOGS))
    return [(ra, f) for ra in analysis.runs for f in ra.findings]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_has_label_colour_and_wording(mode: Mode, sample_findings) -> None:
    label = style.MODE_LABELS[mode]
    assert label and mode_label(mode) == label  # the report's wording is the app's label, not a fallback
    assert list(style.MODE_LABELS.values()).count(label) == 1
    assert watch.MODE_PHRASES[mode]  # the live-run banner's phrase
    found = [f for _, f in sample_findings if f.mode is mode]
    assert found, f"no sample finding of {mode}"
    for f in found:
        assert style.severity_color(f.severity) in style.SEVERITY_COLORS.values()  # the shading colour
        assert f.evidence["summary"] and f.recommendation
        assert json.loads(json.dumps(f.to_dict()))["mode"] == mode.value == str(mode) == f"{mode}"


def test_labels_name_only_known_modes() -> None:
    assert set(style.MODE_LABELS) == set(watch.MODE_PHRASES) == set(MODES)


def test_waste_start_agrees_with_the_evidence(sample_findings) -> None:
    last_of = {id(ra): ra.run.step_range[1] for ra, _ in sample_findings}
    seen: set[Mode] = set()
    for ra, f in sample_findings:
        ev = f.evidence
        if f.waste_from_step is not None:
            seen.add(f.mode)
            assert f.waste_unknown is None and f.waste_from_step <= last_of[id(ra)] + 1
        if f.mode is Mode.DIVERGED:
            assert f.waste_from_step == ev["diverged_at_step"]
            assert last_of[id(ra)] - f.waste_from_step + 1 == ev["wasted_steps"]
        elif f.mode is Mode.OVERFITTING:
            assert f.waste_from_step == ev["best_val_step"] + 1
            assert last_of[id(ra)] - f.waste_from_step + 1 == ev["wasted_steps"]
        elif f.mode is Mode.PLATEAU:
            pay = ev["decay_would_pay_step"]
            assert f.waste_from_step == (None if pay is None else pay + 1)
        elif f.mode is Mode.LR_TOO_LOW:
            saved = ev["steps_saved_estimate"]
            assert (f.waste_from_step is None) == (saved is None) != (f.waste_unknown is None)
        else:
            assert f.waste_from_step is None and f.waste_unknown is None  # the mode wastes no steps
    assert {Mode.DIVERGED, Mode.OVERFITTING} <= seen
