"""The Markdown report: readable as plain text in a code review, charts as PNG files beside it."""

from __future__ import annotations

import re
from pathlib import Path

from lrdoctor.report.formatting import fmt_amount, fmt_usd
from lrdoctor.report.model import Report, RunSection, SweepSection

# Characters that would turn user text (run names, paths, sentences) into Markdown or HTML markup.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|#])")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown text, safe inside a table cell."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def images_dir(path: Path) -> Path:
    """The folder holding a Markdown report's charts: ``report.md`` -> ``report_files/``."""
    return path.with_name(path.stem + "_files")


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(md_escape(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[object]], numeric: tuple[int, ...] = ()) -> list[str]:
    """A GitHub table; columns in ``numeric`` are right-aligned."""
    rule = "|" + "".join("---:|" if i in numeric else "---|" for i in range(len(header)))
    return [_row(header), rule] + [_row(r) for r in rows] + [""]


def _image(key: str, title: str, image_links: dict[str, str]) -> list[str]:
    link = image_links.get(key)
    return [f"![{md_escape(title)}]({link})", ""] if link else []


def _sweep(s: SweepSection, image_links: dict[str, str]) -> list[str]:
    out = [f"## Sweep: {md_escape(s.name)}", "",
           f"Best LR **{s.best_lr}** · max stable LR **{s.max_stable_lr}** · suggested LR **{s.suggested_lr}**", "",
           f"`{s.path}`", ""] + [x for n in s.notes for x in (md_escape(n), "")]
    if s.chart:
        out += _image(s.chart.key, s.chart.title, image_links)
    out += _table(["Run", "LR", "Final loss", "Status"],
                  [[p["name"], p["lr"], p["final_loss"], p["status"]] for p in s.points], numeric=(1, 2))
    return out


def _run(r: RunSection, image_links: dict[str, str]) -> list[str]:
    kind = "LR range test" if r.kind == "range_test" else "training run"
    out = [f"## {md_escape(r.name)}", "",
           f"**{r.verdict.status}**: {md_escape(r.verdict.sentence)}", "",
           f"_{kind} · {md_escape(r.format)} · {r.steps:,} steps"
           + (f" · suggested LR {r.suggested_lr}" if r.suggested_lr else "") + "_", ""]
    if r.next_run:
        out += [f"**{md_escape(r.next_run)}**", ""]
        out += [f"- {md_escape(k)}: {md_escape(v)}" for k, v in r.next_run_rows] + [""]
    if r.chart:
        out += _image(r.chart.key, r.chart.title, image_links)
    if r.findings:
        out += ["### Findings", ""]
        out += _table(["Finding", "Severity", "Steps", "Evidence", "Recommendation"], [
            [f.mode_label, f"{f.severity} ({f.confidence})", f.steps,
             f.summary + ("" if not f.evidence else " (" + ", ".join(f"{k}={v}" for k, v in f.evidence) + ")"),
             f.recommendation]
            for f in r.findings])
    else:
        out += ["No learning-rate problem found.", ""]
    params = ", ".join(f"{k}={v}" for k, v in r.schedule_params)
    out += ["### Schedule", "", f"Inferred schedule: **{md_escape(r.schedule)}**"
            + (f" ({md_escape(params)})" if params else ""), ""]
    if r.cost:
        out += ["### Cost", ""] + _table(["", "value"], [list(kv) for kv in r.cost])
    if r.hyperparameters:
        out += ["<details><summary>Hyperparameters</summary>", ""]
        out += _table(["key", "value"], [list(kv) for kv in r.hyperparameters])
        out += ["</details>", ""]
    out += ["### Input files", ""] + [f"- `{f}`" for f in r.files] + [""]
    if r.warnings:
        out += ["### Warnings met while reading", ""] + [f"- {md_escape(w)}" for w in r.warnings] + [""]
    return out


def render_markdown(report: Report, image_links: dict[str, str]) -> str:
    """The report as Markdown; ``image_links`` maps chart keys to relative PNG paths."""
    out = [f"# {md_escape(report.title)}", "",
           f"_{len(report.runs)} run(s)" + (f", {len(report.sweeps)} sweep(s)" if report.sweeps else "")
           + f" · generated {report.generated_at} by lrdoctor {report.version}_", "", "## Summary", ""]
    header = ["Run", "Status", "Verdict"]
    rows = []
    for v in report.verdicts:
        row = [v.run, v.status, v.sentence]
        if report.totals:
            row += [fmt_amount(v.wasted_gpu_hours), fmt_usd(v.wasted_usd), fmt_amount(v.wasted_kwh)]
        rows.append(row)
    if report.totals:
        header += ["Wasted GPU-h", "Wasted $", "Wasted kWh"]
    out += _table(header, rows, numeric=(3, 4, 5))
    t = report.totals
    if t:
        out += [f"**Wasted: {fmt_amount(t.wasted_gpu_hours)} GPU-hours, {fmt_usd(t.wasted_usd)}, "
                f"{fmt_amount(t.wasted_kwh)} kWh, {fmt_amount(t.wasted_kg_co2e)} kg CO2e, "
                f"{t.wasted_steps:,} steps** (out of {fmt_amount(t.total_gpu_hours)} GPU-hours in {t.runs} run(s)).",
                "",
                "Assumptions:", ""] + [f"- {md_escape(a)}" for a in report.assumptions] + [""]
    else:
        out += ["_No cost estimate: the analysis carries no GPU/price settings._", ""]
    if report.recommendations:
        out += ["### Top recommendations", ""]
        out += [f"{i}. **{md_escape(r.text)}** ({md_escape(r.mode_label)} in {md_escape(r.run)})"
                for i, r in enumerate(report.recommendations, 1)] + [""]
    if report.warnings:
        out += ["### Problems met while reading", ""] + [f"- {md_escape(w)}" for w in report.warnings] + [""]
    for s in report.sweeps:
        out += _sweep(s, image_links)
    for r in report.runs:
        out += _run(r, image_links)
    out += ["---", "", f"lrdoctor {report.version} · {report.generated_at} · inputs:", ""]
    out += [f"- `{p}`" for p in report.inputs] + [""]
    return "\n".join(out)
