"""Cost flags (``--gpu --gpus --price --step-time`` ...) and the money summary, for CLI subcommands."""

from __future__ import annotations

import argparse
import sys

from lrdoctor import formatting as fmt
from lrdoctor.analysis.findings import Analysis, RunAnalysis
from lrdoctor.cost import Costs, CostSettings, SettingsError, estimate_costs, load_presets, load_settings, save_settings
from lrdoctor.cost.estimate import RunCost

from .ordering import by_importance


# The flag that sets each cost setting (messages name what the user typed).
FLAGS: dict[str, str] = {
    "gpu": "--gpu", "gpu_count": "--gpus", "usd_per_gpu_hour": "--price", "power_w": "--power",
    "carbon_kg_per_kwh": "--carbon", "pue": "--pue", "step_time_s": "--step-time",
    "tokens_per_second": "--tokens-per-sec", "tokens_per_step": "--tokens-per-step",
    "samples_per_second": "--samples-per-sec", "samples_per_step": "--samples-per-step",
}


def add_cost_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose the hardware, the price and (for logs without a clock) the step time."""
    g = parser.add_argument_group(
        "cost", "what the run cost and what its problems wasted (GPU, price and energy figures)"
    )
    names = ", ".join(load_presets().gpus)
    g.add_argument("--gpu", metavar="NAME", help=f"GPU model, one of: {names} (or a logged name such as "
                   "'NVIDIA A100-SXM4-80GB'); default: the run's metadata, your saved choice, or A100 80GB")
    g.add_argument("--gpus", type=int, metavar="N", help="GPUs the run used (default: metadata or 1)")
    g.add_argument("--price", type=float, metavar="USD", help="price per GPU-hour (default: the GPU preset)")
    g.add_argument("--power", type=float, metavar="W", help="board power per GPU in watts (default: preset)")
    g.add_argument("--carbon", type=float, metavar="KG_PER_KWH",
                   help="grid carbon intensity, kg CO2e per kWh (default: world average)")
    g.add_argument("--pue", type=float, help="data-centre PUE (default 1.0: board power only)")
    g.add_argument("--step-time", type=float, metavar="S",
                   help="seconds per step, for logs without a wall clock (labelled 'assumed')")
    g.add_argument("--tokens-per-sec", type=float, metavar="N", help="throughput, with --tokens-per-step")
    g.add_argument("--tokens-per-step", type=float, metavar="N", help="tokens per optimizer step")
    g.add_argument("--samples-per-sec", type=float, metavar="N", help="throughput, with --samples-per-step")
    g.add_argument("--samples-per-step", type=float, metavar="N", help="samples per optimizer step")
    g.add_argument("--save-cost-settings", action="store_true",
                   help="remember --gpu/--gpus/--price/--power/--carbon/--pue for next time")


def settings_from_args(args: argparse.Namespace) -> tuple[CostSettings, CostSettings]:
    """(choices given on the command line, saved defaults); exits 2 with one line on a bad value."""
    saved, problem = load_settings()
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    chosen = CostSettings(
        gpu=args.gpu,
        gpu_count=args.gpus,
        usd_per_gpu_hour=args.price,
        power_w=args.power,
        carbon_kg_per_kwh=args.carbon,
        pue=args.pue,
        step_time_s=args.step_time,
        tokens_per_second=args.tokens_per_sec,
        tokens_per_step=args.tokens_per_step,
        samples_per_second=args.samples_per_sec,
        samples_per_step=args.samples_per_step,
    )
    try:
        chosen.validate()
        if args.save_cost_settings:
            path = save_settings(saved.merged(chosen))
            print(f"cost settings saved to {path}", file=sys.stderr)
    except SettingsError as exc:
        flag = FLAGS.get(exc.field or "")
        print(f"lrdoctor: {flag + ': ' if flag else ''}{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except OSError as exc:
        print(f"lrdoctor: cost settings not saved: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    return chosen, saved


def apply_costs(analysis: Analysis, args: argparse.Namespace) -> Costs:
    """The costs of ``analysis`` from the parsed flags."""
    chosen, saved = settings_from_args(args)
    return estimate_costs(analysis, chosen, saved)


# Why a finding without a waste rule shows no wasted steps (its steps were needed; a fix trains them better).
NOT_COUNTED = "waste not counted (no steps a fix would have saved)"


def _money(x: float | None, c: RunCost) -> str:
    """Dollars, or why there are none: no price for the GPU, or no clock."""
    if c.hardware.usd_per_gpu_hour is None:
        return fmt.no_price(c.hardware.gpu)
    return fmt.usd(x, unknown="$?")


def _run_line(ra: RunAnalysis, c: RunCost) -> str:
    if c.step_time.seconds_per_step is None:
        return (f"  {fmt.printable(ra.run.name)}: {fmt.steps(c.wasted_steps)} wasted; cost can't be estimated "
                "(no clock in the log: give --step-time)")
    parts = [
        f"{w.mode} {fmt.steps(w.wasted_steps)}"
        if w.wasted_steps is not None
        else (f"{w.mode} {_money(w.money.usd, c)}" if w.money.usd is not None else f"{w.mode}: {w.note or 'not counted'}")
        for w in c.by_finding
    ]
    # A critical finding with no waste entry says why rather than reading as "$0.00 wasted".
    charged = {w.mode for w in c.by_finding}
    parts += [f"{f.mode}: {NOT_COUNTED}" for f in ra.findings if f.severity == "critical" and f.mode not in charged]
    st = c.step_time
    clock = f"{fmt.step_time(st.seconds_per_step)} {st.source}"
    if c.hardware.usd_per_gpu_hour is None:
        share = "" if c.wasted_share is None else f"{fmt.percent(c.wasted_share)} of the run; "
        return (f"  {ra.run.name}: {fmt.gpu_hours(c.wasted.gpu_hours, '?')} wasted ({share}"
                f"{fmt.no_price(c.hardware.gpu)}), {fmt.steps(c.wasted_steps)} "
                f"[{'; '.join(parts) or 'nothing wasted'}]; {clock}")
    share = "" if c.wasted_share is None else f" ({fmt.percent(c.wasted_share)} of {_money(c.total.usd, c)})"
    return (
        f"  {fmt.printable(ra.run.name)}: {_money(c.wasted.usd, c)} wasted{share}, {fmt.gpu_hours(c.wasted.gpu_hours, '?')}, "
        f"{fmt.steps(c.wasted_steps)} [{'; '.join(parts) or 'nothing wasted'}]; {clock}"
    )


def render_money(analysis: Analysis, all_costs: Costs) -> str:
    """The money first: total wasted over all runs, then one line per run."""
    of_run = {ra.run.key: all_costs.of_run(ra) for ra in analysis.runs}
    costs = [c for c in of_run.values() if c is not None]
    if not costs:
        return ""
    costed = [c for c in costs if c.step_time.seconds_per_step is not None]
    sums = all_costs.total(of_run)  # kWh and CO2e stay None when no run's power is known
    wasted_usd, total_usd, hours = sums.wasted.usd or 0.0, sums.total.usd or 0.0, sums.wasted.gpu_hours or 0.0
    kwh, kg = sums.wasted.kwh, sums.wasted.kg_co2e
    gpus = sorted({f"{c.hardware.gpu_count}x {c.hardware.gpu} at {fmt.usd(c.hardware.usd_per_gpu_hour)}/GPU-h"
                   if c.hardware.usd_per_gpu_hour is not None else
                   f"{c.hardware.gpu_count}x {c.hardware.gpu}, {fmt.no_price(c.hardware.gpu)}" for c in costs})
    unpriced = sorted({c.hardware.gpu for c in costed if c.hardware.usd_per_gpu_hour is None})
    if unpriced and len(unpriced) == len({c.hardware.gpu for c in costed}):
        money = "; ".join(fmt.no_price(g) for g in unpriced)
    else:
        money = f"{fmt.usd(wasted_usd)} of {fmt.usd(total_usd)} spent"
        if unpriced:
            money += " (" + "; ".join(fmt.no_price(g) for g in unpriced) + ")"
    lines = [
        f"Wasted compute: {money}, {fmt.gpu_hours(hours)}, "
        f"{fmt.energy(kwh, 'energy unknown')}, {fmt.co2(kg, 'CO2e unknown')}  [{'; '.join(gpus)}]"
    ]
    if len(costed) < len(costs):
        lines.append(f"  ({len(costs) - len(costed)} run(s) without a clock not costed: give --step-time)")
    lines += [_run_line(ra, c) for ra in by_importance(analysis.runs, all_costs)
              if (c := of_run[ra.run.key]) is not None
              and (c.wasted_steps or c.by_finding or any(f.severity == "critical" for f in ra.findings))]
    for note in sorted({n for c in costs for n in c.hardware.notes}):
        lines.append(f"  note: {note}")
    return "\n".join(lines)
