"""Recognise what a tag is (training loss, learning rate, ...) from its name.

Roles: ``train_loss``, ``val_loss``, ``lr``, ``grad_norm``, ``val_metric``,
``train_metric``, ``epoch``, ``momentum``, ``step_time``, ``other``.
The tag names themselves are never changed.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np

ROLES: tuple[str, ...] = (
    "train_loss",
    "val_loss",
    "lr",
    "grad_norm",
    "val_metric",
    "train_metric",
    "epoch",
    "momentum",
    "step_time",
    "other",
)

_SPLIT = re.compile(r"[/_\-\s.:()\[\]|]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_VAL_WORDS = {"val", "valid", "validation", "eval", "evaluation", "test", "dev", "holdout"}
_TRAIN_WORDS = {"train", "training", "trn"}
# Names people give the quantity being minimised (``objective``, ``cost`` in older frameworks).
_LOSS_WORDS = {"loss", "nll", "xent", "crossentropy", "ce", "objective", "cost", "criterion"}
_METRIC_WORDS = {
    "acc", "accuracy", "f1", "iou", "miou", "ap", "ap50", "ap75", "map", "bleu", "rouge",
    "wer", "cer", "auc", "precision", "recall", "perplexity", "ppl", "top1", "top5", "dice",
}
_TIME_WORDS = {"time", "dt", "seconds", "sec", "duration", "runtime"}
# Durations that are not a step's: time remaining, and the data-loading share of a step.
_NOT_STEP_TIME_WORDS = {"eta", "data", "remaining", "left"}
# Words that make a tag a part of the loss or a diagnostic rather than the loss itself.
_LOSS_PART_PENALTY = {"box", "reg", "cls", "rpn", "loc", "mask", "aux", "kl", "recon", "epoch"}


def tokens(tag: str) -> list[str]:
    """Lower-case word tokens of a tag (splits on separators and camelCase)."""
    return [t for t in _SPLIT.split(_CAMEL.sub(" ", tag).lower()) if t]


def role_of(tag: str) -> str:
    """The role of one tag judged from its name alone."""
    toks = tokens(tag)
    words = set(toks)
    joined = "".join(toks)
    if not toks:
        return "other"
    if words & {"momentum", "beta", "beta1", "beta2", "betas"}:
        return "momentum"
    if "lr" in words or "learningrate" in joined or {"learning", "rate"} <= words:
        return "lr"
    if ("grad" in words or "gradient" in words or "gradients" in words) and ("norm" in words or any(
        w.startswith("norm") for w in toks
    )) or "gradnorm" in joined or toks == ["norm"] or toks == ["grad", "2", "0", "norm", "total"]:
        return "grad_norm"
    if words == {"epoch"} or toks == ["epoch"]:
        return "epoch"
    is_val = bool(words & _VAL_WORDS)
    is_loss = bool(words & _LOSS_WORDS) or any(t.endswith("loss") for t in toks)
    if is_loss:
        return "val_loss" if is_val else "train_loss"
    # Time per epoch (Lightning's ``epoch_time``) is not a per-step time: the cost estimate
    # would read it as seconds per step.
    # Nor is the time left (detectron2's ``eta_seconds``) or the data-loading part of a step
    # (``data_time``, already inside detectron2's per-iteration ``time``).
    if words & _TIME_WORDS and not (words & _METRIC_WORDS) and "epoch" not in words \
            and not words & _NOT_STEP_TIME_WORDS:
        return "step_time"
    if words & _METRIC_WORDS:
        return "val_metric" if is_val else "train_metric"
    if is_val:
        return "val_metric"
    return "other"


def infer_roles(tags: Iterable[str]) -> dict[str, str]:
    """Map every tag to its role."""
    return {tag: role_of(tag) for tag in tags}


def _preference(tag: str, role: str) -> int:
    """Lower is better: how far a tag is from the plain name of its role."""
    toks = tokens(tag)
    score = len(toks)
    if role in ("train_loss", "val_loss"):
        score += 3 * len(set(toks) & _LOSS_PART_PENALTY)
        if "total" in toks:
            score -= 2  # detectron2 and friends log the sum as total_loss
    if role == "lr" and any(t.startswith("pg") and t[2:].isdigit() for t in toks):
        score += 1  # per-param-group LR: prefer the first/plain one
    return score


def rank_tags(tags: list[str], role: str, counts: dict[str, int] | None = None) -> list[str]:
    """Order tags of one role: plainest name first, then most points."""
    counts = counts or {}
    return sorted(tags, key=lambda t: (_preference(t, role), -counts.get(t, 0), t))


# -- the training loss recognised by its shape ----------------------------------------------
# A curve needs this many points before its shape says anything.
SHAPE_MIN_POINTS = 8
# A loss falls: the median of its last tenth at most this fraction of its first tenth's.
SHAPE_MAX_END_RATIO = 0.8
# ... and falls overall, not just at the ends: Spearman correlation with the step at most this.
SHAPE_MAX_RANK_CORR = -0.5
# Minibatch losses bounce: at least this share of consecutive changes go up. Schedules that
# decay by construction (exploration epsilon, temperature) never do.
SHAPE_MIN_UP_SHARE = 0.03
# Names of quantities that decay by design, never the loss.
_SCHEDULE_WORDS = {"epsilon", "eps", "temperature", "temp", "decay", "wd", "beta", "tau", "eta",
                   "remaining", "left", "noise", "sigma", "alpha", "ratio", "kl"}
# Only this many candidate tags (the most logged) are looked at: enough for any real run.
SHAPE_MAX_CANDIDATES = 64


def looks_like_loss(values: np.ndarray) -> bool:
    """Whether a curve (values in step order) has a training loss's shape: positive, falling
    overall with minibatch bounces, not a schedule that decays by construction."""
    v = values[np.isfinite(values)]
    if len(v) < SHAPE_MIN_POINTS or np.any(v < 0):
        return False
    tenth = max(len(v) // 10, 1)
    start, end = float(np.median(v[:tenth])), float(np.median(v[-tenth:]))
    if not start > 0 or end > SHAPE_MAX_END_RATIO * start:
        return False
    ranks = np.argsort(np.argsort(v))
    corr = float(np.corrcoef(np.arange(len(v)), ranks)[0, 1])
    if not corr <= SHAPE_MAX_RANK_CORR:
        return False
    diffs = np.diff(v)
    return float(np.mean(diffs > 0)) >= SHAPE_MIN_UP_SHARE


def loss_by_shape(curves: dict[str, np.ndarray], min_points: int = 0) -> str | None:
    """Among tags no name recognised, the one shaped most like a training loss, or None.

    ``curves`` maps tag -> values in step order; ``min_points`` is what the training loss must
    at least have (a validation curve's count: training is logged at least as often).
    """
    best: tuple[int, str] | None = None
    for tag, values in curves.items():
        if set(tokens(tag)) & _SCHEDULE_WORDS or len(values) < max(min_points, SHAPE_MIN_POINTS):
            continue
        if looks_like_loss(np.asarray(values, dtype=np.float64)):
            if best is None or len(values) > best[0]:
                best = (len(values), tag)
    return None if best is None else best[1]
