"""``lrdoctor inspect PATH [--json]``: what was found, before any analysis."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from lrdoctor.analysis.wording import clean
from lrdoctor.formatting import printable, step_range
from parsers import Run

from .common import add_load_arguments, describe_steps, load_paths, print_warnings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``inspect``."""
    add_load_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run_summary(run: Run) -> dict[str, Any]:
    """Everything ``inspect`` shows about one run, as plain data."""
    tags = []
    df = run.scalars
    counts = run.point_counts()
    for tag in run.tags():
        sel = df.loc[df["tag"] == tag]
        vals = sel["value"]
        tags.append(
            {
                "tag": tag,
                "role": run.roles.get(tag, "other"),
                "points": counts.get(tag, 0),
                "step_min": int(sel["step"].min()),
                "step_max": int(sel["step"].max()),
                "non_finite": int((~np.isfinite(vals.to_numpy())).sum()),
                "first": clean(float(vals.iloc[0])),
                "last": clean(float(vals.iloc[-1])),
            }
        )
    rng = run.step_range
    return {
        "name": run.name,
        "path": run.path,
        "format": run.format,
        "points": int(len(df)),
        "step_min": None if rng is None else rng[0],
        "step_max": None if rng is None else rng[1],
        "wall_span_s": run.wall_span,
        "tags": tags,
        "meta": clean(run.meta),
        "overlaps": [vars(o) for o in run.overlaps],
        "warnings": list(run.warnings),
    }


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "no clock"
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def run(args: argparse.Namespace) -> int:
    """Execute ``inspect``."""
    runs = load_paths(args)
    warnings = runs.all_warnings()
    if args.json:
        payload = {
            "runs": [run_summary(r) for r in runs],
            "warnings": [w.to_dict() for w in warnings],
        }
        json.dump(payload, sys.stdout, indent=2, default=str, allow_nan=False)
        sys.stdout.write("\n")
    else:
        for r in runs:
            s = run_summary(r)
            print(f"{printable(r.name)}  [{r.format}]  {printable(r.path)}")
            print(f"  {s['points']:,} points, steps {describe_steps(r)}, wall clock {_span(r.wall_span)}")
            for t in s["tags"]:
                bad = f", {t['non_finite']} non-finite" if t["non_finite"] else ""
                print(
                    f"    {printable(t['tag']):<36} {t['role']:<12} {t['points']:>9,} pts  "
                    f"steps {step_range(t['step_min'], t['step_max'], unknown='-')}{bad}"
                )
            for o in r.overlaps:
                print(
                    f"  restart: steps {step_range(o.step_start, o.step_end)} logged again "
                    f"({o.steps:,} steps repeated) by {printable(o.superseded_by)}"
                )
        print(f"{len(runs)} run(s) found.")
    print_warnings(warnings)
    return 0 if runs else 2
