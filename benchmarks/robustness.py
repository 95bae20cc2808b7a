"""Robustness of the diagnosis to the ways real logs differ from ours (issue #12).

Usage: ``python benchmarks/robustness.py CORPUS_DIR [CORPUS_DIR ...] [--variants a,b] [-v]``

Every labelled single run of a corpus laid out like ``../shared/corpus`` (``runs/<run>/labels.json``)
is re-logged in each of these ways and analysed again; the labels stay the same (the training did
not change, only how it was logged):

- ``as_logged``: the corpus files themselves;
- ``relogged``: the same curves written again as W&B chart exports (the control for the others);
- ``floor+0.25x``, ``floor+1x``, ``floor+5x``: a constant added to both losses (0.25, 1 and 5 times
  the initial loss: an entropy floor, a regulariser, summed multi-task terms);
- ``scale_x100``: both losses multiplied by 100;
- ``every_5th``, ``every_10th``, ``every_50th``: the train-side curves (loss, LR, grad norm) logged
  every k-th step only (evaluations as they were);
- ``wandb_100``, ``wandb_500``: train-side curves bucketed to about 100 / 500 points, mean with the
  bucket ``__MIN``/``__MAX``, the way the W&B chart export writes them;
- ``no_lr``: the LR curve not logged (``plateau`` and ``decayed_too_early``, which need it, are left
  out of the score for this variant);
- ``renamed_objective``: only the training-loss key renamed ``objective``.

Re-logged runs are written as W&B panel CSVs (``"Step","<run> - <key>","<run> - <key>__MIN",
"<run> - <key>__MAX"``, one file per chart) and read back with ``parsers.load``, so the readers
are exercised too. Prints, per variant, the macro-F1 over the modes present, the false-alarm
rate on healthy runs, and how many labelled modes the analysis said it could not see at that
density (its ``not_checked``, e.g. a 3-step spike on a log kept every 10th step): those are
left out of that run's score rather than counted as misses, and the count keeps that visible.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import parsers
from lrdoctor.analysis import MODES, analyze

# Modes that cannot be judged without the LR curve (left out of the no_lr score).
NEEDS_LR = frozenset({"plateau", "decayed_too_early"})
# W&B panel keys for each role; the run name is the chart's legend.
KEYS = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr", "grad_norm": "train/grad_norm"}
TRAIN_SIDE = ("train_loss", "lr", "grad_norm")
RUN_NAME = "relog-run"

Series = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # role -> steps, mean, min, max


@dataclass
class Variant:
    """One way of re-logging: a transform of the role series (None = the corpus files as they are)."""

    name: str
    transform: Callable[[Series], Series] | None
    excluded: frozenset[str] = frozenset()
    keys: dict[str, str] = field(default_factory=lambda: dict(KEYS))


def _initial(series: Series) -> float:
    _, v, _, _ = series["train_loss"]
    fin = v[np.isfinite(v)]
    return float(abs(fin[0])) if len(fin) else 1.0


def _map_losses(series: Series, f: Callable[[np.ndarray], np.ndarray]) -> Series:
    out = dict(series)
    for role in ("train_loss", "val_loss"):
        if role in out:
            s, v, lo, hi = out[role]
            out[role] = (s, f(v), f(lo), f(hi))
    return out


def offset(k: float) -> Callable[[Series], Series]:
    """Add ``k`` x the initial loss to both losses."""
    def t(series: Series) -> Series:
        c = k * _initial(series)
        return _map_losses(series, lambda v: v + c)
    return t


def scale(k: float) -> Callable[[Series], Series]:
    """Multiply both losses by ``k``."""
    return lambda series: _map_losses(series, lambda v: v * k)


def every(k: int) -> Callable[[Series], Series]:
    """Keep the train-side points at every k-th step (from the first)."""
    def t(series: Series) -> Series:
        out = dict(series)
        for role in TRAIN_SIDE:
            if role in out:
                s, v, lo, hi = out[role]
                keep = (s - s[0]) % k == 0
                out[role] = (s[keep], v[keep], v[keep], v[keep])
        return out
    return t


def bucket(n: int) -> Callable[[Series], Series]:
    """Bucket the train-side curves to about ``n`` points: mean with min/max (W&B chart export)."""
    def t(series: Series) -> Series:
        out = dict(series)
        span = max(float(series["train_loss"][0][-1] - series["train_loss"][0][0]), 1.0)
        width = max(1, int(math.ceil((span + 1) / n)))
        for role in TRAIN_SIDE:
            if role not in out:
                continue
            s, v, lo, hi = out[role]
            if len(s) <= n:
                continue
            b = (s - s[0]) // width
            starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
            with np.errstate(invalid="ignore", over="ignore"):
                mean = np.add.reduceat(v, starts) / np.diff(np.r_[starts, len(v)])
                mn = np.minimum.reduceat(lo, starts)
                mx = np.maximum.reduceat(hi, starts)
            out[role] = (s[starts], mean, mn, mx)
        return out
    return t


def drop_lr(series: Series) -> Series:
    """The LR curve not logged."""
    return {k: v for k, v in series.items() if k != "lr"}


VARIANTS = [
    Variant("as_logged", None),
    Variant("relogged", lambda s: s),
    Variant("floor+0.25x", offset(0.25)),
    Variant("floor+1x", offset(1.0)),
    Variant("floor+5x", offset(5.0)),
    Variant("scale_x100", scale(100.0)),
    Variant("every_5th", every(5)),
    Variant("every_10th", every(10)),
    Variant("every_50th", every(50)),
    Variant("wandb_100", bucket(100)),
    Variant("wandb_500", bucket(500)),
    Variant("no_lr", drop_lr, NEEDS_LR),
    Variant("renamed_objective", lambda s: s, keys={**KEYS, "train_loss": "objective"}),
]


def _wnum(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(float(x))


def role_series(run: parsers.Run, labels: dict) -> Series:
    """The run's curves by role (tags from the labels, so role inference plays no part here)."""
    out: Series = {}
    bands = (run.meta or {}).get("bands", {})
    for role in KEYS:
        tag = labels.get("series", {}).get(role)
        if tag is None or tag not in set(run.scalars["tag"].unique()):
            continue
        df = run.series(tag).drop_duplicates("step", keep="last").sort_values("step")
        s, v = df["step"].to_numpy(np.int64), df["value"].to_numpy(np.float64)
        lo, hi = v.copy(), v.copy()
        band = bands.get(tag)
        if band is not None and len(band):
            b = band.drop_duplicates("step", keep="last").set_index("step").reindex(s)
            lo = np.where(b["min"].notna(), b["min"].to_numpy(np.float64), v)
            hi = np.where(b["max"].notna(), b["max"].to_numpy(np.float64), v)
        out[role] = (s, v, lo, hi)
    return out


