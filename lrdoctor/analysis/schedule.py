"""Infer the learning-rate schedule from the logged LR series.

The series is split into phases: a warmup (LR rising to its peak), a stable
part at the peak, and a decay. The decay is classified as piecewise constant
(``step``) or fitted with continuous models (linear, cosine, exponential) by least
squares (the floor in closed form, the shape searched in one dimension); the best fit wins. Whole-run shapes (one-cycle,
cyclic, warmup-stable-decay) are recognised from the phases.

Kinds: constant, step, exponential, cosine, linear, warmup_<base> for each of
those bases, one_cycle, wsd, cyclic, unknown (no usable LR).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.signal import find_peaks

from .findings import Schedule
from .signals import finite_sorted

# Relative tolerance for "the same LR": absorbs float formatting of logged LRs
# (4-6 significant digits) and bucket means of chart exports.
FLAT_RTOL = 2e-3
# A run "has no decay" when its LR never falls below this fraction of the peak after it.
NO_DECAY_MIN_RATIO = 0.95
# A warmup starts at most at this fraction of the peak (a schedule starting near the
# peak and wobbling up a little is not a warmup).
WARMUP_MAX_START = 0.6
# When the peak is only reached in the last part of the run, the LR is rising all
# along (e.g. an LR range test): the whole run is the schedule, not a warmup.
RISING_RUN_MIN_FRACTION = 0.9
# A peak-level stretch this long (fraction of the run) before a continuous decay
# makes a warmup-stable-decay schedule rather than a decay from the peak.
WSD_MIN_STABLE_FRACTION = 0.1
# One-cycle: the rise takes a sizeable part of the run (PyTorch's default pct_start
# is 0.3; warmups are usually a few percent).
ONE_CYCLE_MIN_RISE_FRACTION = 0.1
# PyTorch's OneCycleLR starts at max_lr / 25 (div_factor); a warmup starts near zero.
ONE_CYCLE_MIN_START = 0.02
# A linear one-cycle starts from a floor of at least this fraction of the peak, worth
# at least this many per-step increments of the rise (a warmup from zero: about one).
ONE_CYCLE_MIN_FLOOR = 0.002
ONE_CYCLE_FLOOR_INCREMENTS = 5.0
# A cosine-shaped rise must fit this much better (SSE ratio) than a linear one.
COSINE_RISE_SSE_RATIO = 0.5
# Step schedules: few drops (MultiStepLR rarely has more), each by at least this factor.
MAX_STEP_DROPS = 8
MIN_STEP_DROP_RATIO = 1.2
# A drop spans at most this many logged intervals (a chart bucket straddling it adds
# one intermediate point); a longer run of changes is a continuous decay.
MAX_DROP_INTERVALS = 2
# A step schedule is flat between drops for at least this share of its point pairs.
STEP_MIN_FLAT_SHARE = 0.85
# Cyclic: at least this many LR maxima separated by dips of this prominence (of the peak).
CYCLIC_MIN_PEAKS = 2
CYCLIC_MIN_PROMINENCE = 0.3
# The decay detector's threshold: LR at or below 2% of the peak is "practically zero".
NEAR_ZERO_FRACTION = 0.02
# Curve fits run on at most this many evenly spaced points (a 1M-point LR log has
# no more shape than a few thousand of its points show).
MAX_FIT_POINTS = 2000
# Fewer points than this in a decay cannot tell curve shapes apart.
MIN_FIT_POINTS = 4
# Decay fits search their shape parameter (decay length or rate) on a geometric grid of this
# many values across its whole range (the SSE is smooth in its log), then refine between the
# best one's neighbours to this tolerance in log units (0.01%: far below any reported digit).
PROFILE_GRID = 48
PROFILE_XTOL = 1e-4


def infer_schedule(steps: np.ndarray, lr: np.ndarray) -> Schedule:
    """Infer the schedule kind and its fitted parameters from a logged LR series.

    ``steps`` and ``lr`` are parallel arrays in any order; non-finite LRs are
    dropped and a step logged twice keeps its last value. Returns kind
    ``unknown`` when there is no positive, finite LR.
    """
    s, y = _clean(steps, lr)
    if len(s) == 0 or not np.any(y > 0):
        return Schedule("unknown", {})
    peak = float(y.max())
    params: dict[str, Any] = {
        "peak_lr": peak,
        "initial_lr": float(y[0]),
        "final_lr": float(y[-1]),
        "min_lr": float(y.min()),
        "first_step": int(s[0]),
        "last_step": int(s[-1]),
        "points": int(len(s)),
        "lr_below_2pct_of_peak_at_step": _below_fraction_from(s, y, peak, NEAR_ZERO_FRACTION),
    }
    if len(s) < 2:
        params.update(warmup_steps=0, r2=1.0)
        return Schedule("constant", params)
    yn = y / peak
    span = float(s[-1] - s[0])

    cyc = _cyclic(s, yn)
    if cyc is not None:
        params.update(cyc)
        return Schedule("cyclic", params)

    at_peak = np.flatnonzero(yn >= 1.0 - FLAT_RTOL)
    i_peak = int(at_peak[0])
    rise_fraction = float(s[i_peak] - s[0]) / span
    params["min_lr"] = float(y[i_peak:].min())  # the floor after the peak, not the warmup start
    has_rise = i_peak > 0 and yn[0] <= WARMUP_MAX_START

    if has_rise and rise_fraction >= RISING_RUN_MIN_FRACTION:
        kind, fit = _rising_run(s, yn)
        params.update(fit)
        params["warmup_steps"] = int(s[i_peak] - s[0]) if kind.startswith("warmup") else 0
        return Schedule(kind, _scaled(params, peak))

    warmup_steps = int(s[i_peak] - s[0]) if has_rise else 0
    params["warmup_steps"] = warmup_steps
    start = i_peak if has_rise else 0
    # The last index of the peak-level stretch that follows the (optional) rise.
    below = np.flatnonzero(yn[start:] < 1.0 - FLAT_RTOL)
    i_decay = start + (int(below[0]) - 1 if len(below) else len(yn) - 1 - start)
    i_decay = max(i_decay, start)
    params["decay_start_step"] = int(s[i_decay])
    stable_fraction = float(s[i_decay] - s[start]) / span

    post = yn[start:]
    if post.min() >= NO_DECAY_MIN_RATIO:
        params.update(decay_steps=0, r2=_r2(yn[start:], np.ones(len(post))))
        return Schedule("warmup_constant" if has_rise else "constant", _scaled(params, peak))

    step_fit = _step_fit(s[start:], yn[start:])
    if step_fit is not None:
        params.update(step_fit)
        return Schedule("warmup_step" if has_rise else "step", _scaled(params, peak))

    base, fit = _fit_decay(s[i_decay:], yn[i_decay:])
    params.update(fit)
    if has_rise and rise_fraction >= ONE_CYCLE_MIN_RISE_FRACTION and _one_cycle_rise(
        s[: i_peak + 1], yn[: i_peak + 1]
    ):
        params.update(pct_start=round(rise_fraction, 4))
        return Schedule("one_cycle", _scaled(params, peak))
    if stable_fraction >= WSD_MIN_STABLE_FRACTION:
        params["stable_steps"] = int(s[i_decay] - s[start])
        params["decay_shape"] = base
        return Schedule("wsd", _scaled(params, peak))
    return Schedule(f"warmup_{base}" if has_rise else base, _scaled(params, peak))


# -- cleaning and helpers ------------------------------------------------------
def _clean(steps: np.ndarray, lr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite points sorted by step, one per step (the last one logged)."""
    s, y = finite_sorted(steps, lr)
    if len(s) > 1:
        last = np.append(s[1:] != s[:-1], True)
        s, y = s[last], y[last]
    return s.astype(np.int64), y


