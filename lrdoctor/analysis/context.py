"""Context beats heuristics: a sweep or a range test of the same setup overrides a run's own
LR estimate.

A single run's advice extrapolates from where that run became unstable or how fast it went;
a sweep of the same setup measured the answer and an LR range test of it nearly did. "Same
setup" = the same folder of runs (the sweep's folder, or the folder holding the range test)
and the same hyper-parameters apart from the LR when both runs record them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import wording as w
from .findings import Finding, LRBasis, Mode, Remedy, RunAnalysis, SweepAnalysis
from .lr_too_low import saving_clause, steps_saved_at
from .sweep import _LR_KEYS, _name_template, _unit_and_parent

# A context LR within 5% of the run's own is the same LR (the sweep ranks LRs within 5% of its
# best as equally good; the next-run plan calls a smaller move no change).
SAME_LR = 1.05
# An lr_too_low finding whose context found no higher LR better keeps its evidence (the loss
# still falls at the end) but not its claim that the LR is too low: a measured sweep or range
# test outranks one run's extrapolation, so its confidence is halved and its severity is info.
CONTRADICTED_TRUST = 0.5


def _flat(meta: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(meta, dict):
        for k, v in meta.items():
            out.update(_flat(v, f"{prefix}{k}."))
    elif prefix:
        out[prefix[:-1]] = meta
    return out


def _hparams(ra: RunAnalysis) -> dict[str, Any]:
    """The run's recorded hyper-parameters without the LR ones (and without bookkeeping)."""
    flat = _flat((ra.run.meta or {}).get("hparams") or {})
    return {k: v for k, v in flat.items() if k.split(".")[-1].lower() not in _LR_KEYS}


def same_setup(a: RunAnalysis, b: RunAnalysis) -> bool:
    """Same folder, and the same hyper-parameters apart from the LR when both record them."""
    if _unit_and_parent(a.run)[1] != _unit_and_parent(b.run)[1]:
        return False
    ha, hb = _hparams(a), _hparams(b)
    return not (ha and hb) or ha == hb


def _hparams_differ(ra: RunAnalysis, analyses: list[RunAnalysis], members: set[str]) -> bool:
    """True when the run records hyper-parameters (apart from the LR) that no sweep member shares."""
    mine = _hparams(ra)
    if not mine:
        return False
    theirs = [_hparams(a) for a in analyses if a.run.key in members]
    return all(t and t != mine for t in theirs)


def _override(ra: RunAnalysis, lr: float, basis: LRBasis, source: str, why: str) -> None:
    """Put the context's LR on the run and its findings (idempotent: a run analysed once and
    compared again keeps its own estimate and recommendation underneath)."""
    own = ra.details.setdefault("single_run_suggested_lr", ra.suggested_lr)
    ra.suggested_lr = lr
    ra.details["context"] = {"lr": lr, "basis": basis.value,
                             "reason": f"{source} of the same setup: {why}"}
    originals: dict[str, Finding] = ra.details.setdefault("single_run_advice", {})
    for i, f in enumerate(ra.findings):
        key = f"{i}:{f.mode}"
        if key not in originals:
            if f.suggested_lr is None or f.suggested_lr_basis == basis:
                continue  # no estimate of its own, or already the context's (a sweep-level finding)
            originals[key] = replace(f)  # the finding as the run alone said it
        mine = originals[key]
        f.suggested_lr, f.suggested_lr_basis = lr, basis
        note = (f"{source} of the same setup says ~{w.lr(lr)} ({why}); it overrides this run's own estimate "
                f"~{w.lr(mine.suggested_lr)}")
        f.evidence = {**mine.evidence, "single_run_suggested_lr": mine.suggested_lr, "context_reason": note}
        f.recommendation = f"{mine.recommendation}. Use ~{w.lr(lr)} instead: {note}"
        if f.mode is Mode.LR_TOO_LOW:
            _too_low_at(ra, f, mine, lr, note)
    if own is None:
        ra.details.pop("single_run_suggested_lr", None)