def write_wandb(folder: Path, series: Series, keys: dict[str, str]) -> None:
    """One W&B panel CSV per curve, as the chart export writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (role, (s, v, lo, hi)) in enumerate(series.items()):
        col = f"{RUN_NAME} - {keys[role]}"
        with open(folder / f"wandb_export_2026-12-02T10_00_{i:02d}.000+01_00.csv", "w", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_ALL)
            w.writerow(["Step", col, col + "__MIN", col + "__MAX"])
            for row in zip(s, v, lo, hi):
                w.writerow([str(int(row[0])), _wnum(row[1]), _wnum(row[2]), _wnum(row[3])])


@dataclass
class Score:
    """Counts of one variant."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {m: {"tp": 0, "fp": 0, "fn": 0} for m in MODES})
    healthy: int = 0
    alarms: int = 0
    runs: int = 0
    unseen: int = 0  # labelled modes the analysis said it could not check at this density
    mistakes: list[str] = field(default_factory=list)

    def add(self, name: str, truth: set[str], found: set[str], excluded: frozenset[str],
            unchecked: frozenset[str] = frozenset()) -> None:
        """Score one run. ``excluded``: modes the variant leaves out of every run's score;
        ``unchecked``: modes the analysis said it could not check on this run (``not_checked``) and
        did not claim: a labelled one of them is counted in ``unseen``, not as a miss."""
        labelled = bool(truth)  # a run labelled only with excluded modes is not a healthy run
        truth, found = truth - excluded, found - excluded
        said = (unchecked - found) & truth
        self.unseen += len(said)
        truth = truth - said
        self.runs += 1
        for m in MODES:
            if m in excluded:
                continue
            key = "tp" if m in found and m in truth else "fp" if m in found else "fn" if m in truth else None
            if key:
                self.counts[m][key] += 1
        if not labelled:
            self.healthy += 1
            self.alarms += bool(found)
        if truth != found:
            self.mistakes.append(f"{name}: labels {sorted(truth) or ['healthy']}, found {sorted(found) or ['healthy']}")

    def macro_f1(self) -> float:
        f1s = []
        for c in self.counts.values():
            if c["tp"] + c["fn"] == 0:
                continue
            p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
            r = c["tp"] / (c["tp"] + c["fn"])
            f1s.append(2 * p * r / (p + r) if p + r else 0.0)
        return float(np.mean(f1s)) if f1s else float("nan")

    def f1(self, m: str) -> float:
        c = self.counts[m]
        if c["tp"] + c["fn"] == 0:
            return float("nan")
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"])
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(corpus: Path, variants: list[Variant], scratch: Path) -> dict[str, Score]:
    """Score every variant over the corpus's single runs."""
    scores = {v.name: Score() for v in variants}
    for folder in sorted((corpus / "runs").iterdir()):
        if not (folder / "labels.json").is_file():
            continue
        labels = json.loads((folder / "labels.json").read_text())
        truth = set(labels["modes"])
        runs = parsers.load(folder)
        if not runs:
            for v in variants:
                scores[v.name].add(folder.name, truth, {"<nothing loaded>"}, v.excluded)
            continue
        base = role_series(runs[0], labels)
        for v in variants:
            if v.transform is None:
                target = runs[:1]
            else:
                out = scratch / v.name / folder.name
                write_wandb(out, v.transform(base), v.keys)
                target = parsers.load(out)[:1]
            if target:
                ra = analyze(target).runs[0]
                found = {str(f.mode.value) for f in ra.findings}
                unchecked = frozenset(m for nc in ra.not_checked for m in nc.modes)
            else:
                found, unchecked = {"<nothing loaded>"}, frozenset()
            scores[v.name].add(folder.name, truth, found, v.excluded, unchecked)
    return scores


