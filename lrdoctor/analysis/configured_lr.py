"""An LR for the findings of a run that logs no LR curve, from the LR it was configured with.

The detectors measure how far to move the LR from the logged LR curve (the edge of stability
seen in the run, the pace of a slow run). A run that logs no LR still has an LR: in its name
(``lr3e-4``), its folder or its recorded hyper-parameters; the sweep machinery already reads
it from there (:func:`sweep.run_lr`, the one owner of that fact). Each finding that implies an
LR change then gets that LR times its own factor, and says so (``configured_lr``). When
nothing names the LR, the finding keeps its factor in words and its basis says the LR is
unknown (``lr_unknown``): no number is invented.
"""

from __future__ import annotations

from parsers import Run

from . import wording as w
from .findings import Finding, LRBasis, Mode
from .lr_advice import BASE_MARGIN, violence_margin
from .sweep import _unit_and_parent, run_lr

# Where run_lr may read a configured LR from (its last resort, the logged LR's peak, is the
# curve this module stands in for).
CONFIGURED_SOURCES = ("name", "folder", "hparams")
# Too-high modes without an LR curve: the factor below the configured LR. Spikes and a
# bounce undid a part of the progress: one notch of the 1-3-10 grid (the factor their
# recommendation already states); a blow-up that never recovered undid all of it: the
# violence margin of a full undo (a decade), as the edge-of-stability rule gives a run
# unstable at its first LR.
LOWER_FACTORS = {Mode.SPIKES: BASE_MARGIN, Mode.OSCILLATING: BASE_MARGIN,
                 Mode.DIVERGED: violence_margin(1.0)}
# A plateau keeps its peak and decays it (as the finding says with an LR curve).
KEEP_MODES = (Mode.PLATEAU,)


def configured_lr(run: Run) -> tuple[float | None, str]:
    """The LR the run was configured with and where it was read (``name``, ``folder``,
    ``hparams``), or (None, "none")."""
    lr, source = run_lr(run, _unit_and_parent(run)[0].name)
    return (lr, source) if lr is not None and source in CONFIGURED_SOURCES else (None, "none")


def _factor(f: Finding) -> float | None:
    """The finding's LR change as a multiplier (< 1 lowers), or None for modes without one."""
    if f.mode == Mode.LR_TOO_LOW:
        k = f.evidence.get("lr_factor")
        return float(k) if k else None
    if f.mode in KEEP_MODES:
        return 1.0
    lower = LOWER_FACTORS.get(Mode(f.mode))
    return None if lower is None else 1.0 / lower


def advise_from_configured_lr(run: Run, findings: list[Finding], logs_lr: bool) -> None:
    """Fill ``suggested_lr`` of the LR-changing findings of a run that logs no LR curve
    (``logs_lr`` False). With a curve, a finding without an LR chose not to give one (a run
    stuck at its initial loss needs a fix other than an LR change): it is left alone."""
    if logs_lr:
        return
    todo = [(f, k) for f in findings if f.suggested_lr is None and not f.evidence.get("stuck")
            for k in [_factor(f)] if k is not None]
    if not todo:
        return
    lr, source = configured_lr(run)
    for f, k in todo:
        change = "keep the peak" if k == 1.0 else f"{'raise' if k > 1 else 'lower'} ~{w.factor(max(k, 1 / k))}"
        if lr is None:
            f.suggested_lr_basis = LRBasis.LR_UNKNOWN
            f.evidence = {**f.evidence, "suggested_lr_reason": (
                f"{change}: the run logs no LR and neither its name nor its hyper-parameters give one, "
                "so no LR value is suggested")}
            continue
        target = lr * k
        reason = (f"{change} of the LR {w.lr(lr)} read from its {source} (the run logs no LR curve to measure a "
                  "change on)")
        f.evidence = {**f.evidence, "configured_lr": lr, "configured_lr_source": source,
                      "suggested_lr_reason": reason}
        f.recommendation = f"{f.recommendation}; with its configured LR {w.lr(lr)} ({source}): try ~{w.lr(target)}"
        f.advise(target, LRBasis.CONFIGURED_LR)
