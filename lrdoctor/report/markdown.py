"""The Markdown report: readable as plain text in a code review, charts as PNG files beside it."""

from __future__ import annotations

import html
import re
from pathlib import Path

from lrdoctor.formatting import printable
from lrdoctor.formatting import steps as fmt_steps
from lrdoctor.report.model import Report, RunSection, SweepSection

# Characters that would turn user text (run names, paths, sentences) into Markdown markup.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#])")
_BACKTICKS = re.compile(r"`+")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown text, safe inside a table cell.

    ``&``, ``<`` and ``>`` become character references rather than backslash escapes:
    CommonMark honours ``\\<`` but Python-Markdown (MkDocs) passes raw HTML through, and
    both render ``&lt;`` as a literal ``<``. Control characters are shown as escapes.
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(printable(text), quote=False))


def md_code(text: object) -> str:
    """``text`` as an inline code span that no backtick inside it can close early."""
    text = printable(text)
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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
           md_code(s.path), ""] + [x for n in s.notes for x in (md_escape(n), "")]
    if s.chart:
        out += _image(s.chart.key, s.chart.title, image_links)
    out += _table(["Run", "LR", "Final loss", "Status"],
                  [[p["name"], p["lr"], p["final_loss"], p["status"]] for p in s.points], numeric=(1, 2))
    return out


def _run(r: RunSection, image_links: dict[str, str]) -> list[str]:
    kind = "LR range test" if r.kind == "range_test" else "training run"
    out = [f"## {md_escape(r.name)}", "",
           f"**{r.verdict.status}**: {md_escape(r.verdict.sentence)}", "",
           f"_{kind} · {md_escape(r.format)} · {fmt_steps(r.steps)} · schedule: {md_escape(r.schedule)}"
           + (f" · suggested LR {r.suggested_lr}" if r.suggested_lr else "") + "_", ""]
    if r.next_run:
        out += [f"**{md_escape(r.next_run)}**", ""]
        out += [f"- {md_escape(k)}: {md_escape(v)}" for k, v in r.next_run_rows] + [""]
    if r.chart:
        out += _image(r.chart.key, r.chart.title, image_links)
    if r.findings:
        out += _table(["Finding", "What the logs show", "What to do"], [
            [f"{f.mode_label} ({f.severity}, {f.confidence}, steps {f.steps})",
             f.summary + (" " + f.waste if f.waste else ""), f.recommendation]
            for f in r.findings])
    for caveat in r.caveats:
        out += [f"_{md_escape(caveat)}_", ""]
    if r.cost_line:
        out += [f"_Cost: {md_escape(r.cost_line)}_", ""]
    out += ["<details><summary>Schedule, files and logged hyperparameters</summary>", ""]
    params = ", ".join(f"{k}={v}" for k, v in r.schedule_params)
    out += [f"Inferred schedule: **{md_escape(r.schedule)}**" + (f" ({md_escape(params)})" if params else ""), ""]
    # Inside <details> Python-Markdown keeps everything as raw HTML (no code spans): entities only.
    out += [f"- {md_escape(f)}" for f in r.files] + [""]
    if r.hyperparameters:
        out += _table(["key", "value"], [list(kv) for kv in r.hyperparameters])
    out += ["</details>", ""]
    return out


def _summary(report: Report) -> list[str]:
    """Page 1: the manager's summary."""
    s = report.summary
    if s is None:
        return []
    out = ([f"**Spent {md_escape(s.spent)} · wasted {md_escape(s.wasted)} ({s.wasted_share}) · "
            f"{md_escape(s.wasted_gpu_hours)} · {md_escape(s.wasted_steps)} steps wasted**", ""] if s.costed_any else
           ["_No cost estimate: the analysis carries no GPU/price settings._", ""])
    out += [f"**{md_escape(s.verdict)}**", ""]
    if s.top_runs:
        out += ["### Runs that wasted the most", ""]
        out += _table(["Run", "Worst finding", "Wasted", "Share of run"],
                      [[t.run, f"{t.severity}: {t.worst}", t.wasted, t.share] for t in s.top_runs], numeric=(2, 3))
    if s.actions:
        out += ["### Do these first", ""]
        out += [f"{i}. **{md_escape(a.text)}** ({md_escape(a.saving)}; {md_escape(a.mode_label)} in "
                f"{md_escape(a.run)})" for i, a in enumerate(s.actions, 1)] + [""]
    out += ["_" + md_escape(" ".join(report.assumptions + s.notes)) + "_", ""] if report.assumptions or s.notes else []
    return out


def render_markdown(report: Report, image_links: dict[str, str]) -> str:
    """The report as Markdown; ``image_links`` maps chart keys to relative PNG paths.

    The manager's summary first, then the runs with findings (the costliest first), the sweeps,
    the runs without findings as one table, and what could not be read.
    """
    out = [f"# {md_escape(report.title)}", "",
           f"_{len(report.runs)} run(s)" + (f", {len(report.sweeps)} sweep(s)" if report.sweeps else "")
           + f" · generated {report.generated_at} by lrdoctor {report.version}_", ""]
    out += _summary(report)
    if report.summary and report.summary.chart:
        out += _image(report.summary.chart.key, report.summary.chart.title, image_links)
    for r in report.detailed:
        out += _run(r, image_links)
    for s in report.sweeps:
        out += _sweep(s, image_links)
    if report.healthy:
        out += ["## Runs without findings", ""]
        wasted = report.healthy_waste
        out += _table(["Run", "Status", "Steps", "Note"] + (["Wasted"] if wasted else []),
                      [[h.name, h.status, h.steps, h.note] + ([h.wasted] if wasted else []) for h in report.healthy],
                      numeric=(2, 4) if wasted else (2,))
    problems = list(report.warnings) + [f"{r.name}: {w}" for r in report.runs for w in r.warnings]
    if problems:
        out += ["## Problems met while reading", ""] + [f"- {md_escape(w)}" for w in problems] + [""]
    out += ["---", "", f"lrdoctor {report.version} · {report.generated_at} · inputs:", ""]
    out += [f"- {md_code(p)}" for p in report.inputs] + [""]
    return "\n".join(out)
