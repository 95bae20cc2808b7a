"""Learning-rate sweeps: several runs of one setup at different LRs.

Runs are grouped by the folder that holds them (the folder above each run's own
folder, skipping framework sub-folders such as ``lightning_logs/version_0``).
Inside a folder, runs whose names differ only by an LR token (``UNet_lr1e_3``,
``UNet_lr5e_4``) form one sweep; runs named without an LR are a sweep when they
look like one setup (same format, same logged tags, same schedule kind, same
length). Each run's LR comes from its name or folder name, its hyper-parameters
(``lr``, ``learning_rate`` ...) or the peak of its logged LR.

Per sweep: ``best_lr`` (lowest final validation loss, else smoothed final training loss:
the ranking metric, which every point carries as ``ranking_value`` so charts plot exactly
what ranks), ``max_stable_lr`` (largest LR whose run neither diverged, failed to learn nor
oscillated) and ``suggested_lr`` with the reason for it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from parsers import Run

from .findings import Mode, RunAnalysis, SweepAnalysis
from . import divergence
from .schedule import infer_schedule
from .signals import SCHEDULE_POINTS

MIN_SWEEP_RUNS = 3
# Divergence as in the corpus vocabulary: loss non-finite or >= 10x its first value,
# after which a 21-step rolling median never gets back below 0.9x the first value.
DIVERGE_FACTOR = divergence.EXPLOSION_FACTOR
RECOVER_FACTOR = divergence.RECOVERY_FRACTION
RECOVER_WINDOW = divergence.RECOVERY_WINDOW
# Failed to learn: the final training loss is still >= 90% of the first.
FAILED_FACTOR = 0.9
# Final validation loss: mean of the last evaluations (one is too noisy).
FINAL_VAL_POINTS = 3
# Final training loss: median of the last 5% of points (at least 3), robust to minibatch noise.
FINAL_TRAIN_FRACTION = 0.05
FINAL_TRAIN_MIN_POINTS = 3
# LRs whose final loss is within 5% of the best are "as good": the suggestion leans
# toward their geometric middle (a flat optimum is safer in its middle).
NEAR_BEST_TOLERANCE = 0.05
# What the ranking metric is, in words (the chart's axis says the same).
METRIC_LABELS = {"final_val_loss": "final validation loss (mean of the last 3 evaluations)",
                 "final_loss": "final training loss (median of the last 5% of steps)"}
# Unnamed runs in one folder are one setup only when their lengths agree this well.
SAME_LENGTH_TOLERANCE = 0.05
# The loss before any update depends on the model and data, not on the LR: runs of
# one setup start within this relative spread of their median first loss.
SAME_START_TOLERANCE = 0.15
# Two LRs closer than this ratio are the same grid point (float formatting).
SAME_LR_RTOL = 1e-3

# Framework sub-folders below a run's own folder (not the run's identity).
_GENERIC_DIR = re.compile(
    r"^(version_\d+|lightning_logs|checkpoint-\d+|files|wandb|logs?|train|training|"
    r"validation|valid|val|eval|events?|tb|tensorboard|output|outputs|metrics)$",
    re.IGNORECASE,
)
# An LR token in a run name: lr_3e-2, lr2e_4 (= 2e-4), lr=0.001, LR_1e-3, learning_rate-3e-4.
_LR_TOKEN = re.compile(
    r"(?<![a-z])(?:lr|learning[_-]?rate)[_=:\-]?"
    r"((?:\d+(?:\.\d*)?|\.\d+)(?:e[_\-+]?\d+)?)",
    re.IGNORECASE,
)
_LR_KEYS = {"lr", "learning_rate", "learningrate", "max_lr", "peak_lr", "base_lr", "init_lr",
            "initial_lr"}


# -- LR of a run ---------------------------------------------------------------
def lr_from_name(name: str) -> float | None:
    """The LR written in a run name (``lr2e_4`` -> 2e-4, ``lr=0.001``), or None."""
    match = _LR_TOKEN.search(name)
    if not match:
        return None
    text = re.sub(r"e_", "e-", match.group(1), flags=re.IGNORECASE)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _name_template(name: str) -> str | None:
    match = _LR_TOKEN.search(name)
    return None if match is None else name[: match.start(1)] + "<lr>" + name[match.end(1):]


def _search_meta(obj: Any, depth: int = 0) -> float | None:
    if depth > 4:
        return None
    if isinstance(obj, str) and obj.strip().startswith("{"):
        try:
            obj = ast.literal_eval(obj.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    if not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        leaf = re.split(r"[./]", str(key))[-1].lower()
        if leaf in _LR_KEYS:
            try:
                val = float(value)
            except (TypeError, ValueError):
                continue
            if np.isfinite(val) and val > 0:
                return val
    for value in obj.values():
        found = _search_meta(value, depth + 1)
        if found is not None:
            return found
    return None


def run_lr(run: Run, unit_name: str | None = None) -> tuple[float | None, str]:
    """The run's LR and where it came from: ``name``, ``folder``, ``hparams``, ``logged_peak``."""
    value = lr_from_name(run.name)
    if value is not None:
        return value, "name"
    if unit_name:
        value = lr_from_name(unit_name)
        if value is not None:
            return value, "folder"
    value = _search_meta(run.meta)
    if value is not None:
        return value, "hparams"
    lr = run.role_arrays("lr")
    if lr is not None:
        vals = lr[2]
        vals = vals[np.isfinite(vals)]
        if len(vals) and vals.max() > 0:
            return float(vals.max()), "logged_peak"
    return None, "none"


