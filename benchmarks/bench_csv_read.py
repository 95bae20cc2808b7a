"""Speed of the CSV readers on generated files: prints a table of points per second.

Run: ``.venv/bin/python benchmarks/bench_csv_read.py [rows]`` (default 500,000 rows per file).
Files are written with the csv module into a temporary folder: a sparse Lightning
``metrics.csv`` (train rows and lr rows alternate), a dense wide CSV, a long-form CSV and
a W&B panel export with two runs side by side.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import parsers


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    loss = np.round(2.0 * np.exp(-np.arange(rows) / rows) + rng.normal(0, 0.01, rows), 6)
    lr = np.round(1e-3 * (1 - np.arange(rows) / rows), 9)
    out: dict[str, Path] = {}

    lightning = folder / "exp" / "lightning_logs" / "version_0"
    lightning.mkdir(parents=True)
    out["lightning_csv (sparse)"] = lightning / "metrics.csv"
    with open(out["lightning_csv (sparse)"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", "lr-AdamW", "step", "train_loss"])
        for s in range(rows // 2):
            w.writerow(["", lr[s], s, ""])
            w.writerow([s // 1000, "", s, loss[s]])

    out["csv wide"] = folder / "wide.csv"
    with open(out["csv wide"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "loss", "lr", "grad_norm"])
        w.writerows(zip(range(rows), loss, lr, loss * 3))

    out["csv long"] = folder / "long.csv"
    with open(out["csv long"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tag", "step", "value"])
        half = rows // 2
        w.writerows(zip(["loss"] * half, range(half), loss[:half]))
        w.writerows(zip(["lr"] * half, range(half), lr[:half]))

    panel = folder / "panel"
    panel.mkdir()
    out["wandb_csv (2 runs)"] = panel / "wandb_export_x.csv"
    with open(out["wandb_csv (2 runs)"], "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["Step"] + [f"{r} - loss{b}" for r in ("a-1", "b-2") for b in ("", "__MIN", "__MAX")])
        w.writerows(zip(range(rows), loss, loss, loss, loss * 2, loss * 2, loss * 2))
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), rows)
        print(f"{'file':<24} {'MB':>7} {'points':>10} {'seconds':>8} {'points/s':>12}")
        for label, path in files.items():
            start = time.perf_counter()
            runs = parsers.load(path)
            seconds = time.perf_counter() - start
            points = sum(len(r.scalars) for r in runs)
            mb = path.stat().st_size / 1e6
            print(f"{label:<24} {mb:>7.1f} {points:>10,} {seconds:>8.2f} {points / seconds:>12,.0f}")


if __name__ == "__main__":
    main()
