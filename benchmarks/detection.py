"""Detection quality of the analyzer on a labeled corpus laid out like ``../shared/corpus``.

Usage: ``python benchmarks/detection.py CORPUS_DIR [-v]``

Prints per-mode precision / recall / F1 over the single runs, the false-alarm rate on
healthy runs, how far the key event steps are from the labels, the LR-suggestion error
(a factor vs the ground-truth best LR) for range tests and sweeps, and the run time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import parsers
from lrdoctor.analysis import MODES, analyze


def _labels(folder: Path) -> dict:
    return json.loads((folder / "labels.json").read_text())


def _factor(suggested: float | None, truth: float | None) -> float | None:
    if not suggested or not truth or suggested <= 0 or truth <= 0:
        return None
    return max(suggested / truth, truth / suggested)


def evaluate(corpus: Path, verbose: bool = False) -> dict:
    """Run the analyzer over the corpus and score it."""
    counts = {m: {"tp": 0, "fp": 0, "fn": 0} for m in MODES}
    healthy = alarms = 0
    step_err: dict[str, list[int]] = {"diverged_at_step": [], "best_val_step": []}
    mistakes: list[str] = []
    t0 = time.perf_counter()
    n_runs = 0
    for folder in sorted((corpus / "runs").iterdir()):
        if not (folder / "labels.json").is_file():
            continue
        lab = _labels(folder)
        runs = parsers.load(folder)
        if not runs:
            mistakes.append(f"{folder.name}: nothing loaded")
            continue
        n_runs += 1
        ra = analyze(runs[:1]).runs[0]
        found = {f.mode: f for f in ra.findings}
        truth = set(lab["modes"])
        for m in MODES:
            if m in found and m in truth:
                counts[m]["tp"] += 1
            elif m in found:
                counts[m]["fp"] += 1
            elif m in truth:
                counts[m]["fn"] += 1
        if not truth:
            healthy += 1
            alarms += bool(found)
        for key, mode in (("diverged_at_step", "diverged"), ("best_val_step", "overfitting")):
            if key in lab["events"] and mode in found:
                step_err[key].append(abs(int(found[mode].evidence[key]) - int(lab["events"][key])))
        if set(found) != truth:
            mistakes.append(
                f"{folder.name} [{lab['format']}]: labels {sorted(truth) or ['healthy']}, found {sorted(found) or ['healthy']}"
            )
    t_runs = time.perf_counter() - t0

    range_rows = []
    for folder in sorted((corpus / "range_tests").iterdir()) if (corpus / "range_tests").is_dir() else []:
        if not (folder / "labels.json").is_file():
            continue
        gt = _labels(folder).get("ground_truth") or {}
        runs = parsers.load(folder)
        ra = analyze(runs[:1]).runs[0] if runs else None
        sug = ra.suggested_lr if ra else None
        range_rows.append((folder.name, ra.kind if ra else "-", sug, gt.get("best_lr"), _factor(sug, gt.get("best_lr"))))
    sweep_rows = []
    for folder in sorted((corpus / "sweeps").iterdir()) if (corpus / "sweeps").is_dir() else []:
        meta = json.loads((folder / "sweep.json").read_text())
        an = analyze(parsers.load(folder))
        sw = an.sweeps[0] if an.sweeps else None
        sug = sw.suggested_lr if sw else None
        sweep_rows.append(
            (folder.name, sw.best_lr if sw else None, sug, meta.get("best_lr"), _factor(sug, meta.get("best_lr")))
        )
    return {
        "counts": counts,
        "healthy": healthy,
        "alarms": alarms,
        "step_err": step_err,
        "mistakes": mistakes,
        "range": range_rows,
        "sweeps": sweep_rows,
        "runs": n_runs,
        "time": time.perf_counter() - t0,
        "time_runs": t_runs,
    }


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def print_report(res: dict, verbose: bool) -> None:
    """The tables."""
    print(f"{'mode':<20}{'n':>4}{'TP':>5}{'FP':>5}{'FN':>5}{'prec':>7}{'recall':>8}{'F1':>7}")
    for m, c in res["counts"].items():
        n = c["tp"] + c["fn"]
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        r = c["tp"] / n if n else float("nan")
        f1 = 2 * p * r / (p + r) if p + r > 0 else float("nan")
        print(f"{m:<20}{n:>4}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}{_fmt(p, '.2f'):>7}{_fmt(r, '.2f'):>8}{_fmt(f1, '.2f'):>7}")
    h, a = res["healthy"], res["alarms"]
    print(f"false alarms on healthy runs: {a}/{h} = {_fmt(a / h if h else None, '.1%')}")
    for key, errs in res["step_err"].items():
        if errs:
            print(f"{key}: |error| median {sorted(errs)[len(errs) // 2]} steps, max {max(errs)} (n={len(errs)})")
    if res["range"]:
        print(f"\n{'range test':<36}{'kind':<12}{'suggested':>10}{'best_lr':>10}{'factor':>8}")
        for name, kind, sug, best, fac in res["range"]:
            print(f"{name:<36}{kind:<12}{_fmt(sug):>10}{_fmt(best):>10}{_fmt(fac, '.2f'):>8}")
    if res["sweeps"]:
        print(f"\n{'sweep':<36}{'best':>10}{'suggested':>10}{'truth':>10}{'factor':>8}")
        for name, best, sug, truth, fac in res["sweeps"]:
            print(f"{name:<36}{_fmt(best):>10}{_fmt(sug):>10}{_fmt(truth):>10}{_fmt(fac, '.2f'):>8}")
    print(f"\n{res['runs']} single runs in {res['time_runs']:.1f} s; everything in {res['time']:.1f} s")
    if verbose:
        print("\nmismatches:")
        for line in res["mistakes"]:
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="list the runs the analyzer got wrong")
    args = ap.parse_args(argv)
    if not (args.corpus / "runs").is_dir():
        print(f"{args.corpus}: no runs/ folder", file=sys.stderr)
        return 2
    print_report(evaluate(args.corpus, args.verbose), args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
