"""Forecast where a still-falling loss would end: a saturating power law.

``L(t) = L_inf + A * (t + t0) ** -alpha`` is fitted with ``scipy.optimize.least_squares``
to a robustly binned loss curve (medians in log-spaced step bins, so the late,
slow part of training weighs as much as the fast start, and minibatch spikes do
not pull the fit). From it: the floor ``L_inf``, the loss if training ran twice
as long or to a horizon, and the fraction of the achievable progress already
made. A run far from its floor and still gaining benefits from training longer;
a run near its floor that ends high needs a different LR (or schedule) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from .signals import finite_sorted
from .thresholds import MIN_FIT_POINTS

MIN_BINS = 8
# Log-spaced bins: enough to trace the curve, few enough for robust medians.
N_BINS = 60
# The first steps (warmup, initial transient) do not follow the power law.
SKIP_START_FRACTION = 0.05
# The fit must explain most of the binned curve to be trusted.
MIN_R2 = 0.8
# The loss must have fallen by more than this many noise units to be "falling".
MIN_DROP_NOISE_UNITS = 3.0
# L_inf may lie at most this many loss ranges below the lowest binned loss.
L_INF_RANGE_MARGIN = 5.0


@dataclass
class Forecast:
    """A fitted saturating power law and what it predicts."""

    ok: bool
    reason: str
    l_inf: float | None = None
    amplitude: float | None = None
    alpha: float | None = None
    t0: float | None = None
    r2: float | None = None
    last_step: int | None = None
    loss_now: float | None = None  # fitted loss at the last step
    loss_at_2x: float | None = None  # fitted loss at twice the last step
    horizon_step: int | None = None
    loss_at_horizon: float | None = None
    progress_fraction: float | None = None  # (L(first) - L(now)) / (L(first) - L_inf)
    gain_if_doubled: float | None = None  # L(now) - L(2x) as a share of the achievable progress

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = float(value) if isinstance(value, (np.floating, float)) else value
        return out

    def predict(self, step: float | np.ndarray) -> float | np.ndarray:
        """The fitted loss at ``step`` (requires ``ok``)."""
        if self.l_inf is None:
            raise ValueError("no fitted forecast")
        return _power_law(np.asarray(step, dtype=np.float64), self.l_inf, self.amplitude,
                          self.alpha, self.t0)


def _power_law(t: np.ndarray, l_inf: float, amplitude: float, alpha: float, t0: float) -> np.ndarray:
    return l_inf + amplitude * np.power(t + t0, -alpha)


def _power_law_jac(t: np.ndarray, l_inf: float, amplitude: float, alpha: float,
                   t0: float) -> np.ndarray:
    """Analytic Jacobian (columns: l_inf, amplitude, alpha, t0): faster and steadier than
    finite differences."""
    base = t + t0
    powered = np.power(base, -alpha)
    return np.column_stack([np.ones_like(t), powered, -amplitude * powered * np.log(base),
                            -alpha * amplitude * powered / base])


# Grid of exponents and offsets (in units of the last step) searched for the fit's start.
GRID_ALPHA = np.geomspace(0.02, 5.0, 36)
GRID_X0 = np.concatenate([[0.0], np.geomspace(1e-3, 10.0, 24)])
# Starts refined by curve_fit: the best grid points from distinct alpha basins.
N_STARTS = 2
# Relative tolerance of the refinement (SSE and parameters): the forecast is reported to 3
# significant digits, and SciPy's default 1e-8 makes a near-linear curve (where L_inf trades
# off with alpha along a flat valley) crawl through thousands of evaluations (> 30 s).
FIT_TOLERANCE = 1e-6
# Evaluations allowed per start. Most fits converge in a few dozen; a curve along the flat
# valley can take hundreds (or thousands at SciPy's default tolerance, > 30 s). The
# trust-region steps only ever lower the error, so a fit stopped here is the best point met
# so far, judged like any other by its r2 (bounds the worst case to a fraction of a second).
FIT_MAX_EVALS = 200


def _linear_part(x: np.ndarray, y: np.ndarray, alpha: float, x0: float, bounds) -> list[float]:
    """Least-squares (L_inf, A) for a fixed exponent and offset."""
    p = np.power(x + x0 + 1e-12, -alpha)
    var = float(np.var(p))
    amp = max(float(np.mean((p - p.mean()) * (y - y.mean()))) / var, 0.0) if var > 0 else 0.0
    l_inf = float(np.clip(y.mean() - amp * p.mean(), bounds[0][0], bounds[1][0]))
    return [l_inf, amp]


def _clip_start(p0: list[float], bounds) -> list[float]:
    """A start strictly inside the bounds (curve_fit rejects one on them)."""
    lo, hi = np.asarray(bounds[0], float), np.asarray(bounds[1], float)
    width = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    return list(np.clip(p0, lo + 1e-9 * width, np.where(np.isfinite(hi), hi - 1e-9 * width, np.inf)))


def _grid_starts(x: np.ndarray, y: np.ndarray, bounds) -> list[tuple[float, float]]:
    """(alpha, x0) starts: the grid points with the lowest closed-form residual."""
    a = GRID_ALPHA[:, None, None]
    x0 = GRID_X0[None, :, None]
    p = np.power(x[None, None, :] + x0 + 1e-12, -a)  # (alpha, x0, points)
    pm, ym = p.mean(-1, keepdims=True), y.mean()
    var = ((p - pm) ** 2).mean(-1)
    cov = ((p - pm) * (y - ym)).mean(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        amp = np.where(var > 0, np.maximum(cov / var, 0.0), 0.0)
    l_inf = np.clip(ym - amp * pm[..., 0], bounds[0][0], bounds[1][0])
    sse = ((l_inf[..., None] + amp[..., None] * p - y) ** 2).sum(-1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    starts: list[tuple[float, float]] = []
    for flat in np.argsort(sse, axis=None):
        i, j = np.unravel_index(flat, sse.shape)
        if any(abs(np.log(GRID_ALPHA[i] / s[0])) < 0.7 for s in starts):
            continue  # keep starts in distinct basins of the exponent
        starts.append((float(GRID_ALPHA[i]), float(GRID_X0[j])))
        if len(starts) == N_STARTS:
            break
    return starts


def _refine(x: np.ndarray, y: np.ndarray, p0: list[float], bounds) -> np.ndarray | None:
    """Bounded least-squares refinement of a start (None when it fails or is not finite)."""
    def resid(p: np.ndarray) -> np.ndarray:
        return _power_law(x, *p) - y

    def jac(p: np.ndarray) -> np.ndarray:
        return _power_law_jac(x, *p)

    try:
        with np.errstate(all="ignore"):
            res = least_squares(resid, p0, jac=jac, bounds=bounds, method="trf", max_nfev=FIT_MAX_EVALS,
                                ftol=FIT_TOLERANCE, xtol=FIT_TOLERANCE)
    except (ValueError, np.linalg.LinAlgError):
        return None
    return res.x if res.status >= 0 and np.all(np.isfinite(res.x)) and np.isfinite(res.cost) else None


def _binned(steps: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Median step and loss in log-spaced bins, and the noise level (robust scale)."""
    first, last = float(steps[0]), float(steps[-1])
    start = first + SKIP_START_FRACTION * (last - first)
    keep = steps >= start
    s, y = steps[keep], loss[keep]
    offset = 1.0 - min(float(s[0]), 0.0)  # log bins need positive steps
    edges = np.unique(np.geomspace(s[0] + offset, s[-1] + offset, N_BINS + 1))
    bins = np.clip(np.searchsorted(edges, s + offset, side="right") - 1, 0, len(edges) - 2)
    frame = pd.DataFrame({"bin": bins, "step": s, "loss": y})
    grouped = frame.groupby("bin").median()
    # Noise: median absolute deviation of consecutive differences (robust to trend).
    noise = 1.4826 * float(np.median(np.abs(np.diff(y) - np.median(np.diff(y))))) / np.sqrt(2)
    return grouped["step"].to_numpy(np.float64), grouped["loss"].to_numpy(np.float64), noise


