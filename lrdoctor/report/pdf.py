"""The PDF report, laid out by Qt (QTextDocument painted page by page on a QPdfWriter).

No browser and no network: the same packaged template as the HTML report, in the HTML subset
QTextDocument understands, with the charts as in-memory image resources. Qt is allowed here
(and in ``charts.py``) only; call it from the thread that owns the QApplication.

Pagination is ours, not ``QTextDocument.print_``'s: a first layout measures every run section,
and a section starts a new page only when it would not fit in what is left of the current one
(page 1 is the manager's page alone). Knowing where each section landed, the PDF gets one
bookmark per run (pypdf writes the outline).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from lrdoctor import __version__
from lrdoctor.formatting import printable
from lrdoctor.report.charts import _ensure_app
from lrdoctor.report.html import render_template
from lrdoctor.report.model import Report

# QTextDocument.print_'s own layout, kept: 2 cm margins and the page number below them. The text
# is 595 - 2 x 56.7 = ~482 pt wide and an image's width attribute is drawn at 0.75 pt per unit
# (measured with pdfimages -list: 640 -> 480 pt), so 640 is the full text width.
PAGE_MARGIN_CM = 2.0
PDF_IMAGE_WIDTH = 640
PDF_SUMMARY_CHART_WIDTH = 520  # the manager's waste chart: page 1 must keep room for its tables
SOURCE_DPI = 96  # Qt's default logical DPI: the unit of frame margins, as in QTextDocument.print_
PDF_RESOLUTION = 300  # dpi of the PDF's coordinate system: crisp charts, small enough files
# A section must fit in this fraction of what is left of a page to stay on it: pagination pushes
# a chart that would straddle the page bottom down, which the endless measuring layout does not see.
FIT_SAFETY = 0.97
ENDLESS_PAGE = 1e9  # device units: a page no report fills, for measuring sections unpaginated


@dataclass
class Section:
    """A bookmarked part of the report: its anchor, title and first page (0-based)."""

    anchor: str
    title: str
    page: int = 0


def _sections(report: Report) -> list[Section]:
    out = [Section("summary", "Summary")]
    out += [Section(r.anchor, r.name) for r in report.detailed]
    out += [Section(s.anchor, f"Sweep: {s.name}") for s in report.sweeps]
    if report.healthy:
        out.append(Section("healthy-runs", "Runs without findings"))
    return out


def _anchor_tops(doc) -> dict[str, float]:
    """The y (document units) of every named anchor, from the laid-out blocks."""
    layout = doc.documentLayout()
    tops: dict[str, float] = {}
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            for name in it.fragment().charFormat().anchorNames():
                tops.setdefault(name, layout.blockBoundingRect(block).top())
            it += 1
        block = block.next()
    return tops


def _layout(report: Report, images: dict[str, str], writer, breaks: frozenset[str], resources: dict,
            paginate: bool = True):
    """A QTextDocument laid out on ``writer``'s pages (``breaks``: anchors starting a new page).

    ``paginate=False`` lays it out on one endless page: the true height of each section, without
    the jumps pagination adds where a chart would not fit at the bottom of a page.
    """
    from PySide6.QtCore import QSizeF, QUrl
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)
    for url, image in resources.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
    doc.setHtml(render_template(report, images, for_pdf=True, pdf_image_width=PDF_IMAGE_WIDTH,
                                pdf_summary_width=PDF_SUMMARY_CHART_WIDTH, breaks=breaks))
    margin = PAGE_MARGIN_CM / 2.54 * SOURCE_DPI  # the layout scales frame margins to the device
    frame = doc.rootFrame().frameFormat()
    frame.setMargin(margin)
    doc.rootFrame().setFrameFormat(frame)
    doc.setPageSize(QSizeF(writer.width(), writer.height() if paginate else ENDLESS_PAGE))
    doc.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, report.title)
    return doc


def _choose_breaks(sections: list[Section], tops: dict[str, float], end: float, page_height: float,
                   margin: float) -> frozenset[str]:
    """Sections that must start a page: the first after the manager's page, and any that would not fit."""
    usable = page_height - 2 * margin
    placed = [s for s in sections[1:] if s.anchor in tops]
    breaks: set[str] = set()
    used = 0.0
    for i, s in enumerate(placed):
        nxt = tops[placed[i + 1].anchor] if i + 1 < len(placed) else end
        height = max(nxt - tops[s.anchor], 0.0)
        if i == 0 or (used > 0 and used + height > usable * FIT_SAFETY):
            breaks.add(s.anchor)
            used = height % usable if height > usable else height
        else:
            used += height
    return frozenset(breaks)


def render_pdf(report: Report, charts: dict[str, bytes]) -> bytes:
    """The report as PDF bytes (A4, page numbers at the bottom, one bookmark per run)."""
    _ensure_app()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, Qt
    from PySide6.QtGui import QFontMetricsF, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    writer.setResolution(PDF_RESOLUTION)
    writer.setTitle(report.title)
    writer.setCreator(f"lrdoctor {__version__}")

    resources, images = {}, {}
    for key, png in charts.items():
        images[key] = f"chart-{key}.png"
        resources[images[key]] = QImage.fromData(png, "PNG")
    sections = _sections(report)
    margin = PAGE_MARGIN_CM / 2.54 * writer.logicalDpiY()  # in device units
    page_h = float(writer.height())

    first = _layout(report, images, writer, frozenset(s.anchor for s in sections[1:2]), resources, paginate=False)
    breaks = _choose_breaks(sections, _anchor_tops(first), first.size().height(), page_h, margin)
    doc = _layout(report, images, writer, breaks, resources)
    tops = _anchor_tops(doc)
    for s in sections:
        s.page = int(tops.get(s.anchor, 0.0) // page_h)

    pages = max(doc.pageCount(), 1)
    painter = QPainter(writer)
    font = doc.defaultFont()
    painter.setFont(font)
    ascent = QFontMetricsF(font, writer).ascent()
    for i in range(pages):
        if i:
            writer.newPage()
        painter.save()
        painter.translate(0, -i * page_h)
        doc.drawContents(painter, QRectF(0, i * page_h, writer.width(), page_h))
        painter.restore()
        y = page_h - margin + ascent + 5 * writer.logicalDpiY() / 72.0
        painter.drawText(QRectF(0, y - ascent, writer.width() - margin, ascent * 1.5),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), f"{i + 1} / {pages}")
    painter.end()
    del writer  # finishes the PDF into the buffer
    buf.close()
    return _with_bookmarks(bytes(data.data()), sections, report.title)


def _with_bookmarks(pdf: bytes, sections: list[Section], title: str) -> bytes:
    """The PDF with an outline: the summary, each run with findings, each sweep, the healthy runs."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    last = len(writer.pages) - 1
    for s in sections:
        writer.add_outline_item(title=printable(s.title), page_number=min(s.page, last))  # run names: user text
    writer.add_metadata({"/Title": printable(title), "/Creator": f"lrdoctor {__version__}"})
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
