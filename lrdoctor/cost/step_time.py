"""Seconds per training step from the log's own clock, with pauses told apart.

The clock comes from the scalars' ``wall_time`` (TensorBoard, MLflow, W&B run
folders), a W&B ``_timestamp``/``_runtime`` series when a reader keeps those as tags,
Hugging Face's ``train_runtime / global_step``, or a time per step the log writes itself
(nanoGPT ``time 2.65ms``, detectron2's per-iteration ``time``). The time per step is measured on
consecutive points of the densest timed tag; gaps far above the typical step
(evaluation, checkpointing, a crash and a restart) are *pauses*: excluded from the
per-step time and reported on their own. Without a clock the user's assumption is
used and labelled ``"assumed"``; with neither, nothing is invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import median_abs_deviation

from parsers import Run

# A gap is a pause when its seconds per step exceed both 5x the median (an evaluation or a
# checkpoint costs several steps' worth) and the median + 10 scaled MADs (so a noisy but
# regular step time never counts as paused).
PAUSE_MEDIAN_FACTOR = 5.0
PAUSE_MAD_FACTOR = 10.0
# A gap whose step jump is this many times the usual logging stride is a hole in the log
# (steps written by another process, or never logged): its wall time is not known to be
# compute, so it is reported but not costed.
HOLE_STRIDE_FACTOR = 5.0
# Fewer timed intervals than this cannot give a per-step time worth reporting.
MIN_INTERVALS = 2
# W&B history keys that carry the clock when a reader keeps them as ordinary tags.
CLOCK_TAGS: tuple[str, ...] = ("_timestamp", "_runtime")

LOGGED = "logged"
ASSUMED = "assumed"


@dataclass
class Pause:
    """A gap in the log's clock far above the typical step."""

    step: int  # the first point after the gap
    prev_step: int  # the last point before it
    seconds: float  # wall time beyond what the steps in between would normally take
    # "pause": evaluation/checkpoint/stall, costed in the step range that holds it;
    # "restart": at a resume that repeated steps; "hole": steps missing (another session ran them).
    kind: str

    @property
    def costed(self) -> bool:
        """Whether the pause counts as GPU time (the process was alive and holding the GPU)."""
        return self.kind == "pause"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"step": self.step, "prev_step": self.prev_step, "seconds": round(self.seconds, 3), "kind": self.kind}


@dataclass
class StepTime:
    """How long one step takes and where that number comes from."""

    seconds_per_step: float | None
    source: str | None  # "logged" | "assumed" | None (cannot be estimated)
    method: str
    tag: str | None = None
    median_s: float | None = None
    intervals: int = 0
    pauses: list[Pause] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def pause_seconds(self, lo: float = -np.inf, hi: float = np.inf, costed_only: bool = True) -> float:
        """Total pause seconds whose gap ends in the step range ``(lo, hi]``."""
        return float(
            sum(p.seconds for p in self.pauses if lo < p.step <= hi and (p.costed or not costed_only))
        )

    def pauses_summary(self) -> dict[str, Any]:
        """Count, total seconds and the largest pause (with its step)."""
        if not self.pauses:
            return {"count": 0, "total_s": 0.0, "largest_s": None, "largest_at_step": None, "items": []}
        largest = max(self.pauses, key=lambda p: p.seconds)
        return {
            "count": len(self.pauses),
            "total_s": round(sum(p.seconds for p in self.pauses), 3),
            "largest_s": round(largest.seconds, 3),
            "largest_at_step": largest.step,
            "items": [p.to_dict() for p in self.pauses],
        }