def _below_fraction_from(s: np.ndarray, y: np.ndarray, peak: float, frac: float) -> int | None:
    """First step from which the LR stays <= ``frac`` x peak to the end, or None."""
    above = np.flatnonzero(y > frac * peak)
    if len(above) == 0:
        return int(s[0])
    last_above = int(above[-1])
    return None if last_above == len(s) - 1 else int(s[last_above + 1])


def _thin(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_FIT_POINTS evenly spaced points, first and last kept."""
    if len(s) <= MAX_FIT_POINTS:
        return s, y
    idx = np.unique(np.linspace(0, len(s) - 1, MAX_FIT_POINTS).astype(np.int64))
    return s[idx], y[idx]


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (1.0 for a perfectly fitted or constant series)."""
    sse = float(np.sum((y - pred) ** 2))
    sst = float(np.sum((y - y.mean()) ** 2))
    if sst <= 1e-12:
        return 1.0 if sse <= 1e-9 * max(len(y), 1) else 0.0
    return 1.0 - sse / sst


def _scaled(params: dict[str, Any], peak: float) -> dict[str, Any]:
    """Turn fitted fractions of the peak into LRs and round the fit quality."""
    if "fit_min_ratio" in params:
        params["fitted_min_lr"] = float(params.pop("fit_min_ratio")) * peak
    if "r2" in params:
        params["r2"] = round(float(params["r2"]), 5)
    return params


def _floor_fit(h: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best floor ``m`` in [0, 1] of ``y ~ 1 - h + m h`` for each row of ``h``, and its SSE.

    The models below are all of this form: for a fixed shape, the floor enters linearly, so
    its least squares is closed form (a clipped projection; the SSE is convex in ``m``).
    """
    r = y - 1.0 + h
    hh = (h * h).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.clip(np.where(hh > 0, (h * r).sum(-1) / np.where(hh > 0, hh, 1.0), 0.0), 0.0, 1.0)
    sse = ((r - m[..., None] * h) ** 2).sum(-1)
    return m, np.where(np.isfinite(sse), sse, np.inf)


def _profile_fit(h: Callable[[np.ndarray, Any], np.ndarray], x: np.ndarray, y: np.ndarray,
                 lo: float, hi: float) -> tuple[np.ndarray | None, float]:
    """Least squares of ``y ~ 1 - h(x; p) + m h(x; p)`` over ``p`` in [lo, hi] and ``m`` in [0, 1]:
    ``(array([p, m]), SSE)``.

    The floor has a closed form for each shape ``p`` (:func:`_floor_fit`), so only ``p`` is
    searched: a geometric grid over all of its range, then a bounded scalar minimisation
    between the best grid point's neighbours. Global over the range, and a few vectorised
    passes instead of iterative 2-parameter fits from several starts.
    """
    grid = np.geomspace(lo, hi, PROFILE_GRID)
    m, sse = _floor_fit(h(x[None, :], grid[:, None]), y)
    if not np.isfinite(sse).any():
        return None, np.inf
    i = int(np.argmin(sse))
    a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    best = np.array([grid[i], m[i]]), float(sse[i])
    if b > a:
        res = minimize_scalar(lambda lp: float(_floor_fit(h(x, np.exp(lp)), y)[1]), bounds=(a, b),
                              method="bounded", options={"xatol": PROFILE_XTOL})
        p = float(np.exp(res.x))
        mm, ss = _floor_fit(h(x, p), y)
        if float(ss) < best[1]:
            best = np.array([p, float(mm)]), float(ss)
    return best


# -- decay models (x in [0, 1] over the decay segment, y as a fraction of the peak) --
# Each is ``1 - h + m h``: ``h`` (the share of the way from peak to floor) is what fits take.
def _linear_h(x: np.ndarray, d: Any) -> np.ndarray:
    return np.minimum(x / d, 1.0)


def _cosine_h(x: np.ndarray, d: Any) -> np.ndarray:
    return 0.5 * (1.0 - np.cos(np.pi * np.minimum(x / d, 1.0)))


def _exponential_h(x: np.ndarray, k: Any) -> np.ndarray:
    return 1.0 - np.exp(-k * x)


def _linear(x: np.ndarray, d: float, m: float) -> np.ndarray:
    return 1.0 - (1.0 - m) * _linear_h(x, d)


def _cosine(x: np.ndarray, d: float, m: float) -> np.ndarray:
    return 1.0 - (1.0 - m) * _cosine_h(x, d)


def _exponential(x: np.ndarray, k: float, m: float) -> np.ndarray:
    return 1.0 - (1.0 - m) * _exponential_h(x, k)


def _fit_decay(s: np.ndarray, yn: np.ndarray) -> tuple[str, dict[str, Any]]:
    """Classify a continuous decay (starting at the peak) as linear, cosine or exponential."""
    s, yn = _thin(s, yn)
    length = float(s[-1] - s[0])
    if len(s) < MIN_FIT_POINTS or length <= 0:
        return "linear", {"decay_steps": int(length), "r2": 1.0}
    x = (s - s[0]) / length
    fits: dict[str, tuple[np.ndarray | None, float]] = {
        "linear": _profile_fit(_linear_h, x, yn, 1e-3, 5.0),
        "cosine": _profile_fit(_cosine_h, x, yn, 1e-3, 5.0),
        "exponential": _profile_fit(_exponential_h, x, yn, 1e-4, 1e4),
    }
    base = min(fits, key=lambda k: fits[k][1])
    popt, sse = fits[base]
    if popt is None:
        return "linear", {"decay_steps": int(length), "r2": 0.0}
    func = {"linear": _linear, "cosine": _cosine, "exponential": _exponential}[base]
    out: dict[str, Any] = {"r2": _r2(yn, func(x, *popt)), "fit_min_ratio": float(popt[1])}
    if base == "exponential":
        k_per_step = float(popt[0]) / length
        out["gamma"] = float(np.exp(-k_per_step))
        # Steps until the fitted decay is within 1% of its floor.
        out["decay_steps"] = int(round(min(np.log(100.0) / k_per_step, length)))
    else:
        out["decay_steps"] = int(round(min(float(popt[0]), 1.0) * length))
    return base, out


def _step_fit(s: np.ndarray, yn: np.ndarray) -> dict[str, Any] | None:
    """Piecewise-constant fit with a few large drops, or None when the decay is not stepwise."""
    floor = max(float(yn.max()) * 1e-12, 1e-300)
    logy = np.log(np.maximum(yn, floor))
    dl = np.diff(logy)
    flat = np.abs(dl) <= np.log1p(FLAT_RTOL)
    if len(dl) == 0 or flat.mean() < STEP_MIN_FLAT_SHARE:
        return None
    # Consecutive non-flat pairs are one drop (a chart bucket straddling it gives
    # an intermediate point).
    changes = np.flatnonzero(~flat)
    if len(changes) == 0:
        return None
    splits = np.flatnonzero(np.diff(changes) > 1) + 1
    if len(splits) >= MAX_STEP_DROPS:
        return None
    groups = np.split(changes, splits)
    if len(groups) > MAX_STEP_DROPS or max(len(g) for g in groups) > MAX_DROP_INTERVALS:
        return None
    boundaries, factors = [], []
    for g in groups:
        ratio = float(np.exp(-(logy[g[-1] + 1] - logy[g[0]])))
        if ratio < MIN_STEP_DROP_RATIO:
            return None
        boundaries.append(int(s[g[-1] + 1]))
        factors.append(ratio)
    # Piecewise prediction: each level's median.
    level_id = np.zeros(len(yn), dtype=int)
    for g in groups:
        level_id[g[-1] + 1:] += 1
    medians = np.array([np.median(yn[level_id == k]) for k in range(len(groups) + 1)])
    gammas = 1.0 / np.array(factors)
    return {
        "boundaries": boundaries,
        "drop_factors": [round(f, 4) for f in factors],
        "gamma": float(np.exp(np.mean(np.log(gammas)))),
        "decay_steps": int(boundaries[-1] - s[0]),
        "r2": _r2(yn, medians[level_id]),
    }


def _one_cycle_rise(s: np.ndarray, yn: np.ndarray) -> bool:
    """True when the rise is one-cycle-like: cosine-shaped, or linear from a floor."""
    s, yn = _thin(s, yn)
    if len(s) < MIN_FIT_POINTS:
        # Too few points for a shape: one-cycle starts well above zero (max_lr / 25)
        # and rises for a long part of the run.
        return bool(yn[0] >= ONE_CYCLE_MIN_START) and (s[-1] - s[0]) > 0
    x = (s - s[0]) / float(s[-1] - s[0])

    # a + (1 - a) u, the start level a in [0, 1]: ``1 - h + a h`` with h = 1 - u
    sse_cos = float(_floor_fit(0.5 * (1.0 + np.cos(np.pi * x)), yn)[1])
    sse_lin = float(_floor_fit(1.0 - x, yn)[1])
    if sse_cos < COSINE_RISE_SSE_RATIO * sse_lin:
        return True
    # A linear rise: a warmup climbs from zero by peak / W per step, so at step 0 it
    # is within an increment or two of zero; a linear one-cycle starts from a floor
    # (max_lr / div_factor) worth many increments.
    slope, intercept = np.polyfit(s.astype(np.float64), yn, 1)
    origin = 0.0 if 0 <= s[0] < (s[-1] - s[0]) else float(s[0])
    floor = slope * origin + intercept
    return bool(slope > 0 and floor >= ONE_CYCLE_MIN_FLOOR
                and floor >= ONE_CYCLE_FLOOR_INCREMENTS * slope)


def _rising_run(s: np.ndarray, yn: np.ndarray) -> tuple[str, dict[str, Any]]:
    """A run whose LR rises to the end: geometric growth (``exponential``, gamma > 1, as
    in an LR range test) or a linear ramp (``warmup_constant`` with ``warmup_complete`` False)."""
    x = (s - s[0]).astype(np.float64)
    pos = yn > 0
    out: dict[str, Any] = {"decay_steps": 0, "rising": True}
    if pos.sum() >= 2:
        slope, intercept = np.polyfit(x[pos], np.log(yn[pos]), 1)
        r2_log = _r2(np.log(yn[pos]), slope * x[pos] + intercept)
    else:
        slope, r2_log = 0.0, 0.0
    slope_lin, icpt_lin = np.polyfit(x, yn, 1)
    r2_lin = _r2(yn, slope_lin * x + icpt_lin)
    if r2_log >= r2_lin:
        out.update(gamma=float(np.exp(slope)), r2=r2_log)
        return "exponential", out
    # A linear ramp to the last point is a warmup that had not ended (or ends there).
    out.update(r2=r2_lin, warmup_complete=False)
    return "warmup_constant", out


def _cyclic(s: np.ndarray, yn: np.ndarray) -> dict[str, Any] | None:
    """Period and bounds when the LR goes up and down repeatedly, else None."""
    padded = np.concatenate([[0.0], yn, [0.0]])
    peaks, _ = find_peaks(padded, prominence=CYCLIC_MIN_PROMINENCE)
    if len(peaks) < CYCLIC_MIN_PEAKS:
        return None
    idx = np.clip(peaks - 1, 0, len(s) - 1)
    # Both ends must drop between peaks: a dip between every pair of maxima.
    dips = [float(yn[a:b + 1].min()) for a, b in zip(idx[:-1], idx[1:])]
    if max(dips) > 1.0 - CYCLIC_MIN_PROMINENCE:
        return None
    return {
        "period": float(np.median(np.diff(s[idx]))),
        "cycles": int(len(peaks)),
        "cycle_peak_steps": [int(v) for v in s[idx]],
        "warmup_steps": 0,
        "r2": None,
    }