def _too_low_at(ra: RunAnalysis, f: Finding, mine: Finding, lr: float, note: str) -> None:
    """Restate an lr_too_low finding at the context's LR: its saving is what the context's factor
    over this run's LR buys (the run's own factor no longer applies), and a context that found no
    higher LR better contradicts "raise the LR": no saving is claimed, and the finding says the
    loss still falling at the end asks for more steps."""
    # what the run alone said (a run compared again under another context starts from it)
    f.severity, f.confidence, f.remedy = mine.severity, mine.confidence, mine.remedy
    f.waste_from_step, f.waste_unknown = mine.waste_from_step, mine.waste_unknown
    ev = mine.evidence
    run_lr = ev.get("lr_end") or ev.get("configured_lr")  # the LR the run's own factor multiplied
    if not run_lr:
        return
    k = lr / float(run_lr)
    first_saved, first_k = ev.get("steps_saved_estimate"), ev.get("lr_factor")
    saved = steps_saved_at(mine, k) if k > SAME_LR else None
    last = (ra.run.step_range or (0, 0))[1]
    f.evidence = {**f.evidence, "lr_factor": k, "single_run_lr_factor": first_k,
                  "steps_saved_estimate": saved, "single_run_steps_saved_estimate": first_saved}
    if k <= SAME_LR:
        f.severity = "info"
        f.confidence = mine.confidence * CONTRADICTED_TRUST
        f.waste_from_step, f.waste_unknown = None, None  # the context found nothing a higher LR saves
        f.remedy = Remedy.SCHEDULE  # the length, not the LR
        at = "this run's LR" if k > 1 / SAME_LR else f"below this run's {w.lr(float(run_lr))}"
        f.recommendation = (
            f"train longer at ~{w.lr(lr)} ({at}) rather than raising the LR: {note}; with no higher LR "
            "advised, the loss still falling at the end asks for more steps, and no steps saved by a higher "
            "LR are claimed")
        return
    f.waste_from_step = None if saved is None else int(last - saved + 1)
    f.waste_unknown = None if saved is not None else (
        mine.waste_unknown
        or "can't be estimated: the fitted forecast does not say how many steps the context's LR saves")
    base = mine.recommendation
    if first_saved is not None and first_k:  # the run's own saving, wherever the clause stands
        base = base.replace(saving_clause(float(first_k), int(first_saved)), "", 1)
    f.recommendation = f"{base}. Use ~{w.lr(lr)} instead: {note}" + (
        "" if saved is None else saving_clause(k, saved))


def apply_context(analyses: list[RunAnalysis], sweeps: list[SweepAnalysis]) -> None:
    """Let each sweep's and each range test's LR override the single-run estimates of the runs
    of the same setup."""
    for sw in sweeps:
        if sw.suggested_lr is None:
            continue
        members = set(sw.run_keys)
        # The folders the sweep's runs live in: a run beside them is of the same setup; a run
        # elsewhere below the same top folder (another project) is not.
        places = {_unit_and_parent(ra.run) for ra in analyses if ra.run.key in members}
        units, parents = {u for u, _ in places}, {p for _, p in places}
        # A run named like another setup (UNet_dr015_bs16_lr2e_4 beside the UNet_lr<lr> sweep) is not this one.
        templates = {_name_template(n) for n in sw.names}
        why = sw.details.get("suggested_reason") or f"its best LR is {w.lr(sw.best_lr)}"
        for ra in analyses:
            unit, parent = _unit_and_parent(ra.run)
            other_setup = _name_template(ra.run.name) not in templates or _hparams_differ(ra, analyses, members)
            inside = ra.run.key in members or unit in units or (
                parent in parents and not other_setup)
            if ra.kind == "training" and inside:
                _override(ra, float(sw.suggested_lr), LRBasis.SWEEP, f"the LR sweep in {sw.path}", why)
    tests = [ra for ra in analyses if ra.kind == "range_test" and ra.suggested_lr]
    for rt in tests:
        why = (rt.range_test.reason if rt.range_test is not None else "") or "its recommended rule"
        for ra in analyses:
            if ra.kind != "training" or (ra.details.get("context") or {}).get("basis") == LRBasis.SWEEP.value:
                continue
            if same_setup(ra, rt):
                _override(ra, float(rt.suggested_lr), LRBasis.RANGE_TEST, f"the LR range test {rt.run.name}",
                          why.split(";")[0])
