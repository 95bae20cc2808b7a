"""Generalisation checks on real corpus runs re-exported the way other tools would show them.

The held-out split itself is not in the repository; these tests rebuild its hardest format
effect from real files in ../shared: W&B chart exports average buckets of steps, which
shrinks the visible minibatch noise by sqrt(bucket size).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis import analyze


def _write_wandb_export(folder: Path, run_name: str, key: str, steps: np.ndarray, values: np.ndarray,
                        bucket: int, stamp: str) -> None:
    """One W&B panel CSV: bucket means with the bucket min/max, as the chart export writes it."""
    col = f"{run_name} - {key}"
    with open(folder / f"wandb_export_2026-11-26T11_00_{stamp}.000+01_00.csv", "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["Step", col, col + "__MIN", col + "__MAX"])
        for i in range(0, len(steps), bucket):
            chunk = values[i: i + bucket]
            w.writerow([str(int(steps[i])), repr(float(chunk.mean())), repr(float(chunk.min())),
                        repr(float(chunk.max()))])


def _modes(runs) -> set[str]:
    return {f.mode for f in analyze(runs[:1]).runs[0].findings}


@pytest.mark.parametrize("name", ["synth_clf_mlp-ecc8", "synth_clf_mlp-ead4"])
@pytest.mark.parametrize("bucket", [2, 4])
def test_oscillating_run_survives_a_bucketed_wandb_export(corpus: Path, tmp_path: Path, name: str,
                                                          bucket: int) -> None:
    src = corpus / "runs" / name
    (run,) = parsers.load(src)
    assert _modes([run]) == {"oscillating"}  # as labelled, from the per-step log
    loss, lr = run.role_series("train_loss"), run.role_series("lr")
    _write_wandb_export(tmp_path, "misty-wave-101", "train/loss", loss["step"].to_numpy(),
                        loss["value"].to_numpy(), bucket, "01")
    _write_wandb_export(tmp_path, "misty-wave-101", "train/lr", lr["step"].to_numpy(),
                        lr["value"].to_numpy(), bucket, "02")
    exported = parsers.load(tmp_path)
    assert len(exported) == 1 and exported[0].format == "wandb_csv"
    # Averaging pairs/quads of steps hides part of the bounce; measured per step it is the
    # same run: still oscillating, and not mistaken for a calm plateau.
    assert _modes(exported) == {"oscillating"}
