"""Series preparation shared by every detector.

Picks the run's primary tag per role, keeps the raw values (NaN/inf included: a
non-finite loss is evidence), and derives the robust quantities the detectors
compare against: the initial loss level ``L0``, a smoothed curve, the noise
scale (MAD of the residuals around the smoothed curve), the best level and the
progress ``L0 - best``. Every threshold in the detectors is a fraction of these,
never an absolute number.

Floor and scale invariance: a loss logged as ``k * loss + c`` (an entropy floor, a
regulariser, summed multi-task terms, a different reduction) is the same training.
So levels are never compared with zero: the run's own lowest smoothed level
(``LossView.zero``) stands where zero would, and amounts are shares of the run's
dynamic range ``LossView.scale = L0 - zero`` instead of shares of ``L0``. For the
usual loss that falls close to zero, this is what "a share of L0" always meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import ndimage, signal, stats

from parsers import Run

from .thresholds import MIN_CURVE_POINTS

# Above this many points a curve is reduced to bucket means (the way chart exports do):
# every detector works on shapes hundreds of steps wide, so 20k buckets keep all of them
# while a 1M-point run analyses in a fraction of a second.
MAX_POINTS = 20_000
# Points that form the initial level L0: the first logged loss is a single minibatch, a
# median over a few points is robust to one unlucky batch while still being "before
# learning" for any run long enough to analyse...
L0_POINTS = 3
# ...but only points logged within this many steps of the first: on a log kept every 10th
# step the 2nd and 3rd points are 10 and 20 updates in, where a fast run has already
# learned (or blown up: digits at LR 1.5 is at 320x its start by step 10), so they are no
# longer its initial level. In steps, so the same run logged densely or sparsely starts
# from the same L0.
L0_STEPS = 3
# Trend drops are fitted on at most this many bin medians (robust to minibatch noise and
# cheap on long runs: Theil-Sen is quadratic in its points).
TREND_BINS = 40
# Fraction of the run the rolling-median window spans (odd, at least 5 points): wide
# enough to average minibatch noise, narrow enough to keep a 5%-of-run feature.
SMOOTH_FRACTION = 0.02
MIN_SMOOTH_POINTS = 5
# Points handed to the schedule fit: curve fitting cost grows with the points, and 2,000
# samples (plus every point where the LR jumps) pin any schedule's shape and edges.
SCHEDULE_POINTS = 2_000
# An LR change larger than this share of the peak between two points is an edge (a step
# schedule's drop) that a subsample must keep.
LR_JUMP = 0.01
# MAD of a standard normal (its 75th percentile): MAD / this estimates the standard deviation.
NORMAL_MAD = 0.6744897501960817
# A median of n points with normal noise is uncertain by this x noise / sqrt(n).
MEDIAN_SE = float(np.sqrt(np.pi / 2))
# The two-sided 95% quantile of a normal: a 95% interval is this many standard errors each side.
NORMAL_95 = 1.96
# Theil-Sen looks at every pair of points (quadratic: 20k points are 200M slopes, ~30 s and
# 1.7 GB). Longer stretches are reduced to this many bin medians first: 500 medians are
# 125k slopes (milliseconds), still far more than a slope and its confidence interval need,
# and each median already averages away its bin's minibatch noise.
THEIL_SEN_POINTS = 500
# A level (the median loss of a window) is taken over at least this many points: the
# median of 8 noisy points is within ~0.45 noise units of the true level, of 2 points
# (a 4% window of a log kept every 10th step) within ~0.9.
MIN_LEVEL_POINTS = 8
# ...but a level stays local: never over more than this share of the curve's points (8 of a
# 12-point log would be two thirds of the run, the median of a falling curve, not its end).
MAX_LEVEL_SHARE = 0.15
# Noise is measured around a rolling median of at least this many points (see point_noise).
NOISE_WINDOW_POINTS = 15
# ...which finds a local level only on a curve of at least two such windows; a shorter one
# also reads its noise from second differences (see point_noise).
SPARSE_NOISE_POINTS = 2 * NOISE_WINDOW_POINTS
# A robust trend (Theil-Sen) takes at least this many points: 5 points are 10 pairwise slopes,
# the fewest whose median one bad batch cannot move; a stretch that holds fewer (a sparse log's
# last quarter) takes the points nearest its middle instead, as a level does.
MIN_TREND_POINTS = 5
# A roughness window holds at least this many points: the fewest whose spread around their own
# mean is still a spread once that mean (the local trend) is taken out.
MIN_ROUGH_POINTS = 3
# The dynamic range is at least this many noise units: a run that never left its initial
# level has no range, and its amounts are then measured against its own noise.
SCALE_MIN_NOISE = 4.0
# Guard against dividing by an exactly flat (or all-zero) curve.
TINY = 1e-12


@dataclass
class Curve:
    """One tag's points, sorted by step, one value per step (the last one logged wins)."""

    tag: str
    steps: np.ndarray  # int64
    values: np.ndarray  # float64, NaN/inf kept
    # Raw values averaged into each point (bucketed exports, our own reduction of huge
    # series): an average of k minibatch losses has 1/sqrt(k) of their spread.
    averaged: float = 1.0
    # A bucketed export's band: the lowest and highest raw value of each point's bucket
    # (W&B ``__MIN``/``__MAX``; NaN where the export has none). Spikes and early blow-ups
    # that the bucket's mean dilutes live in ``hi``.
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    @classmethod
    def from_frame(cls, tag: str, df: pd.DataFrame) -> "Curve":
        """Build from a ``step, value`` frame, deduplicating steps and reducing huge series."""
        return cls.from_arrays(tag, df["step"].to_numpy(np.int64), df["value"].to_numpy(np.float64))

    @classmethod
    def from_arrays(cls, tag: str, steps: np.ndarray, values: np.ndarray) -> "Curve":
        """Build from parallel step (int64) and value (float64) arrays, as :meth:`from_frame`."""
        if len(steps) > 1 and (np.diff(steps) <= 0).any():
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], values[order]
            last = np.r_[steps[1:] != steps[:-1], True]
            steps, values = steps[last], values[last]
        averaged = 1.0
        if len(steps) > MAX_POINTS:
            averaged = len(steps) / MAX_POINTS
            steps, values = _bucket(steps, values, MAX_POINTS)
        return cls(tag, steps, values, averaged)

    def __len__(self) -> int:
        return len(self.steps)

    @cached_property
    def finite(self) -> np.ndarray:
        """Mask of finite values."""
        return np.isfinite(self.values)

    @cached_property
    def interval(self) -> float:
        """The median number of steps between two logged points (inf for a single point)."""
        return float(np.median(np.diff(self.steps))) if len(self.steps) > 1 else float("inf")

    @property
    def has_band(self) -> bool:
        """Whether each point carries its bucket's extremes (a bucketed export's min/max band)."""
        return self.hi is not None and bool(np.isfinite(self.hi).any())

    def at(self, step: float) -> float:
        """The value at the last logged step <= ``step`` (first value before the start)."""
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        return float(self.values[max(i, 0)])


