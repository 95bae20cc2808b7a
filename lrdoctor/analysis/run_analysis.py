"""Analyze one run: its kind (training or LR range test), schedule, findings and suggested LR."""

from __future__ import annotations

import math
from typing import Callable


from parsers import Run

from . import configured_lr, coverage, decay, divergence, lr_too_low, oscillation, overfitting, plateau, range_test, spikes, warmup
from .findings import SEVERITIES, Finding, Mode, RunAnalysis, Schedule
from .schedule import infer_schedule
from .signals import Signals, prepare, schedule_sample
from .thresholds import MIN_CURVE_POINTS

# Detectors that read a diverged run's blow-up as their own symptom are skipped on it.
AFTER_DIVERGENCE = (overfitting.detect, decay.detect)
OTHERS: tuple[Callable[[Signals], Finding | None], ...] = (
    warmup.detect,
    spikes.detect,
    oscillation.detect,
    plateau.detect,
    lr_too_low.detect,
)


def infer_run_schedule(sig: Signals) -> Schedule:
    """The schedule inferred from the run's LR (``unknown`` without one)."""
    if sig.lr is None:
        return Schedule("unknown", {})
    steps, values = schedule_sample(sig.lr)
    return infer_schedule(steps, values)


def _range_test(sig: Signals, out: RunAnalysis) -> None:
    result = range_test.analyze_range_test(sig)
    out.range_test = result
    out.details["range_test"] = result.to_dict()
    lr = result.suggested_lr
    if lr is not None and math.isfinite(lr):
        out.suggested_lr = float(lr)




# Which finding's LR the run's suggestion takes, among the most severe findings that give one:
# a too-high LR is fixed first (the most cautious of them), then a too-low one, then a schedule
# change at the same peak. Severity first: two mild spikes (info) do not overrule a loss that
# the LR keeps crawling (a warning), whose remedy points the other way.
LR_PRIORITY = ((Mode.DIVERGED, Mode.SPIKES, Mode.OSCILLATING), (Mode.LR_TOO_LOW,), (Mode.PLATEAU,))


def lr_driver(findings: list[Finding]) -> Finding | None:
    """The finding whose LR the run's suggestion takes (see LR_PRIORITY), or None."""
    with_lr = [f for f in findings if f.suggested_lr]
    if not with_lr:
        return None
    top = max(SEVERITIES.index(f.severity) for f in with_lr)
    tier = [f for f in with_lr if SEVERITIES.index(f.severity) == top]
    for modes in LR_PRIORITY:
        hits = [f for f in tier if f.mode in modes]
        if hits:
            return min(hits, key=lambda f: f.suggested_lr)
    return None


def _suggested_lr(findings: list[Finding]) -> float | None:
    """An LR to try next, from the findings' own advice (None when nothing to change)."""
    driver = lr_driver(findings)
    return None if driver is None else float(driver.suggested_lr)


def analyze_run(run: Run) -> RunAnalysis:
    """Everything the analyzer says about one run.

    Never raises because of the run's data: a run the analyzer cannot handle comes back
    undiagnosed, with the reason, so the other runs of a folder keep their diagnoses.
    """
    try:
        return _diagnose(run)
    except Exception as exc:  # noqa: BLE001 - the per-run boundary of the analysis
        return failed_analysis(run, exc)


def failed_analysis(run: Run, exc: BaseException) -> RunAnalysis:
    """The analysis of a run whose diagnosis raised: no findings, and why."""
    rng = run.step_range
    steps = 0 if rng is None else int(rng[1] - rng[0] + 1)
    out = RunAnalysis(run=run, kind="training", steps=steps, schedule=Schedule(kind="unknown"))
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    out.details["notes"] = []
    out.details["not_diagnosed"] = f"the analysis failed on this run's data ({reason})"
    return out


