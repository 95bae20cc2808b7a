"""Fuzzer: the analyzer on mutated-but-loadable runs (issue #15, "keep it that way").

Runs are written as CSV files and loaded by the real reader, then analysed, turned into the
JSON contract and the CLI text: NaN/inf, negative, duplicate, float and decreasing steps, huge
values, one-point and constant runs. No run may fail its analysis (which the per-run boundary
would report as "not diagnosed: the analysis failed").
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict
from lrdoctor.cli.analyze_cmd import render_text

from .fuzzing import FUZZ_SETTINGS, check_loaded, no_hang

STEP_KINDS = ["plain", "negative", "duplicate", "float", "decreasing", "shuffled", "huge", "gappy"]
CURVES = ["decay", "constant", "diverge", "noise", "oscillate", "one_point"]
SPECIALS = [math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, -1.0, 1e-300]


@st.composite
def runs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    curve = draw(st.sampled_from(CURVES))
    n = 1 if curve == "one_point" else draw(st.integers(2, 400))
    t = np.arange(n, dtype=np.float64)
    kind = draw(st.sampled_from(STEP_KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    steps = {"plain": t, "negative": t - n // 2 - 1000, "duplicate": np.repeat(t[: (n + 1) // 2], 2)[:n],
             "float": t * 0.37, "decreasing": t[::-1], "shuffled": rng.permutation(t), "huge": t * 1e15,
             "gappy": np.cumsum(rng.integers(1, 1000, n)).astype(np.float64)}[kind]
    scale = draw(st.sampled_from([1e-12, 1e-3, 1.0, 1e6, 1e200]))
    loss = {"decay": 2.0 * np.exp(-t / max(n / 4, 1)) + 0.1, "constant": np.full(n, 0.7),
            "diverge": 1.0 + np.exp(np.minimum(t / max(n / 8, 1), 700)) * 1e-3, "noise": rng.random(n),
            "oscillate": 1.0 + 0.5 * np.sin(t), "one_point": np.array([1.0])}[curve] * scale
    loss = loss + draw(st.sampled_from([0.0, 0.01, 0.3])) * rng.standard_normal(n) * scale
    for _ in range(draw(st.integers(0, 5))):
        loss[draw(st.integers(0, n - 1))] = draw(st.sampled_from(SPECIALS))
    lr = None
    if draw(st.booleans()):
        lr = np.full(n, draw(st.sampled_from([1e-4, 3e-3, 0.0, 10.0])))
        if draw(st.booleans()):
            lr = lr * np.linspace(1.0, draw(st.sampled_from([0.0, 0.1, 10.0])), n)
        if draw(st.booleans()):
            lr[draw(st.integers(0, n - 1))] = draw(st.sampled_from(SPECIALS))
    return steps, loss, lr


def _write(path: Path, steps: np.ndarray, loss: np.ndarray, lr: np.ndarray | None) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "loss"] + (["lr"] if lr is not None else []))
        for i in range(len(steps)):
            step = int(steps[i]) if float(steps[i]).is_integer() else repr(float(steps[i]))
            writer.writerow([step, repr(float(loss[i]))] + ([repr(float(lr[i]))] if lr is not None else []))


@FUZZ_SETTINGS
@given(run=runs(), twin=runs())
def test_analyzer_survives_hostile_but_loadable_runs(run, twin) -> None:
    with tempfile.TemporaryDirectory(prefix="lrdoctor-fuzz-") as tmp:
        _write(Path(tmp) / "run.csv", *run)
        _write(Path(tmp) / "twin.csv", *twin)  # two runs: sweep grouping and context see them too
        with no_hang():
            loaded = parsers.load(tmp)
            check_loaded(loaded)
            analysis = analyze(loaded, warnings=loaded.all_warnings())
            json.dumps(analysis_to_dict(analysis), allow_nan=False)
            render_text(analysis)
        for ra in analysis.runs:
            assert not (ra.not_diagnosed or "").startswith("the analysis failed"), ra.not_diagnosed