def _clock_frame(run: Run) -> tuple[pd.DataFrame | None, str | None]:
    """``step, wall`` of the densest tag with a clock, one row per step, sorted."""
    df = run.scalars
    if df.empty:
        return None, None
    timed = df[np.isfinite(df["wall_time"].to_numpy())]
    if len(timed):
        counts = timed.groupby("tag", observed=True).size()
        tag = str(counts.idxmax())
        sel = timed.loc[timed["tag"] == tag, ["step", "wall_time"]].rename(columns={"wall_time": "wall"})
    else:
        clock = next((t for t in CLOCK_TAGS if t in set(df["tag"].astype(object))), None)
        if clock is None:
            return None, None
        tag = clock
        sel = df.loc[df["tag"] == clock, ["step", "value"]].rename(columns={"value": "wall"})
        sel = sel[np.isfinite(sel["wall"].to_numpy())]
    # A step logged twice (a resume that was not merged): the later clock reading is the one
    # that led to the following steps.
    sel = sel.sort_values(["step", "wall"], kind="stable").drop_duplicates("step", keep="last")
    return sel.reset_index(drop=True), tag


def _restart_steps(run: Run) -> list[tuple[int, int]]:
    return [(int(o.step_start), int(o.step_end)) for o in run.overlaps]


def measure_step_time(run: Run) -> StepTime | None:
    """Seconds per step from the run's own clock, or None when the log has none."""
    frame, tag = _clock_frame(run)
    if frame is None or len(frame) < MIN_INTERVALS + 1:
        return _no_clock(run)
    steps = frame["step"].to_numpy(np.int64)
    wall = frame["wall"].to_numpy(np.float64)
    d_step = np.diff(steps).astype(np.float64)
    d_wall = np.diff(wall)
    notes: list[str] = []
    backwards = d_wall < 0
    if backwards.any():
        notes.append(f"{int(backwards.sum())} interval(s) where the clock runs backwards were ignored")
    ok = ~backwards
    if ok.sum() < MIN_INTERVALS:
        return _no_clock(run)
    rate = d_wall / d_step
    median = float(np.median(rate[ok]))
    mad = float(median_abs_deviation(rate[ok], scale="normal"))
    typical = median if median > 0 else float(d_wall[ok].sum() / d_step[ok].sum())
    threshold = max(PAUSE_MEDIAN_FACTOR * typical, typical + PAUSE_MAD_FACTOR * mad)
    paused = ok & (rate > threshold)
    steady = ok & ~paused
    if steady.sum() == 0 or d_step[steady].sum() == 0:
        return _no_clock(run)
    # The mean over steady intervals (not the median) because costs add up seconds: the
    # median of a right-skewed step time would undercount; pauses are already out.
    seconds = float(d_wall[steady].sum() / d_step[steady].sum())
    stride = float(np.median(d_step[ok]))
    restarts = _restart_steps(run)
    pauses: list[Pause] = []
    for i in np.flatnonzero(paused):
        step, prev = int(steps[i + 1]), int(steps[i])
        excess = float(d_wall[i] - d_step[i] * seconds)
        if any(lo <= step <= hi + 1 for lo, hi in restarts):
            kind = "restart"
        elif d_step[i] > HOLE_STRIDE_FACTOR * stride:
            kind = "hole"
        else:
            kind = "pause"
        pauses.append(Pause(step=step, prev_step=prev, seconds=excess, kind=kind))
    return StepTime(
        seconds_per_step=seconds,
        source=LOGGED,
        method=f"wall clock of '{tag}' over {int(steady.sum())} steady intervals, pauses excluded",
        tag=tag,
        median_s=median,
        intervals=int(ok.sum()),
        pauses=pauses,
        notes=notes,
    )


# Tags that hold a whole run's seconds (Hugging Face's ``train_runtime`` printed in a console log),
# not a time per step: divided by the steps they cover.
RUNTIME_WORDS = ("runtime",)
# Tags with the step_time role that are not the time of a step: the time left (detectron2
# ``eta_seconds``) and the data-loading share of a step (``data_time``, inside ``time``).
NOT_STEP_TIME = ("eta", "data_time", "data time")
# Seconds per unit of a logged duration (text logs keep the unit written after the number).
UNIT_SECONDS = {"ms": 1e-3, "s": 1.0}