def forecast_loss(steps: np.ndarray, loss: np.ndarray, horizon_steps: int | None = None) -> Forecast:
    """Fit a saturating power law to the loss curve and forecast it.

    ``horizon_steps`` is the total step count to forecast to (default: twice the
    last step). ``ok`` is False (with ``reason``) when the loss is not falling or
    the fit does not explain it.
    """
    s, y = finite_sorted(steps, loss)
    if len(s) < MIN_FIT_POINTS or s[-1] <= s[0]:
        return Forecast(False, "too few finite loss points")
    # The law counts steps from the start of training (t >= 0); a log whose counter starts
    # below zero is fitted on its steps shifted to start at 1, and the shift goes into t0.
    shift = 0.0 if s[0] >= 0 else 1.0 - float(s[0])
    last = int(s[-1])
    s = s + shift
    bs, by, noise = _binned(s, y)
    if len(bs) < MIN_BINS:
        return Forecast(False, "too few distinct steps")
    head = float(np.median(by[: max(2, len(by) // 10)]))
    tail = float(np.median(by[-max(2, len(by) // 10):]))
    # Noise of a median over many points is smaller than per-point noise; compare to the
    # per-point noise scaled down by the points per bin.
    per_bin = max(len(s) / len(bs), 1.0)
    if head - tail <= MIN_DROP_NOISE_UNITS * noise / np.sqrt(per_bin):
        return Forecast(False, "loss is not falling", last_step=last)

    scale = float(s[-1])
    x = bs / scale
    lo_b, hi_b = float(by.min()), float(by.max())
    span = max(hi_b - lo_b, 1e-12)
    l_inf_min = lo_b - L_INF_RANGE_MARGIN * span
    if y.min() >= 0:
        # A loss that was never negative is a non-negative loss (cross-entropy, MSE...):
        # its floor cannot be below zero.
        l_inf_min = max(l_inf_min, 0.0)
    bounds = ([l_inf_min, 0.0, 1e-3, 0.0],
              [lo_b, np.inf, 5.0, 10.0])
    best, best_sse = None, np.inf
    # The fit has shallow valleys (L_inf trades off with alpha), so the start matters. For a
    # fixed (alpha, x0) the model is linear in (L_inf, A): a vectorised closed-form least
    # squares over a grid of (alpha, x0) finds the basin, and least_squares refines it
    # (one bounded fit instead of several multi-start ones: much faster, same optimum).
    for alpha0, x00 in _grid_starts(x, by, bounds):
        p0 = _clip_start(_linear_part(x, by, alpha0, x00, bounds) + [alpha0, x00], bounds)
        popt = _refine(x, by, p0, bounds)
        if popt is None:
            continue
        sse = float(np.sum((_power_law(x, *popt) - by) ** 2))
        if sse < best_sse:
            best, best_sse = popt, sse
    if best is None:
        return Forecast(False, "power-law fit did not converge", last_step=last)
    sst = float(np.sum((by - by.mean()) ** 2))
    r2 = 1.0 - best_sse / sst if sst > 0 else 0.0
    l_inf, amp_x, alpha, x0 = (float(v) for v in best)
    # Back to steps: A (t/T + x0)^-a = A T^a (t + x0 T)^-a
    amplitude, t0 = amp_x * scale**alpha, x0 * scale + shift
    fc = Forecast(ok=r2 >= MIN_R2, reason="fitted" if r2 >= MIN_R2 else f"poor fit (r2 {r2:.2f})",
                  l_inf=l_inf, amplitude=amplitude, alpha=alpha, t0=t0, r2=r2,
                  last_step=last)
    twice = 2 * s[-1] - shift  # twice the training length, as a step of the log's own counter
    horizon = int(horizon_steps) if horizon_steps else int(twice)
    l_first = float(fc.predict(bs[0] - shift))
    l_now = float(fc.predict(last))
    l_2x = float(fc.predict(twice))
    fc.loss_now, fc.loss_at_2x = l_now, l_2x
    fc.horizon_step, fc.loss_at_horizon = horizon, float(fc.predict(horizon))
    gap_total = l_first - l_inf
    fc.progress_fraction = float((l_first - l_now) / gap_total) if gap_total > 0 else None
    fc.gain_if_doubled = float((l_now - l_2x) / gap_total) if gap_total > 0 else 0.0
    return fc
