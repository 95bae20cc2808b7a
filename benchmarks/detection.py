"""Detection quality of the analyzer on a labeled corpus laid out like ``../shared/corpus``.

Usage: ``python benchmarks/detection.py CORPUS_DIR [CORPUS_DIR ...] [-v]`` (several sets: each
reported apart, then the LR-advice table pooled over all of them)

Prints per-mode precision / recall / F1 over the single runs, the false-alarm rate on
healthy runs, how far the key event steps are from the labels, the LR-suggestion error
(a factor vs the ground-truth best LR) for range tests and sweeps, and the run time.

The LR-advice table: for every run labelled with a mode that implies an LR change, the
run's ``suggested_lr`` against its healthy twin's peak LR (``twin.peak_lr`` in the labels;
for a held-out set without it, the peak LR of the family's healthy run): whether it points
the right way from the run's own LR (up, down, or unchanged for a plateau) and the factor
between them. A twin trained with another optimizer family (SGD vs Adam) has an LR on
another scale: those runs are counted for the direction but listed apart from the factor.
The waste table compares the cost layer's wasted steps per finding with the labels'
(``wasted_steps`` for divergence; the steps after the labelled plateau start), and, where
the twin is in the set, an lr_too_low run's claimed saving with the steps the twin actually
needed to reach this run's final loss.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import parsers
from lrdoctor.analysis import MODES, analyze
from lrdoctor.cost import estimate_costs

# Modes whose advice is an LR change, and the way the twin's LR lies from the run's.
LR_MODES = ("diverged", "oscillating", "spikes", "lr_too_low", "plateau")
# A suggestion within this factor of the twin's LR counts as right (the twin's LR is a
# healthy one, not the optimum).
WITHIN = 3.0
# "Unchanged" (plateau: same peak, decayed) means within this factor of the run's own LR.
SAME_LR = 1.5


def _labels(folder: Path) -> dict:
    return json.loads((folder / "labels.json").read_text())


def _factor(suggested: float | None, truth: float | None) -> float | None:
    if not suggested or not truth or suggested <= 0 or truth <= 0:
        return None
    return max(suggested / truth, truth / suggested)


def _opt_family(name: str | None) -> str:
    return "adam" if name and name.lower().startswith("adam") else (name or "?").lower()


def _twins(corpus: Path) -> dict[str, dict]:
    """Per run: {lr, optimizer, run} of its healthy twin (labels' twin, else the family's H)."""
    labs = {}
    for f in sorted((corpus / "runs").glob("*/labels.json")):
        labs[f.parent.name] = json.loads(f.read_text())
    healthy: dict[str, dict] = {}
    for name, lab in labs.items():
        if not lab["modes"] and lab.get("family") and lab.get("schedule", {}).get("name", "").endswith("cosine"):
            healthy.setdefault(lab["family"], {"lr": lab["peak_lr"], "optimizer": lab["optimizer"]["name"],
                                               "run": name})
    out = {}
    for name, lab in labs.items():
        tw = lab.get("twin")
        if tw and tw.get("peak_lr"):
            out[name] = {"lr": tw["peak_lr"], "optimizer": (tw.get("optimizer") or {}).get("name"),
                         "run": tw.get("run") if tw.get("in_corpus") else None}
        elif lab.get("family") in healthy:
            out[name] = healthy[lab["family"]]
    return out


def _steps_to_reach(folder: Path, level: float) -> int | None:
    """Steps the twin's training loss (rolling median, robust to minibatch noise) takes to get
    at or below ``level``."""
    runs = parsers.load(folder)
    if not runs:
        return None
    df = runs[0].role_series("train_loss")
    if df is None or df.empty:
        return None
    steps = df["step"].to_numpy(np.int64)
    k = max(5, len(df) // 40)
    sm = df["value"].rolling(k, min_periods=k).median().to_numpy(np.float64)
    hit = np.flatnonzero(sm <= level)
    return int(steps[hit[0]] - steps[0]) if len(hit) else None


def evaluate(corpus: Path, verbose: bool = False) -> dict:
    """Run the analyzer over the corpus and score it."""
    counts = {m: {"tp": 0, "fp": 0, "fn": 0} for m in MODES}
    healthy = alarms = 0
    step_err: dict[str, list[int]] = {"diverged_at_step": [], "best_val_step": []}
    mistakes: list[str] = []
    t0 = time.perf_counter()
    n_runs = 0
    twins = _twins(corpus)
    advice: list[dict] = []
    waste: list[dict] = []
    for folder in sorted((corpus / "runs").iterdir()):
        if not (folder / "labels.json").is_file():
            continue
        lab = _labels(folder)
        runs = parsers.load(folder)
        if not runs:
            mistakes.append(f"{folder.name}: nothing loaded")
            continue
        n_runs += 1
        an = analyze(runs[:1])
        costs = estimate_costs(an)
        ra = an.runs[0]
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
        lr_modes = [m for m in LR_MODES if m in truth]
        tw = twins.get(folder.name)
        if lr_modes and tw:
            own, sug = float(lab["peak_lr"]), ra.suggested_lr
            want = math.log(tw["lr"] / own)
            if abs(want) < math.log(SAME_LR):
                right = sug is not None and abs(math.log(sug / own)) < math.log(SAME_LR)
            else:
                right = sug is not None and sug > 0 and math.log(sug / own) * want > 0
            advice.append({"run": folder.name, "mode": lr_modes[0], "lr": own, "twin": tw["lr"], "suggested": sug,
                           "right": right, "factor": _factor(sug, tw["lr"]),
                           "same_opt": _opt_family(lab["optimizer"]["name"]) == _opt_family(tw["optimizer"])})
        cost = costs.of_run(ra)
        by_mode = {w.mode: w for w in cost.by_finding} if cost is not None else {}
        last = (runs[0].step_range or (0, 0))[1]
        base = lab.get("step_base", 0)
        if "diverged" in truth and lab.get("wasted_steps") is not None:
            w = by_mode.get("diverged")
            waste.append({"run": folder.name, "mode": "diverged", "truth": lab["wasted_steps"],
                          "ours": w.wasted_steps if w else None})
        for mode in ("plateau", "lr_too_low"):
            # The steps this run spent beyond the point where its twin (decayed schedule, or the
            # healthy LR) had already reached this run's final loss.
            if mode not in truth or not tw or not tw.get("run") or not (corpus / "runs" / tw["run"]).is_dir():
                continue
            reach = _steps_to_reach(corpus / "runs" / tw["run"], lab["summary"]["final_train_loss"])
            if reach is not None:
                w = by_mode.get(mode)
                waste.append({"run": folder.name, "mode": f"{mode} (vs twin reaching its final loss)",
                              "truth": max(last - base - reach, 0), "ours": w.wasted_steps if w else None})
        if set(found) != truth:
            mistakes.append(
                f"{folder.name} [{lab['format']}]: labels {sorted(truth) or ['healthy']}, found {sorted(map(str, found)) or ['healthy']}"
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
        "advice": advice,
        "waste": waste,
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
    _print_advice(res["advice"], verbose)
    _print_waste(res["waste"], verbose)
    if res["range"]:
        print(f"\n{'range test':<36}{'kind':<12}{'suggested':>10}{'best_lr':>10}{'factor':>8}")
        for name, kind, sug, best, fac in res["range"]:
            print(f"{name:<36}{kind:<12}{_fmt(sug):>10}{_fmt(best):>10}{_fmt(fac, '.2f'):>8}")
        print(f"range tests within {WITHIN:g}x of the sweep's best: "
              f"{sum(r[4] is not None and r[4] <= WITHIN for r in res['range'])}/{len(res['range'])}")
    if res["sweeps"]:
        print(f"\n{'sweep':<36}{'best':>10}{'suggested':>10}{'truth':>10}{'factor':>8}")
        for name, best, sug, truth, fac in res["sweeps"]:
            print(f"{name:<36}{_fmt(best):>10}{_fmt(sug):>10}{_fmt(truth):>10}{_fmt(fac, '.2f'):>8}")
        print(f"sweeps suggesting within {WITHIN:g}x of the labelled best: "
              f"{sum(r[4] is not None and r[4] <= WITHIN for r in res['sweeps'])}/{len(res['sweeps'])}")
    print(f"\n{res['runs']} single runs in {res['time_runs']:.1f} s; everything in {res['time']:.1f} s")
    if verbose:
        print("\nmismatches:")
        for line in res["mistakes"]:
            print("  " + line)


def _median(xs: list[float]) -> float | None:
    return float(np.median(xs)) if xs else None


def _print_advice(rows: list[dict], verbose: bool) -> None:
    if not rows:
        return
    print(f"\nLR advice vs the healthy twin's LR (within {WITHIN:g}x; factor over same-optimizer twins)")
    print(f"{'mode':<14}{'n':>4}{'direction':>11}{'within':>9}{'median x':>10}{'worst x':>9}{'other-opt':>11}")
    for m in LR_MODES:
        sel = [r for r in rows if r["mode"] == m]
        if not sel:
            continue
        same = [r for r in sel if r["same_opt"]]
        facs = [r["factor"] if r["factor"] is not None else math.inf for r in same]
        within = sum(f <= WITHIN for f in facs)
        print(f"{m:<14}{len(sel):>4}{sum(r['right'] for r in sel):>6}/{len(sel):<4}"
              f"{within:>5}/{len(same):<3}{_fmt(_median(facs), '.2f'):>10}{_fmt(max(facs) if facs else None, '.3g'):>9}"
              f"{len(sel) - len(same):>11}")
    if verbose:
        for r in rows:
            print(f"  {r['run']:<28}{r['mode']:<13} lr {_fmt(r['lr']):>8} twin {_fmt(r['twin']):>8} "
                  f"suggested {_fmt(r['suggested']):>9} x{_fmt(r['factor'], '.2f'):>6} "
                  f"{'ok ' if r['right'] else 'WRONG'}{'' if r['same_opt'] else ' (twin: other optimizer)'}")


def _print_waste(rows: list[dict], verbose: bool) -> None:
    if not rows:
        return
    print("\nwasted steps vs labels (ratio ours / labelled)")
    for m in sorted({r["mode"] for r in rows}):
        sel = [r for r in rows if r["mode"] == m]
        ratios = [r["ours"] / r["truth"] for r in sel if r["ours"] is not None and r["truth"]]
        print(f"  {m:<32} n={len(sel):<3} costed {len(ratios):>2}  ratio median {_fmt(_median(ratios), '.2f')}"
              f"  min {_fmt(min(ratios) if ratios else None, '.2f')}  max {_fmt(max(ratios) if ratios else None, '.2f')}")
    if verbose:
        for r in rows:
            print(f"  {r['run']:<28}{r['mode']:<32} ours {r['ours']}  labelled {r['truth']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, nargs="+")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the runs the analyzer got wrong")
    args = ap.parse_args(argv)
    missing = [c for c in args.corpus if not (c / "runs").is_dir()]
    if missing:
        print(f"{missing[0]}: no runs/ folder", file=sys.stderr)
        return 2
    pooled: list[dict] = []
    for corpus in args.corpus:
        if len(args.corpus) > 1:
            print(f"\n===== {corpus}")
        res = evaluate(corpus, args.verbose)
        print_report(res, args.verbose)
        pooled += res["advice"]
    if len(args.corpus) > 1:
        print(f"\n===== pooled over {len(args.corpus)} sets")
        _print_advice(pooled, False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
