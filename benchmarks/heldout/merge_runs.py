"""Merge several ``make_runs.py`` outputs (one per seed, e.g. generated in parallel) into one held-out folder.

Copies every batch's ``runs/<run>`` into ``OUT/runs``, concatenates the ``index.csv`` rows and keeps each
batch's ``generation_report.json`` under ``batches`` (keyed by the batch folder's name)::

    .venv/bin/python benchmarks/heldout/merge_runs.py /work/heldout2 /tmp/batches/s14 /tmp/batches/s15
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path


def merge(out: Path, batches: list[Path]) -> int:
    """Merge ``batches`` into ``out`` (created; must not exist); returns the number of runs copied."""
    (out / "runs").mkdir(parents=True)
    rows: list[dict] = []
    report: dict[str, dict] = {}
    for b in batches:
        with open(b / "index.csv", newline="") as fh:
            batch_rows = list(csv.DictReader(fh))
        for row in batch_rows:
            dst = out / "runs" / row["run"]
            if dst.exists():
                raise SystemExit(f"{b}: run {row['run']} already merged from another batch")
            shutil.copytree(b / "runs" / row["run"], dst)
        rows += batch_rows
        report[b.name] = json.loads((b / "generation_report.json").read_text())
    with open(out / "index.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    (out / "generation_report.json").write_text(json.dumps({"batches": report}, indent=1, default=str))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("batches", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.out.exists():
        print(f"{args.out}: already exists", file=sys.stderr)
        return 2
    missing = [b for b in args.batches if not (b / "index.csv").is_file()]
    if missing:
        print(f"{missing[0]}: no index.csv (batch not finished?)", file=sys.stderr)
        return 2
    print(f"merged {merge(args.out, args.batches)} runs into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
