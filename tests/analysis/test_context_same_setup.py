"""A sweep's LR is context only for runs of its own setup, not for every run below the same top folder."""

from __future__ import annotations

from pathlib import Path

import parsers
from lrdoctor.analysis import analyze


def test_detectron2_lr_stages_do_not_advise_the_nanogpt_runs_beside_them(real_logs: Path) -> None:
    analysis = analyze(parsers.load(real_logs / "text_logs"))
    by_name = {ra.run.name: ra for ra in analysis.runs}
    members = {k for sw in analysis.sweeps for k in sw.run_keys}
    sweep_members = {ra.run.name for ra in analysis.runs if ra.run.key in members}
    assert "log_supervised_lr_0.010" in sweep_members  # the detectron2 LR stages still form their group
    for name in ("nanogpt-train-1806877", "log_linear_lr", "log_no_warmup"):
        ra = by_name[name]
        assert name not in sweep_members
        assert ra.suggested_lr is None or ra.suggested_lr < 2e-3  # GPT-2 small trains at ~6e-4, never 1e-2
        assert all(f.suggested_lr_basis != "sweep" for f in ra.findings)