# -- outcome of a run --------------------------------------------------------------
def _finite_loss(run: Run, role: str) -> np.ndarray:
    arrays = run.role_arrays(role)
    return np.array([]) if arrays is None else arrays[2]


def run_outcome(run: Run) -> dict[str, Any]:
    """Final train/val loss, divergence and failure-to-learn of one run."""
    loss = _finite_loss(run, "train_loss")
    out: dict[str, Any] = {"final_loss": None, "final_val_loss": None, "initial_loss": None,
                           "diverged": False, "failed": False}
    finite = np.isfinite(loss)
    if finite.any():
        l0 = float(loss[np.flatnonzero(finite)[0]])
        out["initial_loss"] = l0
        bad = ~finite | (loss >= DIVERGE_FACTOR * abs(l0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            rolled = (pd.Series(np.where(finite, loss, np.inf))
                      .rolling(RECOVER_WINDOW, min_periods=1).median().to_numpy())
            out["diverged"] = not bool(np.any(rolled[first:] < RECOVER_FACTOR * l0))
            if out["diverged"]:
                out["diverged_at_index"] = first
        tail_n = max(FINAL_TRAIN_MIN_POINTS, int(len(loss) * FINAL_TRAIN_FRACTION))
        tail = loss[-tail_n:]
        final = float(np.median(tail)) if np.all(np.isfinite(tail)) else float("nan")
        out["final_loss"] = final if np.isfinite(final) else None
        out["failed"] = (not out["diverged"]) and (
            out["final_loss"] is None or out["final_loss"] >= FAILED_FACTOR * l0)
    elif len(loss):
        out["diverged"] = True
    val = _finite_loss(run, "val_loss")
    if len(val):
        last = val[-FINAL_VAL_POINTS:]
        if np.all(np.isfinite(last)):
            out["final_val_loss"] = float(np.mean(last))
    return out


# -- grouping ----------------------------------------------------------------------
def _unit_and_parent(run: Run) -> tuple[Path, Path]:
    """The run's own folder (framework sub-folders skipped) and the folder holding it."""
    path = Path(run.path)
    unit = path if path.suffix == "" or path.is_dir() else path.parent
    while _GENERIC_DIR.match(unit.name) and unit.parent != unit:
        unit = unit.parent
    return unit, unit.parent


def _length(run: Run) -> int:
    rng = run.step_range
    return 0 if rng is None else rng[1] - rng[0]


def _schedule_kind(run: Run, analysis: RunAnalysis | None) -> str:
    """The schedule kind of the run's whole logged LR series (``none`` without an LR tag).

    The run's own analysis fitted its schedule on the same series when that series has one point
    per step, in order, and no more than the analysis samples (:data:`SCHEDULE_POINTS`): its kind is
    then this one, taken instead of fitted again (a fleet's folders hold hundreds of runs).
    """
    lr = run.role_arrays("lr")
    if lr is None:
        return "none"
    steps, _, values = lr
    if (analysis is not None and analysis.schedule.kind != "unknown" and len(steps) <= SCHEDULE_POINTS
            and bool(np.all(np.diff(steps) > 0))):
        return analysis.schedule.kind
    return infer_schedule(steps, values).kind


def _same_setup(runs: list[Run], analyses: dict[int, RunAnalysis]) -> list[Run]:
    """The largest subset of unnamed runs that look like one setup (``analyses`` by run id)."""
    keys: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        kind = _schedule_kind(run, analyses.get(id(run)))
        tags = tuple(sorted(t for t, r in run.roles.items() if r in ("train_loss", "val_loss", "lr")))
        keys[(run.format, tags, kind)].append(run)
    best: list[Run] = []
    for group in keys.values():
        lengths = np.array([_length(r) for r in group], dtype=np.float64)
        ref = np.median(lengths)
        same = [r for r, n in zip(group, lengths) if abs(n - ref) <= SAME_LENGTH_TOLERANCE * max(ref, 1)]
        starts = np.array([_first_loss(r) for r in same], dtype=np.float64)
        if len(same) == 0 or not np.all(np.isfinite(starts)):
            continue
        mid = np.median(starts)
        same = [r for r, l0 in zip(same, starts)
                if abs(l0 - mid) <= SAME_START_TOLERANCE * max(abs(mid), 1e-12)]
        if len(same) > len(best):
            best = same
    return best


def _first_loss(run: Run) -> float:
    loss = _finite_loss(run, "train_loss")
    loss = loss[np.isfinite(loss)]
    return float(loss[0]) if len(loss) else float("nan")


def _distinct_lrs(lrs: Iterable[float]) -> int:
    vals = np.sort(np.log(np.asarray(list(lrs), dtype=np.float64)))
    return 0 if len(vals) == 0 else 1 + int(np.sum(np.diff(vals) > np.log1p(SAME_LR_RTOL)))


def _is_sweep(rows: list[tuple[Run, float, str]]) -> bool:
    return len(rows) >= MIN_SWEEP_RUNS and _distinct_lrs(r[1] for r in rows) >= MIN_SWEEP_RUNS


def _groups(runs: list[Run], analyses: dict[int, RunAnalysis] | None = None
            ) -> list[tuple[Path, list[tuple[Run, float, str]]]]:
    by_parent: dict[Path, list[tuple[Run, Path]]] = defaultdict(list)
    for run in runs:
        unit, parent = _unit_and_parent(run)
        by_parent[parent].append((run, unit))
    out = []
    for parent, members in by_parent.items():
        templated: dict[str, list[Run]] = defaultdict(list)
        unnamed: list[Run] = []
        for run, unit in members:
            tpl = _name_template(run.name) or _name_template(unit.name)
            if tpl is not None:
                # Runs of one template share everything in the name but the LR.
                templated[tpl if _name_template(run.name) else "folder:" + tpl].append(run)
            else:
                unnamed.append(run)
        units = {id(run): unit for run, unit in members}
        lrs: dict[int, tuple[Run, float | None, str]] = {}

        def rows_of(group: list[Run]) -> list[tuple[Run, float, str]]:
            for run in group:
                if id(run) not in lrs:
                    lrs[id(run)] = (run, *run_lr(run, units[id(run)].name))
            return [row for row in (lrs[id(run)] for run in group) if row[1] is not None]  # type: ignore[misc]

        candidates = list(templated.values())
        # Only a subset of the unnamed runs can be a sweep: when all of them together do not hold
        # enough distinct LRs, none of their subsets does (and their setups need not be compared).
        if len(unnamed) >= MIN_SWEEP_RUNS and _is_sweep(rows_of(unnamed)):
            candidates.append(_same_setup(unnamed, analyses or {}))
        for group in candidates:
            rows = rows_of(group)
            if _is_sweep(rows):
                # The sweep's folder: the one folder holding every member (log files side by side in
                # one run folder, as detectron2's output/ holds a log per LR), else the parent.
                held = {units[id(run)] for run, _, _ in rows}
                folder = held.pop() if len(held) == 1 else parent
                out.append((folder, sorted(rows, key=lambda r: r[1])))
    return out


# -- the sweep verdict ---------------------------------------------------------------
def _diverged_by_analysis(analyses: list[RunAnalysis] | None) -> set[int]:
    if not analyses:
        return set()
    return {id(a.run) for a in analyses if any(f.mode == Mode.DIVERGED for f in a.findings)}


def analyze_sweep(path: str, rows: list[tuple[Run, float, str]],
                  diverged_ids: set[int] | None = None) -> SweepAnalysis:
    """Best, largest stable and suggested LR of one group of (run, lr, lr_source)."""
    diverged_ids = diverged_ids or set()
    points = []
    for run, lr, source in rows:
        outcome = run_outcome(run)
        diverged = outcome["diverged"] or id(run) in diverged_ids
        points.append({"name": run.name, "path": run.path, "lr": lr, "lr_source": source,
                       "final_loss": outcome["final_loss"],
                       "final_val_loss": outcome["final_val_loss"],
                       "diverged": diverged, "failed": (not diverged) and outcome["failed"]})
    ok = [p for p in points if not p["diverged"] and not p["failed"]]
    use_val = bool(ok) and all(p["final_val_loss"] is not None for p in ok)
    metric = "final_val_loss" if use_val else "final_loss"
    for p in points:
        p["ranking_value"] = p[metric]
        p["oscillating"] = False
    scored = [p for p in ok if p[metric] is not None]
    best_lr = max_stable = suggested = None
    near: list[float] = []
    reason = "no run of the sweep finished without diverging or failing to learn"
    if scored:
        best = min(scored, key=lambda p: p[metric])
        best_lr = best["lr"]
        max_stable = max(p["lr"] for p in ok)
        tol = NEAR_BEST_TOLERANCE * abs(best[metric])
        near = sorted(p["lr"] for p in scored if p[metric] <= best[metric] + tol)
        suggested, reason = _suggest(best_lr, near, max_stable)
    details = {
        "metric": metric,
        "metric_label": METRIC_LABELS[metric],
        "lrs_within_5pct_of_best": near,
        "max_stable_is_grid_top": bool(points) and not any(
            p["diverged"] or p["failed"] for p in points),
        "lr_sources": sorted({p["lr_source"] for p in points}),
        "suggested_reason": reason,
    }
    return SweepAnalysis(path=path, run_keys=[run.key for run, _, _ in rows], best_lr=best_lr,
                         max_stable_lr=max_stable, suggested_lr=suggested, points=points,
                         details=details)


def _suggest(best_lr: float, near: list[float], max_stable: float) -> tuple[float, str]:
    """The sweep's suggested LR and why it differs from the best one (if it does)."""
    middle = float(np.exp(np.mean(np.log(near))))
    suggested = min(float(np.sqrt(best_lr * middle)), max_stable)
    if len(near) <= 1:
        return suggested, f"the best LR: no other LR of the sweep ends within {NEAR_BEST_TOLERANCE:.0%} of it"
    if suggested >= max_stable and max_stable < float(np.sqrt(best_lr * middle)):
        return suggested, "capped at the largest stable LR"
    where = "below" if suggested < best_lr else "above"
    return suggested, (
        f"{where} the best LR, toward the middle of the {len(near)} LRs ending within "
        f"{NEAR_BEST_TOLERANCE:.0%} of it ({', '.join(f'{x:.1e}' for x in near)}): a flat optimum is safest "
        "in its middle")


def mark_unstable(sweeps: list[SweepAnalysis], analyses: list[RunAnalysis]) -> None:
    """Flag members the detectors found oscillating (or diverged) and take them out of the
    largest stable LR (and the suggestion, which never exceeds it)."""
    bad = {(a.run.name, str(a.run.path)): {f.mode for f in a.findings} & {"oscillating", "diverged"}
           for a in analyses}
    for sw in sweeps:
        changed = False
        for p in sw.points:
            modes = bad.get((p["name"], str(p["path"]))) or set()
            if "oscillating" in modes and not p["oscillating"]:
                p["oscillating"] = changed = True
            if "diverged" in modes and not p["diverged"]:
                p["diverged"] = changed = True
        if not changed:
            continue
        stable = [p["lr"] for p in sw.points if not (p["diverged"] or p["failed"] or p["oscillating"])]
        sw.max_stable_lr = max(stable) if stable else None
        sw.details["max_stable_is_grid_top"] = False
        if sw.suggested_lr is not None and sw.max_stable_lr is not None and sw.suggested_lr > sw.max_stable_lr:
            sw.suggested_lr = sw.max_stable_lr
            sw.details["suggested_reason"] = "capped at the largest stable LR (larger ones oscillated)"


def find_sweeps(runs: list[Run], analyses: list[RunAnalysis] | None = None) -> list[SweepAnalysis]:
    """Find LR sweeps among ``runs`` and analyse each one.

    ``analyses`` (optional, any order) lets a ``diverged`` finding of the detectors
    count as divergence too.
    """
    diverged_ids = _diverged_by_analysis(analyses)
    by_run = {id(a.run): a for a in analyses or ()}
    return [analyze_sweep(folder_text(parent), rows, diverged_ids) for parent, rows in _groups(list(runs), by_run)]


# A URL scheme that Path folded (``s3://bucket/x`` -> ``s3:/bucket/x``); two letters at least, so a
# Windows drive (``C:``) is never taken for one.
_FOLDED_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)")


def folder_text(folder: Path) -> str:
    """A sweep's folder as the user wrote it: runs read from a bucket keep their ``s3://`` form."""
    return _FOLDED_URL.sub(r"\1://", str(folder))
