"""Colours and labels shared by the app's plots and the reports' charts (no Qt here)."""

from __future__ import annotations

# Severity colours: the same in the app, the HTML/PDF reports and the Markdown charts.
SEVERITY_COLORS: dict[str, str] = {
    "info": "#3b82f6",  # blue
    "warning": "#f59e0b",  # amber
    "critical": "#dc2626",  # red
}
HEALTHY_COLOR = "#16a34a"  # green: a run with no finding

# Curve colours per role, then a palette for overlaid runs (colour-blind safe, Okabe-Ito).
ROLE_COLORS: dict[str, str] = {
    "train_loss": "#0072B2",
    "val_loss": "#D55E00",
    "lr": "#009E73",
    "grad_norm": "#CC79A7",
}
RUN_PALETTE: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
)

MODE_LABELS: dict[str, str] = {
    "diverged": "Diverged",
    "oscillating": "Oscillating (LR too high)",
    "spikes": "Loss spikes",
    "lr_too_low": "LR too low",
    "plateau": "Plateau (decay would help)",
    "no_warmup": "No / too-short warmup",
    "decayed_too_early": "LR decayed too early",
    "overfitting": "Overfitting (wasted steps after best val)",
}
# A finding whose remedy is the setup (Finding.remedy "setup": the model never trained) is named for
# that where its mode's name would promise the wrong fix (a plateau that no decay helps).
SETUP_LABELS: dict[str, str] = {
    "plateau": "Never learned (check the setup)",
}
# A finding whose remedy is the schedule's length where its mode's name would promise an LR change
# (an lr_too_low run whose sweep or range test of the same setup advises no higher LR).
SCHEDULE_LABELS: dict[str, str] = {
    "lr_too_low": "Still improving (train longer)",
}


def finding_label(finding) -> str:
    """The people's name of a finding: its mode's, or the one its remedy calls for where the mode's
    name would promise the wrong fix (the setup for a run that never learned, more steps for a run
    whose context keeps its LR)."""
    mode = str(finding.mode)
    remedy = getattr(finding, "remedy", None)
    if remedy == "setup" and mode in SETUP_LABELS:
        return SETUP_LABELS[mode]
    if remedy == "schedule" and mode in SCHEDULE_LABELS:
        return SCHEDULE_LABELS[mode]
    return MODE_LABELS.get(mode, mode.replace("_", " "))


def severity_color(severity: str | None) -> str:
    """Colour of a severity, green for None (healthy)."""
    return SEVERITY_COLORS.get(severity or "", HEALTHY_COLOR)
