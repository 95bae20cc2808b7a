"""The fleet summary as text: what ``lrdoctor analyze DIR`` prints first for many runs."""

from __future__ import annotations

from lrdoctor import formatting as fmt
from lrdoctor.fleet.summary import TEXT_TOP_RUNS, FleetSummary


def _share(x: float | None) -> str:
    return "" if x is None else f" ({fmt.percent(x)})"


def render_fleet(summary: FleetSummary, top: int = TEXT_TOP_RUNS) -> str:
    """Total spend and waste, waste by failure mode, and the runs that wasted the most."""
    priced = "" if summary.costed_runs == summary.runs else f"  [{summary.costed_runs} of {summary.runs} priced]"
    lines = [
        f"Fleet: {summary.runs} runs, {fmt.usd(summary.total_usd, '$?')} spent, "
        f"{fmt.usd(summary.wasted_usd, '$?')} wasted{_share(summary.wasted_share)}{priced}"
    ]
    if summary.by_mode:
        lines.append("  waste by failure mode (a step two findings waste counts under each):")
        for m in summary.by_mode:
            lines.append(f"    {m.mode:<18} {fmt.usd(m.wasted_usd, '$?'):>12}  {m.runs:>5} run(s)  "
                         f"{fmt.steps(m.wasted_steps):>14}")
    wasters = [r for r in summary.ranked if (r.wasted_usd or 0) > 0 or r.wasted_steps]
    if wasters:
        shown = wasters[:top]
        lines.append(f"  runs by wasted money (top {len(shown)} of {len(wasters)} with waste):")
        width = max(len(fmt.printable(r.name)) for r in shown)
        for r in shown:
            money = fmt.usd(r.wasted_usd) if r.wasted_usd is not None else fmt.steps(r.wasted_steps)
            lines.append(f"    {fmt.printable(r.name):<{width}}  {money:>12}{_share(r.wasted_share):<7}  {r.costliest_mode or '-'}")
    else:
        lines.append("  no run wasted compute on a learning-rate problem")
    lines.extend(f"  note: {n}" for n in summary.notes)
    return "\n".join(lines)