def _step_time_tags(run: Run) -> list[str]:
    """Tags holding a logged time per step (or a total runtime), the most direct first."""
    tags = [t for t, role in run.roles.items() if role == "step_time"
            and not any(w in str(t).lower() for w in NOT_STEP_TIME)]
    return sorted(tags, key=lambda t: (any(w in str(t).lower() for w in RUNTIME_WORDS), len(str(t))))


def _logged_step_time(run: Run) -> StepTime | None:
    """Seconds per step from a logged duration: nanoGPT ``time 2.65ms``, detectron2's per-iteration
    ``time``, a build-nanogpt ``dt``; or a total ``train_runtime`` over the steps it covers.

    Outliers (the first iterations compiling, a step that also evaluated) are left out like the
    clock's pauses: above both 5x the median and the median + 10 scaled MADs.
    """
    units = run.meta.get("units") if isinstance(run.meta.get("units"), dict) else {}
    for tag in _step_time_tags(run):
        df = run.scalars.loc[run.scalars["tag"] == tag, ["step", "value"]]
        values = df["value"].to_numpy(np.float64)
        ok = np.isfinite(values) & (values > 0)
        if not ok.any():
            continue
        unit = str(units.get(tag, "s")).lower()
        scale = UNIT_SECONDS.get(unit, 1.0)
        if any(w in str(tag).lower() for w in RUNTIME_WORDS):
            rng = run.step_range
            if rng is None or rng[1] <= 0:
                continue
            seconds = float(values[ok][-1]) * scale / rng[1]
            return StepTime(seconds_per_step=seconds, source=LOGGED, tag=tag,
                            method=f"'{tag}' (the run's total seconds) over its {rng[1]:,} steps")
        vals = values[ok] * scale
        median = float(np.median(vals))
        mad = float(median_abs_deviation(vals, scale="normal")) if len(vals) > 1 else 0.0
        threshold = max(PAUSE_MEDIAN_FACTOR * median, median + PAUSE_MAD_FACTOR * mad)
        steady = vals[vals <= threshold]
        notes = []
        if len(steady) < len(vals):
            notes.append(f"{len(vals) - len(steady)} logged step time(s) far above the usual "
                         "(compilation, evaluation) left out of the per-step time")
        # the mean, not the median: costs add up seconds (as with the clock's steady intervals)
        return StepTime(seconds_per_step=float(steady.mean()), source=LOGGED, tag=tag, median_s=median,
                        intervals=int(len(steady)), notes=notes,
                        method=f"per-step time logged as '{tag}'" + (f" ({unit})" if tag in units else "")
                        + f", mean of {len(steady)} values")
    return None


def _no_clock(run: Run) -> StepTime | None:
    """Without per-point timestamps: the Trainer's own runtime, else a logged per-step time."""
    return _trainer_runtime(run) or _logged_step_time(run)


def _trainer_runtime(run: Run) -> StepTime | None:
    """Hugging Face: ``train_runtime / global_step`` (the Trainer's own clock, no per-point stamps)."""
    runtime, steps = run.meta.get("train_runtime"), run.meta.get("global_step")
    try:
        runtime, steps = float(runtime), float(steps)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(runtime) and runtime > 0 and steps > 0):
        return None
    return StepTime(
        seconds_per_step=runtime / steps,
        source=LOGGED,
        method="train_runtime / global_step from trainer_state.json (evaluation included, no pause detail)",
        notes=["a resumed Trainer counts only the last session in train_runtime; the time per step may be low"],
    )


def step_time_for(run: Run, assumed: tuple[float, str] | None) -> StepTime:
    """The logged step time, else the user's assumption, else an explicit "cannot estimate"."""
    logged = measure_step_time(run)
    if logged is not None:
        if assumed is not None:
            logged.notes.append(f"the log has its own clock; the assumed step time ({assumed[1]}) was not used")
        return logged
    if assumed is not None:
        return StepTime(seconds_per_step=assumed[0], source=ASSUMED, method=assumed[1])
    return StepTime(
        seconds_per_step=None,
        source=None,
        method="none",
        notes=["the log has no wall clock: give --step-time (or a throughput) to cost this run"],
    )