def _fmt(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def print_table(title: str, scores: dict[str, Score], verbose: bool) -> None:
    """One row per variant: macro-F1, false alarms, per-mode F1."""
    short = {"diverged": "div", "oscillating": "osc", "spikes": "spk", "lr_too_low": "low", "plateau": "plat",
             "no_warmup": "warm", "decayed_too_early": "decay", "overfitting": "ovf"}
    print(f"\n{title}")
    head = (f"{'variant':<19}{'macroF1':>8}{'false alarms':>15}{'said unseen':>12}"
            + "".join(f"{short[m]:>6}" for m in MODES))
    print(head)
    for name, sc in scores.items():
        fa = f"{sc.alarms}/{sc.healthy} {sc.alarms / sc.healthy:.0%}" if sc.healthy else "-"
        print(f"{name:<19}{_fmt(sc.macro_f1()):>8}{fa:>15}{sc.unseen:>12}"
              + "".join(f"{_fmt(sc.f1(m)):>6}" for m in MODES))
    if verbose:
        for name, sc in scores.items():
            if sc.mistakes:
                print(f"  [{name}]")
                for line in sc.mistakes:
                    print("    " + line)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, nargs="+")
    ap.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the runs each variant got wrong")
    args = ap.parse_args(argv)
    want = {v for v in args.variants.split(",") if v}
    variants = [v for v in VARIANTS if not want or v.name in want]
    if want - {v.name for v in VARIANTS}:
        ap.error(f"unknown variants {sorted(want - {v.name for v in VARIANTS})}")
    for corpus in args.corpus:
        if not (corpus / "runs").is_dir():
            print(f"{corpus}: no runs/ folder", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lrdoctor-robustness-") as tmp:
            scores = evaluate(corpus, variants, Path(tmp))
        n = next(iter(scores.values())).runs
        print_table(f"{corpus} ({n} runs, {time.perf_counter() - t0:.0f} s)", scores, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
