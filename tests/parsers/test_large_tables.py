"""Large metric tables take the fast paths (pandas reading a big CSV on every core, pyarrow parsing
JSON lines on every core) and keep the careful reader's behaviour: a bad row or line is named
with its file and line number, the rest loads, values are the ones written.

The files are written by the writers the trackers use: Python's ``csv`` module (Lightning's
CSVLogger) and ``json.dumps`` one record a line (W&B's history, which writes ``NaN`` and
``Infinity`` as JSON's extensions do).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers import jsonl_arrow

# Rows of the large CSV: ~7 MB, over pandas' 5 MB threshold for reading on every core.
CSV_ROWS = 200_000
# Records of the large history: ~2.5 MB, several pyarrow chunks' worth over MIN_ARROW_BYTES.
HISTORY_ROWS = 20_000
# A depth of nested objects that crashes pyarrow's JSON parser (it recurses per level: pyarrow 26
# segfaults from ~20,000 and takes seconds at 5,000) if it is handed over.
CRASHING_DEPTH = 30_000


def _points(run: parsers.Run, tag: str) -> dict[int, float]:
    part = run.scalars[run.scalars["tag"] == tag]
    return dict(zip(part["step"].tolist(), part["value"].tolist()))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _write_metrics_csv(path: Path, ragged_row: int | None = None) -> dict[str, dict[int, float]]:
    """A Lightning-style metrics.csv (train rows, an lr row every 10 steps); returns what was written."""
    rng = np.random.default_rng(3)
    written: dict[str, dict[int, float]] = {"train_loss": {}, "lr-AdamW": {}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["train_loss", "epoch", "step", "lr-AdamW"])
        for step in range(CSV_ROWS):
            loss = float(rng.random()) * 4
            if step == ragged_row:
                writer.writerow([loss, 0, step, "", "an extra field"])
                continue
            writer.writerow([loss, step // 1000, step, ""])
            written["train_loss"][step] = loss
            if step % 10 == 0:
                lr = 3e-4 * (1 - step / CSV_ROWS)
                writer.writerow(["", "", step, lr])
                written["lr-AdamW"][step] = lr
    return written


def test_a_large_metrics_csv_loads_every_value_as_written(tmp_path: Path) -> None:
    path = tmp_path / "lightning_logs" / "version_0" / "metrics.csv"
    written = _write_metrics_csv(path)
    assert path.stat().st_size > 5 * 2**20
    [run] = parsers.load(path)
    assert run.format == "lightning_csv" and not run.warnings
    for tag, points in written.items():
        assert _points(run, tag) == points


def test_a_ragged_row_in_a_large_csv_is_named_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "lightning_logs" / "version_0" / "metrics.csv"
    ragged = 123_457
    written = _write_metrics_csv(path, ragged_row=ragged)
    runs = parsers.load(path)
    [run] = runs
    # line 1 is the header; the lr rows written before the ragged one add a line each
    line = 1 + ragged + 1 + len([s for s in written["lr-AdamW"] if s < ragged])
    assert any(str(path) in w and f"line {line} skipped" in w and "saw 5" in w for w in run.warnings), run.warnings
    for tag, points in written.items():
        assert _points(run, tag) == points
    assert path.read_text().count("an extra field") == 1  # the user's file is left as it was


def _history_record(step: int, rng: np.random.Generator) -> dict:
    record: dict = {"_step": step, "_runtime": 0.5 * step, "_timestamp": 1.7e9 + 0.5 * step,
                    "train/loss": float(rng.random())}
    if step % 100 == 0:
        record["val/loss"] = float("nan") if step % 1000 == 0 else float(rng.random())
    if step % 250 == 0:
        record["train/grad_norm"] = float("inf") if step == 5000 else None
    if step % 500 == 0:
        record["samples"] = {"_type": "histogram", "values": [1, 2, 3], "bins": [0.0, 0.5, 1.0]}
        record["phase"] = "eval"
    return record


def test_a_large_history_keeps_logged_nan_inf_and_skips_null(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    records = [_history_record(step, rng) for step in range(HISTORY_ROWS)]
    lines = [json.dumps(r) for r in records]
    lines.insert(7000, "")  # a blank line is no record
    path = tmp_path / "run_history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    if jsonl_arrow.available():  # the fast path reads this file (else the test checks the per-line one)
        assert jsonl_arrow.read_records(path.read_bytes()) is not None
    [run] = parsers.load(path)
    assert run.format == "wandb_history"
    for tag in ("train/loss", "val/loss", "train/grad_norm"):
        expected = {r["_step"]: r[tag] for r in records if isinstance(r.get(tag), float)}
        got = _points(run, tag)
        assert got.keys() == expected.keys(), tag
        assert all(_same(got[s], v) for s, v in expected.items()), tag
    assert math.isnan(_points(run, "val/loss")[1000])  # a logged NaN is a point (a divergence)
    assert _points(run, "train/grad_norm") == {5000: math.inf}  # null is no point
    assert any("non-numeric columns skipped" in w and "samples" in w and "phase" in w for w in run.warnings)
    wall = run.scalars[run.scalars["tag"] == "train/loss"]["wall_time"].to_numpy()
    assert np.allclose(wall, 1.7e9 + 0.5 * np.arange(HISTORY_ROWS))


def test_a_line_nested_deep_enough_to_crash_pyarrow_is_named_and_the_rest_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    records = [_history_record(step, rng) for step in range(HISTORY_ROWS)]
    lines = [json.dumps(r) for r in records]
    lines[9000] = '{"_step": 9000, "deep": ' + '{"a": ' * CRASHING_DEPTH + "1" + "}" * CRASHING_DEPTH + "}"
    path = tmp_path / "run_history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    if jsonl_arrow.available():  # never handed to pyarrow: it would take the process down
        assert jsonl_arrow.read_records(path.read_bytes()) is None
    [run] = parsers.load(path)
    assert any(str(path) in w and "line 9001" in w and "nested too deeply" in w for w in run.warnings), run.warnings
    assert set(_points(run, "train/loss")) == {r["_step"] for r in records} - {9000}


def test_bad_lines_in_a_large_history_are_named_and_the_rest_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    records = [_history_record(step, rng) for step in range(HISTORY_ROWS)]
    lines = [json.dumps(r) for r in records]
    lines[15000] = '{"_step": 15000, "train/loss": 0.5'  # cut short: not JSON
    lines[17000] = '{"_step": 17000, "train/loss": "diverged"}'  # text where numbers were
    path = tmp_path / "run_history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    [run] = parsers.load(path)
    assert any(str(path) in w and "line 15001" in w and "not a JSON object" in w for w in run.warnings)
    assert any(str(path) in w and "1 non-numeric cells" in w for w in run.warnings)
    assert set(_points(run, "train/loss")) == {r["_step"] for r in records} - {15000, 17000}


def test_a_large_history_reads_the_same_without_pyarrow(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    lines = [json.dumps(_history_record(step, rng)) for step in range(HISTORY_ROWS)]
    path = tmp_path / "run_history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    dump = (
        "import json, parsers\n"
        f"[run] = parsers.load({str(path)!r})\n"
        "s = run.scalars\n"
        "print(json.dumps({'points': [[str(t), int(st), repr(float(v)), repr(float(w))] for t, st, v, w in"
        " zip(s['tag'], s['step'], s['value'], s['wall_time'])], 'warnings': run.warnings}))\n"
    )
    results = []
    for hide in ("", "import sys; sys.modules['pyarrow'] = None\n"):
        out = subprocess.run([sys.executable, "-c", hide + dump], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    with_arrow, without = results
    assert len(with_arrow["points"]) > HISTORY_ROWS
    assert with_arrow == without