def _diagnose(run: Run) -> RunAnalysis:
    sig = prepare(run)
    schedule = infer_run_schedule(sig)
    steps = int(sig.last_step - sig.first_step + 1) if sig.loss is not None else 0
    rng = run.step_range
    if rng is not None:
        steps = max(steps, rng[1] - rng[0] + 1) if sig.loss is None else steps
    out = RunAnalysis(run=run, kind="training", steps=steps, schedule=schedule)
    out.details["notes"] = list(sig.notes)
    if range_test.is_range_test(sig, schedule):  # a range test's LR rises to the end
        out.kind = "range_test"
        _range_test(sig, out)
        return out
    if sig.loss is None:
        out.details["notes"].append("no loss curve: nothing to diagnose")
        out.details["not_diagnosed"] = "no loss curve was found among its tags"
        return out
    if len(sig.loss) < MIN_CURVE_POINTS:
        out.details["not_diagnosed"] = (
            f"only {len(sig.loss)} loss points: too few to judge the curve (at least {MIN_CURVE_POINTS} needed)"
        )
        return out
    findings: list[Finding] = []
    div = divergence.detect(sig)
    if div is not None:
        findings.append(div)
    else:
        for det in AFTER_DIVERGENCE + OTHERS:
            f = det(sig)
            if f is not None:
                findings.append(f)
    findings = _resolve(findings, logs_lr=bool(sig.lr_peak))
    configured_lr.advise_from_configured_lr(run, findings, logs_lr=bool(sig.lr_peak))
    out.findings = findings
    if div is None:
        out.not_checked = coverage.not_checked(sig, {f.mode for f in findings})
        if any(f.evidence.get("stuck") for f in findings):
            # Never learned: where a decay would pay is moot, so its missing LR curve is not a gap.
            out.not_checked = coverage.without_modes(out.not_checked, (Mode.PLATEAU,))
    out.suggested_lr = _suggested_lr(findings)
    return out


def _resolve(findings: list[Finding], logs_lr: bool) -> list[Finding]:
    """Drop findings another one explains (the same symptom read twice); ``logs_lr``: the run
    logs an LR curve."""
    if any(f.mode == "plateau" and f.evidence.get("stuck") for f in findings):
        # A run that never left its initial level: its bounces are minibatch noise at chance
        # level, not an LR too high, and an early wobble is not a missing warmup.
        return [f for f in findings if f.mode in ("plateau", "overfitting")]
    modes = {f.mode for f in findings}
    if {Mode.OSCILLATING, Mode.LR_TOO_LOW} <= modes:
        # lr_too_low proved a steady, statistically clear late fall: that is "a real downward
        # trend", so the bounce is minibatch noise of a slow run (LR too low and too high at
        # once is a contradiction; the trend test is the stronger evidence).
        findings = [f for f in findings if f.mode != Mode.OSCILLATING]
        modes.discard(Mode.OSCILLATING)
    drop: set[Mode] = set()
    if {Mode.SPIKES, Mode.NO_WARMUP} <= modes and not logs_lr:
        # Without the LR curve nothing says the run started at its peak: an early climb in a run
        # that spikes throughout is one of its spikes, not a cold start.
        drop.add(Mode.NO_WARMUP)
    if Mode.OSCILLATING in modes:
        drop |= {Mode.SPIKES, Mode.PLATEAU}  # bouncing at a high level: not spikes on a low floor, not flat
    if Mode.SPIKES in modes:
        # A plateau is a calm floor (plateau.MAX_ROUGHNESS): a floor that keeps spiking is not calm,
        # whatever share of the spikes a sparse log happened to sample, and lowering the LR (the
        # spikes' remedy) is what lowers it.
        drop.add(Mode.PLATEAU)
    if Mode.DECAYED_TOO_EARLY in modes:
        drop |= {Mode.PLATEAU, Mode.LR_TOO_LOW}  # a stall caused by the decay
    if Mode.PLATEAU in modes:
        drop.add(Mode.LR_TOO_LOW)
    return [f for f in findings if f.mode not in drop]
