"""Sweep members far above the best LR that settle on a higher noise floor are 'LR too high'."""

from __future__ import annotations

from pathlib import Path

import parsers
from lrdoctor.analysis import analyze


def test_char_rnn_high_lrs_settle_on_a_higher_floor(real_logs: Path) -> None:
    """char-rnn's LR sweep: 0.05 and 0.1 end on a much higher floor (1.92, 2.19 vs 1.34), no NaN."""
    path = real_logs / "generic_csv" / "char-rnn-lr-sweep" / "error_logs" / "learning_rate_error.csv"
    analysis = analyze(parsers.load(path))
    (sweep,) = analysis.sweeps
    assert sweep.best_lr == 0.005
    modes = {ra.run.name: {f.mode for f in ra.findings} for ra in analysis.runs}
    assert "oscillating" in modes["learning_rate_0.05"] and "oscillating" in modes["learning_rate_0.1"]
    assert "oscillating" not in modes["learning_rate_0.005"] | modes["learning_rate_0.01"]
    for ra in analysis.runs:
        for f in ra.findings:
            if f.mode == "oscillating":
                assert f.suggested_lr_basis == "sweep" and f.suggested_lr <= 0.01


def test_corpus_sweeps_keep_their_largest_stable_lr(corpus: Path) -> None:
    """The floor finding is said after the largest stable LR is set: a worse run is still stable,
    and a member whose training loss went lower (a generalisation gap) is not flagged."""
    analysis = analyze(parsers.load(corpus / "sweeps" / "sweep_digits_mlp_sgd"))
    (sweep,) = analysis.sweeps
    assert sweep.max_stable_lr == 0.3
    by_lr = {p["lr"]: p["name"] for p in sweep.points}
    flagged = {ra.run.name for ra in analysis.runs if any(f.mode == "oscillating" for f in ra.findings)}
    assert by_lr[0.3] in flagged  # val 1.90 vs 0.086 at the best LR
    assert by_lr[0.1] not in flagged  # val 0.163, but its training loss ends lower than the best's
