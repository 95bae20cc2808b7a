"""``lrdoctor analyze PATH... [--json]``: diagnose learning-rate problems."""

from __future__ import annotations

import argparse
import json
import sys

from lrdoctor.analysis import Analysis
from lrdoctor.cost import Costs
from lrdoctor.fleet.summary import FLEET_MIN_RUNS, contract_dict, fleet_summary
from lrdoctor.formatting import percent as fmt_percent
from lrdoctor.formatting import printable
from lrdoctor.formatting import steps as fmt_steps
from lrdoctor.analysis.wording import lr as fmt_lr

from .common import add_fail_on_argument, add_load_arguments, analyze_paths, fail_on_exit, print_warnings
from .cost_options import add_cost_arguments, apply_costs, render_money
from .ordering import by_importance
from .fleet_text import render_fleet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``analyze``."""
    add_load_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the version-1 JSON contract")
    add_fail_on_argument(parser)
    add_cost_arguments(parser)


def render_text(analysis: Analysis, costs: Costs | None = None) -> str:
    """A readable summary: one block per run (the most severe first, then the most money wasted), then sweeps."""
    lines: list[str] = []
    for ra in by_importance(analysis.runs, costs):
        r = ra.run
        lines.append(f"{printable(r.name)}  [{r.format}]  {printable(r.path)}")
        lines.append(f"  {ra.kind}, {fmt_steps(ra.steps)}, schedule: {ra.schedule.kind}")
        if ra.next_run is not None and ra.findings:
            plan = ra.next_run
            lines.append(f"  NEXT RUN: {plan.summary()} (confidence {fmt_percent(plan.confidence)})")
            for change in plan.changes:
                lines.append(f"      - {change}")
            if plan.peak_lr_reason and plan.peak_lr_basis != "unchanged":
                lines.append(f"      peak LR from {plan.peak_lr_basis.replace('_', ' ')}: {plan.peak_lr_reason}")
        if ra.kind == "range_test":
            rt = ra.details.get("range_test") or {}
            rules = rt.get("rules") if isinstance(rt, dict) else None
            if isinstance(rules, dict):
                for name, value in rules.items():
                    lines.append(f"    {name:<20} {fmt_lr(value) if isinstance(value, float) else value}")
        elif ra.not_diagnosed:
            lines.append(f"  not diagnosed: {printable(ra.not_diagnosed)}")
        elif not ra.findings:
            lines.append("  healthy: no learning-rate problem found"
                         + (" among the checks the logs allow" if ra.not_checked else ""))
        for f in ra.findings:
            where = "" if f.step_start is None else f" @ step {f.step_start:,}"
            lines.append(f"  [{f.severity}] {f.mode}{where} (confidence {fmt_percent(f.confidence)})")
            lines.append(f"      {printable(f.evidence.get('summary', ''))}")
            lines.append(f"      -> {printable(f.recommendation)}")
        for note in ra.notes:
            lines.append(f"  note: {printable(note)}")
        for nc in ra.not_checked:
            lines.append(f"  not checked: {printable(nc.sentence())}")
        if ra.suggested_lr is not None:
            lines.append(f"  suggested LR: {fmt_lr(ra.suggested_lr)}")
    for s in analysis.sweeps:
        lines.append(f"sweep {printable(s.path)}: {len(s.run_keys)} runs")
        lines.append(
            f"  best LR {fmt_lr(s.best_lr)}, largest stable LR {fmt_lr(s.max_stable_lr)}, "
            f"suggested LR {fmt_lr(s.suggested_lr)}"
        )
        if s.details.get("suggested_reason"):
            lines.append(f"  suggested LR: {s.details['suggested_reason']}")
        if s.details.get("metric_label"):
            lines.append(f"  ranked by {s.details['metric_label']}; largest stable = largest LR that neither "
                         "diverged nor oscillated")
    n_bad = sum(1 for ra in analysis.runs if ra.findings)
    if not analysis.runs:  # the warnings (printed next) say why: empty folder, archive, checkpoints ...
        lines.append("no run analyzed: nothing readable was found (why is said below)")
    else:
        lines.append(f"{len(analysis.runs)} run(s) analyzed, {n_bad} with findings.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute ``analyze``."""
    analysis = analyze_paths(args)
    costs = apply_costs(analysis, args)
    if args.json:
        json.dump(contract_dict(analysis, costs), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        if len(analysis.runs) >= FLEET_MIN_RUNS:
            print(render_fleet(fleet_summary(analysis, costs)) + "\n")
        money = render_money(analysis, costs)
        if money:
            print(money + "\n")
        print(render_text(analysis, costs))
        print_warnings(analysis.warnings)
    return fail_on_exit(analysis, args.fail_on) if analysis.runs else 2