def _bucket(steps: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce to ``n`` buckets: last step of each bucket, mean value (non-finite propagates)."""
    edges = np.linspace(0, len(steps), n + 1).astype(np.int64)
    starts = edges[:-1]
    counts = np.diff(edges)
    with np.errstate(invalid="ignore", over="ignore"):
        sums = np.add.reduceat(values, starts)
    return steps[edges[1:] - 1], sums / counts


def finite_sorted(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points whose step and value are both finite, as float64, sorted by step.

    The sort is stable: points logged at the same step keep their logged order.
    """
    s = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(y)
    s, y = s[ok], y[ok]
    order = np.argsort(s, kind="stable")
    return s[order], y[order]


def rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    """Centered rolling median (edges use the nearest value); NaN-free input expected."""
    window = max(1, int(window) | 1)
    if window == 1 or len(values) < 3:
        return values.astype(np.float64, copy=True)
    return ndimage.median_filter(values, size=window, mode="nearest")


def trailing_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of the ``window`` points before each point (NaN where there are none)."""
    s = pd.Series(values).rolling(window, min_periods=max(3, window // 3)).median().shift(1)
    return s.to_numpy(np.float64)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Robust smoothing: a rolling median (kills spikes) then Savitzky-Golay (keeps the shape)."""
    med = rolling_median(values, window)
    w = max(5, int(window) | 1)
    if len(med) <= w:
        return med
    return signal.savgol_filter(med, w, 2, mode="interp")


def bin_medians(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Medians of ``x`` and ``y`` in at most ``bins`` consecutive equal-count bins (O(n)).

    Points are taken from the end: the first ``len % bin size`` points are left out.
    """
    k = max(1, len(y) // max(bins, 1))
    n = len(y) // k * k
    if k == 1:
        return x[len(x) - n:], y[len(y) - n:]
    return (np.median(x[len(x) - n:].reshape(-1, k), axis=1),
            np.median(y[len(y) - n:].reshape(-1, k), axis=1))


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Theil-Sen ``(slope, intercept, low, high)`` (95% interval of the slope) of y against x,
    on at most :data:`THEIL_SEN_POINTS` bin medians, so the cost stays linear in the points."""
    bx, by = bin_medians(np.asarray(x, np.float64), np.asarray(y, np.float64), THEIL_SEN_POINTS)
    slope, intercept, low, high = stats.theilslopes(by, bx)
    return float(slope), float(intercept), float(low), float(high)


def initial_level(steps: np.ndarray, values: np.ndarray) -> float:
    """The loss before learning, L0: the median of the first :data:`L0_POINTS` finite points
    logged within :data:`L0_STEPS` steps of the first one (the first point alone on a sparse log)."""
    steps, values = steps[:L0_POINTS], values[:L0_POINTS]
    return float(np.median(values[steps < steps[0] + L0_STEPS]))


def point_noise(values: np.ndarray, window: int) -> float:
    """The spread of a curve's points around its local level: the normal-consistent MAD of
    the residuals around a rolling median of at least :data:`NOISE_WINDOW_POINTS` points.

    A narrow median follows the noise it should measure (each point is a fifth of a 5-point
    median): the residuals of white noise around a 5-point median spread 0.73x as much as
    the noise, around a 15-point one 0.93x. A run logged every 10th step has fewer points,
    hence narrower windows, and would look calmer than the same run logged every step.

    A curve of fewer than :data:`SPARSE_NOISE_POINTS` points (a run logged every 50th step)
    has no local level a median can find: the window spans much of the run, and on a
    stretch where the trend between points outweighs the noise the median reproduces every
    point (a monotone stretch has zero residuals). There the noise is also read from the
    points' departures from their neighbours' midpoint (:func:`difference_noise`), which a
    trend does not enter, and the larger of the two is kept (each underestimates only)."""
    window = max(int(window), NOISE_WINDOW_POINTS)
    noise = mad_noise(values, rolling_median(values, window))
    if len(values) < SPARSE_NOISE_POINTS:
        noise = max(noise, difference_noise(values))
    return noise


def difference_noise(values: np.ndarray) -> float:
    """Noise from second differences: the normal-consistent MAD of ``y[i] - (y[i-1] + y[i+1]) / 2``
    over sqrt(1.5) (its spread for white noise of unit spread). A straight line through the
    points, however steep, contributes nothing; a bend only at the few points where it bends,
    which the median outvotes. Zero for fewer than 3 points."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 3:
        return 0.0
    d = v[1:-1] - 0.5 * (v[:-2] + v[2:])
    return float(np.median(np.abs(d)) / NORMAL_MAD / np.sqrt(1.5))


def mad_noise(values: np.ndarray, reference: np.ndarray) -> float:
    """Robust noise scale: normal-consistent MAD of the residuals around ``reference``."""
    resid = values - reference
    resid = resid[np.isfinite(resid)]
    if len(resid) < 3:
        return 0.0
    # scipy.stats.median_abs_deviation(resid, scale="normal") in plain NumPy: the same number
    # without SciPy's per-call argument handling (a third of the time of a 2k-point analysis).
    return float(np.median(np.abs(resid - np.median(resid))) / NORMAL_MAD)


@dataclass
class LossView:
    """The finite part of a loss curve with its robust levels (see module docstring)."""

    curve: Curve
    steps: np.ndarray  # finite points only
    values: np.ndarray
    window: int  # rolling window in points
    smoothed: np.ndarray
    median: np.ndarray  # rolling median of ``window`` points
    l0: float
    noise: float
    best: float  # lowest smoothed level
    best_step: int
    final: float  # median level of the last window

    @property
    def zero(self) -> float:
        """The level the run's amounts are measured from: its lowest smoothed level (never
        zero itself, so ``loss + c`` reads as ``loss``)."""
        return self.best

    @property
    def scale(self) -> float:
        """The run's dynamic range ``L0 - zero`` (at least SCALE_MIN_NOISE noise units, so a
        run that never moved does not divide by ~0)."""
        return max(self.l0 - self.best, SCALE_MIN_NOISE * self.noise, TINY * abs(self.l0), TINY)

    def above_zero(self, level: float) -> float:
        """How far ``level`` sits above the run's floor, in units of its dynamic range."""
        return (level - self.zero) / self.scale

    @property
    def progress(self) -> float:
        """``L0 - best``: how much the run learned (>= 0)."""
        return max(self.l0 - self.best, 0.0)

    def level(self, start_step: float, end_step: float) -> float:
        """Median loss between two steps, over at least :data:`MIN_LEVEL_POINTS` points: a
        window that holds fewer (a sparse log) takes the points nearest its middle instead, so
        a level is never one minibatch's luck (NaN for an empty curve)."""
        if len(self.values) == 0:
            return float("nan")
        lo, hi = self.level_span(start_step, end_step)
        return float(np.median(self.values[lo:hi]))

    def level_span(self, start_step: float, end_step: float) -> tuple[int, int]:
        """The point indices ``[lo, hi)`` :meth:`level` takes its median over."""
        n = len(self.values)
        return self._span(start_step, end_step, min(MIN_LEVEL_POINTS, max(L0_POINTS, int(MAX_LEVEL_SHARE * n)), n))

    def _span(self, start_step: float, end_step: float, k: int) -> tuple[int, int]:
        """The point indices ``[lo, hi)`` between two steps; a stretch that holds fewer than ``k``
        (<= the curve's points) takes the ``k`` points nearest its middle instead."""
        lo = int(np.searchsorted(self.steps, start_step, side="left"))
        hi = int(np.searchsorted(self.steps, end_step, side="right"))
        if hi - lo < k:
            mid = int(np.searchsorted(self.steps, (start_step + end_step) / 2))
            lo = min(max(mid - k // 2, 0), len(self.values) - k)
            hi = lo + k
        return lo, hi

    def frac_steps(self, a: float, b: float) -> tuple[float, float]:
        """The steps at fractions ``a`` and ``b`` of the run's step span."""
        s0, s1 = float(self.curve.steps[0]), float(self.curve.steps[-1])
        return s0 + a * (s1 - s0), s0 + b * (s1 - s0)

    def level_frac(self, a: float, b: float) -> float:
        """Median loss between fractions ``a`` and ``b`` of the run's step span."""
        return self.level(*self.frac_steps(a, b))

    @property
    def noise_scale(self) -> float:
        """Factor from the spread of the logged points to the per-step (minibatch) spread:
        sqrt(values averaged per point); 1 for a per-step log."""
        return float(np.sqrt(max(self.curve.averaged, 1.0)))

    def trend_drop(self, a: float, b: float = 1.0) -> float:
        """How much the loss fell between fractions ``a`` and ``b`` of the run, from a robust
        line (Theil-Sen on bin medians) through every point in between; positive = falling.

        Uses the whole stretch rather than two narrow end windows, so minibatch noise in the
        windows does not decide whether a slow run is "still falling" or "flat"."""
        return self.trend(a, b)[0]

    def trend(self, a: float, b: float = 1.0) -> tuple[float, float]:
        """``(drop, standard error)`` of :meth:`trend_drop` (the error from the 95% interval of
        the Theil-Sen slope). A stretch of fewer than :data:`MIN_TREND_POINTS` points takes the
        points nearest its middle; NaN for a curve with fewer than that."""
        lo, hi = self.frac_steps(a, b)
        if len(self.values) < MIN_TREND_POINTS or hi <= lo:
            return float("nan"), float("nan")
        i, j = self._span(lo, hi, MIN_TREND_POINTS)
        bs, bv = bin_medians(self.steps[i:j], self.values[i:j], TREND_BINS)
        if np.ptp(bs) <= 0:
            return float("nan"), float("nan")
        slope, _, s_lo, s_hi = stats.theilslopes(bv, bs)
        return float(-slope * (hi - lo)), float((s_hi - s_lo) / (2 * NORMAL_95) * (hi - lo))

    def roughness(self, a: float, b: float, windows: int = 10) -> float:
        """The loss's spread around its local level between fractions a and b, over the
        dynamic range: the root mean of the variances in ``windows`` sub-windows (each
        window's own mean removes the trend).

        The mean of the variances, not their median: spikes a dense log catches in every
        window, a sparse one samples in a few; a median would keep only the calm windows of
        the sparse log, while the mean variance estimates the same spread at any density.
        A stretch too short for ``windows`` windows of :data:`MIN_ROUGH_POINTS` points is cut
        into fewer (NaN below two), and each variance is the unbiased one (a 3-point window's
        plain variance is two thirds of the spread's)."""
        s0, s1 = float(self.curve.steps[0]), float(self.curve.steps[-1])
        sel = (self.steps >= s0 + a * (s1 - s0)) & (self.steps <= s0 + b * (s1 - s0))
        vals = self.values[sel]
        windows = min(windows, len(vals) // MIN_ROUGH_POINTS)
        if windows < 2:
            return float("nan")
        parts = np.array_split(vals, windows)
        return float(np.sqrt(np.mean([np.var(p, ddof=1) for p in parts])) / self.scale) * self.noise_scale


def loss_view(curve: Curve) -> LossView | None:
    """Robust levels of a loss curve, or None when it has too few finite points."""
    fin = curve.finite
    steps, values = curve.steps[fin], curve.values[fin]
    if len(values) < MIN_CURVE_POINTS:
        return None
    window = max(MIN_SMOOTH_POINTS, int(len(values) * SMOOTH_FRACTION)) | 1
    med = rolling_median(values, window)
    sm = smooth(values, window)
    noise = point_noise(values, window)
    l0 = initial_level(steps, values)
    ib = int(np.argmin(med))
    final = float(np.median(values[-window:]))
    return LossView(curve, steps, values, window, sm, med, l0, noise, float(med[ib]), int(steps[ib]), final)


@dataclass
class Signals:
    """The curves of one run, by role, ready for the detectors."""

    run: Run
    loss: Curve | None = None  # the training loss (the validation loss when there is none)
    loss_is_val: bool = False
    val: Curve | None = None
    lr: Curve | None = None
    grad: Curve | None = None
    view: LossView | None = None
    first_step: int = 0
    last_step: int = 0
    # The run's last logged step over every tag: where training stopped, so where waste ends.
    run_last_step: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def span(self) -> int:
        """Steps between the first and the last logged step."""
        return max(self.last_step - self.first_step, 1)

    def step_at_frac(self, frac: float) -> float:
        """The step at a fraction of the run."""
        return self.first_step + frac * self.span

    def frac_of(self, step: float) -> float:
        """Where ``step`` sits in the run, 0..1."""
        return (step - self.first_step) / self.span

    @cached_property
    def lr_peak(self) -> float | None:
        """The largest finite logged LR."""
        if self.lr is None or not self.lr.finite.any():
            return None
        return float(np.max(self.lr.values[self.lr.finite]))


def schedule_sample(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """An LR curve thinned for schedule fitting: even subsample plus both sides of every jump."""
    n = len(curve)
    if n <= SCHEDULE_POINTS:
        return curve.steps, curve.values
    keep = np.zeros(n, dtype=bool)
    keep[np.linspace(0, n - 1, SCHEDULE_POINTS).astype(np.int64)] = True
    vals = curve.values
    peak = np.nanmax(np.where(np.isfinite(vals), vals, np.nan)) if np.isfinite(vals).any() else 0.0
    with np.errstate(invalid="ignore"):
        jump = np.flatnonzero(np.abs(np.diff(vals)) > LR_JUMP * abs(peak))
    keep[jump] = True
    keep[jump + 1] = True
    return curve.steps[keep], vals[keep]


def _curve(run: Run, role: str) -> Curve | None:
    tag = run.primary_tag(role)
    if tag is None:
        return None
    steps, _, values = run.tag_index().arrays(tag)  # no DataFrame: the arrays are all it needs
    if len(steps) == 0:
        return None
    curve = Curve.from_arrays(tag, steps, values)
    meta = run.meta or {}
    if meta.get("downsampled", {}).get(tag) and len(curve) > 1:
        # A bucketed export (W&B charts: the mean of each bucket of steps): each point
        # averages about one logged value per step of its bucket.
        reduced_by_us = curve.averaged > 1.0  # its points are no longer the export's buckets
        curve.averaged *= max(curve.interval, 1.0)
        band = meta.get("bands", {}).get(tag)
        if band is not None and len(band) and not reduced_by_us:
            b = band.drop_duplicates("step", keep="last").set_index("step").reindex(curve.steps)
            curve.lo, curve.hi = b["min"].to_numpy(np.float64), b["max"].to_numpy(np.float64)
    return curve


def prepare(run: Run) -> Signals:
    """Pick the primary tag of each role and derive the loss levels."""
    sig = Signals(run=run)
    sig.loss = _curve(run, "train_loss")
    sig.val = _curve(run, "val_loss")
    sig.lr = _curve(run, "lr")
    sig.grad = _curve(run, "grad_norm")
    if sig.loss is None or len(sig.loss) < MIN_CURVE_POINTS:
        if sig.val is not None:
            sig.loss, sig.loss_is_val = sig.val, True
            sig.notes.append("no training loss: the validation loss stands in for it")
    if sig.loss is not None:
        sig.view = loss_view(sig.loss)
    rng = run.step_range
    sig.run_last_step = rng[1] if rng is not None else 0
    if sig.loss is not None and len(sig.loss):
        sig.first_step, sig.last_step = int(sig.loss.steps[0]), int(sig.loss.steps[-1])
    elif rng is not None:
        sig.first_step, sig.last_step = rng
    return sig
