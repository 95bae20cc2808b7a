"""Reports: one model (``model.py``) rendered as HTML, PDF, Markdown or the JSON contract.

``write_report(analysis, path)`` is the one entry point the CLI and the GUI call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lrdoctor.report.atomic import write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from lrdoctor.analysis.findings import Analysis
    from lrdoctor.cost import Costs

FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".pdf": "pdf", ".md": "md",
                           ".markdown": "md", ".json": "json"}


# Chart pixel widths: the PDF shows charts ~17 cm wide, so a narrower render keeps its labels legible.
CHART_WIDTH = 1000
PDF_CHART_WIDTH = 780
PDF_CHART_SCALE = 1.0  # 2.0 would be crisper, but pyqtgraph does not scale the legend with the export
PDF_PANEL_UNIT = 48  # pixels per panel-height unit on paper: two runs with findings fit a page


class ReportError(ValueError):
    """A report cannot be written (unknown format, ...); the message names the file."""


def format_for(path: Path, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else from the file suffix."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = {"markdown": "md", "htm": "html"}.get(fmt, fmt)
        if fmt not in set(FORMATS.values()):
            raise ReportError(f"{path}: unknown report format {fmt!r} (html, pdf, md, json)")
        return fmt
    try:
        return FORMATS[Path(path).suffix.lower()]
    except KeyError:
        raise ReportError(
            f"{path}: cannot tell the report format from the suffix {Path(path).suffix or '(none)'!r}; "
            "use .html, .pdf, .md or .json"
        ) from None


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode): the same for every name of it (symlinks, hard links, ``..``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_input_files(analysis: "Analysis", targets: list[Path]) -> None:
    """Raise :class:`ReportError` when a target is a file any loaded run was read from.

    Log files are never written to, whatever the path given: a report written over
    ``events.out.tfevents...`` would destroy the run it reports on. Files that were named in a
    load warning (a damaged log) are user logs too.
    """
    existing = {ident: t for t in targets if (ident := _identity(t)) is not None}
    if not existing:
        return
    for ra in analysis.runs:
        for source in [*ra.run.files, ra.run.path]:
            target = existing.get(_identity(Path(source)))
            if target is not None:
                raise ReportError(f"{target}: is a log file of run {ra.run.name!r}; lrdoctor never writes over "
                                  "its inputs: choose another report path")
    for warning in analysis.warnings:
        target = existing.get(_identity(Path(warning.path)))
        if target is not None:
            raise ReportError(f"{target}: is one of the files read; lrdoctor never writes over its inputs: "
                              "choose another report path")


def write_report(analysis: "Analysis", path: str | Path, fmt: str | None = None, *,
                 inputs: list[str] | None = None, costs: "Costs | None" = None) -> Path:
    """Write ``analysis`` and its ``costs`` as a report to ``path`` (format from ``fmt`` or the suffix);
    returns the path.

    The file is written atomically (temp file beside it, then rename); a Markdown report also
    writes its charts to ``<stem>_files/``. Charts are drawn with Qt: call this from the thread
    owning the QApplication (the GUI thread) or from a process without one.
    """
    path = Path(path)
    kind = format_for(path, fmt)
    if not path.parent.is_dir():
        raise ReportError(f"{path}: folder {path.parent} does not exist")
    refuse_input_files(analysis, [path])
    if kind == "json":
        from lrdoctor.fleet.summary import contract_dict

        text = json.dumps(contract_dict(analysis, costs), indent=2, allow_nan=False)
        return write_text_atomic(path, text + "\n")

    from lrdoctor.report.charts import render_charts
    from lrdoctor.report.model import build_report

    report = build_report(analysis, inputs, costs=costs)
    if kind == "pdf":
        charts = render_charts(report.charts(), PDF_CHART_WIDTH, PDF_CHART_SCALE, PDF_PANEL_UNIT)
    else:
        charts = render_charts(report.charts(), CHART_WIDTH)
    if kind == "html":
        from lrdoctor.report.html import render_html

        return write_text_atomic(path, render_html(report, charts))
    if kind == "pdf":
        from lrdoctor.report.pdf import render_pdf

        return write_bytes_atomic(path, render_pdf(report, charts))
    from lrdoctor.report.markdown import images_dir, render_markdown

    folder = images_dir(path)
    refuse_input_files(analysis, [folder / f"{key}.png" for key in charts])
    folder.mkdir(exist_ok=True)
    links = {}
    for key, png in charts.items():
        write_bytes_atomic(folder / f"{key}.png", png)
        links[key] = f"{folder.name}/{key}.png"
    return write_text_atomic(path, render_markdown(report, links))


__all__ = ["FORMATS", "ReportError", "format_for", "refuse_input_files", "write_report"]
