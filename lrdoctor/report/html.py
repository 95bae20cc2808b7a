"""The self-contained HTML report: packaged Jinja2 templates, autoescaping on, charts as base64 PNG."""

from __future__ import annotations

import base64
import re
from functools import lru_cache

import jinja2
import markupsafe

from lrdoctor.formatting import printable
from lrdoctor.report.formatting import fmt_amount, fmt_hours, fmt_lr, fmt_number, fmt_usd
from lrdoctor.report.model import Report

TEMPLATE = "report.html.j2"
# Where a long run name may wrap in a narrow PDF table cell (after a separator), instead of mid-word.
_NAME_BREAK = re.compile(r"([/_\-.])")
ZERO_WIDTH_SPACE = "\u200b"


def breakable(text: object) -> str:
    """``text`` with a zero-width break opportunity after each ``/ _ - .``: names wrap at their parts."""
    return _NAME_BREAK.sub("\\1" + ZERO_WIDTH_SPACE, str(text))


def _shown(value: object) -> object:
    """A template value as shown: user text through :func:`printable`; markup and numbers untouched."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return printable(value)
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates shipped in ``lrdoctor/report/templates`` (package data), autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lrdoctor.report", "templates"),
        autoescape=True,  # every name, path and sentence in a report comes from user files
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        finalize=_shown,  # every {{ value }}: control characters and undecodable bytes made visible
    )
    env.globals.update(
        fmt_number=fmt_number,
        fmt_usd=fmt_usd,
        fmt_lr=fmt_lr,
        fmt_hours=fmt_hours,
        fmt_amount=fmt_amount,
    )
    env.filters["breakable"] = breakable
    return env


def render_template(report: Report, images: dict[str, str], *, for_pdf: bool = False,
                    pdf_image_width: int = 0, pdf_summary_width: int = 0,
                    breaks: frozenset[str] = frozenset()) -> str:
    """The report as HTML; ``images`` maps chart keys to a base64 payload (HTML) or a resource URL (PDF).

    ``breaks``: anchors of the PDF sections that start a new page (``pdf.py`` chooses them).
    """
    return environment().get_template(TEMPLATE).render(
        report=report, images=images, for_pdf=for_pdf, pdf_image_width=pdf_image_width,
        pdf_summary_width=pdf_summary_width or pdf_image_width, breaks=breaks,
    )


def render_html(report: Report, charts: dict[str, bytes]) -> str:
    """One self-contained HTML document: CSS inline, charts embedded as data URIs."""
    images = {key: base64.b64encode(png).decode("ascii") for key, png in charts.items()}
    return render_template(report, images)
