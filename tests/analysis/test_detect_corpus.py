"""The analyzer over the whole labeled corpus: a regression guard on per-mode quality.

Thresholds sit a little below what the analyzer achieves on the dev corpus, so a change
that makes detection clearly worse fails here (benchmarks/detection.py prints the table).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import MODES, analyze

MIN_RECALL = 0.85
MIN_PRECISION = 0.85
MAX_FALSE_ALARM_RATE = 0.05


@pytest.fixture(scope="module")
def corpus_results(corpus: Path) -> list[tuple[str, set[str], dict]]:
    out = []
    for folder in sorted((corpus / "runs").iterdir()):
        labels = json.loads((folder / "labels.json").read_text())
        runs = parsers.load(folder)
        assert runs, f"{folder.name}: nothing loaded"
        ra = analyze(runs[:1]).runs[0]
        out.append((folder.name, set(labels["modes"]), {f.mode: f for f in ra.findings}, labels))
    return out


@pytest.mark.parametrize("mode", MODES)
def test_detect_corpus_mode_quality(corpus_results, mode: str) -> None:
    tp = sum(1 for _, truth, found, _ in corpus_results if mode in truth and mode in found)
    fn = sum(1 for _, truth, found, _ in corpus_results if mode in truth and mode not in found)
    fp = sum(1 for _, truth, found, _ in corpus_results if mode not in truth and mode in found)
    assert tp + fn > 0
    assert tp / (tp + fn) >= MIN_RECALL, f"{mode}: recall {tp}/{tp + fn}"
    assert tp / max(tp + fp, 1) >= MIN_PRECISION, f"{mode}: precision {tp}/{tp + fp}"


def test_detect_corpus_healthy_runs_are_quiet(corpus_results) -> None:
    healthy = [(name, found) for name, truth, found, _ in corpus_results if not truth]
    assert len(healthy) >= 20
    alarms = [(name, sorted(found)) for name, found in healthy if found]
    assert len(alarms) / len(healthy) <= MAX_FALSE_ALARM_RATE, alarms


def test_detect_corpus_event_steps_match_labels(corpus_results) -> None:
    """The steps the cost estimate counts waste from are the labelled ones."""
    checked = 0
    for name, _, found, labels in corpus_results:
        events = labels["events"]
        if "diverged_at_step" in events and "diverged" in found:
            f = found["diverged"]
            assert f.evidence["diverged_at_step"] == events["diverged_at_step"] == f.step_start, name
            checked += 1
        if "best_val_step" in events and "overfitting" in found:
            f = found["overfitting"]
            assert f.evidence["best_val_step"] == events["best_val_step"] == f.step_start, name
            checked += 1
    assert checked >= 10


def test_detect_corpus_findings_carry_evidence_and_numbers(corpus_results) -> None:
    for name, _, found, _ in corpus_results:
        for f in found.values():
            assert f.severity in ("info", "warning", "critical")
            assert 0.0 <= f.confidence <= 1.0
            assert f.evidence["summary"] and any(ch.isdigit() for ch in f.evidence["summary"]), name
            assert any(ch.isdigit() for ch in f.recommendation), (name, f.recommendation)
